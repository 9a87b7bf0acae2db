// `mem1` subcommands implemented in actor/ (they run environments and the rollout engine).
// Registered by the tools binary (bench/mem1_main.cc).
#ifndef MEM1_ACTOR_COMMANDS_COMMANDS_H_
#define MEM1_ACTOR_COMMANDS_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mem1 {

void RegisterQaCommands(CLI::App* app);       // datagen qa, index build, eval
void RegisterWebShopCommands(CLI::App* app);  // datagen webshop, webshop index|play|eval

}  // namespace mem1

#endif  // MEM1_ACTOR_COMMANDS_COMMANDS_H_
