// Scripted expert for multi-objective QA with oracle access: plays a task the MEM1 way
// (internal state = answers found so far + questions remaining; one query per turn, one per
// reasoning hop, in question order; then one final answer) and, run through the rollout
// engine as a ScriptedPolicy, emits trajectories in the same record as the model's (SFT
// warm-start data, and an upper bound on what the environment allows).
#ifndef MEM1_ACTOR_ENVS_QA_QA_EXPERT_H_
#define MEM1_ACTOR_ENVS_QA_QA_EXPERT_H_

#include "actor/envs/qa/qa_env.h"
#include "actor/envs/environment.h"

namespace mem1 {

class QaExpert : public ScriptedPolicy {
 public:
  explicit QaExpert(const TagPreset& preset = TagPreset{});
  // nullopt for non-QA environments.
  std::optional<ScriptedTurn> Respond(const Environment& env, int turn, const std::string& last_observation) override;
  // Turns the expert needs for a task: one per hop of every question, plus the answer.
  static int TurnsNeeded(const QaTask& task);

 private:
  TagPreset preset_;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_QA_EXPERT_H_
