// A deterministic environment for tests and benchmarks: every action gets an observation of a
// fixed size (a fixed number of filler words), the episode ends after `turns` steps or on a
// well-formed terminal answer (reward 1 if the answer equals `expected_answer`).
#ifndef MEM1_ACTOR_ENVS_SCRIPTED_ENV_H_
#define MEM1_ACTOR_ENVS_SCRIPTED_ENV_H_

#include <cstdint>

#include "actor/envs/environment.h"

namespace mem1 {

struct ScriptedEnvOptions {
  int32_t turns = 4;                     // steps before the environment ends the episode
  int32_t observation_words = 12;        // filler words per observation
  int32_t prompt_words = 0;              // extra filler words in the prompt (longer prompts)
  std::string expected_answer = "42";
  std::string preset = "paper";
};

class ScriptedEnv : public Environment {
 public:
  ScriptedEnv(int64_t index, const ScriptedEnvOptions& options, const TagPreset& preset);
  std::string name() const override { return "scripted"; }
  std::string task_id() const override { return "scripted-" + std::to_string(index_); }
  std::string Prompt() const override;
  std::vector<ActionSpec> Actions() const override;
  StepResult Step(const std::string& action, const std::string& content, int turns_left) override;

 private:
  int64_t index_;
  ScriptedEnvOptions options_;
  TagPreset preset_;
  int32_t steps_ = 0;
};

// Hands out `count` ScriptedEnv episodes (index 0..count-1).
class ScriptedTaskSource : public TaskSource {
 public:
  ScriptedTaskSource(int64_t count, const ScriptedEnvOptions& options, const TagPreset& preset)
      : count_(count), options_(options), preset_(preset) {}
  std::unique_ptr<Environment> Next() override;

 private:
  int64_t next_ = 0, count_;
  ScriptedEnvOptions options_;
  TagPreset preset_;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_SCRIPTED_ENV_H_
