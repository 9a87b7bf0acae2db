// `mem1`: the tools binary. It links every library and registers each folder's commands
// (common/cli, actor/commands, learner, bench). See `mem1 --help`.
#include <CLI/CLI.hpp>

#include "common/cli/cli_common.h"
#include "actor/commands/commands.h"
#include "bench/bench_commands.h"
#include "common/cli/commands.h"
#include "common/model/blas_core.h"
#include "learner/learner_commands.h"

int main(int argc, char** argv) {
  mem1::EnsureFastBlasKernels(argv);  // may re-execute this program with OPENBLAS_CORETYPE set
  mem1::InitLogging(argv[0]);
  CLI::App app{"mem1 tools: model inspection and generation, tokenizers, benchmarks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mem1 ") + MEM1_GIT_COMMIT);
  mem1::RegisterModelCommands(&app);
  mem1::RegisterTokenizerCommands(&app);
  mem1::RegisterKeysCommands(&app);
  mem1::RegisterBenchCommands(&app);
  mem1::RegisterQaCommands(&app);
  mem1::RegisterWebShopCommands(&app);
  mem1::RegisterLearnerCommands(&app);
  mem1::RegisterInspectCommand(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
