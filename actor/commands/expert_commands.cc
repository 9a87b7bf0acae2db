// `mem1 datagen expert`: scripted-expert trajectories generated once into a trajectory store,
// so SFT trains from disk at learner speed (learner.offline_store) instead of re-running the
// expert through the rollout engine every step.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "actor/commands/commands.h"
#include "actor/envs/env_factory.h"
#include "actor/envs/qa/qa_env.h"
#include "actor/envs/qa/qa_expert.h"
#include "actor/rollout/rollout_engine.h"
#include "common/cli/cli_common.h"
#include "common/config/config.h"
#include "common/model/model_io.h"
#include "common/storage/trajectory_store.h"
#include "common/tokenizer/tokenizer.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

struct ExpertArgs {
  ConfigFlags config;
  std::string out, objectives;
  int64_t episodes = 1000;
  uint64_t seed = 17;
  std::string state = "answers";  // QA: how the expert's state records found answers
};

Status RunExpertData(const ExpertArgs& a, const Mem1Config& base) {
  std::vector<int32_t> objectives = {base.env.qa.objectives};
  if (!TrimWhitespace(a.objectives).empty()) {
    MEM1_ASSIGN_OR_RETURN(objectives, ParseObjectiveCounts(a.objectives, "--objectives"));
  }
  if (base.env.name != EnvKind::kQa) objectives = {0};  // WebShop: one pass, no objective count
  MEM1_ASSIGN_OR_RETURN(Qwen2ForCausalLM model, LoadOrInitModel(base.model, base.runtime));
  const std::string tok_path = !base.tokenizer.path.empty() ? base.tokenizer.path : base.model.checkpoint;
  if (tok_path.empty()) return InvalidArgument("tokenizer.path: required when model.checkpoint is empty");
  MEM1_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(tok_path));
  model->eval();
  TrajectoryStoreOptions so;
  so.fsync = false;  // one Sync at the end; a crashed run is simply run again
  MEM1_ASSIGN_OR_RETURN(auto store, TrajectoryStore::Open(a.out, so, ConfigToYaml(base)));
  if (store->size() > 0) {
    return InvalidArgument(a.out + ": already holds " + std::to_string(store->size()) +
                              " trajectories (remove it, or pick another --out)");
  }
  const double t0 = MonotonicSeconds();
  double last = t0, reward = 0, em = 0, tokens = 0, format_errors = 0, truncated = 0;
  int64_t written = 0, next_id = 0;
  const int64_t total = a.episodes;
  for (size_t k = 0; k < objectives.size(); ++k) {
    Mem1Config config = base;
    if (objectives[k] > 0) config.env.qa.objectives = objectives[k];
    // Episodes split evenly over the objective counts (the first ones take the remainder).
    const int64_t count = total / static_cast<int64_t>(objectives.size()) +
                          (static_cast<int64_t>(k) < total % static_cast<int64_t>(objectives.size()) ? 1 : 0);
    MEM1_ASSIGN_OR_RETURN(auto envs, MakeEnvironments(config, a.seed + 7919 * k));
    if (!envs->expert) return InvalidArgument("env " + ToString(config.env.name) + " has no scripted expert");
    if (auto* qa_expert = dynamic_cast<QaExpert*>(envs->expert.get())) {
      qa_expert->set_state_wording(a.state == "evidence" ? QaExpert::StateWording::kEvidence
                                                         : QaExpert::StateWording::kAnswers);
    }
    MEM1_ASSIGN_OR_RETURN(RolloutOptions ro, RolloutOptionsFromConfig(config));
    ro.actor_id = "expert";
    ro.first_episode_id = static_cast<uint64_t>(next_id);
    ro.sampling.greedy = true;
    if (objectives[k] > 0 && ro.max_turns < QaTurnBudget(objectives[k])) ro.max_turns = QaTurnBudget(objectives[k]);
    RolloutEngine engine(model, tok.get(), ro);
    CountedTaskSource tasks(envs->tasks.get(), count);
    Status sink_status;
    MEM1_RETURN_IF_ERROR(engine.Run(&tasks, [&](proto::Trajectory&& t) {
      if (!sink_status.ok()) return;
      reward += t.reward();
      em += t.metrics().exact_match();
      format_errors += t.metrics().format_errors();
      truncated += t.truncated() ? 1 : 0;
      for (const auto& s : t.segments()) tokens += s.token_ids_size();
      auto r = store->Append(t);
      if (!r.ok()) {
        sink_status = r.status();
        return;
      }
      ++written;
      const double now = MonotonicSeconds();
      if (now - last >= 5.0 || written == total) {
        std::fprintf(stderr, "\rexpert: %lld/%lld trajectories (%.1f/s)   ", static_cast<long long>(written),
                     static_cast<long long>(total), written / std::max(1e-9, now - t0));
        last = now;
      }
    }, envs->expert.get()));
    MEM1_RETURN_IF_ERROR(sink_status);
    next_id += count;
  }
  std::fprintf(stderr, "\n");
  MEM1_RETURN_IF_ERROR(store->Close());
  const double n = std::max<int64_t>(1, written);
  std::printf("wrote %lld expert trajectories to %s in %.1f s: mean reward %.3f, EM(sum) %.3f, %.0f tokens each, "
              "%.3f format errors, %.1f%% truncated\n",
              static_cast<long long>(written), a.out.c_str(), MonotonicSeconds() - t0, reward / n, em / n, tokens / n,
              format_errors / n, 100.0 * truncated / n);
  if (em / n < 0.5 && base.env.name == EnvKind::kQa) {
    std::printf("warning: the expert's EM is low: the retriever misses the gold passages (check env.qa.top_k and the index)\n");
  }
  return Status::Ok();
}

}  // namespace

void RegisterExpertCommands(CLI::App* datagen) {
  auto args = std::make_shared<ExpertArgs>();
  auto* ex = datagen->add_subcommand(
      "expert", "Scripted-expert trajectories into a trajectory store (SFT data: learner.offline_store=DIR)");
  AddConfigFlags(ex, &args->config);
  ex->add_option("--out", args->out, "Trajectory store directory (created; must be empty)")->required();
  ex->add_option("--episodes", args->episodes, "Trajectories to write")->check(CLI::Range(1, 100000000));
  ex->add_option("--objectives", args->objectives,
                 "QA: comma-separated objective counts, episodes split evenly (default: env.qa.objectives)");
  ex->add_option("--seed", args->seed, "Task sampling seed (use another one for a held-out store)");
  ex->add_option("--state", args->state,
                 "QA: how the expert's state records a found answer: answers (\"Q1 = Sazuheith\") or evidence "
                 "(the passage clause that states it, \"Q1 = The capital of Gule is Sazuheith\")")
      ->check(CLI::IsMember({"answers", "evidence"}));
  ex->callback([args] {
    Mem1Config config;
    if (!LoadConfigOrReport(args->config, &config)) throw CLI::RuntimeError(2);
    ApplyThreads(config.runtime.threads);
    const Status st = RunExpertData(*args, config);
    throw CLI::RuntimeError(st.ok() ? 0 : ReportError(st));
  });
}

}  // namespace mem1
