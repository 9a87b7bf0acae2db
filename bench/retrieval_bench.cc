// `mem1 bench retrieval`: index build passages/s and query throughput (queries/s, p50 and p99
// latency) on a synthetic corpus (default ~1M passages), single-threaded and with 2 threads
// (each thread its own read-only searcher), in process and through `mem1 serve retriever`'s HTTP
// API (a server thread pool of 2 on 127.0.0.1, one keep-alive client per thread). Baseline for
// the ratios: the in-process 1-thread run.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <thread>

#include <functional>
#include <future>

#include "actor/envs/qa/http_retriever.h"
#include "actor/envs/qa/retriever.h"
#include "actor/envs/qa/synthetic_world.h"
#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

struct RetrievalBenchArgs {
  int64_t passages = 1000000;
  int64_t queries = 4000;
  std::string dir;
};

struct QueryStats {
  double qps = 0, p50_ms = 0, p99_ms = 0;
};

QueryStats RunQueries(const std::function<std::unique_ptr<Retriever>()>& open, const std::vector<std::string>& queries,
                      int threads) {
  std::vector<std::vector<double>> lat(threads);
  const double t0 = MonotonicSeconds();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto r = open();
      for (size_t i = t; i < queries.size(); i += threads) {
        const double s = MonotonicSeconds();
        auto hits = r->Search(queries[i], 3);
        lat[t].push_back(MonotonicSeconds() - s);
      }
    });
  }
  for (auto& th : pool) th.join();
  const double wall = MonotonicSeconds() - t0;
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  QueryStats s;
  s.qps = queries.size() / wall;
  s.p50_ms = 1e3 * all[all.size() / 2];
  s.p99_ms = 1e3 * all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return s;
}

int RunRetrievalBench(const RetrievalBenchArgs& a) {
  PrintBenchEnvironment(1);
  namespace fs = std::filesystem;
  const fs::path dir = a.dir.empty() ? fs::temp_directory_path() / ("mem1_bench_retrieval_" + std::to_string(::getpid()))
                                     : fs::path(a.dir);
  SyntheticWorldOptions o;
  o.entities = std::max<int64_t>(50, a.passages * 10 / 38);  // ~3.8 passages per entity
  const double g0 = MonotonicSeconds();
  const SyntheticWorld w = GenerateSyntheticWorld(o);
  if (auto st = WriteSyntheticWorld(w, dir.string()); !st.ok()) return ReportError(st);
  std::cout << "corpus: " << w.corpus.size() << " synthetic passages (generated in " << std::fixed << std::setprecision(1)
            << MonotonicSeconds() - g0 << " s)\n";
  IndexBuildOptions io;
  IndexBuildReport r;
  const double rss_before = RssMiB();
  const bool peak_reset = ResetPeakRss();
  if (auto st = BuildIndex((dir / "corpus.jsonl").string(), (dir / "index").string(), io, &r); !st.ok()) return ReportError(st);
  const double peak = PeakRssMiB();
  const double corpus_bytes = static_cast<double>(std::filesystem::file_size(dir / "corpus.jsonl"));
  const double index_bytes = static_cast<double>(DiskBytes((dir / "index").string()));
  const double rate = r.passages / r.seconds;
  std::cout << std::setprecision(0) << "index build: " << rate << " passages/s (" << std::setprecision(1)
            << r.seconds << " s, 1 thread)\n";
  std::cout << std::setprecision(1) << "corpus " << corpus_bytes / (1 << 20) << " MiB (" << std::setprecision(0)
            << corpus_bytes / r.passages << " bytes/passage), index " << std::setprecision(1) << index_bytes / (1 << 20)
            << " MiB (" << std::setprecision(2) << index_bytes / corpus_bytes << "x the corpus)\n";
  if (peak_reset) {
    // In-process: the build may reuse heap the world generation freed, so this bounds the
    // build's footprint from below only; `/usr/bin/time -v mem1 index build` measures it alone.
    std::cout << std::setprecision(0) << "index build memory: peak RSS " << peak << " MiB (" << rss_before
              << " MiB before the build, the generated world included); Xapian flushes every " << io.commit_every
              << " passages\n";
  }
  // wiki-18 (FlashRAG / Search-R1): 21,015,324 passages of 100 words, DPR's split of the 2018
  // dump; its JSONL is about 13.5 GB (an estimate from DPR's ~13 GB psgs_w100.tsv plus JSON
  // quoting, not measured here). Our passages are shorter, so two projections bracket it:
  // by passage count (per-passage costs dominate) and by bytes (per-byte costs dominate).
  constexpr double kWikiPassages = 21015324, kWikiBytes = 13.5e9;
  const double bytes_per_s = corpus_bytes / r.seconds;
  std::cout << std::setprecision(1) << "projection for wiki-18 (" << kWikiPassages / 1e6 << "M passages, "
            << kWikiBytes / 1e9 << " GB, estimated): build " << kWikiPassages / rate / 3600 << " h by passage count to "
            << kWikiBytes / bytes_per_s / 3600 << " h by bytes (" << bytes_per_s / (1 << 20) << " MiB/s here); index "
            << kWikiPassages * index_bytes / r.passages / 1e9 << " GB by passage count to "
            << kWikiBytes * index_bytes / corpus_bytes / 1e9 << " GB by bytes\n";
  std::vector<std::string> queries;
  for (const auto* split : {&w.train, &w.test})
    for (const auto& q : *split)
      if (static_cast<int64_t>(queries.size()) < a.queries) queries.push_back(q.question);
  const std::string index = (dir / "index").string();
  auto local = [&] { return OpenXapianRetriever(index).value(); };
  RunQueries(local, std::vector<std::string>(queries.begin(), queries.begin() + std::min<size_t>(200, queries.size())), 1);  // warm cache
  const QueryStats one = RunQueries(local, queries, 1);
  const QueryStats two = RunQueries(local, queries, 2);
  std::cout << std::setprecision(0) << "queries 1 thread: " << one.qps << " queries/s, p50 " << std::setprecision(2)
            << one.p50_ms << " ms, p99 " << one.p99_ms << " ms\n";
  std::cout << std::setprecision(0) << "queries 2 threads: " << two.qps << " queries/s (" << std::setprecision(2)
            << two.qps / one.qps << "x vs 1 thread), p50 " << two.p50_ms << " ms, p99 " << two.p99_ms << " ms\n";
  // The same queries through the HTTP API.
  std::atomic<bool> stop{false};
  RetrievalServerOptions so;
  so.port = 0;
  so.threads = 2;
  RetrievalServerStats stats;
  std::promise<int> port;
  Status served;
  std::thread server([&] {
    served = ServeRetriever(index, so, &stop, &stats, [&](int p) { port.set_value(p); });
    if (!served.ok()) port.set_value(-1);
  });
  const int p = port.get_future().get();
  if (p < 0) {
    server.join();
    return ReportError(served);
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(p) + "/retrieve";
  auto remote = [&] { return OpenHttpRetriever(url).value(); };
  const QueryStats h1 = RunQueries(remote, queries, 1);
  const QueryStats h2 = RunQueries(remote, queries, 2);
  stop = true;
  server.join();
  std::cout << std::setprecision(0) << "http 1 client: " << h1.qps << " queries/s (" << std::setprecision(2)
            << h1.qps / one.qps << "x of in-process 1 thread), p50 " << h1.p50_ms << " ms, p99 " << h1.p99_ms << " ms\n";
  std::cout << std::setprecision(0) << "http 2 clients (server 2 threads): " << h2.qps << " queries/s ("
            << std::setprecision(2) << h2.qps / one.qps << "x of in-process 1 thread), p50 " << h2.p50_ms << " ms, p99 "
            << h2.p99_ms << " ms\n";
  if (a.dir.empty()) fs::remove_all(dir);
  return 0;
}

}  // namespace

void RegisterRetrievalBench(CLI::App* bench) {
  auto args = std::make_shared<RetrievalBenchArgs>();
  auto* r = bench->add_subcommand("retrieval", "BM25 index build passages/s and query throughput/latency, 1 vs 2 threads, "
                                               "in process and over the HTTP retrieval API");
  r->add_option("--passages", args->passages, "Synthetic corpus size")->check(CLI::Range(int64_t{100}, int64_t{100000000}));
  r->add_option("--queries", args->queries, "Queries to time")->check(CLI::Range(int64_t{10}, int64_t{10000000}));
  r->add_option("--dir", args->dir, "Keep corpus and index here (default: temporary, deleted)");
  r->callback([args] { throw CLI::RuntimeError(RunRetrievalBench(*args)); });
}

}  // namespace mem1
