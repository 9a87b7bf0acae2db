// `mem1 serve retriever --index DIR [--host H] [--port P] [--threads N]`: our BM25 index behind the
// Search-R1 / FlashRAG retrieval-server API (actor/envs/qa/http_retriever.h), so Python users and
// actors on other nodes share one retriever.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "actor/commands/commands.h"
#include "actor/envs/qa/http_retriever.h"
#include "common/cli/cli_common.h"

namespace mem1 {
namespace {

std::atomic<bool> g_serve_stop{false};
void OnServeSignal(int) { g_serve_stop = true; }

struct ServeArgs {
  ConfigFlags config;
  std::string index;
  RetrievalServerOptions options;
};

}  // namespace

void RegisterServeCommands(CLI::App* app) {
  auto* serve = app->add_subcommand("serve", "Servers: the retrieval API");
  serve->require_subcommand(1);
  auto a = std::make_shared<ServeArgs>();
  auto* r = serve->add_subcommand(
      "retriever", "Serve a BM25 index (mem1 index build) at POST /retrieve, the Search-R1 / FlashRAG API: "
                   "{\"queries\": [...], \"topk\": k, \"return_scores\": true}");
  AddConfigFlags(r, &a->config);
  r->add_option("--index", a->index, "Index directory (mem1 index build --out; default env.qa.data_dir/index, "
                                     "the index a QA actor of the same config opens)");
  r->add_option("--host", a->options.host, "Bind address (default 127.0.0.1; 0.0.0.0 = every interface)");
  r->add_option("--port", a->options.port, "Port (0 = ephemeral; the chosen one is printed)")->check(CLI::Range(0, 65535));
  r->add_option("--threads", a->options.threads, "Request threads")->check(CLI::Range(1, 1024));
  r->add_option("--max-queries", a->options.max_queries, "Queries per request (more: 400)")->check(CLI::Range(1, 1 << 20));
  r->add_option("--max-body-bytes", a->options.max_body_bytes, "Request body limit (more: 413)")
      ->check(CLI::Range(int64_t{1024}, int64_t{1} << 32));
  r->callback([a] {
    Mem1Config config;
    if (!LoadConfigOrReport(a->config, &config)) throw CLI::RuntimeError(2);
    if (a->index.empty()) a->index = config.env.qa.data_dir + "/index";
    std::signal(SIGINT, OnServeSignal);
    std::signal(SIGTERM, OnServeSignal);
    RetrievalServerStats stats;
    const Status st = ServeRetriever(a->index, a->options, &g_serve_stop, &stats, [&](int port) {
      std::printf("serving %s at http://%s:%d/retrieve (%d threads); Ctrl-C stops\n", a->index.c_str(),
                  a->options.host.c_str(), port, a->options.threads);
      std::fflush(stdout);
    });
    if (st.ok()) {
      std::printf("stopped: %lld requests, %lld queries, %lld bad requests\n", static_cast<long long>(stats.requests.load()),
                  static_cast<long long>(stats.queries.load()), static_cast<long long>(stats.bad_requests.load()));
    }
    throw CLI::RuntimeError(st.ok() ? 0 : ReportError(st));
  });
}

}  // namespace mem1
