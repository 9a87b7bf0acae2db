// `mem1 datagen webshop`, `mem1 webshop index | play`, and `mem1 webshop eval` (= `mem1 eval --env webshop`).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "actor/envs/env_factory.h"
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

// The data flags of `webshop index` and `webshop play`: shorthands over env.webshop.* of the
// typed config (--config / --set), applied only when given, so every command reads the same
// options as training.
struct DataArgs {
  ConfigFlags config;
  std::string data;
  bool synthetic_goals = false;
  int64_t max_products = -2;  // -2: not given
  int64_t catalog_seed = -1;  // -1: not given
};

void AddDataOptions(CLI::App* c, DataArgs* a) {
  AddConfigFlags(c, &a->config);
  c->add_option("--data", a->data, "WebShop data directory (items_shuffle*.json, items_ins_v2*.json, items_human_ins.json; "
                                   "default env.webshop.data_dir)");
  c->add_flag("--synthetic-goals", a->synthetic_goals, "Goals from items_ins_v2 instructions x option combinations "
              "instead of the human instructions (= env.webshop.human_goals=false)");
  c->add_option("--max-products", a->max_products, "Load only the first N products (-1 = all; default env.webshop.max_products)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
  c->add_option("--catalog-seed", a->catalog_seed, "Seed for simulated prices, price limits and the goal shuffle "
                "(default env.webshop.catalog_seed)")->check(CLI::Range(int64_t{0}, int64_t{1} << 62));
}

// The typed config with the data flags applied (env.name = webshop); false after printing the error.
bool LoadWebShopConfig(const DataArgs& a, Mem1Config* config) {
  if (!LoadConfigOrReport(a.config, config)) return false;
  config->env.name = EnvKind::kWebShop;
  auto& w = config->env.webshop;
  if (!a.data.empty()) w.data_dir = a.data;
  if (a.synthetic_goals) w.human_goals = false;
  if (a.max_products != -2) w.max_products = a.max_products;
  if (a.catalog_seed != -1) w.catalog_seed = a.catalog_seed;
  return true;
}

// WordNet for the reward's title score (env.webshop.wordnet_dir).
void AddWordNetOption(CLI::App* c, std::string* dir) {
  c->add_option("--wordnet", *dir, "WordNet index files for the reward's title score (default env.webshop.wordnet_dir; "
                                   "missing: built-in adjective list)");
}

bool LoadOrReport(const WebShopEnvConfig& w, Catalog* c, bool quiet = false) {
  CatalogOptions o;
  o.data_dir = w.data_dir;
  o.human_goals = w.human_goals;
  o.max_products = w.max_products;
  o.seed = static_cast<uint64_t>(w.catalog_seed);
  CatalogReport r;
  const double t0 = MonotonicSeconds();
  if (auto st = LoadCatalog(o, c, &r); !st.ok()) {
    ReportError(st);
    return false;
  }
  if (!quiet) {
    std::printf("catalog: %zu products, %zu goals (%s) in %.2f s; skipped %lld products, %lld goal records, %lld goals "
                "without attributes\n", c->products.size(), c->goals.size(), w.human_goals ? "human" : "synthetic",
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
  WebShopEnvConfig w;  // the defaults, on the catalog just written
  w.data_dir = a.out;
  Catalog c;
  if (!LoadOrReport(w, &c)) return 1;
  IndexBuildReport ir;
  if (auto st = BuildProductIndex(c, a.out + "/index", true, &ir); !st.ok()) return ReportError(st);
  std::printf("indexed %lld products into %s/index in %.1f s\n", static_cast<long long>(ir.passages), a.out.c_str(),
              ir.seconds);
  return 0;
}

int RunIndex(const DataArgs& a, bool quiet) {
  Mem1Config config;
  if (!LoadWebShopConfig(a, &config)) return 2;
  const std::string& data = config.env.webshop.data_dir;
  Catalog c;
  if (!LoadOrReport(config.env.webshop, &c)) return 1;
  IndexBuildReport ir;
  if (auto st = BuildProductIndex(c, data + "/index", !quiet, &ir); !st.ok()) return ReportError(st);
  std::printf("indexed %lld products into %s/index in %.1f s\n", static_cast<long long>(ir.passages), data.c_str(),
              ir.seconds);
  return 0;
}

struct PlayArgs {
  DataArgs data;
  std::string player = "expert", split, wordnet, preset;
  int64_t episodes = 100, goal = 0;
  int32_t max_steps = 0;  // 0: env.webshop.max_steps
  uint64_t seed = 1;
  bool verbose = false, trace = false;
};

int RunPlay(const PlayArgs& a) {
  if (a.player != "expert" && a.player != "random" && a.player != "human") {
    return ReportError(InvalidArgument("--player: expected expert, random or human, got \"" + a.player + "\""));
  }
  // The environment as the agent sees it: built by MakeEnvironments from the same typed config
  // as training, with this command's shorthand flags applied.
  Mem1Config config;
  if (!LoadWebShopConfig(a.data, &config)) return 2;
  auto& w = config.env.webshop;
  if (!a.split.empty()) w.split = a.split;
  if (!a.wordnet.empty()) w.wordnet_dir = a.wordnet;
  if (a.max_steps > 0) w.max_steps = a.max_steps;
  if (!a.preset.empty()) {
    auto p = GetTagPreset(a.preset);
    if (!p.ok()) return ReportError(p.status());
    config.actor.tag_preset = p.value();
  }
  if (a.player == "human") {
    const Status st = PlayTaskFromConfig(config, a.goal, a.seed, w.max_steps);
    return st.ok() ? 0 : ReportError(st);
  }
  auto bundle = MakeEnvironments(config, a.seed);
  if (!bundle.ok()) return ReportError(bundle.status());
  std::printf("catalog: %zu products, %zu goals (%s), split %s, preset %s, %d actions per episode\n",
              (*bundle)->catalog.products.size(), (*bundle)->catalog.goals.size(), w.human_goals ? "human" : "synthetic",
              w.split.c_str(), config.actor.tag_preset.name.c_str(), w.max_steps);
  CountedTaskSource tasks((*bundle)->tasks.get(), a.episodes);
  std::mt19937_64 rng(a.seed);
  std::vector<double> reward, success, steps;
  const double t0 = MonotonicSeconds();
  while (auto env = tasks.Next()) {
    auto* e = dynamic_cast<WebShopEnv*>(env.get());
    if (e == nullptr) return ReportError(Internal("webshop play: the task source made a non-WebShop environment"));
    if (a.trace) std::printf("== %s\n%s\n", e->task_id().c_str(), e->Prompt().c_str());
    int step = 0;
    const double r = PlayEpisode(e, a.player == "expert", &rng, w.max_steps,
                                 [&](const std::string& act, const StepResult& s) {  // as the agent sees them
                                   if (a.trace) std::printf("-- action %d: %s\n%s\n", ++step, act.c_str(), s.observation.c_str());
                                 });
    reward.push_back(r);
    success.push_back(r >= 1.0 - 1e-9);
    steps.push_back(e->steps());
    if (a.verbose) std::printf("%s  reward %.3f  steps %d  %s\n", e->task_id().c_str(), r, e->steps(),
                               e->session().goal().instruction_text.c_str());
  }
  std::printf("%s player, %s split, %zu episodes: mean reward %.3f, success %.3f, steps %.1f (%.0f episodes/s)\n",
              a.player.c_str(), w.split.c_str(), reward.size(), Summarize(reward).mean, Summarize(success).mean,
              Summarize(steps).mean, reward.size() / std::max(1e-9, MonotonicSeconds() - t0));
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

  auto* ws = app->add_subcommand("webshop", "WebShop environment tools: index, play (expert / random / human), eval (a model)");
  ws->require_subcommand(1);
  auto iargs = std::make_shared<DataArgs>();
  auto quiet = std::make_shared<bool>(false);
  auto* idx = ws->add_subcommand("index", "Build the BM25 product index (DATA/index) of a WebShop catalog");
  AddDataOptions(idx, iargs.get());
  idx->add_flag("--quiet", *quiet, "No progress bar");
  idx->callback([iargs, quiet] { throw CLI::RuntimeError(RunIndex(*iargs, *quiet)); });

  auto pargs = std::make_shared<PlayArgs>();
  auto* play = ws->add_subcommand("play", "Play goals with the scripted expert, a random clicker (no model), or yourself (--player human: actions on stdin)");
  AddDataOptions(play, &pargs->data);
  play->add_option("--player", pargs->player, "expert | random | human (you type the actions on stdin)");
  play->add_option("--goal", pargs->goal, "human: play the goal at this position of the seeded goal stream")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  play->add_option("--preset", pargs->preset, "Tag preset paper | mem1-code | mem1-code-eval (default actor.preset)");
  play->add_option("--split", pargs->split, "train | dev | test | all (default env.webshop.split)");
  play->add_option("--episodes", pargs->episodes, "Episodes")->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  play->add_option("--max-steps", pargs->max_steps, "Actions per episode (default env.webshop.max_steps)")
      ->check(CLI::Range(1, 1000));
  play->add_option("--seed", pargs->seed, "Seed of the goal stream and of the random player");
  play->add_flag("--verbose", pargs->verbose, "One line per episode");
  play->add_flag("--trace", pargs->trace, "Print the prompt, every action and every page");
  AddWordNetOption(play, &pargs->wordnet);
  play->callback([pargs] { throw CLI::RuntimeError(RunPlay(*pargs)); });

  RegisterEvalSubcommand(ws, "eval", "webshop");  // = mem1 eval --env webshop (one eval, one set of options)
}

}  // namespace mem1
