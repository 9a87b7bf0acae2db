// The Search-R1 / FlashRAG retrieval-server API, both ways.
//
//   POST /retrieve  {"queries": ["q1", ...], "topk": k, "return_scores": true}
//   200             {"result": [[{"document": {"id": "...", "contents": "..."}, "score": s}, ...], ...]}
//                   (return_scores false: each hit is the document object itself, as FlashRAG)
//   400             {"error": "<what is wrong>"} for bad JSON / fields; 413 for a body over the limit
//
// Client: env.qa.retriever: http://host:port/retrieve points the QA environment at a running
// server (ours, or Search-R1's retrieval_server.py). The observation text is the one our
// in-process index gives (RenderSearchObservation over the same hits).
// Server: `mem1 serve retriever --index DIR --port P` serves a BuildIndex index.
//
// Thread safety: an HttpRetriever is used by one thread (like every Retriever); the server
// handles requests on a pool of threads, each with its own Xapian retriever.
#ifndef MEM1_ACTOR_ENVS_QA_HTTP_RETRIEVER_H_
#define MEM1_ACTOR_ENVS_QA_HTTP_RETRIEVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actor/envs/qa/retriever.h"
#include "common/util/status.h"

namespace mem1 {

struct HttpRetrieverOptions {
  double timeout_s = 10.0;    // per request (connect, read, write)
  int attempts = 4;           // a failed request is retried with backoff 0.25 s, 1 s, 4 s ...
};

// Parses "http://host:port/path" and checks the server answers a probe query (UNAVAILABLE
// naming the URL and the cause when it does not: a retriever that is down is a start-up error,
// not a run of empty observations). INVALID_ARGUMENT for a malformed URL.
[[nodiscard]] Result<std::unique_ptr<Retriever>> OpenHttpRetriever(const std::string& url,
                                                                   const HttpRetrieverOptions& options = {});

// Request / response bodies (exposed for tests and the server).
std::string RetrieveRequestJson(const std::vector<std::string>& queries, int topk, bool return_scores);
// INVALID_ARGUMENT naming what is malformed.
[[nodiscard]] Result<std::vector<std::vector<SearchHit>>> ParseRetrieveResponse(const std::string& body,
                                                                               size_t expected_queries);

struct RetrievalServerOptions {
  std::string host = "127.0.0.1";      // bind address ("0.0.0.0" = every interface)
  int port = 8000;                     // 0 = an ephemeral port (printed)
  int threads = 2;                     // request threads
  int max_queries = 1024;              // queries per request
  int max_topk = 1000;
  int64_t max_body_bytes = 8 << 20;    // larger bodies get 413
};

struct RetrievalServerStats {
  std::atomic<int64_t> requests{0}, queries{0}, bad_requests{0};
};

// Serves `index_dir` until `stop` becomes true (polled every 100 ms) or the process gets a
// signal the caller handles. `on_listening` is called with the bound port once listening.
// UNAVAILABLE when the address cannot be bound; NOT_FOUND / DATA_LOSS for the index.
[[nodiscard]] Status ServeRetriever(const std::string& index_dir, const RetrievalServerOptions& options,
                                    const std::atomic<bool>* stop, RetrievalServerStats* stats,
                                    const std::function<void(int port)>& on_listening);

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_HTTP_RETRIEVER_H_
