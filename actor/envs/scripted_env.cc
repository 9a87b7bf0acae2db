#include "actor/envs/scripted_env.h"

namespace mem1 {

ScriptedEnv::ScriptedEnv(int64_t index, const ScriptedEnvOptions& options, const TagPreset& preset)
    : index_(index), options_(options), preset_(preset) {}

std::string ScriptedEnv::Prompt() const {
  std::string filler;
  for (int i = 0; i < options_.prompt_words; ++i) filler += " context";
  return "Task " + std::to_string(index_) + ": find the number." + filler + " Keep your notes in " +
         preset_.state.open + preset_.state.close + " and act with " + DescribeActions(preset_, Actions()) + ".\n";
}

std::vector<ActionSpec> ScriptedEnv::Actions() const { return {{"search", false}, {"answer", true}}; }

StepResult ScriptedEnv::Step(const std::string& action, const std::string& content, int turns_left) {
  ++steps_;
  StepResult r;
  if (action == "answer") {
    r.done = true;
    r.reward = content == options_.expected_answer ? 1.0 : 0.0;
    r.metrics["exact_match"] = r.reward;
    return r;
  }
  for (int i = 0; i < options_.observation_words; ++i) r.observation += (i ? " " : "") + std::string("word");
  r.done = steps_ >= options_.turns;
  return r;
}

std::unique_ptr<Environment> ScriptedTaskSource::Next() {
  if (next_ >= count_) return nullptr;
  return std::make_unique<ScriptedEnv>(next_++, options_, preset_);
}

}  // namespace mem1
