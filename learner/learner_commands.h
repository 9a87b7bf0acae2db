// `mem1` subcommands implemented in learner/. Registered by the tools binary
// (bench/mem1_main.cc).
#ifndef MEM1_LEARNER_LEARNER_COMMANDS_H_
#define MEM1_LEARNER_LEARNER_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mem1 {

void RegisterLearnerCommands(CLI::App* app);  // export
void RegisterInspectCommand(CLI::App* app);   // inspect: trajectory stores, one episode

}  // namespace mem1

#endif  // MEM1_LEARNER_LEARNER_COMMANDS_H_
