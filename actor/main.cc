// mem1_actor: one actor process of the fleet. Loads the policy and the environments of the
// config, finds the learner (actor.learner_endpoint, or <run.dir>/rendezvous.json written by
// learner rank 0), runs pruned-context rollouts, streams every finished trajectory to the
// learner rank that owns it, keeps it spooled until acked, and swaps in new weights between
// episodes. Exits 0 when the learner finishes (or after actor.episodes episodes, all acked).
#include <csignal>
#include <iostream>

#include "actor/actor_loop.h"
#include "common/cli/cli_common.h"
#include "common/model/model_io.h"
#include "common/model/blas_core.h"
#include "common/model/skinny_gemm.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  mem1::EnsureFastBlasKernels(argv);  // may re-execute this program with OPENBLAS_CORETYPE set
  mem1::InitLogging(argv[0]);
  CLI::App app{"mem1 actor: runs pruned-context rollouts and streams trajectories to the learner"};
  mem1::ConfigFlags flags;
  mem1::AddConfigFlags(&app, &flags);
  bool dry_run = false;
  std::string actor_id;
  app.add_flag("--dry-run", dry_run, "Validate the config, write it to the run directory, build the policy, exit");
  app.add_option("--actor-id", actor_id, "Stable id of this actor (default: <hostname>-<pid>)");
  CLI11_PARSE(app, argc, argv);
  mem1::Mem1Config config;
  if (!mem1::LoadConfigOrReport(flags, &config)) return 2;
  if (actor_id.empty()) actor_id = mem1::DefaultActorId();
  const int threads = mem1::ApplyThreads(config.runtime.threads);
  if (config.runtime.decode_weights != "auto") {
    mem1::SetDecodeWeights(config.runtime.decode_weights == "bf16" ? mem1::DecodeWeightFormat::kBf16
                                                                   : mem1::DecodeWeightFormat::kFp32);
  }
  if (dry_run) {
    if (auto st = mem1::WriteResolvedConfig(config); !st.ok()) return mem1::ReportError(st);
    auto model = mem1::LoadOrInitModel(config.model, config.runtime);
    if (!model.ok()) return mem1::ReportError(model.status());
    LOG(INFO) << "mem1_actor: config written to " << config.run.dir << "/config.yaml; policy "
              << (*model)->config().ParameterCount() << " parameters on " << config.runtime.device << ", " << threads
              << " threads";
    return 0;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  LOG(INFO) << "mem1_actor " << actor_id << ": " << mem1::ToString(config.env.name) << ", " << config.actor.num_envs << " envs, "
            << threads << " threads, teacher " << mem1::ToString(config.actor.teacher) << ", run dir " << config.run.dir
            << "; BLAS " << mem1::BlasCoreSummary() << "; decode weights "
            << (mem1::DecodeWeights() == mem1::DecodeWeightFormat::kBf16 ? "bf16" : "fp32");
  if (auto st = mem1::RunActor(config, actor_id, &g_stop); !st.ok()) return mem1::ReportError(st);
  return 0;
}
