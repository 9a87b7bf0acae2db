// Subcommand registration for the `mem1` tool binary. Each Register* adds its subcommands to
// the app; a subcommand's callback throws CLI::RuntimeError(exit_code) to end the program.
#ifndef MEM1_COMMON_CLI_COMMANDS_H_
#define MEM1_COMMON_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mem1 {

void RegisterModelCommands(CLI::App* app);      // model-info, generate, init-model
void RegisterTokenizerCommands(CLI::App* app);  // tokenize, tokenizer train
void RegisterBenchCommands(CLI::App* app);      // bench model|rollout|learner|retrieval (bench/)
void RegisterQaCommands(CLI::App* app);         // datagen qa, index build (actor/envs/qa)
void RegisterLearnerCommands(CLI::App* app);    // export (learner/)
void RegisterInspectCommand(CLI::App* app);     // inspect: trajectory stores, one episode (learner/)
void RegisterWebShopCommands(CLI::App* app);    // datagen webshop, webshop index|play|eval (actor/envs/webshop)

}  // namespace mem1

#endif  // MEM1_COMMON_CLI_COMMANDS_H_
