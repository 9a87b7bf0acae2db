#include "common/config/config.h"

#include <glog/logging.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

namespace mem1 {
namespace {

// One table per enum: its YAML spellings, used by parsing, dumping, ToString and Parse*.
template <typename E>
struct EnumName {
  const char* name;
  E value;
};

constexpr EnumName<Algorithm> kAlgorithms[] = {
    {"ppo", Algorithm::kPpo}, {"grpo", Algorithm::kGrpo}, {"sft", Algorithm::kSft}};
constexpr EnumName<EnvKind> kEnvKinds[] = {{"qa", EnvKind::kQa}, {"webshop", EnvKind::kWebShop}};
// learner.backend accepts these; kLocal has a name (ToString) but is not a config value.
constexpr EnumName<CommBackend> kConfigBackends[] = {{"mpi", CommBackend::kMpi}, {"nccl", CommBackend::kNccl}};
constexpr EnumName<CommBackend> kAllBackends[] = {
    {"local", CommBackend::kLocal}, {"mpi", CommBackend::kMpi}, {"nccl", CommBackend::kNccl}};
constexpr EnumName<LearnerMode> kLearnerModes[] = {{"sync", LearnerMode::kSync}, {"async", LearnerMode::kAsync}};
constexpr EnumName<Teacher> kTeachers[] = {{"none", Teacher::kNone}, {"expert", Teacher::kExpert}};

template <typename E, size_t N>
std::string NameIn(const EnumName<E> (&table)[N], E value) {
  for (const auto& e : table) {
    if (e.value == value) return e.name;
  }
  LOG(FATAL) << "enum value " << static_cast<int>(value) << " has no name";
  return "";
}

// "{ppo, grpo, sft}"
template <typename E, size_t N>
std::string Choices(const EnumName<E> (&table)[N]) {
  std::string list;
  for (const auto& e : table) list += (list.empty() ? "" : ", ") + std::string(e.name);
  return "{" + list + "}";
}

template <typename E, size_t N>
const E* Lookup(const EnumName<E> (&table)[N], const std::string& text) {
  for (const auto& e : table) {
    if (text == e.name) return &e.value;
  }
  return nullptr;
}

template <typename E, size_t N>
Result<E> ParseIn(const EnumName<E> (&table)[N], const std::string& text) {
  if (const E* v = Lookup(table, text)) return *v;
  return InvalidArgument("expected one of " + Choices(table) + ", got \"" + text + "\"");
}

// One declaration per field drives both parsing (strict) and dumping. In parse mode the
// binder reads node[key], validates it, and remembers which keys it consumed so that
// leftovers can be reported as unknown. In dump mode it writes every field.
class Binder {
 public:
  enum class Mode { kParse, kDump };

  Binder(Mode mode, YAML::Node node, std::string path, const std::string* source,
         const std::set<std::string>* overridden, YAML::Emitter* out)
      : mode_(mode), node_(node), path_(std::move(path)), source_(source),
        overridden_(overridden), out_(out) {}

  bool failed() const { return !status_.ok(); }
  const Status& status() const { return status_; }

  template <typename Fn>
  void Section(const std::string& key, Fn&& bind_children) {
    if (failed()) return;
    if (mode_ == Mode::kDump) {
      *out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
      Binder child(mode_, YAML::Node(), Join(key), source_, overridden_, out_);
      bind_children(child);
      *out_ << YAML::EndMap;
      return;
    }
    YAML::Node child_node;
    const bool present = Take(key, &child_node);
    if (present && !child_node.IsMap()) {
      Fail(key, "expected a mapping", child_node);
      return;
    }
    Binder child(mode_, present ? child_node : YAML::Node(YAML::NodeType::Map), Join(key),
                 source_, overridden_, out_);
    bind_children(child);
    if (!child.failed()) child.CheckUnknownKeys();
    if (child.failed()) status_ = child.status();
  }

  void String(const std::string& key, std::string* value,
              const std::vector<std::string>& allowed = {}, const char* pattern = nullptr) {
    if (failed()) return;
    if (mode_ == Mode::kDump) { *out_ << YAML::Key << key << YAML::Value << *value; return; }
    YAML::Node n;
    if (!Take(key, &n)) return;
    if (!n.IsScalar()) { Fail(key, "expected a string", n); return; }
    std::string v = n.Scalar();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(key, "expected one of {" + list + "}", n);
      return;
    }
    if (pattern != nullptr && !std::regex_match(v, std::regex(pattern))) {
      Fail(key, std::string("expected a value matching ") + pattern, n);
      return;
    }
    *value = v;
  }

  // A string from a fixed vocabulary, stored as its enum; dumped as its table name.
  template <typename E, size_t N>
  void Enum(const std::string& key, E* value, const EnumName<E> (&table)[N]) {
    if (failed()) return;
    if (mode_ == Mode::kDump) { *out_ << YAML::Key << key << YAML::Value << NameIn(table, *value); return; }
    YAML::Node n;
    if (!Take(key, &n)) return;
    if (!n.IsScalar()) { Fail(key, "expected a string", n); return; }
    const E* v = Lookup(table, n.Scalar());
    if (v == nullptr) { Fail(key, "expected one of " + Choices(table), n); return; }
    *value = *v;
  }

  // A string parsed by the setting's own parser (the one grammar for it); its error message
  // follows the key path. Dumped as render(*value).
  template <typename T, typename ParseFn, typename RenderFn>
  void Parsed(const std::string& key, T* value, ParseFn parse, RenderFn render) {
    if (failed()) return;
    if (mode_ == Mode::kDump) { *out_ << YAML::Key << key << YAML::Value << render(*value); return; }
    YAML::Node n;
    if (!Take(key, &n)) return;
    if (!n.IsScalar()) { Fail(key, "expected a string", n); return; }
    Result<T> parsed = parse(n.Scalar());
    if (!parsed.ok()) {
      status_ = InvalidArgument(SourceFor(key) + ": " + Join(key) + ": " + parsed.status().message());
      return;
    }
    *value = std::move(parsed).value();
  }

  template <typename Int>
  void Integer(const std::string& key, Int* value, int64_t lo, int64_t hi) {
    if (failed()) return;
    if (mode_ == Mode::kDump) { *out_ << YAML::Key << key << YAML::Value << *value; return; }
    YAML::Node n;
    if (!Take(key, &n)) return;
    const std::string expect = "expected an integer in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "]";
    if (!n.IsScalar()) { Fail(key, expect, n); return; }
    const std::string& s = n.Scalar();
    char* end = nullptr;
    errno = 0;
    long long parsed = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || end == nullptr || *end != '\0' || errno != 0 || parsed < lo || parsed > hi) {
      Fail(key, expect, n);
      return;
    }
    *value = static_cast<Int>(parsed);
  }

  void Unsigned(const std::string& key, uint64_t* value) {
    if (failed()) return;
    if (mode_ == Mode::kDump) { *out_ << YAML::Key << key << YAML::Value << *value; return; }
    YAML::Node n;
    if (!Take(key, &n)) return;
    const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
    char* end = nullptr;
    errno = 0;
    unsigned long long parsed = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || s[0] == '-' || *end != '\0' || errno != 0) {
      Fail(key, "expected a non-negative integer", n);
      return;
    }
    *value = parsed;
  }

  void Real(const std::string& key, double* value, double lo, double hi, bool lo_open = false) {
    if (failed()) return;
    if (mode_ == Mode::kDump) {
      std::ostringstream os;
      os.precision(17);
      os << *value;
      *out_ << YAML::Key << key << YAML::Value << os.str();
      return;
    }
    YAML::Node n;
    if (!Take(key, &n)) return;
    std::ostringstream expect;
    expect << "expected a number in " << (lo_open ? "(" : "[") << lo << ", " << hi << "]";
    if (!n.IsScalar()) { Fail(key, expect.str(), n); return; }
    const std::string& s = n.Scalar();
    char* end = nullptr;
    double parsed = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(parsed) || parsed < lo || parsed > hi ||
        (lo_open && parsed == lo)) {
      Fail(key, expect.str(), n);
      return;
    }
    *value = parsed;
  }

  void Bool(const std::string& key, bool* value) {
    if (failed()) return;
    if (mode_ == Mode::kDump) { *out_ << YAML::Key << key << YAML::Value << *value; return; }
    YAML::Node n;
    if (!Take(key, &n)) return;
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    if (s == "true" || s == "True" || s == "yes") { *value = true; return; }
    if (s == "false" || s == "False" || s == "no") { *value = false; return; }
    Fail(key, "expected true or false", n);
  }

  // A cross-field rule; `key` names the field the message is about.
  void Require(bool condition, const std::string& key, const std::string& what) {
    if (failed() || mode_ == Mode::kDump || condition) return;
    status_ = InvalidArgument(SourceFor(key) + ": " + Join(key) + ": " + what);
  }

  void CheckUnknownKeys() {
    if (failed() || mode_ == Mode::kDump || !node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) {  // e.g. `{{a: 1}: 2}`: a key yaml-cpp cannot turn into a name
        const YAML::Mark m = kv.first.Mark();
        status_ = InvalidArgument(SourceFor("") + ": " + (path_.empty() ? std::string("top level") : path_) +
                                  ": a key that is not a name (a " + (kv.first.IsMap() ? "map" : kv.first.IsSequence() ? "list" : "null") +
                                  (m.is_null() ? std::string(")") : ", line " + std::to_string(m.line + 1) + ")"));
        return;
      }
      const std::string key = kv.first.as<std::string>();
      if (seen_.count(key) == 0) {
        status_ = InvalidArgument(SourceFor(key) + ": " + Join(key) + ": unknown key (value " +
                                  Render(kv.second) + ")");
        return;
      }
    }
  }

 private:
  std::string Join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  std::string SourceFor(const std::string& key) const {
    const std::string full = Join(key);
    for (const auto& o : *overridden_) {
      if (full == o || full.rfind(o + ".", 0) == 0 || o.rfind(full + ".", 0) == 0) return "--set";
    }
    return *source_;
  }

  static std::string Render(const YAML::Node& n) {
    if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
    if (n.IsNull()) return "null";
    YAML::Emitter e;
    e << YAML::Flow << n;
    return e.c_str();
  }

  // Marks `key` as known; true (and *out set) when the mapping has a non-null value for it.
  bool Take(const std::string& key, YAML::Node* out) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap()) return false;
    const YAML::Node& map = node_;
    YAML::Node n = map[key];
    if (!n.IsDefined() || n.IsNull()) return false;
    *out = n;
    return true;
  }

  void Fail(const std::string& key, const std::string& expect, const YAML::Node& n) {
    status_ = InvalidArgument(SourceFor(key) + ": " + Join(key) + ": " + expect + ", got " + Render(n));
  }

  Mode mode_;
  YAML::Node node_;
  std::string path_;
  const std::string* source_;
  const std::set<std::string>* overridden_;
  YAML::Emitter* out_;
  std::set<std::string> seen_;
  Status status_;
};

constexpr int64_t kBig = int64_t{1} << 40;

void BindAll(Binder& b, Mem1Config& c) {
  b.Section("run", [&](Binder& s) { s.String("dir", &c.run.dir); });
  b.Section("security", [&](Binder& s) {
    s.String("keys_dir", &c.security.keys_dir);
    s.String("actor_key", &c.security.actor_key, {}, "[A-Za-z0-9_.-]+");
    s.Bool("insecure", &c.security.insecure);
  });
  b.Section("runtime", [&](Binder& s) {
    auto& r = c.runtime;
    s.String("device", &r.device, {}, "cpu|cuda|cuda:[0-9]+");
    s.String("dtype", &r.dtype, {"float32", "bfloat16", "float16"});
    s.Integer("threads", &r.threads, 0, 4096);
    s.Unsigned("seed", &r.seed);
    s.String("decode_weights", &r.decode_weights, {"auto", "fp32", "bf16"});
  });
  b.Section("model", [&](Binder& s) {
    s.String("checkpoint", &c.model.checkpoint);
    s.Section("init", [&](Binder& m) {
      auto& i = c.model.init;
      m.Integer("vocab_size", &i.vocab_size, 2, kBig);
      m.Integer("hidden_size", &i.hidden_size, 1, kBig);
      m.Integer("intermediate_size", &i.intermediate_size, 1, kBig);
      m.Integer("num_hidden_layers", &i.num_hidden_layers, 1, 4096);
      m.Integer("num_attention_heads", &i.num_attention_heads, 1, 1024);
      m.Integer("num_key_value_heads", &i.num_key_value_heads, 1, 1024);
      m.Integer("max_position_embeddings", &i.max_position_embeddings, 1, kBig);
      m.Real("rope_theta", &i.rope_theta, 0.0, 1e12, /*lo_open=*/true);
      m.Real("rms_norm_eps", &i.rms_norm_eps, 0.0, 1.0, /*lo_open=*/true);
      m.Bool("tie_word_embeddings", &i.tie_word_embeddings);
      m.Real("init_std", &i.init_std, 0.0, 10.0);
      m.Bool("copy_circuit", &i.copy_circuit);
      m.Require(i.hidden_size % i.num_attention_heads == 0, "hidden_size",
                "must be divisible by num_attention_heads (" + std::to_string(i.hidden_size) +
                    " % " + std::to_string(i.num_attention_heads) + " != 0)");
      m.Require(i.num_attention_heads % i.num_key_value_heads == 0, "num_key_value_heads",
                "must divide num_attention_heads (" + std::to_string(i.num_attention_heads) +
                    " % " + std::to_string(i.num_key_value_heads) + " != 0)");
      m.Require((i.hidden_size / i.num_attention_heads) % 2 == 0, "hidden_size",
                "head dimension hidden_size/num_attention_heads must be even for RoPE");
    });
  });
  b.Section("tokenizer", [&](Binder& s) {
    s.String("path", &c.tokenizer.path);
    s.String("chat_template", &c.tokenizer.chat_template, {"none", "chatml", "auto"});
  });
  b.Section("actor", [&](Binder& s) {
    auto& a = c.actor;
    s.String("learner_endpoint", &a.learner_endpoint, {}, "((tcp|ipc|inproc)://[^,]+)(,(tcp|ipc|inproc)://[^,]+)*|");
    s.String("weights_endpoint", &a.weights_endpoint, {}, "(tcp|ipc|inproc)://.+|");
    s.Enum("teacher", &a.teacher, kTeachers);
    s.Integer("episodes", &a.episodes, -1, kBig);
    s.Integer("spool_capacity", &a.spool_capacity, 1, 1 << 24);
    s.Real("resend_after_s", &a.resend_after_s, 0.0, 1e6, /*lo_open=*/true);
    s.Real("heartbeat_s", &a.heartbeat_s, 0.0, 1e6, /*lo_open=*/true);
    s.Real("connect_timeout_s", &a.connect_timeout_s, 0.0, 1e9, /*lo_open=*/true);
    s.Real("learner_timeout_s", &a.learner_timeout_s, 0.0, 1e9, /*lo_open=*/true);
    s.String("ack_log", &a.ack_log);
    s.Integer("max_weight_versions_in_flight", &a.max_weight_versions_in_flight, 1, 64);
    s.Integer("max_weight_version_bytes", &a.max_weight_version_bytes, 1024, int64_t{1} << 40);
    s.Integer("num_envs", &a.num_envs, 1, 1 << 20);
    s.Integer("max_turns", &a.max_turns, 1, 1 << 16);
    s.Integer("max_new_tokens_per_turn", &a.max_new_tokens_per_turn, 1, 1 << 20);
    s.Integer("max_state_tokens", &a.max_state_tokens, 0, 1 << 20);
    s.Integer("max_observation_tokens", &a.max_observation_tokens, -1, kBig);
    s.Bool("prefill_scripted_turns", &a.prefill_scripted_turns);
    s.Bool("mixed_steps", &a.mixed_steps);
    s.Integer("slot_capacity", &a.slot_capacity, 16, kBig);
    s.Parsed("context_policy", &a.policy, ContextPolicy::Parse, [](const ContextPolicy& p) { return p.Name(); });
    s.Parsed("preset", &a.tag_preset, GetTagPreset, [](const TagPreset& p) { return p.name; });
    s.Real("temperature", &a.temperature, 0.0, 100.0, /*lo_open=*/true);
    s.Real("top_p", &a.top_p, 0.0, 1.0, /*lo_open=*/true);
    s.Bool("end_on_format_error", &a.end_on_format_error);
    s.String("sample_to_eos", &a.sample_to_eos, {"auto", "true", "false"});
  });
  b.Section("env", [&](Binder& s) {
    s.Enum("name", &c.env.name, kEnvKinds);
    s.Section("qa", [&](Binder& q) {
      auto& e = c.env.qa;
      q.String("data_dir", &e.data_dir);
      q.Integer("objectives", &e.objectives, 1, 1024);
      q.Integer("top_k", &e.top_k, 1, 1000);
      q.String("retriever", &e.retriever, {}, "(|http://.+)");
      q.String("split", &e.split, {"train", "dev", "test"});
      q.Bool("mean_reward", &e.mean_reward);
      q.Real("format_penalty", &e.format_penalty, 0.0, 1e6);
    });
    s.Section("webshop", [&](Binder& w) {
      auto& e = c.env.webshop;
      w.String("data_dir", &e.data_dir);
      w.Bool("human_goals", &e.human_goals);
      w.String("split", &e.split, {"train", "dev", "test", "all"});
      w.String("splits", &e.splits, {"webshop", "mem1"});
      w.Integer("max_steps", &e.max_steps, 1, 1 << 16);
      w.Bool("list_actions", &e.list_actions);
      w.Bool("search_anywhere", &e.search_anywhere);
      w.Integer("max_products", &e.max_products, -1, int64_t{1} << 40);
      w.Integer("catalog_seed", &e.catalog_seed, 0, int64_t{1} << 62);
      w.String("wordnet_dir", &e.wordnet_dir);
    });
  });
  b.Section("learner", [&](Binder& s) {
    auto& l = c.learner;
    s.String("bind_endpoint", &l.bind_endpoint, {}, "(tcp|ipc|inproc)://.+");
    s.String("publish_endpoint", &l.publish_endpoint, {}, "(tcp|ipc|inproc)://.+");
    s.String("advertise_host", &l.advertise_host);
    s.Enum("mode", &l.mode, kLearnerModes);
    s.String("offline_store", &l.offline_store);
    s.Integer("offline_epochs", &l.offline_epochs, 1, 1 << 20);
    s.String("heldout_store", &l.heldout_store);
    s.Integer("heldout_every", &l.heldout_every, 1, 1 << 30);
    s.Integer("heldout_max", &l.heldout_max, 1, 1 << 24);
    s.Integer("weight_chunk_bytes", &l.weight_chunk_bytes, 1024, int64_t{1} << 30);
    s.Integer("max_message_bytes", &l.max_message_bytes, 1024, int64_t{1} << 31);
    s.Integer("max_trajectory_tokens", &l.max_trajectory_tokens, 1, int64_t{1} << 31);
    s.Integer("max_segments", &l.max_segments, 1, 1 << 24);
    s.Integer("max_rejections_per_actor", &l.max_rejections_per_actor, 0, 1 << 30);
    s.Integer("store_shard_records", &l.store_shard_records, 1, 1 << 24);
    s.Bool("store_fsync", &l.store_fsync);
    s.Real("data_timeout_s", &l.data_timeout_s, 0.0, 1e9, /*lo_open=*/true);
    s.Integer("max_backlog", &l.max_backlog, 0, 1 << 30);
    s.Enum("backend", &l.backend, kConfigBackends);
    s.Integer("total_steps", &l.total_steps, 0, 1 << 30);
    s.Integer("global_batch", &l.global_batch, 1, 1 << 24);
    s.Integer("micro_batch_tokens", &l.micro_batch_tokens, 1, kBig);
    s.Integer("checkpoint_every", &l.checkpoint_every, 0, 1 << 30);
    s.Integer("keep_checkpoints", &l.keep_checkpoints, 1, 1 << 20);
    s.Section("ppo", [&](Binder& p) {
      auto& o = l.ppo;
      p.Enum("algorithm", &o.algorithm, kAlgorithms);
      p.Real("gamma", &o.gamma, 0.0, 1.0);
      p.Real("lam", &o.lam, 0.0, 1.0);
      p.Real("clip_ratio", &o.clip_ratio, 0.0, 10.0);
      p.Real("value_clip", &o.value_clip, 0.0, 1e6);
      p.Real("value_coef", &o.value_coef, 0.0, 1e6);
      p.Real("entropy_coef", &o.entropy_coef, 0.0, 10.0);
      p.Real("kl_coef", &o.kl_coef, 0.0, 10.0);
      p.Bool("whiten_advantages", &o.whiten_advantages);
      p.Integer("max_policy_lag", &o.max_policy_lag, 0, 1 << 20);
      p.Real("is_weight_cap", &o.is_weight_cap, 1.0, 1e6);
      p.Integer("group_size", &o.group_size, 1, 1 << 16);
      p.Real("sft_lm_weight", &o.sft_lm_weight, 0.0, 1e3);
    });
    s.Section("optim", [&](Binder& p) {
      auto& o = l.optim;
      p.Real("actor_lr", &o.actor_lr, 0.0, 1.0);
      p.Real("critic_lr", &o.critic_lr, 0.0, 1.0);
      p.Real("weight_decay", &o.weight_decay, 0.0, 1.0);
      p.Real("beta1", &o.beta1, 0.0, 1.0);
      p.Real("beta2", &o.beta2, 0.0, 1.0);
      p.Real("eps", &o.eps, 0.0, 1.0, /*lo_open=*/true);
      p.Integer("warmup_steps", &o.warmup_steps, 0, 1 << 30);
      p.Real("min_lr_ratio", &o.min_lr_ratio, 0.0, 1.0);
      p.Real("grad_clip", &o.grad_clip, 0.0, 1e9);
      p.String("freeze", &o.freeze);
      p.Integer("freeze_steps", &o.freeze_steps, 0, 1 << 30);
      bool regex_ok = true;
      std::string regex_error;
      try {
        std::regex re(o.freeze);
      } catch (const std::regex_error& e) {
        regex_ok = false;
        regex_error = e.what();
      }
      p.Require(regex_ok, "freeze", "is not a valid regular expression (" + regex_error + ")");
    });
  });
}

// Applies "a.b.c=value" to the tree, creating intermediate maps.
Status ApplyOverride(YAML::Node& root, const std::string& spec, std::set<std::string>* paths) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgument("--set: expected key.path=value, got \"" + spec + "\"");
  }
  const std::string path = spec.substr(0, eq);
  const std::string text = spec.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text.empty() ? std::string("\"\"") : text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("--set: " + path + ": cannot parse value \"" + text + "\": " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) return InvalidArgument("--set: malformed key path \"" + path + "\"");
    parts.push_back(p);
  }
  // Walk with explicit node copies (yaml-cpp nodes are handles).
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (next && !next.IsNull() && !next.IsMap()) {
      return InvalidArgument("--set: " + path + ": \"" + parts[i] + "\" is not a section");
    }
    if (!next || next.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = value;
  paths->insert(path);
  return Status::Ok();
}

// A key written twice in one mapping: yaml-cpp keeps both and lookups see the first, so the
// second would be ignored silently. Reported with its line.
Status CheckDuplicateKeys(const YAML::Node& node, const std::string& source, const std::string& prefix) {
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar>");
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!seen.insert(key).second) {
        return InvalidArgument(source + ":" + std::to_string(kv.first.Mark().line + 1) + ": duplicate key \"" + path +
                               "\" (each key may appear once)");
      }
      MEM1_RETURN_IF_ERROR(CheckDuplicateKeys(kv.second, source, path));
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      MEM1_RETURN_IF_ERROR(CheckDuplicateKeys(node[i], source, prefix + "[" + std::to_string(i) + "]"));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ToString(Algorithm value) { return NameIn(kAlgorithms, value); }
std::string ToString(EnvKind value) { return NameIn(kEnvKinds, value); }
std::string ToString(CommBackend value) { return NameIn(kAllBackends, value); }
std::string ToString(LearnerMode value) { return NameIn(kLearnerModes, value); }
std::string ToString(Teacher value) { return NameIn(kTeachers, value); }

Result<Algorithm> ParseAlgorithm(const std::string& text) { return ParseIn(kAlgorithms, text); }
Result<EnvKind> ParseEnvKind(const std::string& text) { return ParseIn(kEnvKinds, text); }
Result<CommBackend> ParseCommBackend(const std::string& text) { return ParseIn(kConfigBackends, text); }
Result<LearnerMode> ParseLearnerMode(const std::string& text) { return ParseIn(kLearnerModes, text); }
Result<Teacher> ParseTeacher(const std::string& text) { return ParseIn(kTeachers, text); }

Result<Mem1Config> ParseConfig(const std::string& yaml_text, const std::string& source,
                               const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = yaml_text.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return InvalidArgument(source + ": top level must be a mapping");
  MEM1_RETURN_IF_ERROR(CheckDuplicateKeys(root, source, ""));
  std::set<std::string> overridden;
  for (const auto& o : overrides) MEM1_RETURN_IF_ERROR(ApplyOverride(root, o, &overridden));
  Mem1Config config;
  Binder binder(Binder::Mode::kParse, root, "", &source, &overridden, nullptr);
  BindAll(binder, config);
  binder.CheckUnknownKeys();
  if (binder.failed()) return binder.status();
  return config;
}

Result<Mem1Config> LoadConfig(const std::string& path, const std::vector<std::string>& overrides) {
  if (path.empty()) return ParseConfig("", "<defaults>", overrides);
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    return InvalidArgument(path + ": not a config file (" +
                           (std::filesystem::is_directory(path, ec) ? "a directory" : "not a regular file") +
                           "); --config takes a YAML file");
  }
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open config file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfig(buffer.str(), path, overrides);
}

std::string ConfigToYaml(const Mem1Config& config) {
  Mem1Config copy = config;
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string source = "<dump>";
  std::set<std::string> none;
  Binder binder(Binder::Mode::kDump, YAML::Node(), "", &source, &none, &out);
  BindAll(binder, copy);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Status WriteResolvedConfig(const Mem1Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.run.dir, ec);
  if (ec) return InvalidArgument("run.dir: cannot create \"" + config.run.dir + "\": " + ec.message());
  const std::string path = config.run.dir + "/config.yaml";
  std::ofstream out(path);
  out << ConfigToYaml(config);
  if (!out) return Internal(path + ": write failed");
  return Status::Ok();
}

}  // namespace mem1
