// `mem1` subcommands implemented in actor/ (they run environments and the rollout engine).
// Registered by the tools binary (bench/mem1_main.cc).
#ifndef MEM1_ACTOR_COMMANDS_COMMANDS_H_
#define MEM1_ACTOR_COMMANDS_COMMANDS_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

void RegisterQaCommands(CLI::App* app);       // datagen qa|expert, index build, eval
void RegisterEvalCommand(CLI::App* app);      // eval (QA and WebShop; called by RegisterQaCommands)
void RegisterWebShopCommands(CLI::App* app);  // datagen webshop, webshop index|play|eval
void RegisterExpertCommands(CLI::App* datagen);  // datagen expert (called by RegisterQaCommands)

// "1,2,4" -> {1, 2, 4}: comma-separated objective counts in [1, 1024] (blanks ignored);
// INVALID_ARGUMENT naming `flag` for a bad count or an empty list.
[[nodiscard]] Result<std::vector<int32_t>> ParseObjectiveCounts(const std::string& list, const std::string& flag);

}  // namespace mem1

#endif  // MEM1_ACTOR_COMMANDS_COMMANDS_H_
