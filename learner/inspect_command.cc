// `mem1 inspect RUN_DIR|STORE_DIR [--episode K] [--json] [--list] [--tokenizer FILE]`: what a run's
// trajectory stores hold (summary), or one stored episode as the agent saw it, turn by turn.
// Stores are opened read-only (never modified; torn tails and temporaries are only reported).
// Records are numbered globally across a run's stores in rank order (rank 0's records first),
// the same numbering offline training uses.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/cli/cli_common.h"
#include "learner/learner_commands.h"
#include "common/config/config.h"
#include "common/storage/trajectory_store.h"
#include "common/tokenizer/tokenizer.h"
#include "learner/trajectory_source.h"  // FindStoreDirs

namespace mem1 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kUsageErrorExit = 2;  // no store, episode out of range

struct InspectArgs {
  std::string path;
  int64_t episode = -1;
  bool has_episode = false;
  bool json = false;
  bool list = false;
  std::string tokenizer;
};

struct OpenStores {
  std::vector<std::unique_ptr<TrajectoryStore>> stores;  // rank order
  int64_t total = 0;
};

Result<OpenStores> OpenAllStores(const std::string& path) {
  const std::vector<std::string> dirs = FindStoreDirs(path);
  if (dirs.empty()) {
    return NotFound(path + ": no trajectory store here (expected a store directory with journal.log / shard-*.h5, "
                           "or a run directory with store/rank-*/)");
  }
  OpenStores out;
  for (const auto& d : dirs) {
    MEM1_ASSIGN_OR_RETURN(auto store, TrajectoryStore::OpenReadOnly(d));
    out.total += store->size();
    out.stores.push_back(std::move(store));
  }
  return out;
}

std::string RoleName(int role) {
  std::string n = proto::SegmentRole_Name(static_cast<proto::SegmentRole>(role));
  if (n.rfind("ROLE_", 0) == 0) n = n.substr(5);
  if (n.empty()) return "role_" + std::to_string(role);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return n;
}

std::string Num(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

// One line of JSON; bytes that are not valid UTF-8 (a decoded fragment of a multi-byte
// character, an odd actor id) become U+FFFD instead of throwing.
std::string DumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string IdList(const google::protobuf::RepeatedField<int32_t>& ids) {
  std::string s = "[";
  for (int i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

// ---------------------------------------------------------------- summary

struct MinMeanMax {
  double sum = 0, min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
  int64_t n = 0;
  void Add(double v) {
    sum += v;
    min = std::min(min, v);
    max = std::max(max, v);
    ++n;
  }
  double mean() const { return n ? sum / static_cast<double>(n) : 0.0; }
  json ToJson() const { return n ? json{{"mean", mean()}, {"min", min}, {"max", max}} : json(nullptr); }
};

struct Summary {
  int64_t records = 0, tokens = 0, generated_tokens = 0, truncated = 0, format_errors = 0;
  std::map<std::string, int64_t> envs, actors;
  MinMeanMax reward, peak_tokens, turns, policy_version;

  void Add(const proto::Trajectory& t) {
    ++records;
    ++envs[t.env_name()];
    ++actors[t.actor_id()];
    reward.Add(t.reward());
    peak_tokens.Add(static_cast<double>(t.metrics().peak_tokens()));
    turns.Add(t.metrics().turns());
    policy_version.Add(static_cast<double>(t.policy_version()));
    for (const auto& s : t.segments()) {
      tokens += s.token_ids_size();
      if (s.role() == proto::ROLE_MODEL) generated_tokens += s.token_ids_size();
    }
    if (t.truncated()) ++truncated;
    if (t.format_errors_size() > 0) ++format_errors;
  }
};

std::string StoreLabel(const TrajectoryStore& s) { return fs::path(s.dir()).lexically_normal().string(); }

int RunSummary(const InspectArgs& a, const OpenStores& open) {
  Summary sum;
  for (const auto& store : open.stores) {
    for (int64_t i = 0; i < store->size(); ++i) {
      auto t = store->Read(i);
      if (!t.ok()) return ReportError(t.status());
      sum.Add(*t);
    }
  }
  std::vector<std::string> notes;
  for (const auto& store : open.stores) {
    for (const auto& n : store->recovery().notes) notes.push_back(StoreLabel(*store) + ": " + n);
  }

  if (a.json) {
    json stores = json::array();
    for (const auto& s : open.stores) {
      stores.push_back({{"dir", StoreLabel(*s)}, {"records", s->size()}, {"records_in_shards", s->shard_record_count()},
                        {"torn_bytes", s->recovery().torn_bytes}, {"tmp_files", s->recovery().tmp_files}});
    }
    json out = {{"stores", stores},
                {"records", sum.records},
                {"envs", sum.envs},
                {"actors", sum.actors},
                {"reward", sum.reward.ToJson()},
                {"tokens", sum.tokens},
                {"generated_tokens", sum.generated_tokens},
                {"peak_tokens", sum.peak_tokens.ToJson()},
                {"turns", sum.turns.ToJson()},
                {"policy_version", sum.policy_version.ToJson()},
                {"truncated", sum.truncated},
                {"with_format_errors", sum.format_errors},
                {"recovery_notes", notes}};
    std::cout << DumpJson(out) << "\n";
    return 0;
  }

  std::cout << "stores: " << open.stores.size() << "\n";
  for (const auto& s : open.stores) {
    std::cout << "  " << StoreLabel(*s) << ": " << s->size() << " records (" << s->shard_record_count()
              << " in shards, " << s->size() - s->shard_record_count() << " in the journal)\n";
  }
  std::cout << "records: " << sum.records << "\n";
  if (sum.records > 0) {
    std::cout << "envs:";
    for (const auto& [env, n] : sum.envs) std::cout << " " << (env.empty() ? "(none)" : env) << "=" << n;
    std::cout << "\n";
    std::cout << "reward: mean " << Num(sum.reward.mean()) << " min " << Num(sum.reward.min) << " max "
              << Num(sum.reward.max) << "\n";
    std::cout << "tokens: " << sum.tokens << " total, " << sum.generated_tokens << " generated (model)\n";
    std::cout << "peak_tokens: mean " << Num(sum.peak_tokens.mean()) << " max " << Num(sum.peak_tokens.max) << "\n";
    std::cout << "turns: mean " << Num(sum.turns.mean()) << "\n";
    std::cout << "policy_version: min " << Num(sum.policy_version.min) << " max " << Num(sum.policy_version.max)
              << "\n";
    std::cout << "truncated: " << sum.truncated << ", with format errors: " << sum.format_errors << "\n";
    std::cout << "actors:";
    for (const auto& [actor, n] : sum.actors) std::cout << " " << (actor.empty() ? "(none)" : actor) << "=" << n;
    std::cout << "\n";
  }
  if (notes.empty()) {
    std::cout << "recovery: clean\n";
  } else {
    std::cout << "recovery notes (read-only: nothing was changed):\n";
    for (const auto& n : notes) std::cout << "  " << n << "\n";
  }
  return 0;
}

// ---------------------------------------------------------------- one episode

// The run directory a path belongs to: the path itself when it holds config.yaml, else the
// directory two levels up from a store (RUN_DIR/store/rank-NNNNN).
std::string RunDirOf(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  std::error_code ec;
  if (fs::exists(p / "config.yaml", ec)) return p.string();
  const fs::path up = p.parent_path().parent_path();
  if (!up.empty() && fs::exists(up / "config.yaml", ec)) return up.string();
  return "";
}

struct LoadedTokenizer {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string source;  // where it came from (printed)
  std::string note;    // why there is none (printed)
};

// --tokenizer, else tokenizer.path (or the model checkpoint's tokenizer) of RUN_DIR/config.yaml,
// else of the config stored in the shards. Only an explicit --tokenizer that fails is an error.
Result<LoadedTokenizer> FindTokenizer(const InspectArgs& a, const TrajectoryStore& store) {
  LoadedTokenizer out;
  if (!a.tokenizer.empty()) {
    MEM1_ASSIGN_OR_RETURN(out.tokenizer, LoadTokenizer(a.tokenizer));
    out.source = a.tokenizer;
    return out;
  }
  const std::string run_dir = RunDirOf(a.path);
  std::optional<Mem1Config> config;
  std::string config_source;
  if (!run_dir.empty()) {
    config_source = (fs::path(run_dir) / "config.yaml").string();
    auto c = LoadConfig(config_source, {});
    if (c.ok()) {
      config = std::move(c).value();
    } else {
      out.note = "cannot read " + config_source + " (" + c.status().message() + ")";
    }
  }
  if (!config && !store.config_yaml().empty()) {
    config_source = store.dir() + " (config_yaml stored in the shards)";
    auto c = ParseConfig(store.config_yaml(), config_source, {});
    if (c.ok()) config = std::move(c).value();
  }
  if (!config) {
    if (out.note.empty()) out.note = "no RUN_DIR/config.yaml and no config stored in the shards";
    return out;
  }
  std::vector<std::string> candidates;
  for (const std::string& p : {config->tokenizer.path, config->model.checkpoint}) {
    if (p.empty()) continue;
    candidates.push_back(p);
    if (fs::path(p).is_relative() && !run_dir.empty()) candidates.push_back((fs::path(run_dir) / p).string());
    if (!config->tokenizer.path.empty()) break;  // the checkpoint is only the fallback for ""
  }
  if (candidates.empty()) {
    out.note = config_source + " sets neither tokenizer.path nor model.checkpoint";
    return out;
  }
  for (const auto& c : candidates) {
    auto t = LoadTokenizer(c);
    if (t.ok()) {
      out.tokenizer = std::move(t).value();
      out.source = c + " (from " + config_source + ")";
      return out;
    }
    out.note = "cannot load tokenizer " + c + " named by " + config_source + ": " + t.status().message();
  }
  return out;
}

json MetricsJson(const proto::EpisodeMetrics& m) {
  return {{"peak_tokens", m.peak_tokens()},     {"dependency", m.dependency()},
          {"turns", m.turns()},                 {"generated_tokens", m.generated_tokens()},
          {"wall_seconds", m.wall_seconds()},   {"format_errors", m.format_errors()},
          {"exact_match", m.exact_match()},     {"f1", m.f1()}};
}

int RunEpisode(const InspectArgs& a, const OpenStores& open) {
  if (a.episode < 0 || a.episode >= open.total) {
    ReportError(InvalidArgument(a.path + ": episode " + std::to_string(a.episode) + " out of range: the store" +
                                (open.stores.size() > 1 ? "s hold " : " holds ") + std::to_string(open.total) +
                                " records (0.." + std::to_string(open.total - 1) + ")"));
    return kUsageErrorExit;
  }
  int64_t local = a.episode;
  size_t k = 0;
  while (local >= open.stores[k]->size()) local -= open.stores[k++]->size();
  TrajectoryStore& store = *open.stores[k];
  auto read = store.Read(local);
  if (!read.ok()) return ReportError(read.status());
  const proto::Trajectory& t = *read;

  auto tok = FindTokenizer(a, store);
  if (!tok.ok()) return ReportError(tok.status());
  const Tokenizer* tokenizer = tok->tokenizer.get();
  auto decode = [&](const proto::Segment& s) {
    return tokenizer->Decode(std::vector<int32_t>(s.token_ids().begin(), s.token_ids().end()));
  };

  if (a.json) {
    json segments = json::array();
    for (const auto& s : t.segments()) {
      json j = {{"role", RoleName(s.role())},
                {"turn", s.turn()},
                {"policy_version", s.policy_version()},
                {"token_ids", std::vector<int32_t>(s.token_ids().begin(), s.token_ids().end())},
                {"position_ids", std::vector<int32_t>(s.position_ids().begin(), s.position_ids().end())},
                {"attends_to", std::vector<int32_t>(s.attends_to().begin(), s.attends_to().end())},
                {"behaviour_logprobs",
                 std::vector<float>(s.behaviour_logprobs().begin(), s.behaviour_logprobs().end())}};
      if (tokenizer) j["text"] = decode(s);
      segments.push_back(std::move(j));
    }
    json out = {{"index", a.episode},
                {"store", StoreLabel(store)},
                {"store_index", local},
                {"env", t.env_name()},
                {"task_id", t.task_id()},
                {"actor_id", t.actor_id()},
                {"episode_id", t.episode_id()},
                {"group_id", t.group_id()},
                {"reward", t.reward()},
                {"reward_components", std::map<std::string, double>(t.reward_components().begin(),
                                                                    t.reward_components().end())},
                {"temperature", t.sampling_temperature()},
                {"policy_version", t.policy_version()},
                {"context_policy", t.context_policy()},
                {"truncated", t.truncated()},
                {"format_errors", std::vector<std::string>(t.format_errors().begin(), t.format_errors().end())},
                {"metrics", MetricsJson(t.metrics())},
                {"segments", segments}};
    if (tokenizer) out["tokenizer"] = tok->source;
    std::cout << DumpJson(out) << "\n";
    return 0;
  }

  std::cout << "episode " << a.episode << " of " << open.total << " (" << StoreLabel(store) << " record " << local
            << ")\n";
  std::cout << "env: " << t.env_name() << "  task: " << t.task_id() << "  actor: " << t.actor_id()
            << "  episode_id: " << t.episode_id() << "  group: " << t.group_id() << "\n";
  std::cout << "reward: " << Num(t.reward());
  if (t.reward_components_size() > 0) {
    std::map<std::string, double> parts(t.reward_components().begin(), t.reward_components().end());
    std::cout << " (";
    bool first = true;
    for (const auto& [name, v] : parts) {
      std::cout << (first ? "" : ", ") << name << " " << Num(v);
      first = false;
    }
    std::cout << ")";
  }
  std::cout << "  policy_version: " << t.policy_version() << "  temperature: " << Num(t.sampling_temperature())
            << "  context: " << (t.context_policy().empty() ? "?" : t.context_policy())
            << (t.truncated() ? "  TRUNCATED" : "") << "\n";
  const auto& m = t.metrics();
  std::cout << "metrics: turns " << m.turns() << ", peak_tokens " << m.peak_tokens() << ", generated_tokens "
            << m.generated_tokens() << ", dependency " << m.dependency() << ", format_errors " << m.format_errors()
            << ", exact_match " << Num(m.exact_match()) << ", f1 " << Num(m.f1()) << ", wall " << Num(m.wall_seconds())
            << " s\n";
  if (t.format_errors_size() > 0) {
    std::cout << "format errors:";
    for (const auto& e : t.format_errors()) std::cout << " " << e;
    std::cout << "\n";
  }
  if (tokenizer) {
    std::cout << "tokenizer: " << tok->source << "\n";
  } else {
    std::cout << "tokenizer: none (" << tok->note << "); showing token ids. Pass --tokenizer FILE to decode.\n";
  }
  for (int i = 0; i < t.segments_size(); ++i) {
    const auto& s = t.segments(i);
    std::cout << "\n[" << i << "] " << RoleName(s.role()) << "  turn " << s.turn() << "  policy " << s.policy_version()
              << "  tokens " << s.token_ids_size() << "  attends_to " << IdList(s.attends_to()) << "\n";
    std::string body = tokenizer ? decode(s) : IdList(s.token_ids());
    std::istringstream lines(body);
    std::string line;
    while (std::getline(lines, line)) std::cout << "    " << line << "\n";
  }
  return 0;
}

// One line per record: global index, store (rank-RRRRR), actor id, episode id, group id,
// policy version, reward, tokens.
int RunList(OpenStores& open) {
  int64_t global = 0;
  for (auto& store : open.stores) {
    const std::string label = fs::path(store->dir()).filename().string();
    for (int64_t i = 0; i < store->size(); ++i, ++global) {
      auto t = store->Read(i);
      if (!t.ok()) return ReportError(t.status());
      int64_t tokens = 0;
      for (const auto& s : t->segments()) tokens += s.token_ids_size();
      std::cout << global << " " << label << " " << t->actor_id() << " " << t->episode_id() << " " << t->group_id() << " "
                << t->policy_version() << " " << t->reward() << " " << tokens << "\n";
    }
  }
  return 0;
}

int RunInspect(const InspectArgs& a) {
  // Recovery notes are printed in the report itself; keep the stores' INFO/WARNING logs off stderr.
  FLAGS_minloglevel = std::max<int>(FLAGS_minloglevel, google::GLOG_ERROR);
  auto open = OpenAllStores(a.path);
  if (!open.ok()) {
    if (open.status().code() == StatusCode::kNotFound) {
      ReportError(open.status());
      return kUsageErrorExit;
    }
    return ReportError(open.status());
  }
  if (a.list) return RunList(*open);
  return a.has_episode ? RunEpisode(a, *open) : RunSummary(a, *open);
}

}  // namespace

void RegisterInspectCommand(CLI::App* app) {
  auto args = std::make_shared<InspectArgs>();
  auto* c = app->add_subcommand("inspect", "Summarise a run's trajectory stores, or show one stored episode turn by turn");
  c->add_option("path", args->path, "Run directory (reads store/rank-*/ in rank order) or one store directory")
      ->required();
  auto* episode = c->add_option("--episode", args->episode,
                                "Show record K (global index across the stores, rank 0's records first)");
  c->add_flag("--json", args->json, "Print one JSON object instead of text");
  c->add_flag("--list", args->list,
              "One line per record: index store actor_id episode_id group_id policy_version reward tokens");
  c->add_option("--tokenizer", args->tokenizer,
                "tokenizer.json / .model to decode tokens (default: tokenizer.path of RUN_DIR/config.yaml)");
  c->callback([args, episode] {
    args->has_episode = episode->count() > 0;
    throw CLI::RuntimeError(RunInspect(*args));
  });
}

}  // namespace mem1
