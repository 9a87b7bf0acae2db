#include "actor/envs/qa/http_retriever.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

namespace mem1 {
namespace {

using nlohmann::json;

class HttpRetriever : public Retriever {
 public:
  HttpRetriever(std::string url, const std::string& host, int port, std::string path, const HttpRetrieverOptions& o)
      : url_(std::move(url)), path_(std::move(path)), options_(o), client_(host, port) {
    const auto t = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
    client_.set_connection_timeout(t);
    client_.set_read_timeout(t);
    client_.set_write_timeout(t);
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);  // headers and body go in separate writes: Nagle + delayed ACK cost ~80 ms each
  }

  // One query, with up to `attempts` tries. OK + hits, or the last failure.
  Result<std::vector<SearchHit>> Query(const std::string& query, int k, int attempts) {
    const std::string body = RetrieveRequestJson({query}, k, true);
    std::string why;
    double backoff = 0.25;
    for (int attempt = 0; attempt < attempts; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
        backoff *= 4;
      }
      auto res = client_.Post(path_.c_str(), body, "application/json");
      if (!res) {
        why = httplib::to_string(res.error());
        continue;
      }
      if (res->status != 200) {
        why = "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200);
        if (res->status >= 400 && res->status < 500) break;  // our request is wrong: retrying will not help
        continue;
      }
      auto parsed = ParseRetrieveResponse(res->body, 1);
      if (!parsed.ok()) return parsed.status();
      return std::move(parsed).value()[0];
    }
    return Unavailable("retriever " + url_ + ": " + why + " (after " + std::to_string(attempts) + " attempts)");
  }

  std::vector<SearchHit> Search(const std::string& query, int k) override {
    if (query.find_first_not_of(" \t\r\n") == std::string::npos || k <= 0) return {};
    auto r = Query(query, k, options_.attempts);
    if (r.ok()) return std::move(r).value();
    ++failures_;
    LOG(ERROR) << r.status().message() << "; this observation has no results (" << failures_ << " failed queries so far)";
    return {};
  }

 private:
  std::string url_, path_;
  HttpRetrieverOptions options_;
  httplib::Client client_;
  int64_t failures_ = 0;
};

json HitJson(const SearchHit& h, bool with_score) {
  json doc = {{"id", h.id}, {"contents", h.contents}};
  if (!with_score) return doc;
  return json{{"document", doc}, {"score", h.score}};
}

}  // namespace

std::string RetrieveRequestJson(const std::vector<std::string>& queries, int topk, bool return_scores) {
  return json{{"queries", queries}, {"topk", topk}, {"return_scores", return_scores}}.dump();
}

Result<std::vector<std::vector<SearchHit>>> ParseRetrieveResponse(const std::string& body, size_t expected_queries) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("retriever response is not JSON: " + body.substr(0, 120));
  if (!j.is_object() || !j.contains("result") || !j["result"].is_array()) {
    return InvalidArgument("retriever response has no \"result\" array: " + body.substr(0, 120));
  }
  const auto& result = j["result"];
  if (result.size() != expected_queries) {
    return InvalidArgument("retriever answered " + std::to_string(result.size()) + " queries, asked " +
                           std::to_string(expected_queries));
  }
  std::vector<std::vector<SearchHit>> out;
  for (const auto& per_query : result) {
    if (!per_query.is_array()) return InvalidArgument("retriever result entry is not a list");
    std::vector<SearchHit> hits;
    for (const auto& hit : per_query) {
      // {"document": {...}, "score": s} (return_scores) or the document itself.
      const json& doc = hit.is_object() && hit.contains("document") ? hit["document"] : hit;
      if (!doc.is_object() || !doc.contains("contents") || !doc["contents"].is_string()) {
        return InvalidArgument("retriever hit without a string \"contents\": " + hit.dump().substr(0, 120));
      }
      SearchHit h;
      h.contents = doc["contents"].get<std::string>();
      if (doc.contains("id")) h.id = doc["id"].is_string() ? doc["id"].get<std::string>() : doc["id"].dump();
      if (hit.is_object() && hit.contains("score") && hit["score"].is_number()) h.score = hit["score"].get<double>();
      hits.push_back(std::move(h));
    }
    out.push_back(std::move(hits));
  }
  return out;
}

Result<std::unique_ptr<Retriever>> OpenHttpRetriever(const std::string& url, const HttpRetrieverOptions& options) {
  static const std::regex kUrl(R"(http://([^/:\s]+)(?::([0-9]{1,5}))?(/\S*)?)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) {
    return InvalidArgument("env.qa.retriever: expected http://host:port/retrieve, got \"" + url + "\"");
  }
  const int port = m[2].matched ? std::stoi(m[2].str()) : 80;
  if (port < 1 || port > 65535) return InvalidArgument("env.qa.retriever: port out of range in \"" + url + "\"");
  const std::string path = m[3].matched ? m[3].str() : "/retrieve";
  auto r = std::make_unique<HttpRetriever>(url, m[1].str(), port, path, options);
  // Probe once, without retries beyond the first backoff: a server that is down is a clear start-up error.
  auto hits = r->Query("probe", 1, std::min(options.attempts, 2));
  if (!hits.ok()) return Unavailable(hits.status().message() + ": is the retrieval server running?");
  return std::unique_ptr<Retriever>(std::move(r));
}

Status ServeRetriever(const std::string& index_dir, const RetrievalServerOptions& o, const std::atomic<bool>* stop,
                      RetrievalServerStats* stats, const std::function<void(int port)>& on_listening) {
  { MEM1_ASSIGN_OR_RETURN(auto check, OpenXapianRetriever(index_dir)); }  // the index opens: NOT_FOUND / DATA_LOSS now
  httplib::Server server;
  const int threads = std::max(1, o.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server.set_payload_max_length(static_cast<size_t>(o.max_body_bytes));  // bigger bodies: 413
  server.set_tcp_nodelay(true);
  auto bad = [stats](httplib::Response& res, int code, const std::string& why) {
    ++stats->bad_requests;
    res.status = code;
    res.set_content(json{{"error", why}}.dump(), "application/json");
  };
  server.Post("/retrieve", [&, stats](const httplib::Request& req, httplib::Response& res) {
    ++stats->requests;
    json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return bad(res, 400, "the body is not a JSON object");
    if (!j.contains("queries") || !j["queries"].is_array()) return bad(res, 400, "\"queries\" must be a list of strings");
    const auto& qs = j["queries"];
    if (static_cast<int64_t>(qs.size()) > o.max_queries) {
      return bad(res, 400, "at most " + std::to_string(o.max_queries) + " queries per request, got " + std::to_string(qs.size()));
    }
    for (const auto& q : qs) {
      if (!q.is_string()) return bad(res, 400, "\"queries\" must be a list of strings");
    }
    int topk = 3;
    if (j.contains("topk") && !j["topk"].is_null()) {
      if (!j["topk"].is_number_integer() || j["topk"].get<int64_t>() < 1 || j["topk"].get<int64_t>() > o.max_topk) {
        return bad(res, 400, "\"topk\" must be an integer in [1, " + std::to_string(o.max_topk) + "]");
      }
      topk = j["topk"].get<int>();
    }
    bool scores = false;
    if (j.contains("return_scores")) {
      if (!j["return_scores"].is_boolean()) return bad(res, 400, "\"return_scores\" must be true or false");
      scores = j["return_scores"].get<bool>();
    }
    // Xapian databases are not thread safe: one retriever per request thread.
    thread_local std::unique_ptr<Retriever> retriever;
    if (!retriever) {
      auto r = OpenXapianRetriever(index_dir);
      if (!r.ok()) return bad(res, 500, r.status().message());
      retriever = std::move(r).value();
    }
    json result = json::array();
    for (const auto& q : qs) {
      json hits = json::array();
      for (const auto& h : retriever->Search(q.get<std::string>(), topk)) hits.push_back(HitJson(h, scores));
      result.push_back(std::move(hits));
    }
    stats->queries += static_cast<int64_t>(qs.size());
    res.set_content(json{{"result", std::move(result)}}.dump(), "application/json");
  });
  int port = o.port;
  if (o.port == 0) {
    port = server.bind_to_any_port(o.host.c_str());
    if (port < 0) return Unavailable("cannot bind " + o.host + " (any port)");
  } else if (!server.bind_to_port(o.host.c_str(), o.port)) {
    return Unavailable("cannot bind " + o.host + ":" + std::to_string(o.port) + " (in use, or not this host's address)");
  }
  std::thread loop([&server] { server.listen_after_bind(); });
  if (on_listening) on_listening(port);
  while (!(stop && stop->load())) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.stop();
  loop.join();
  return Status::Ok();
}

}  // namespace mem1
