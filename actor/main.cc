// mem1_actor: the actor process. For now it parses and validates the config, prepares the run
// directory (resolved config) and builds the policy; the actor loop itself lands with the
// rollout-core issue (#3).
#include <iostream>

#include "common/cli/cli_common.h"
#include "common/model/model_io.h"

int main(int argc, char** argv) {
  mem1::InitLogging(argv[0]);
  CLI::App app{"mem1 actor: runs pruned-context rollouts and streams trajectories to the learner"};
  mem1::ConfigFlags flags;
  mem1::AddConfigFlags(&app, &flags);
  bool dry_run = false;
  app.add_flag("--dry-run", dry_run, "Validate the config, write it to the run directory, build the policy, exit");
  CLI11_PARSE(app, argc, argv);
  mem1::Mem1Config config;
  if (!mem1::LoadConfigOrReport(flags, &config)) return 2;
  if (auto st = mem1::WriteResolvedConfig(config); !st.ok()) return mem1::ReportError(st);
  const int threads = mem1::ApplyThreads(config.runtime.threads);
  auto model = mem1::LoadOrInitModel(config.model, config.runtime);
  if (!model.ok()) return mem1::ReportError(model.status());
  LOG(INFO) << "mem1_actor: config written to " << config.run.dir << "/config.yaml; policy "
            << (*model)->config().ParameterCount() << " parameters on " << config.runtime.device << ", " << threads
            << " threads";
  if (dry_run) return 0;
  std::cerr << "error: the actor loop is not implemented yet (see issue #3); use --dry-run\n";
  return 3;
}
