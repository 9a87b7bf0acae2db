// mem1_learner: PPO / GRPO / SFT training, one process per data-parallel rank (mpirun / srun;
// MPI on CPU, NCCL on GPU). Every rank receives trajectories from the actor fleet over ZeroMQ
// (see learner/fleet_learner.h), stores them in its HDF5 trajectory store, and trains on its
// shard; rank 0 publishes new weights to the actors and writes metrics and checkpoints.
// `launch/local.sh` runs it with N actors on one host; `launch/submit.sh` under Slurm.
#include <csignal>
#include <filesystem>
#include <cstdlib>
#include <iostream>

#include "common/cli/cli_common.h"
#include "learner/fleet_learner.h"
#include "common/model/blas_core.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  mem1::EnsureFastBlasKernels(argv);  // may re-execute this program with OPENBLAS_CORETYPE set
  mem1::InitLogging(argv[0]);
  CLI::App app{"mem1 learner: PPO/GRPO/SFT over masked MEM1 trajectories from the actor fleet, data parallel over MPI (NCCL in CUDA builds)"};
  mem1::ConfigFlags flags;
  mem1::AddConfigFlags(&app, &flags);
  bool dry_run = false;
  std::string resume;
  int64_t steps = 0;
  app.add_flag("--dry-run", dry_run, "Validate the config, write it to the run directory, exit");
  app.add_option("--resume", resume, "Run directory (or checkpoint file) to resume from: weights, optimizer, step, store cursors");
  app.add_option("--steps", steps, "Stop after this many steps in this invocation (default: up to learner.total_steps)");
  bool insecure = false;
  app.add_flag("--insecure", insecure,
               "Allow plain (unauthenticated) sockets on a non-loopback address (= --set security.insecure=true); "
               "prefer `mem1 keys gen` + security.keys_dir");
  CLI11_PARSE(app, argc, argv);
  mem1::Mem1Config config;
  if (!mem1::LoadConfigOrReport(flags, &config)) return 2;
  if (insecure) config.security.insecure = true;
  // Under mpirun / srun every rank is one process of MPI_COMM_WORLD.
  const bool under_mpi = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  std::unique_ptr<mem1::Communicator> comm;
  if (config.learner.backend == mem1::CommBackend::kNccl) {
    auto c = mem1::MakeNcclCommunicator();
    if (!c.ok()) return mem1::ReportError(c.status());
    comm = std::move(c).value();
  } else if (under_mpi) {
    auto c = mem1::MakeMpiCommunicator();
    if (!c.ok()) return mem1::ReportError(c.status());
    comm = std::move(c).value();
  } else {
    comm = mem1::MakeLocalCommunicator();
  }
  if (!resume.empty() && std::filesystem::is_directory(resume)) config.run.dir = resume;
  // Rank 0 writes the config; a failure there ends every rank (AgreeOnStatus), not rank 0 alone.
  const mem1::Status wrote = comm->rank() == 0 ? mem1::WriteResolvedConfig(config) : mem1::Status::Ok();
  if (auto st = mem1::AgreeOnStatus(comm.get(), wrote); !st.ok()) return mem1::ReportError(st);
  const int threads = mem1::ApplyThreads(config.runtime.threads);
  LOG(INFO) << "mem1_learner rank " << comm->rank() << "/" << comm->world_size() << " (" << comm->name() << "), "
            << threads << " threads, " << mem1::ToString(config.learner.ppo.algorithm) << " ("
            << mem1::ToString(config.learner.mode) << "), run dir "
            << config.run.dir << "; BLAS " << mem1::BlasCoreSummary();
  if (dry_run) return 0;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (auto st = mem1::RunFleetLearner(config, resume, comm.get(), steps, &g_stop); !st.ok()) {
    return mem1::ReportError(st);
  }
  return 0;
}
