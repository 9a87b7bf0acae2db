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

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) {
    x = TrimWhitespace(x);
    if (!x.empty()) out.push_back(x);
  }
  return out;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

// Percentile bootstrap (seeded): 95% interval of the mean of `v`.
std::pair<double, double> BootstrapCi(const std::vector<double>& v, uint64_t seed, int resamples = 2000) {
  if (v.empty()) return {0, 0};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, v.size() - 1);
  std::vector<double> means(resamples);
  for (int r = 0; r < resamples; ++r) {
    double s = 0;
    for (size_t i = 0; i < v.size(); ++i) s += v[pick(rng)];
    means[r] = s / v.size();
  }
  std::sort(means.begin(), means.end());
  return {means[static_cast<size_t>(0.025 * (resamples - 1))], means[static_cast<size_t>(0.975 * (resamples - 1))]};
}

double Component(const proto::Trajectory& t, const std::string& key) {
  auto it = t.reward_components().find(key);
  return it == t.reward_components().end() ? 0.0 : it->second;
}

// One episode as the agent saw it: the prompt once, then per turn what it wrote and what came
// back (under mem1 everything older than the last turn was pruned from its context).
std::string RenderEpisode(const proto::Trajectory& t, const Tokenizer& tok) {
  std::ostringstream out;
  out << "task " << t.task_id() << " | policy " << t.context_policy() << " | reward " << t.reward() << " | EM "
      << t.metrics().exact_match() << " | peak " << t.metrics().peak_tokens() << " tokens | " << t.metrics().turns()
      << " turns | " << t.format_errors_size() << " format errors\n";
  // Observation and context segments carry the index of the turn that sees them (the next one).
  std::map<int, std::string> gen, obs, ctx;
  std::string prompt;
  for (const auto& s : t.segments()) {
    std::vector<int32_t> ids(s.token_ids().begin(), s.token_ids().end());
    const std::string text = tok.Decode(ids);
    if (s.role() == proto::ROLE_PROMPT) prompt += text;
    else if (s.role() == proto::ROLE_OBSERVATION) obs[s.turn() - 1] += text;
    else if (s.role() == proto::ROLE_CONTEXT) ctx[s.turn()] += text;
    else if (s.role() == proto::ROLE_MODEL || s.role() == proto::ROLE_FORCED) gen[s.turn()] += text;
  }
  out << "== prompt\n" << prompt << "\n";
  for (const auto& [turn, text] : gen) {
    if (auto it = ctx.find(turn); it != ctx.end()) {
      out << "-- turn " << turn + 1 << " sees after the prompt (kept context)\n" << it->second << "\n";
    }
    out << "== turn " << turn + 1 << ": agent\n" << text << "\n";
    if (auto it = obs.find(turn); it != obs.end()) out << "-- turn " << turn + 1 << ": observation\n" << it->second << "\n";
  }
  return out.str();
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

struct Cell {
  std::string policy;
  int32_t objectives = 0;  // 0: WebShop
  int64_t tasks = 0;
  std::vector<double> em, f1, reward, success, peak, dependency, turns, format_errors, wall, generated;
  double seconds = 0;
  // QA: the MEM1 reference metrics (inference/eval.py), episodes longer than the 10 turns
  // eval.py reads, and episodes whose golden answers were not recorded (not scored).
  ReferenceAggregate ref;
  int64_t ref_long_episodes = 0, ref_missing_golden = 0;
  int64_t ref_clipped = 0;  // window:K: tasks with an observation the window clipped (i_i = its last K tokens)
};

constexpr const char* kReferenceNote =
    "MEM1 inference/eval.py definitions; tokens counted with this model's tokenizer, not tiktoken o200k_base";

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

nlohmann::json OptionalJson(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json CellJson(const Cell& c, uint64_t seed) {
  const double n = std::max(1, c.objectives);
  std::vector<double> em_obj;
  for (double e : c.em) em_obj.push_back(e / n);
  double turns = 0, bad = 0, gen = 0;
  for (size_t i = 0; i < c.turns.size(); ++i) {
    turns += c.turns[i];
    bad += c.format_errors[i];
    gen += c.generated[i];
  }
  nlohmann::json j = {{"policy", c.policy},
                      {"objectives", c.objectives},
                      {"tasks", c.tasks},
                      {"reward", Mean(c.reward)},
                      {"peak_tokens", Mean(c.peak)},
                      {"peak_tokens_max", c.peak.empty() ? 0.0 : *std::max_element(c.peak.begin(), c.peak.end())},
                      {"dependency", Mean(c.dependency)},
                      {"turns", Mean(c.turns)},
                      {"format_errors", Mean(c.format_errors)},
                      {"wellformed_turns", turns > 0 ? 1.0 - bad / turns : 0.0},
                      {"seconds_per_task", c.seconds / std::max<int64_t>(1, c.tasks)},
                      {"generated_tokens_per_s", gen / std::max(1e-9, c.seconds)}};
  if (c.objectives > 0) {
    const auto ci = BootstrapCi(em_obj, seed);
    std::vector<double> f1_obj;
    for (double f : c.f1) f1_obj.push_back(f / n);
    j["em_sum"] = Mean(c.em);
    j["em_per_objective"] = Mean(em_obj);
    j["em_per_objective_ci95"] = {ci.first, ci.second};
    j["f1_sum"] = Mean(c.f1);
    j["f1_per_objective"] = Mean(f1_obj);
    // MEM1 reference (inference/eval.py): EM / F1 / Exact_match are sums over the N questions
    // averaged over every scored task; the others average their non-None values (null: none).
    const ReferenceAggregate& r = c.ref;
    j["ref_tasks"] = r.rows;
    j["ref_em"] = OptionalJson(ReferenceAggregate::Mean(r.em));
    j["ref_f1"] = OptionalJson(ReferenceAggregate::Mean(r.f1));
    j["ref_exact_match_lenient"] = OptionalJson(ReferenceAggregate::Mean(r.exact_match));
    j["ref_compression_ratio"] = OptionalJson(ReferenceAggregate::Mean(r.compression_ratio));
    j["ref_peak_tokens_compressed"] = OptionalJson(ReferenceAggregate::Mean(r.peak_compressed));
    j["ref_dependency_compressed"] = OptionalJson(ReferenceAggregate::Mean(r.dependency_compressed));
    j["ref_peak_tokens_non_compressed"] = OptionalJson(ReferenceAggregate::Mean(r.peak_non_compressed));
    j["ref_dependency_non_compressed"] = OptionalJson(ReferenceAggregate::Mean(r.dependency_non_compressed));
    j["ref_peak_tokens_tasks"] = static_cast<int64_t>(r.peak_compressed.size());  // tasks with Exact_match > 0
    j["ref_tasks_over_10_turns"] = c.ref_long_episodes;  // eval.py reads turns 0..9 only
    if (c.ref_missing_golden > 0) j["ref_tasks_without_golden"] = c.ref_missing_golden;
    // window:K records only the last K tokens of an observation that filled the window.
    j["ref_tasks_with_clipped_observations"] = c.ref_clipped;
    j["ref_token_counter"] = "this model's tokenizer (not tiktoken o200k_base)";
  } else {
    const auto ci = BootstrapCi(c.reward, seed);
    j["reward_ci95"] = {ci.first, ci.second};
    j["success"] = Mean(c.success);
  }
  return j;
}

std::string MarkdownTable(const nlohmann::json& cells, bool qa) {
  std::ostringstream md;
  char buf[512];
  if (qa) {
    md << "| N | policy | tasks | EM (sum) | EM / objective [95% CI] | F1 (sum) | peak tokens | dependency | turns | "
          "well-formed turns | format errors | s/task | tokens/s |\n";
    md << "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& c : cells) {
      std::snprintf(buf, sizeof(buf),
                    "| %d | %s | %lld | %.3f | %.3f [%.3f, %.3f] | %.3f | %.0f | %.3g | %.2f | %.1f%% | %.2f | %.2f | %.0f |\n",
                    c["objectives"].get<int>(), c["policy"].get<std::string>().c_str(), c["tasks"].get<long long>(),
                    c["em_sum"].get<double>(), c["em_per_objective"].get<double>(),
                    c["em_per_objective_ci95"][0].get<double>(), c["em_per_objective_ci95"][1].get<double>(),
                    c["f1_sum"].get<double>(), c["peak_tokens"].get<double>(), c["dependency"].get<double>(),
                    c["turns"].get<double>(), 100.0 * c["wellformed_turns"].get<double>(), c["format_errors"].get<double>(),
                    c["seconds_per_task"].get<double>(), c["generated_tokens_per_s"].get<double>());
      md << buf;
    }
  } else {
    md << "| policy | episodes | reward [95% CI] | success | peak tokens | dependency | turns | well-formed turns | s/episode |\n";
    md << "|---|---:|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& c : cells) {
      std::snprintf(buf, sizeof(buf), "| %s | %lld | %.3f [%.3f, %.3f] | %.3f | %.0f | %.3g | %.2f | %.1f%% | %.2f |\n",
                    c["policy"].get<std::string>().c_str(), c["tasks"].get<long long>(), c["reward"].get<double>(),
                    c["reward_ci95"][0].get<double>(), c["reward_ci95"][1].get<double>(), c["success"].get<double>(),
                    c["peak_tokens"].get<double>(), c["dependency"].get<double>(), c["turns"].get<double>(),
                    100.0 * c["wellformed_turns"].get<double>(), c["seconds_per_task"].get<double>());
      md << buf;
    }
  }
  return md.str();
}

// The MEM1 reference metrics of the QA cells as a Markdown table under eval.py's labels.
std::string ReferenceTable(const nlohmann::json& cells) {
  auto num = [](const nlohmann::json& v, const char* fmt) {
    if (v.is_null()) return std::string("n/a");
    char b[64];
    std::snprintf(b, sizeof(b), fmt, v.get<double>());
    return std::string(b);
  };
  std::ostringstream md;
  md << "MEM1 reference metrics (" << kReferenceNote << "):\n"
     << "| N | policy | tasks | ref F1 | ref EM | ref Exact_match (lenient) | ref Compression Ratio | "
        "ref Peak Token Compression [tasks] | ref Dependency Compression | ref Peak Token Non-Compression | "
        "ref Dependency Non-Compression |\n"
     << "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  int64_t long_eps = 0, clipped = 0;
  for (const auto& c : cells) {
    md << "| " << c["objectives"].get<int>() << " | " << c["policy"].get<std::string>() << " | "
       << c["ref_tasks"].get<long long>() << " | " << num(c["ref_f1"], "%.3f") << " | " << num(c["ref_em"], "%.3f") << " | "
       << num(c["ref_exact_match_lenient"], "%.3f") << " | " << num(c["ref_compression_ratio"], "%.3f") << " | "
       << num(c["ref_peak_tokens_compressed"], "%.1f") << " [" << c["ref_peak_tokens_tasks"].get<long long>() << "] | "
       << num(c["ref_dependency_compressed"], "%.4g") << " | " << num(c["ref_peak_tokens_non_compressed"], "%.1f")
       << " | " << num(c["ref_dependency_non_compressed"], "%.4g") << " |\n";
    long_eps += c["ref_tasks_over_10_turns"].get<long long>();
    clipped += c["ref_tasks_with_clipped_observations"].get<long long>();
  }
  md << "EM, F1, Exact_match: sums over the N questions, mean over tasks (eval.py; F1 on token sets, answers cleaned by "
        "preprocess_text). Peak tokens: mean over the [tasks] whose lenient Exact_match > 0; the prompt is never "
        "counted and each turn's state is counted twice (t_i and inside r_i).\n";
  if (long_eps > 0) md << long_eps << " task(s) took more than 10 turns: eval.py reads turns 0..9 only, so later turns (and "
                          "an answer there) are not in these numbers.\n";
  if (clipped > 0) md << clipped << " window:K task(s) had an observation that filled the window: the record keeps only its "
                         "last K tokens, so their i_i (and the token metrics) are that part, not the whole observation.\n";
  return md.str();
}

// Runs gnuplot on `script` (written to out/NAME.gp). UNAVAILABLE when gnuplot is missing.
Status RunGnuplot(const std::string& out, const std::string& name, const std::string& script) {
  const std::string gp = out + "/" + name + ".gp";
  {
    std::ofstream f(gp);
    f << script;
    if (!f) return Internal(gp + ": cannot write");
  }
  const int rc = std::system(("gnuplot '" + gp + "' 2>'" + out + "/" + name + ".gnuplot.log'").c_str());
  if (rc != 0) {
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127) return Unavailable("gnuplot not found (apt-get install gnuplot-nox)");
    return Internal("gnuplot failed on " + gp + " (see " + out + "/" + name + ".gnuplot.log)");
  }
  return Status::Ok();
}

// Plots `key` vs N, one line per policy (QA cells).
Status PlotVsN(const std::string& out, const nlohmann::json& cells, const std::vector<std::string>& policies,
               const std::string& key, const std::string& name, const std::string& ylabel, bool logy) {
  const std::string dat = out + "/" + name + ".dat";
  std::ofstream d(dat);
  for (size_t p = 0; p < policies.size(); ++p) {
    d << "# " << policies[p] << "\n";
    for (const auto& c : cells) {
      if (c["policy"] != policies[p]) continue;
      d << c["objectives"].get<int>() << " " << c[key].get<double>();
      if (key == "em_per_objective") d << " " << c["em_per_objective_ci95"][0].get<double>() << " " << c["em_per_objective_ci95"][1].get<double>();
      d << "\n";
    }
    d << "\n\n";
  }
  d.close();
  std::ostringstream gp;
  gp << "set terminal pngcairo size 800,500 font 'sans,11'\nset output '" << out << "/" << name << ".png'\n"
     << "set xlabel 'objectives per task (N)'\nset ylabel '" << ylabel << "'\nset logscale x 2\nset grid\n"
     << "set key top left\n" << (logy ? "set logscale y\n" : "") << "plot ";
  for (size_t p = 0; p < policies.size(); ++p) {
    if (p) gp << ", ";
    if (key == "em_per_objective") {
      gp << "'" << dat << "' index " << p << " using 1:2:3:4 with yerrorlines lw 2 title '" << policies[p] << "'";
    } else {
      gp << "'" << dat << "' index " << p << " using 1:2 with linespoints lw 2 pt 7 title '" << policies[p] << "'";
    }
  }
  gp << "\n";
  return RunGnuplot(out, name, gp.str());
}

// Training curves (reward, EM, loss, KL, held-out NLL) of every metrics file, in one PNG.
Status PlotTraining(const std::string& out, const std::vector<std::string>& files, std::string* note) {
  const std::vector<std::pair<std::string, std::string>> keys = {{"rollout/reward_mean", "reward of the trajectories trained on"},
                                                                 {"rollout/exact_match_mean", "EM (sum) of the trajectories trained on"},
                                                                 {"train/loss", "loss"},
                                                                 {"train/kl", "KL to reference"},
                                                                 {"heldout/nll", "held-out NLL / token"},
                                                                 {"rollout/format_errors_mean", "format errors / task"}};
  const std::string dat = out + "/training.dat";
  std::ofstream d(dat);
  std::vector<std::string> names;
  std::vector<bool> has(keys.size(), false);  // a panel is drawn only for a metric that has data
  int64_t offset = 0, skipped = 0;
  for (const auto& f0 : files) {
    const std::string f = std::filesystem::is_directory(f0) ? f0 + "/metrics.jsonl" : f0;
    std::ifstream in(f);
    if (!in) return NotFound("--metrics: cannot read " + f);
    names.push_back(std::filesystem::path(f).parent_path().filename().string());
    d << "# " << f << "\n";
    int64_t last = 0;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.contains("step")) {
        ++skipped;
        continue;
      }
      last = j["step"].get<int64_t>();
      d << offset + last;
      for (size_t k = 0; k < keys.size(); ++k) {
        const auto& key = keys[k].first;
        if (j.contains(key) && j[key].is_number() && std::isfinite(j[key].get<double>())) {
          d << " " << j[key].get<double>();
          has[k] = true;
        } else {
          d << " NaN";
        }
      }
      d << "\n";
    }
    offset += last;  // runs in order (SFT then PPO) share one step axis
    d << "\n\n";
  }
  d.close();
  if (skipped > 0) *note = std::to_string(skipped) + " unparsable metrics lines skipped";
  std::ostringstream gp;
  gp << "set terminal pngcairo size 1200,800 font 'sans,10'\nset output '" << out << "/training.png'\n"
     << "set datafile missing 'NaN'\nset multiplot layout " << (std::count(has.begin(), has.end(), true) > 3 ? 2 : 1)
     << ",3 title 'training curves (" << JoinStrings(names, " then ")
     << ", one step axis)'\nset grid\nset xlabel 'step'\n";
  if (std::count(has.begin(), has.end(), true) == 0) return InvalidArgument("--metrics: no known metric in the given files");
  for (size_t k = 0; k < keys.size(); ++k) {
    if (!has[k]) continue;
    gp << "set title '" << keys[k].second << "'\nplot ";
    for (size_t r = 0; r < files.size(); ++r) {
      if (r) gp << ", ";
      gp << "'" << dat << "' index " << r << " using 1:" << k + 2 << " with lines lw 2 title '" << names[r] << "'";
    }
    gp << "\n";
  }
  gp << "unset multiplot\n";
  return RunGnuplot(out, "training", gp.str());
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
      Cell cell;
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
