// `mem1` subcommands implemented in actor/ (they run environments and the rollout engine).
// Registered by the tools binary (bench/mem1_main.cc).
#ifndef MEM1_ACTOR_COMMANDS_COMMANDS_H_
#define MEM1_ACTOR_COMMANDS_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mem1 {

void RegisterQaCommands(CLI::App* app);       // datagen qa|expert, index build, eval
void RegisterEvalCommand(CLI::App* app);      // eval (QA and WebShop; called by RegisterQaCommands)
void RegisterWebShopCommands(CLI::App* app);  // datagen webshop, webshop index|play|eval
void RegisterExpertCommands(CLI::App* datagen);  // datagen expert (called by RegisterQaCommands)

}  // namespace mem1

#endif  // MEM1_ACTOR_COMMANDS_COMMANDS_H_
