#include "actor/commands/eval_report.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "common/util/strings.h"

namespace mem1::eval {

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

std::pair<double, double> BootstrapCi(const std::vector<double>& v, uint64_t seed, int resamples) {
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

namespace {

nlohmann::json OptionalJson(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json CellJson(const EvalCell& c, uint64_t seed) {
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

}  // namespace mem1::eval
