// Subcommand registration for the `mem1` tool binary: the commands implemented in common/.
// Each folder declares its own (actor/commands/commands.h, learner/learner_commands.h,
// bench/bench_commands.h); the binary (bench/mem1_main.cc) registers what it links. Each
// Register* adds its subcommands to the app; a subcommand's callback throws
// CLI::RuntimeError(exit_code) to end the program.
#ifndef MEM1_COMMON_CLI_COMMANDS_H_
#define MEM1_COMMON_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mem1 {

void RegisterModelCommands(CLI::App* app);      // model-info, generate, init-model
void RegisterTokenizerCommands(CLI::App* app);  // tokenize, tokenizer train
void RegisterKeysCommands(CLI::App* app);       // keys gen (CURVE keys for the fleet)

}  // namespace mem1

#endif  // MEM1_COMMON_CLI_COMMANDS_H_
