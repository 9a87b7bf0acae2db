// mem1_learner: for now validates the config, writes it to the run directory and builds the
// policy and trainer (--dry-run). The training loop with actors lands with the transport work.
#include <iostream>

#include "common/cli/cli_common.h"
#include "common/model/model_io.h"
#include "learner/trainer.h"

int main(int argc, char** argv) {
  mem1::InitLogging(argv[0]);
  CLI::App app{"mem1 learner: PPO/GRPO/SFT over masked trajectories, data parallel over MPI/NCCL"};
  mem1::ConfigFlags flags;
  mem1::AddConfigFlags(&app, &flags);
  bool dry_run = false;
  std::string resume;
  app.add_flag("--dry-run", dry_run, "Validate the config, write it to the run directory, build the trainer, exit");
  app.add_option("--resume", resume, "Run directory (or checkpoint file) to resume from");
  CLI11_PARSE(app, argc, argv);
  mem1::Mem1Config config;
  if (!mem1::LoadConfigOrReport(flags, &config)) return 2;
  if (auto st = mem1::WriteResolvedConfig(config); !st.ok()) return mem1::ReportError(st);
  const int threads = mem1::ApplyThreads(config.runtime.threads);
  auto model = mem1::LoadOrInitModel(config.model, config.runtime);
  if (!model.ok()) return mem1::ReportError(model.status());
  auto comm = mem1::MakeLocalCommunicator();
  mem1::Trainer trainer(*model, config.learner, comm.get());
  if (!resume.empty()) {
    auto path = mem1::LatestCheckpoint(resume);
    if (!path.ok()) return mem1::ReportError(path.status());
    if (auto st = trainer.Load(*path); !st.ok()) return mem1::ReportError(st);
    LOG(INFO) << "resumed from " << *path << " at step " << trainer.step();
  }
  LOG(INFO) << "mem1_learner: config written to " << config.run.dir << "/config.yaml; " << config.learner.ppo.algorithm
            << " trainer, policy " << (*model)->config().ParameterCount() << " parameters, " << threads << " threads";
  if (dry_run) return 0;
  std::cerr << "error: the learner's actor-fed training loop is not implemented yet; use --dry-run\n";
  return 3;
}
