// `mem1` subcommands implemented in actor/ (they run environments and the rollout engine).
// Registered by the tools binary (bench/mem1_main.cc).
#ifndef MEM1_ACTOR_COMMANDS_COMMANDS_H_
#define MEM1_ACTOR_COMMANDS_COMMANDS_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "actor/envs/environment.h"
#include "common/config/config.h"
#include "common/tokenizer/chat_template.h"
#include "common/util/status.h"

namespace mem1 {

void RegisterQaCommands(CLI::App* app);       // datagen qa|expert, index build, eval
void RegisterEvalCommand(CLI::App* app);      // eval (QA and WebShop; called by RegisterQaCommands)
// `parent NAME`: the same eval; with `fixed_env` ("qa" | "webshop") the env is fixed and the
// other env's flags are left out (`mem1 webshop eval` = `mem1 eval --env webshop`).
void RegisterEvalSubcommand(CLI::App* parent, const std::string& name, const std::string& fixed_env);
void RegisterWebShopCommands(CLI::App* app);  // datagen webshop, webshop index|play|eval
void RegisterExpertCommands(CLI::App* datagen);  // datagen expert (called by RegisterQaCommands)
void RegisterLmDataCommand(CLI::App* datagen);   // datagen lm (called by RegisterQaCommands)
void RegisterPlayCommands(CLI::App* app);     // play, qa play (called by RegisterQaCommands)
void RegisterServeCommands(CLI::App* app);    // serve retriever (called by RegisterQaCommands)

// Plays `env` from stdin-like `in`: prints the prompt and every observation as the agent sees
// them (WrapObservation in `preset`'s tags) to `out`. Each non-empty line is one action: the
// preset's tags (the state block optional) or bare `name[content]` (search[...] / answer[...]
// for QA; for a one-action environment such as WebShop the whole line, e.g. click[buy now]).
// A malformed tagged line costs a turn and prints the feedback (ends the episode when
// end_on_format_error), an unrecognised bare line costs nothing. End of input or of
// `max_turns` truncates the episode. Prints the reward and metrics, then the QA golden
// answers or the WebShop goal, and returns the final StepResult.
// Task `task` of MakeEnvironments(config, seed)'s stream, played from std::cin to std::cout;
// max_turns 0 = QA: 2N+2, WebShop: env.webshop.max_steps.
[[nodiscard]] Status PlayTaskFromConfig(const Mem1Config& config, int64_t task, uint64_t seed, int max_turns);
// `chat` wraps the printed prompt as the rollout engine wraps it (tokenizer.chat_template).
[[nodiscard]] Result<StepResult> PlayInteractive(Environment* env, const TagPreset& preset, int max_turns,
                                                 bool end_on_format_error, std::istream& in, std::ostream& out,
                                                 const ChatTemplate& chat = ChatTemplate{});

// "1,2,4" -> {1, 2, 4}: comma-separated objective counts in [1, 1024] (blanks ignored);
// INVALID_ARGUMENT naming `flag` for a bad count or an empty list.
[[nodiscard]] Result<std::vector<int32_t>> ParseObjectiveCounts(const std::string& list, const std::string& flag);

}  // namespace mem1

#endif  // MEM1_ACTOR_COMMANDS_COMMANDS_H_
