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
  // How the state records a found answer: kAnswers "Q1 = Sazuheith" (default), kEvidence the
  // passage clause that states it, "Q1 = The capital of Gule is Sazuheith" (QaEnv::Evidence;
  // the answer alone when no clause is found). With evidence, every token of the state after
  // the clause's first one continues a run seen in the observation, which a copy (induction)
  // head can produce; the answer alone must be located by a learned head.
  enum class StateWording { kAnswers, kEvidence };
  void set_state_wording(StateWording w) { wording_ = w; }

 private:
  TagPreset preset_;
  StateWording wording_ = StateWording::kAnswers;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_QA_EXPERT_H_
