// `mem1 datagen webshop`, `mem1 webshop index | play | eval`.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "actor/envs/webshop/synthetic_catalog.h"
#include "actor/envs/webshop/webshop_policy.h"
#include "actor/rollout/rollout_engine.h"
#include "common/tokenizer/tokenizer.h"
#include "common/cli/cli_common.h"
#include "actor/commands/commands.h"
#include "common/memory/episode_metrics.h"
#include "common/model/model_io.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

using namespace webshop;  // NOLINT

struct DataArgs {
  std::string data;
  bool synthetic_goals = false;
  int64_t max_products = -1;
  uint64_t seed = 233;
};

void AddDataOptions(CLI::App* c, DataArgs* a) {
  c->add_option("--data", a->data, "WebShop data directory (items_shuffle*.json, items_ins_v2*.json, items_human_ins.json)")
      ->required();
  c->add_flag("--synthetic-goals", a->synthetic_goals, "Goals from items_ins_v2 instructions x option combinations "
              "instead of the human instructions");
  c->add_option("--max-products", a->max_products, "Load only the first N products (-1 = all)");
  c->add_option("--catalog-seed", a->seed, "Seed for simulated prices, price limits and the goal shuffle");
}

// WordNet for the reward's title score (the same default as env.webshop.wordnet_dir).
void AddWordNetOption(CLI::App* c, std::string* dir) {
  c->add_option("--wordnet", *dir, "WordNet index files for the reward's title score (missing: built-in adjective list)");
}

bool LoadOrReport(const DataArgs& a, Catalog* c, bool quiet = false) {
  CatalogOptions o;
  o.data_dir = a.data;
  o.human_goals = !a.synthetic_goals;
  o.max_products = a.max_products;
  o.seed = a.seed;
  CatalogReport r;
  const double t0 = MonotonicSeconds();
  if (auto st = LoadCatalog(o, c, &r); !st.ok()) {
    ReportError(st);
    return false;
  }
  if (!quiet) {
    std::printf("catalog: %zu products, %zu goals (%s) in %.2f s; skipped %lld products, %lld goal records, %lld goals "
                "without attributes\n", c->products.size(), c->goals.size(), a.synthetic_goals ? "synthetic" : "human",
                MonotonicSeconds() - t0, static_cast<long long>(r.products.skipped),
                static_cast<long long>(r.goals.skipped), static_cast<long long>(r.goals_without_attributes));
    if (!r.products.first_errors.empty()) std::printf("  first product problem: %s\n", r.products.first_errors[0].c_str());
  }
  return true;
}

struct DatagenArgs {
  SyntheticCatalogOptions options;
  std::string out;
  bool no_index = false;
};

int RunDatagen(const DatagenArgs& a) {
  SyntheticCatalogReport r;
  const double t0 = MonotonicSeconds();
  if (auto st = WriteSyntheticCatalog(a.options, a.out, &r); !st.ok()) return ReportError(st);
  std::printf("wrote %s: %lld products, %lld human instructions (seed %llu) in %.1f s\n", a.out.c_str(),
              static_cast<long long>(r.products), static_cast<long long>(r.human_instructions),
              static_cast<unsigned long long>(a.options.seed), MonotonicSeconds() - t0);
  if (a.no_index) return 0;
  DataArgs d;
  d.data = a.out;
  Catalog c;
  if (!LoadOrReport(d, &c)) return 1;
  IndexBuildReport ir;
  if (auto st = BuildProductIndex(c, a.out + "/index", true, &ir); !st.ok()) return ReportError(st);
  std::printf("indexed %lld products into %s/index in %.1f s\n", static_cast<long long>(ir.passages), a.out.c_str(),
              ir.seconds);
  return 0;
}

int RunIndex(const DataArgs& a, bool quiet) {
  Catalog c;
  if (!LoadOrReport(a, &c)) return 1;
  IndexBuildReport ir;
  if (auto st = BuildProductIndex(c, a.data + "/index", !quiet, &ir); !st.ok()) return ReportError(st);
  std::printf("indexed %lld products into %s/index in %.1f s\n", static_cast<long long>(ir.passages), a.data.c_str(),
              ir.seconds);
  return 0;
}

struct PlayArgs {
  DataArgs data;
  std::string player = "expert", split = "test", wordnet = kDefaultWordNetDir;
  int64_t episodes = 100;
  int32_t max_steps = 15;
  uint64_t seed = 1;
  bool verbose = false, trace = false;
};

int RunPlay(const PlayArgs& a) {
  Catalog c;
  if (!LoadOrReport(a.data, &c)) return 1;
  auto split = ParseSplit(a.split);
  if (!split.ok()) return ReportError(split.status());
  auto search = OpenProductIndex(c, a.data.data + "/index");
  if (!search.ok()) return ReportError(search.status());
  if (a.player != "expert" && a.player != "random") {
    return ReportError(InvalidArgument("--player: expected expert or random, got \"" + a.player + "\""));
  }
  const auto goals = SplitGoals(c.goals.size(), *split);
  if (goals.empty()) return ReportError(InvalidArgument("split " + a.split + " has no goals"));
  const std::unique_ptr<NounLexicon> lexicon = LoadNounLexicon(a.wordnet);
  WebShopEnvOptions eo;
  eo.max_steps = a.max_steps;
  eo.lexicon = lexicon.get();
  WebShopTaskSource tasks(&c, search->get(), goals, true, a.seed, a.episodes, eo);
  std::mt19937_64 rng(a.seed);
  std::vector<double> reward, success, steps;
  const double t0 = MonotonicSeconds();
  while (auto env = tasks.Next()) {
    auto* w = static_cast<WebShopEnv*>(env.get());
    if (a.trace) std::printf("== %s\n%s\n", w->task_id().c_str(), w->Prompt().c_str());
    int step = 0;
    const double r = PlayEpisode(w, a.player == "expert", &rng, a.max_steps,
                                 [&](const std::string& act, const StepResult& s) {  // as the agent sees them
                                   if (a.trace) std::printf("-- action %d: %s\n%s\n", ++step, act.c_str(), s.observation.c_str());
                                 });
    reward.push_back(r);
    success.push_back(r >= 1.0 - 1e-9);
    steps.push_back(w->steps());
    if (a.verbose) std::printf("%s  reward %.3f  steps %d  %s\n", w->task_id().c_str(), r, w->steps(),
                               w->session().goal().instruction_text.c_str());
  }
  std::printf("%s player, %s split, %zu episodes: mean reward %.3f, success %.3f, steps %.1f (%.0f episodes/s)\n",
              a.player.c_str(), a.split.c_str(), reward.size(), Summarize(reward).mean, Summarize(success).mean,
              Summarize(steps).mean, reward.size() / std::max(1e-9, MonotonicSeconds() - t0));
  return 0;
}

struct EvalArgs {
  DataArgs data;
  std::string checkpoint, tokenizer, split = "test", policies = "mem1,full", preset = "paper", wordnet = kDefaultWordNetDir;
  int64_t episodes = 16, batch = 8, max_new_tokens = 160;
  int32_t max_turns = 15, threads = 0;
  uint64_t seed = 7;
  bool expert = false;
};

int RunEval(const EvalArgs& a) {
  ApplyThreads(a.threads);
  auto preset = GetTagPreset(a.preset);
  if (!preset.ok()) return ReportError(InvalidArgument("--preset: " + preset.status().message()));
  Catalog c;
  if (!LoadOrReport(a.data, &c)) return 1;
  auto split = ParseSplit(a.split);
  if (!split.ok()) return ReportError(split.status());
  auto search = OpenProductIndex(c, a.data.data + "/index");
  if (!search.ok()) return ReportError(search.status());
  auto model = LoadHfModel(a.checkpoint, torch::kCPU, torch::kFloat32);
  if (!model.ok()) return ReportError(model.status());
  auto tok = LoadTokenizer(a.tokenizer.empty() ? a.checkpoint : a.tokenizer);
  if (!tok.ok()) return ReportError(tok.status());
  const auto goals = SplitGoals(c.goals.size(), *split);
  if (goals.empty()) return ReportError(InvalidArgument("split " + a.split + " has no goals"));
  const std::unique_ptr<NounLexicon> lexicon = LoadNounLexicon(a.wordnet);
  WebShopExpertPolicy expert(*preset);
  std::printf("webshop eval: %s%s, %s split, %lld goals per policy, greedy, max %d turns\n", a.checkpoint.c_str(),
              a.expert ? " (scripted expert)" : "", a.split.c_str(), static_cast<long long>(a.episodes), a.max_turns);
  std::printf("policy        reward  success  bought  peak_tokens  dependency  turns  s/episode  format_err\n");
  std::stringstream ss(a.policies);
  for (std::string pol; std::getline(ss, pol, ',');) {
    auto policy = ContextPolicy::Parse(pol);
    if (!policy.ok()) return ReportError(policy.status());
    RolloutOptions o;
    o.policy = *policy;
    o.tag_preset = *preset;
    o.batch_size = a.batch;
    o.max_turns = a.max_turns;
    o.max_new_tokens_per_turn = a.max_new_tokens;
    o.slot_capacity = 32768;
    o.sampling.greedy = true;
    RolloutEngine engine(*model, tok->get(), o);
    WebShopEnvOptions eo;
    eo.max_steps = a.max_turns;
    eo.preset = *preset;
    eo.lexicon = lexicon.get();
    WebShopTaskSource tasks(&c, search->get(), goals, true, a.seed, a.episodes, eo);
    std::vector<double> reward, success, bought, peak, dep, turns, fe;
    auto st = engine.Run(&tasks, [&](proto::Trajectory&& t) {
      reward.push_back(t.reward());
      success.push_back(t.reward() >= 1.0 - 1e-9);
      auto b = t.reward_components().find("bought");
      bought.push_back(b == t.reward_components().end() ? 0.0 : b->second);
      peak.push_back(t.metrics().peak_tokens());
      dep.push_back(t.metrics().dependency());
      turns.push_back(t.metrics().turns());
      fe.push_back(t.metrics().format_errors());
    }, a.expert ? &expert : nullptr);
    if (!st.ok()) return ReportError(st);
    const double eps = std::max<size_t>(1, reward.size());
    std::printf("%-12s %7.3f  %7.3f  %6.2f  %11.0f  %10.3g  %5.1f  %9.2f  %10.2f\n", pol.c_str(), Summarize(reward).mean,
                Summarize(success).mean, Summarize(bought).mean, Summarize(peak).mean, Summarize(dep).mean, Summarize(turns).mean,
                engine.stats().wall_seconds / eps, Summarize(fe).mean);
  }
  return 0;
}

}  // namespace

void RegisterWebShopCommands(CLI::App* app) {
  CLI::App* datagen = nullptr;
  for (CLI::App* sub : app->get_subcommands({})) {
    if (sub->get_name() == "datagen") datagen = sub;
  }
  if (datagen == nullptr) {
    datagen = app->add_subcommand("datagen", "Generate datasets in the real formats");
    datagen->require_subcommand(1);
  }
  auto dargs = std::make_shared<DatagenArgs>();
  auto* d = datagen->add_subcommand("webshop", "Synthetic WebShop catalog + goals in WebShop's JSON files, and its index");
  d->add_option("--products", dargs->options.products, "Number of products")->check(CLI::Range(int64_t{10}, int64_t{100000000}));
  d->add_option("--seed", dargs->options.seed, "Random seed");
  d->add_option("--out", dargs->out, "Output directory")->required();
  d->add_flag("--no-index", dargs->no_index, "Do not build the search index (mem1 webshop index does it later)");
  d->callback([dargs] { throw CLI::RuntimeError(RunDatagen(*dargs)); });

  auto* ws = app->add_subcommand("webshop", "WebShop environment tools: index, play (expert/random), eval (a model)");
  ws->require_subcommand(1);
  auto iargs = std::make_shared<DataArgs>();
  auto quiet = std::make_shared<bool>(false);
  auto* idx = ws->add_subcommand("index", "Build the BM25 product index (DATA/index) of a WebShop catalog");
  AddDataOptions(idx, iargs.get());
  idx->add_flag("--quiet", *quiet, "No progress bar");
  idx->callback([iargs, quiet] { throw CLI::RuntimeError(RunIndex(*iargs, *quiet)); });

  auto pargs = std::make_shared<PlayArgs>();
  auto* play = ws->add_subcommand("play", "Play goals with the scripted expert or a random clicker (no model)");
  AddDataOptions(play, &pargs->data);
  play->add_option("--player", pargs->player, "expert | random");
  play->add_option("--split", pargs->split, "train | dev | test | all");
  play->add_option("--episodes", pargs->episodes, "Episodes")->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  play->add_option("--max-steps", pargs->max_steps, "Actions per episode")->check(CLI::Range(1, 1000));
  play->add_option("--seed", pargs->seed, "Seed of the random player");
  play->add_flag("--verbose", pargs->verbose, "One line per episode");
  play->add_flag("--trace", pargs->trace, "Print the prompt, every action and every page");
  AddWordNetOption(play, &pargs->wordnet);
  play->callback([pargs] { throw CLI::RuntimeError(RunPlay(*pargs)); });

  auto eargs = std::make_shared<EvalArgs>();
  auto* ev = ws->add_subcommand("eval", "Evaluate a policy on WebShop goals: reward, success, peak tokens, dependency, time");
  AddDataOptions(ev, &eargs->data);
  ev->add_option("--checkpoint", eargs->checkpoint, "HF checkpoint directory (e.g. <run>/policy)")->required();
  ev->add_option("--tokenizer", eargs->tokenizer, "Tokenizer (default: from the checkpoint)");
  ev->add_option("--split", eargs->split, "train | dev | test | all");
  ev->add_option("--policies", eargs->policies, "Comma-separated context policies: mem1,full,window:K");
  ev->add_option("--preset", eargs->preset, "Tag preset: paper | mem1-code");
  ev->add_option("--episodes", eargs->episodes, "Goals per policy")->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  ev->add_option("--batch", eargs->batch, "Concurrent episodes")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  ev->add_option("--max-turns", eargs->max_turns, "Max turns (= actions) per episode")->check(CLI::Range(1, 1000));
  ev->add_option("--max-new-tokens", eargs->max_new_tokens, "Max new tokens per turn")->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  ev->add_option("--seed", eargs->seed, "Seed");
  ev->add_option("--threads", eargs->threads, "Intra-op threads (0 = all cores)");
  ev->add_flag("--expert", eargs->expert, "Play the scripted expert through the engine instead of the model");
  AddWordNetOption(ev, &eargs->wordnet);
  ev->callback([eargs] { throw CLI::RuntimeError(RunEval(*eargs)); });
}

}  // namespace mem1
