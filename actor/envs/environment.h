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

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
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
  // Under the mem1-code presets a malformed turn ends the episode with this reward (MEM1: 0 for
  // QA, -1 for WebShop).
  virtual double MalformedReward() const { return 0.0; }
  // The tags observations are wrapped in (WrapObservation); the preset's by default (WebShop
  // under mem1-code: <state>).
  virtual TagPair ObservationTags(const TagPreset& preset) const { return preset.observation; }
  // A fresh copy of this task at its start (same prompt, same reward), or nullptr when the
  // environment cannot be copied. GRPO runs group_size copies of one task.
  virtual std::unique_ptr<Environment> Clone() const { return nullptr; }
  // GRPO: episodes of copies of one task instance share a group id (0 = no group); the
  // engine records it in the trajectory.
  void set_group_id(uint64_t group_id) { group_id_ = group_id; }
  uint64_t group_id() const { return group_id_; }

 private:
  uint64_t group_id_ = 0;
};

// Optional teacher: when it returns text for a turn, the engine feeds that text's tokens
// instead of sampling (recorded as model tokens with the model's log-probs, so the record is
// the same as a sampled one). Used by scripted experts (SFT data) and tests.
struct ScriptedTurn {
  std::string text;      // fed as the start of the turn's output
  bool complete = true;  // true: the turn ends after `text`; false: the model continues sampling
};

class ScriptedPolicy {
 public:
  virtual ~ScriptedPolicy() = default;
  // `turn` is 0-based; `last_observation` is the previous observation text ("" on turn 0).
  // std::nullopt: the model samples the whole turn.
  virtual std::optional<ScriptedTurn> Respond(const Environment& env, int turn, const std::string& last_observation) = 0;
};

class TaskSource {
 public:
  virtual ~TaskSource() = default;
  // The next episode's environment, or nullptr when no tasks remain.
  virtual std::unique_ptr<Environment> Next() = 0;
};

// The first `count` tasks of `inner` (e.g. an endless stream), then nullptr.
class CountedTaskSource : public TaskSource {
 public:
  CountedTaskSource(TaskSource* inner, int64_t count) : inner_(inner), left_(count) {}
  std::unique_ptr<Environment> Next() override {
    if (left_ <= 0) return nullptr;
    --left_;
    return inner_->Next();
  }

 private:
  TaskSource* inner_;
  int64_t left_;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_ENVIRONMENT_H_
