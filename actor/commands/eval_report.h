// `mem1 eval`'s report: one cell's measurements (EvalCell) and what is made of them, the
// eval.json fields, the Markdown tables (ours and MEM1's reference metrics), the gnuplot plots
// and one episode rendered as the agent saw it. Used by eval_command.cc only.
#ifndef MEM1_ACTOR_COMMANDS_EVAL_REPORT_H_
#define MEM1_ACTOR_COMMANDS_EVAL_REPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actor/envs/qa/reference_eval.h"
#include "common/tokenizer/tokenizer.h"
#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1::eval {

struct EvalCell {
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

double Mean(const std::vector<double>& v);
// Percentile bootstrap (seeded): 95% interval of the mean of `v`.
std::pair<double, double> BootstrapCi(const std::vector<double>& v, uint64_t seed, int resamples = 2000);

// Every measured field of one cell (eval.json), with the 95% bootstrap interval on EM per
// objective (QA) or on the reward (WebShop), and the `ref_*` reference metrics (QA).
nlohmann::json CellJson(const EvalCell& c, uint64_t seed);
// The table of our metrics in Markdown (eval.md).
std::string MarkdownTable(const nlohmann::json& cells, bool qa);
// The MEM1 reference metrics (eval_reference.md).
std::string ReferenceTable(const nlohmann::json& cells);

// Runs gnuplot on `script` (written to out/NAME.gp). UNAVAILABLE when gnuplot is missing.
Status RunGnuplot(const std::string& out, const std::string& name, const std::string& script);
// Plots `key` vs N, one line per policy (QA cells): out/NAME.png.
Status PlotVsN(const std::string& out, const nlohmann::json& cells, const std::vector<std::string>& policies,
               const std::string& key, const std::string& name, const std::string& ylabel, bool logy);
// Training curves (reward, EM, loss, KL, held-out NLL, format errors) of every metrics file (or
// run directory), runs in order on one step axis: out/training.png. `note` says what was skipped.
Status PlotTraining(const std::string& out, const std::vector<std::string>& files, std::string* note);

// One episode as the agent saw it: the prompt once, then per turn what it wrote and what came
// back (under mem1 everything older than the last turn was pruned from its context).
std::string RenderEpisode(const proto::Trajectory& t, const Tokenizer& tok);

}  // namespace mem1::eval

#endif  // MEM1_ACTOR_COMMANDS_EVAL_REPORT_H_
