// `mem1 bench webshop`: WebShop environment throughput on a synthetic catalog (default 100k
// products): catalog generation, load (JSON parse + cleaning + goals) and index build time;
// then environment steps/s for search actions and click actions separately, single thread.
// Baselines in the same run: a search step vs the bare BM25 query it wraps (the env's own
// overhead), and the expert's episodes/s.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "actor/envs/webshop/expert.h"
#include "actor/envs/webshop/synthetic_catalog.h"
#include "actor/envs/webshop/text_match.h"
#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

using namespace webshop;  // NOLINT

struct WebShopBenchArgs {
  int64_t products = 100000;
  int64_t searches = 2000;
  int64_t clicks = 20000;
  std::string dir;
  bool keep = false, load_only = false;
};

int RunWebShopBench(const WebShopBenchArgs& a) {
  PrintBenchEnvironment(1);
  namespace fs = std::filesystem;
  const fs::path dir = a.dir.empty() ? fs::temp_directory_path() / ("mem1_bench_webshop_" + std::to_string(::getpid()))
                                     : fs::path(a.dir);
  double t0 = MonotonicSeconds();
  // A --dir that already holds a catalog (a kept earlier run) is reused: generating 1M+ products
  // takes minutes and is not what is measured.
  const bool reuse = !a.dir.empty() && fs::exists(dir / "items_shuffle.json");
  if (!reuse) {
    SyntheticCatalogReport sr;
    if (auto st = WriteSyntheticCatalog({a.products, 1}, dir.string(), &sr); !st.ok()) return ReportError(st);
  }
  const double gen_s = MonotonicSeconds() - t0;
  const auto bytes = fs::file_size(dir / "items_shuffle.json");
  const double rss0 = RssMiB();
  const bool peak_reset = ResetPeakRss();
  t0 = MonotonicSeconds();
  Catalog c;
  CatalogReport cr;
  CatalogOptions co;
  co.data_dir = dir.string();
  if (auto st = LoadCatalog(co, &c, &cr); !st.ok()) return ReportError(st);
  const double load_s = MonotonicSeconds() - t0;
  const double rss_loaded = RssMiB(), peak_load = PeakRssMiB();
  // Load figures first (flushed): at WebShop's full 1.18M products the index build below takes
  // many minutes, and the load is what every actor process pays at start.
  std::printf("catalog: %zu products (%.1f MB items_shuffle.json, %.0f bytes/product), %zu goals\n", c.products.size(),
              bytes / 1e6, static_cast<double>(bytes) / std::max<size_t>(1, c.products.size()), c.goals.size());
  if (reuse) {
    std::printf("  generate (reused %s) | load %.2f s (%.0f products/s, %.1f MB/s)\n", dir.c_str(), load_s,
                c.products.size() / load_s, bytes / 1e6 / load_s);
  } else {
    std::printf("  generate %.2f s | load %.2f s (%.0f products/s, %.1f MB/s)\n", gen_s, load_s,
                c.products.size() / load_s, bytes / 1e6 / load_s);
  }
  // Every process that runs WebShop environments (each actor; learner ranks do not) holds one catalog.
  std::printf("  memory: catalog resident %.0f MiB (RSS %.0f -> %.0f MiB, %.0f bytes/product) per actor process",
              rss_loaded - rss0, rss0, rss_loaded, (rss_loaded - rss0) * 1048576.0 / std::max<size_t>(1, c.products.size()));
  if (peak_reset) std::printf(", peak while loading %.0f MiB", peak_load);
  std::printf("\n");
  std::fflush(stdout);
  if (a.load_only) {
    if (!a.keep) fs::remove_all(dir);
    return 0;
  }
  IndexBuildReport ir;
  t0 = MonotonicSeconds();
  if (auto st = BuildProductIndex(c, (dir / "index").string(), false, &ir); !st.ok()) return ReportError(st);
  const double index_s = MonotonicSeconds() - t0;
  std::printf("  index build %.2f s (%.0f products/s), %.1f MB on disk\n", index_s, c.products.size() / index_s,
              DiskBytes((dir / "index").string()) / 1e6);
  std::fflush(stdout);
  auto search = OpenProductIndex(c, (dir / "index").string());
  if (!search.ok()) return ReportError(search.status());
  const auto goals = SplitGoals(c.goals.size(), Split::kAll);
  std::mt19937_64 rng(7);
  WebShopEnvOptions eo;
  eo.max_steps = 1 << 30;
  // Bare BM25 queries (the baseline for a search step).
  std::vector<std::string> queries;
  for (int64_t i = 0; i < a.searches; ++i) queries.push_back(ExpertQuery(c.goals[goals[i % goals.size()]].instruction_text));
  t0 = MonotonicSeconds();
  size_t hits = 0;
  for (const auto& q : queries) hits += (*search)->Search(q, kSearchReturnN).size();
  const double raw_s = MonotonicSeconds() - t0;
  // Search steps: search from the search page, then back (the click is not timed).
  double search_s = 0, click_s = 0;
  int64_t clicks = 0;
  WebShopEnv env(&c, search->get(), c.goals[goals[0]], "bench", eo, GetTagPreset("paper").value());
  for (const auto& q : queries) {
    const double s = MonotonicSeconds();
    StepResult r = env.Step("webshop", "search[" + q + "]", 10);
    search_s += MonotonicSeconds() - s;
    env.Step("webshop", "click[back to search]", 10);
  }
  // Click steps: random clickable elements on results / item / sub-pages (no search, no buy).
  env.Step("webshop", "search[" + queries[0] + "]", 10);
  while (clicks < a.clicks) {
    auto options = env.session().Clickables();
    options.erase(std::remove_if(options.begin(), options.end(),
                                 [](const std::string& x) { return x == "buy now" || x == "back to search" || x == "search"; }),
                  options.end());
    if (options.empty()) {
      env.Step("webshop", "click[back to search]", 10);
      env.Step("webshop", "search[" + queries[clicks % queries.size()] + "]", 10);
      continue;
    }
    const std::string act = "click[" + options[std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng)] + "]";
    const double s = MonotonicSeconds();
    env.Step("webshop", act, 10);
    click_s += MonotonicSeconds() - s;
    ++clicks;
  }
  // Expert episodes end to end (WordNet for the reward's title score is loaded before timing).
  const double wn0 = MonotonicSeconds();
  const std::unique_ptr<NounLexicon> lex = LoadNounLexicon(kDefaultWordNetDir);
  std::printf("WordNet noun lexicon: %zu nouns, loaded in %.2f s\n", lex ? lex->size() : 0, MonotonicSeconds() - wn0);
  WebShopEnvOptions expert_options;
  expert_options.lexicon = lex.get();
  t0 = MonotonicSeconds();
  int episodes = 0;
  double reward = 0;
  for (size_t i = 0; i < 300 && i < goals.size(); ++i, ++episodes) {
    WebShopEnv e(&c, search->get(), c.goals[goals[i]], "bench", expert_options, GetTagPreset("paper").value());
    reward += PlayEpisode(&e, true, &rng, 15);
  }
  const double ep_s = MonotonicSeconds() - t0;
  const double raw_qps = a.searches / raw_s, search_sps = a.searches / search_s, click_sps = clicks / click_s;
  std::printf("bare BM25 query (top %d): %.0f queries/s (%.1f hits avg)\n", kSearchReturnN, raw_qps,
              static_cast<double>(hits) / a.searches);
  std::printf("env search step: %.0f steps/s (%.2fx the bare query: render + action parsing overhead %.0f%%)\n",
              search_sps, search_sps / raw_qps, 100.0 * (raw_qps / search_sps - 1.0));
  std::printf("env click step : %.0f steps/s (%.0fx a search step)\n", click_sps, click_sps / search_sps);
  std::printf("expert episodes: %.0f episodes/s, mean reward %.3f over %d goals\n", episodes / ep_s,
              reward / std::max(1, episodes), episodes);
  if (!a.keep) fs::remove_all(dir);
  return 0;
}

}  // namespace

void RegisterWebShopBench(CLI::App* bench) {
  auto args = std::make_shared<WebShopBenchArgs>();
  auto* w = bench->add_subcommand("webshop", "WebShop env: catalog load + index build time, search/click steps/s");
  w->add_option("--products", args->products, "Synthetic catalog size")->check(CLI::Range(int64_t{100}, int64_t{100000000}));
  w->add_option("--searches", args->searches, "Search steps to time")->check(CLI::Range(int64_t{10}, int64_t{10000000}));
  w->add_option("--clicks", args->clicks, "Click steps to time")->check(CLI::Range(int64_t{10}, int64_t{100000000}));
  w->add_option("--dir", args->dir, "Working directory (default: a temporary one, removed)");
  w->add_flag("--keep", args->keep, "Keep the generated catalog and index (a later run with the same --dir reuses the catalog)");
  w->add_flag("--load-only", args->load_only, "Stop after the load and memory figures (no index build, no steps)");
  w->callback([args] { throw CLI::RuntimeError(RunWebShopBench(*args)); });
}

}  // namespace mem1
