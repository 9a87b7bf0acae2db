// `mem1 bench ...`: every benchmark. Registered by the tools binary (bench/mem1_main.cc).
#ifndef MEM1_BENCH_BENCH_COMMANDS_H_
#define MEM1_BENCH_BENCH_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace mem1 {

void RegisterBenchCommands(CLI::App* app);  // bench model|rollout|learner|batch|retrieval|webshop|fleet

}  // namespace mem1

#endif  // MEM1_BENCH_BENCH_COMMANDS_H_
