// `mem1 eval`: the MEM1 paper's table as files a user keeps. For every (context policy,
// objective count N) it runs held-out tasks greedily through the same rollout engine and
// environments training uses (config-driven: --config/--set), and writes
//   eval.json   every measured field per cell, with a 95% bootstrap interval on EM per objective
//   eval.md     the table in Markdown
//   *.png       gnuplot plots: peak tokens, EM per objective and dependency vs N per policy,
//               and the training curves of the runs named with --metrics
//   episode.txt one episode as the agent saw it, turn by turn (its <IS> texts)
// QA cells also carry the MEM1 reference metrics (inference/eval.py definitions, `ref_*` keys,
// actor/envs/qa/reference_eval.h), token counts taken with the model's tokenizer.
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actor/commands/commands.h"
#include "actor/commands/eval_report.h"
#include "actor/envs/env_factory.h"
#include "actor/envs/qa/qa_env.h"
#include "actor/envs/qa/reference_eval.h"
#include "actor/rollout/rollout_engine.h"
#include "common/cli/cli_common.h"
#include "common/config/config.h"
#include "common/memory/episode_metrics.h"
#include "common/model/model_io.h"
#include "common/tokenizer/tokenizer.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

struct EvalArgs {
  ConfigFlags config;
  std::string checkpoint, tokenizer, env, data, split = "test", objectives = "1,2,4", policies = "mem1,full";
  std::string out;
  std::vector<std::string> metrics;  // run metrics.jsonl files (or run dirs) for the training-curve plot
  int64_t tasks = 16, tasks_large = -1, batch = 8, max_new_tokens = 0;
  int32_t max_turns = 0, large_from = 8;
  uint64_t seed = 7;
  bool expert = false, quiet = false;
  // Shortcuts for config keys (empty / negative = the config's value): actor.preset,
  // env.webshop.wordnet_dir, runtime.threads; WebShop catalog loading.
  std::string preset, wordnet;
  int32_t threads = -1;
  bool synthetic_goals = false;
  int64_t max_products = -2, catalog_seed = -1;
};

}  // namespace

Result<std::vector<int32_t>> ParseObjectiveCounts(const std::string& s, const std::string& flag) {
  std::vector<int32_t> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) {
    x = TrimWhitespace(x);
    if (x.empty()) continue;
    char* end = nullptr;
    const long v = std::strtol(x.c_str(), &end, 10);
    if (*end != 0 || v < 1 || v > 1024) return InvalidArgument(flag + ": bad count \"" + x + "\" (expected 1..1024)");
    out.push_back(static_cast<int32_t>(v));
  }
  if (out.empty()) return InvalidArgument(flag + ": no counts given");
  return out;
}

namespace {

using eval::BootstrapCi;
using eval::CellJson;
using eval::EvalCell;
using eval::kReferenceNote;
using eval::MarkdownTable;
using eval::Mean;
using eval::PlotTraining;
using eval::PlotVsN;
using eval::ReferenceTable;
using eval::RenderEpisode;

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) {
    x = TrimWhitespace(x);
    if (!x.empty()) out.push_back(x);
  }
  return out;
}

double Component(const proto::Trajectory& t, const std::string& key) {
  auto it = t.reward_components().find(key);
  return it == t.reward_components().end() ? 0.0 : it->second;
}

// KV slot size for an eval cell: what the context policy can hold at most (prompt + kept
// turns, each at most max_new tokens plus an observation), at least the config's, at most 64k.
// A slot far larger than needed costs memory and zero-filling for nothing.
int32_t SlotCapacity(const ContextPolicy& p, int32_t max_turns, int32_t max_new, int32_t configured) {
  int64_t kept = max_turns;  // full context keeps every turn
  if (p.kind == ContextPolicy::Kind::kMem1) kept = 1;
  const int64_t per_turn = max_new + 400;  // generated tokens + an observation (3 passages)
  int64_t need = 1024 + (kept + 1) * per_turn;
  if (p.kind == ContextPolicy::Kind::kWindow) need = 1024 + p.window_tokens + per_turn;
  return static_cast<int32_t>(std::min<int64_t>(65536, std::max<int64_t>(configured, need)));
}

// Hands out `inner`'s tasks and records every QA task's golden answers (alias list per
// question, in order) by task id: the trajectory does not carry them.
class GoldenRecordingTaskSource : public TaskSource {
 public:
  GoldenRecordingTaskSource(TaskSource* inner, std::map<std::string, std::vector<std::vector<std::string>>>* golden)
      : inner_(inner), golden_(golden) {}
  std::unique_ptr<Environment> Next() override {
    std::unique_ptr<Environment> env = inner_->Next();
    if (const auto* qa = dynamic_cast<const QaEnv*>(env.get())) {
      std::vector<std::vector<std::string>> g;
      for (const auto& q : qa->task().questions) g.push_back(q.golden_answers);
      (*golden_)[qa->task_id()] = std::move(g);
    }
    return env;
  }

 private:
  TaskSource* inner_;
  std::map<std::string, std::vector<std::vector<std::string>>>* golden_;
};

// One finished QA episode, kept for the reference metrics (computed after the timed run).
struct RecordedEpisode {
  std::string task_id;
  std::vector<TurnTokenIds> turns;
};

// The reference metrics of one episode: our turns as text (the response without a trailing
// EOS, stripped as vLLM's text.strip(); the observation block as the agent saw it), the row
// generate_rollout would have written, eval.py's metrics with the model's token counts.
ReferenceMetrics EpisodeReferenceMetrics(const RecordedEpisode& e, const std::vector<std::vector<std::string>>& golden,
                                         const Tokenizer& tok, const TagPreset& preset) {
  std::vector<EpisodeTurnText> texts;
  for (const auto& t : e.turns) {
    std::vector<int32_t> gen = t.generated;
    while (!gen.empty() && tok.eos_id() >= 0 && gen.back() == tok.eos_id()) gen.pop_back();
    EpisodeTurnText x;
    x.response = PythonStrip(tok.Decode(gen));
    if (t.observation) x.observation = tok.Decode(*t.observation);
    texts.push_back(std::move(x));
  }
  const TokenCounter count = [&tok](const std::string& s) { return static_cast<int64_t>(tok.Encode(s).size()); };
  return ComputeReferenceMetrics(BuildReferenceRow(texts, golden, preset), count, preset.ActionTags("answer"));
}

Status RunEvalCommand(const EvalArgs& a, Mem1Config config) {
  if (!a.env.empty()) {
    auto env = ParseEnvKind(a.env);
    if (!env.ok()) return InvalidArgument("--env: expected qa or webshop");
    config.env.name = *env;
  }
  const bool qa = config.env.name == EnvKind::kQa;
  if (!a.data.empty()) (qa ? config.env.qa.data_dir : config.env.webshop.data_dir) = a.data;
  if (!a.preset.empty()) {
    MEM1_ASSIGN_OR_RETURN(config.actor.tag_preset, GetTagPreset(a.preset));
  }
  if (!a.wordnet.empty()) config.env.webshop.wordnet_dir = a.wordnet;
  if (a.synthetic_goals) config.env.webshop.human_goals = false;
  if (a.max_products >= -1) config.env.webshop.max_products = a.max_products;
  if (a.catalog_seed >= 0) config.env.webshop.catalog_seed = a.catalog_seed;
  config.env.qa.split = a.split;
  if (!qa) config.env.webshop.split = a.split;
  config.model.checkpoint = a.checkpoint;
  if (!a.tokenizer.empty()) config.tokenizer.path = a.tokenizer;
  else if (config.tokenizer.path.empty()) config.tokenizer.path = a.checkpoint;
  MEM1_ASSIGN_OR_RETURN(std::vector<int32_t> counts, qa ? ParseObjectiveCounts(a.objectives, "--objectives") : Result<std::vector<int32_t>>(std::vector<int32_t>{0}));
  const std::vector<std::string> policies = SplitComma(a.policies);
  if (policies.empty()) return InvalidArgument("--policies: none given");
  std::vector<ContextPolicy> parsed_policies;
  for (const auto& p : policies) {
    MEM1_ASSIGN_OR_RETURN(ContextPolicy policy, ContextPolicy::Parse(p));
    parsed_policies.push_back(policy);
  }
  MEM1_ASSIGN_OR_RETURN(Qwen2ForCausalLM model, LoadOrInitModel(config.model, config.runtime));
  MEM1_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(config.tokenizer.path));
  model->eval();
  if (!a.out.empty()) std::filesystem::create_directories(a.out);

  std::printf("eval: %s%s, env %s, %s split, greedy; tasks per cell %lld", a.checkpoint.c_str(),
              a.expert ? " (scripted expert through the same engine)" : "", ToString(config.env.name).c_str(), a.split.c_str(),
              static_cast<long long>(a.tasks));
  if (qa && a.tasks_large > 0) std::printf(" (%lld for N >= %d)", static_cast<long long>(a.tasks_large), a.large_from);
  std::printf("; turn budget %s\n", qa ? (a.max_turns > 0 ? std::to_string(a.max_turns).c_str() : "2N+2") : "env.webshop.max_steps");
  nlohmann::json cells = nlohmann::json::array();
  std::optional<proto::Trajectory> shown;
  const int32_t show_n = qa ? [&] {
    int32_t best = counts.front();
    for (int32_t n : counts) if (n <= 4) best = std::max(best, n);
    return best;
  }() : 0;
  for (int32_t n : counts) {
    for (size_t pi = 0; pi < policies.size(); ++pi) {
      const std::string& pol = policies[pi];
      Mem1Config c = config;
      if (qa) c.env.qa.objectives = n;
      c.actor.policy = parsed_policies[pi];
      c.actor.num_envs = static_cast<int32_t>(a.batch);
      if (a.max_new_tokens > 0) c.actor.max_new_tokens_per_turn = static_cast<int32_t>(a.max_new_tokens);
      c.actor.max_turns = a.max_turns > 0 ? a.max_turns : (qa ? QaTurnBudget(n) : c.env.webshop.max_steps);
      if (!qa) c.env.webshop.max_steps = c.actor.max_turns;
      c.actor.slot_capacity = SlotCapacity(c.actor.policy, c.actor.max_turns, c.actor.max_new_tokens_per_turn, c.actor.slot_capacity);
      MEM1_ASSIGN_OR_RETURN(RolloutOptions ro, RolloutOptionsFromConfig(c));
      ro.sampling.greedy = true;
      ro.actor_id = "eval";
      MEM1_ASSIGN_OR_RETURN(auto envs, MakeEnvironments(c, a.seed + static_cast<uint64_t>(n)));
      const int64_t count = qa && a.tasks_large > 0 && n >= a.large_from ? a.tasks_large : a.tasks;
      std::map<std::string, std::vector<std::vector<std::string>>> golden;  // QA: by task id
      GoldenRecordingTaskSource recording(envs->tasks.get(), &golden);
      CountedTaskSource tasks(&recording, count);
      std::vector<RecordedEpisode> recorded;
      RolloutEngine engine(model, tok.get(), ro);
      EvalCell cell;
      cell.policy = pol;
      cell.objectives = n;
      const double t0 = MonotonicSeconds();
      double last = 0;
      MEM1_RETURN_IF_ERROR(engine.Run(&tasks, [&](proto::Trajectory&& t) {
        cell.em.push_back(t.metrics().exact_match());
        cell.f1.push_back(t.metrics().f1());
        cell.reward.push_back(t.reward());
        cell.success.push_back(Component(t, "webshop_success"));
        cell.peak.push_back(t.metrics().peak_tokens());
        cell.dependency.push_back(t.metrics().dependency());
        cell.turns.push_back(t.metrics().turns());
        cell.format_errors.push_back(t.metrics().format_errors());
        cell.generated.push_back(static_cast<double>(t.metrics().generated_tokens()));
        ++cell.tasks;
        if (qa) recorded.push_back({t.task_id(), TrajectoryTurnTokens(t)});
        if (!shown && n == show_n && pol == policies.front()) shown = t;
        const double now = MonotonicSeconds();
        if (!a.quiet && (now - last > 1.0 || cell.tasks == count)) {
          const int width = 30, done = static_cast<int>(width * cell.tasks / std::max<int64_t>(1, count));
          std::fprintf(stderr, "\r  %-10s N=%-3d [%s%s] %lld/%lld tasks, %.1f s/task   ", pol.c_str(), n,
                       std::string(done, '#').c_str(), std::string(width - done, '.').c_str(),
                       static_cast<long long>(cell.tasks), static_cast<long long>(count),
                       (now - t0) / std::max<int64_t>(1, cell.tasks));
          last = now;
        }
      }, a.expert ? envs->expert.get() : nullptr));
      if (!a.quiet) std::fprintf(stderr, "\n");
      cell.seconds = MonotonicSeconds() - t0;
      for (const auto& e : recorded) {  // after the timed run: not in s/task
        auto g = golden.find(e.task_id);
        if (g == golden.end()) {
          ++cell.ref_missing_golden;
          continue;
        }
        cell.ref.Add(EpisodeReferenceMetrics(e, g->second, *tok, ro.tag_preset));
        if (static_cast<int64_t>(e.turns.size()) > kReferenceTurnsRead) ++cell.ref_long_episodes;
        if (std::any_of(e.turns.begin(), e.turns.end(), [](const TurnTokenIds& t) { return t.observation_clipped; })) {
          ++cell.ref_clipped;
        }
      }
      cells.push_back(CellJson(cell, a.seed));
      const auto& j = cells.back();
      if (qa) {
        std::printf("  N=%-3d %-10s EM/obj %.3f [%.3f, %.3f]  F1(sum) %.3f  peak %.0f tok  dependency %.3g  turns %.2f  "
                    "well-formed %.1f%%  %.2f s/task\n",
                    n, pol.c_str(), j["em_per_objective"].get<double>(), j["em_per_objective_ci95"][0].get<double>(),
                    j["em_per_objective_ci95"][1].get<double>(), j["f1_sum"].get<double>(), j["peak_tokens"].get<double>(),
                    j["dependency"].get<double>(), j["turns"].get<double>(), 100 * j["wellformed_turns"].get<double>(),
                    j["seconds_per_task"].get<double>());
      } else {
        std::printf("  %-10s reward %.3f [%.3f, %.3f]  success %.3f  peak %.0f tok  dependency %.3g  turns %.2f  "
                    "well-formed %.1f%%  %.2f s/episode\n",
                    pol.c_str(), j["reward"].get<double>(), j["reward_ci95"][0].get<double>(),
                    j["reward_ci95"][1].get<double>(), j["success"].get<double>(), j["peak_tokens"].get<double>(),
                    j["dependency"].get<double>(), j["turns"].get<double>(), 100 * j["wellformed_turns"].get<double>(),
                    j["seconds_per_task"].get<double>());
      }
      std::fflush(stdout);
    }
  }
  const std::string table = MarkdownTable(cells, qa);
  std::printf("\n%s", table.c_str());
  const std::string ref_table = qa ? ReferenceTable(cells) : "";
  if (qa) std::printf("\n%s", ref_table.c_str());
  if (shown) {
    const std::string ep = RenderEpisode(*shown, *tok);
    std::printf("\none episode as the agent saw it (%s, N=%d):\n%s", policies.front().c_str(), show_n, ep.c_str());
    if (!a.out.empty()) std::ofstream(a.out + "/episode.txt") << ep;
  }
  if (a.out.empty()) return Status::Ok();
  nlohmann::json doc = {{"checkpoint", a.checkpoint}, {"env", ToString(config.env.name)}, {"split", a.split},
                        {"expert", a.expert}, {"seed", a.seed}, {"greedy", true},
                        {"turn_budget", qa ? "2N+2" : "env.webshop.max_steps"}, {"cells", cells}};
  if (qa) doc["reference_metrics"] = std::string("ref_* fields: ") + kReferenceNote;
  {
    std::ofstream f(a.out + "/eval.json");
    f << doc.dump(2) << "\n";
    if (!f) return Internal(a.out + "/eval.json: cannot write");
    std::ofstream(a.out + "/eval.md") << "# mem1 eval: " << a.checkpoint << " (" << ToString(config.env.name) << ", " << a.split
                                      << " split, greedy)\n\n" << table;
  }
  std::vector<std::string> written = {"eval.json", "eval.md"};
  if (qa) {
    std::ofstream f(a.out + "/eval_reference.md");
    f << "# mem1 eval: " << a.checkpoint << ", MEM1 reference metrics\n\n" << ref_table;
    if (!f) return Internal(a.out + "/eval_reference.md: cannot write");
    written.push_back("eval_reference.md");
  }
  if (shown) written.push_back("episode.txt");
  auto plot = [&](Status st, const std::string& file) -> Status {
    if (st.ok()) {
      written.push_back(file);
      return st;
    }
    if (st.code() == StatusCode::kUnavailable) {
      std::printf("plots skipped: %s\n", st.message().c_str());
      return Status::Ok();
    }
    return st;
  };
  if (qa && counts.size() > 1) {
    MEM1_RETURN_IF_ERROR(plot(PlotVsN(a.out, cells, policies, "peak_tokens", "peak_tokens", "peak tokens in context", false), "peak_tokens.png"));
    MEM1_RETURN_IF_ERROR(plot(PlotVsN(a.out, cells, policies, "em_per_objective", "em", "EM per objective (95% CI)", false), "em.png"));
    MEM1_RETURN_IF_ERROR(plot(PlotVsN(a.out, cells, policies, "dependency", "dependency", "dependency (MEM1 metric)", false), "dependency.png"));
  }
  if (!a.metrics.empty()) {
    std::string note;
    MEM1_RETURN_IF_ERROR(plot(PlotTraining(a.out, a.metrics, &note), "training.png"));
    if (!note.empty()) std::printf("training curves: %s\n", note.c_str());
  }
  std::printf("wrote %s/{%s}\n", a.out.c_str(), JoinStrings(written, ",").c_str());
  return Status::Ok();
}

}  // namespace

void RegisterEvalSubcommand(CLI::App* parent, const std::string& name, const std::string& fixed_env) {
  auto a = std::make_shared<EvalArgs>();
  a->env = fixed_env;
  auto* ev = parent->add_subcommand(
      name, fixed_env.empty()
                ? "Evaluate a policy: EM/F1 (QA) or reward/success (WebShop), peak tokens, dependency, time per (policy, N); "
                  "eval.json, eval.md and plots"
                : "Evaluate a policy on " + fixed_env + " (= mem1 eval --env " + fixed_env +
                      "): reward, success, peak tokens, dependency, time; eval.json, eval.md and plots");
  AddConfigFlags(ev, &a->config);
  ev->add_option("--checkpoint", a->checkpoint, "HF checkpoint directory (e.g. <run>/policy)")->required();
  ev->add_option("--tokenizer", a->tokenizer, "Tokenizer (default: tokenizer.path, else the checkpoint's)");
  if (fixed_env.empty()) ev->add_option("--env", a->env, "qa | webshop (default: env.name of the config)");
  ev->add_option("--data", a->data, "Data directory (default: env.qa.data_dir / env.webshop.data_dir)");
  ev->add_option("--split", a->split, "train | dev | test");
  if (fixed_env != "webshop") ev->add_option("--objectives", a->objectives, "QA: comma-separated objective counts, e.g. 1,2,4,8,16");
  ev->add_option("--policies", a->policies, "Comma-separated context policies: mem1,full,window:K");
  ev->add_option("--tasks,--episodes", a->tasks, "Tasks per (policy, N)")->check(CLI::Range(1, 1 << 20));
  if (fixed_env != "webshop") {
    ev->add_option("--tasks-large", a->tasks_large, "Tasks per cell for N >= --large-from (default: --tasks)")
        ->check(CLI::Range(1, 1 << 20));
    ev->add_option("--large-from", a->large_from, "Smallest N that uses --tasks-large");
  }
  ev->add_option("--batch", a->batch, "Concurrent episodes")->check(CLI::Range(1, 4096));
  ev->add_option("--max-turns", a->max_turns, "Turn budget (0 = QA: 2N+2; WebShop: env.webshop.max_steps)");
  ev->add_option("--max-new-tokens", a->max_new_tokens, "Max new tokens per turn (0 = actor.max_new_tokens_per_turn)")
      ->check(CLI::Range(0, 1 << 16));
  ev->add_option("--seed", a->seed, "Task sampling and bootstrap seed");
  ev->add_option("--out", a->out, "Output directory for eval.json, eval.md, episode.txt and the PNG plots");
  ev->add_option("--metrics", a->metrics, "metrics.jsonl (or run dir) of training runs, in order: training-curve plot")
      ->expected(1, 16);
  ev->add_option("--preset", a->preset, "Tag preset: paper | mem1-code | mem1-code-eval (default: actor.preset)");
  ev->add_option("--threads", a->threads, "Intra-op threads, 0 = all cores (default: runtime.threads)")->check(CLI::Range(0, 4096));
  if (fixed_env != "qa") {
    ev->add_option("--wordnet", a->wordnet, "WebShop: WordNet index files for the reward's title score (default: env.webshop.wordnet_dir)");
    ev->add_flag("--synthetic-goals", a->synthetic_goals, "WebShop: goals from instructions x options (env.webshop.human_goals=false)");
    ev->add_option("--max-products", a->max_products, "WebShop: load only the first N products, -1 = all (env.webshop.max_products)")
        ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
    ev->add_option("--catalog-seed", a->catalog_seed, "WebShop: simulated prices and goal shuffle seed (env.webshop.catalog_seed)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 62));
  }
  ev->add_flag("--expert", a->expert, "Play the scripted expert instead of the model (upper bound / sanity check)");
  ev->add_flag("--quiet", a->quiet, "No progress bar");
  ev->callback([a] {
    Mem1Config config;
    if (!LoadConfigOrReport(a->config, &config)) throw CLI::RuntimeError(2);
    if (a->threads >= 0) config.runtime.threads = a->threads;
    ApplyThreads(config.runtime.threads);
    const Status st = RunEvalCommand(*a, config);
    throw CLI::RuntimeError(st.ok() ? 0 : ReportError(st));
  });
}

void RegisterEvalCommand(CLI::App* app) { RegisterEvalSubcommand(app, "eval", ""); }

}  // namespace mem1
