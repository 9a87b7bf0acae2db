// The environment interface the rollout engine drives (EnvPool-style: the engine knows
// nothing of which environment it runs; environments know nothing of tokens).
//
// Lifecycle: a TaskSource hands out one Environment per episode; the engine reads Prompt()
// and Actions(), then calls Step() once per well-formed action until StepResult.done, or
// Truncate() when the episode is cut (max turns, context capacity, format error policy).
// Thread safety: one engine thread uses an Environment; TaskSource::Next is called from that
// thread only.
#ifndef MEM1_ACTOR_ENVS_ENVIRONMENT_H_
#define MEM1_ACTOR_ENVS_ENVIRONMENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/memory/tag_grammar.h"

namespace mem1 {

struct StepResult {
  std::string observation;               // text the engine wraps in the preset's observation tags
  bool done = false;                     // episode over (reward final)
  double reward = 0;                     // outcome reward (final when done)
  std::map<std::string, double> metrics; // e.g. {"em": 1, "f1": 0.8}; logged with the episode
};

class Environment {
 public:
  virtual ~Environment() = default;
  virtual std::string name() const = 0;     // "qa", "webshop", "scripted"
  virtual std::string task_id() const = 0;  // stable id of this task instance
  // The task prompt (system instructions + task), already in the preset's tag names.
  virtual std::string Prompt() const = 0;
  virtual std::vector<ActionSpec> Actions() const = 0;
  // Applies a well-formed action. `turns_left` counts turns after this one.
  virtual StepResult Step(const std::string& action, const std::string& content, int turns_left) = 0;
  // The episode was cut without a terminal action: final reward and metrics.
  virtual StepResult Truncate() { return StepResult{"", true, 0.0, {}}; }
};

class TaskSource {
 public:
  virtual ~TaskSource() = default;
  // The next episode's environment, or nullptr when no tasks remain.
  virtual std::unique_ptr<Environment> Next() = 0;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_ENVIRONMENT_H_
