// Per-step metrics of the learner and the actors: one JSON line per Log call (the machine-
// readable record), mirrored as TensorBoard scalars (the dashboard).
//
// JSONL format: one object per line, keys in this order:
//   {"step": <int>, "time": <unix seconds, double>, "<key 1>": <value 1>, ...}
// Keys are the caller's, in the caller's order (e.g. "train/loss", "rollout/reward_mean");
// a non-finite value is written as null. Numbers round-trip (shortest exact double form).
// The file is appended to, so a resumed run continues the same file.
//
// TensorBoard: every finite value becomes a scalar with tag = key, the same step and
// wall_time = "time" (see common/metrics/tensorboard.h).
//
// Durability: both outputs are buffered; Flush() (or destruction) hands them to the OS.
//
// Thread safety: not thread-safe; one thread owns a MetricsLog.
#ifndef MEM1_COMMON_METRICS_METRICS_LOG_H_
#define MEM1_COMMON_METRICS_METRICS_LOG_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/tensorboard.h"
#include "common/util/status.h"

namespace mem1 {

class MetricsLog {
 public:
  // Opens `jsonl_path` for appending (creating it and its parent directories) and, unless
  // `tb_dir` is "", a new TensorBoard event file in `tb_dir` with `tb_suffix` (as
  // TensorBoardWriter::Open). INVALID_ARGUMENT if jsonl_path is empty (or as
  // TensorBoardWriter::Open); INTERNAL naming the path when a file or directory cannot be
  // created.
  [[nodiscard]] static Result<std::unique_ptr<MetricsLog>> Open(const std::string& jsonl_path,
                                                                const std::string& tb_dir,
                                                                const std::string& tb_suffix = "");
  // Flushes and closes both outputs (errors are logged).
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Writes one JSONL line and one TensorBoard scalar per finite value (format above).
  // INVALID_ARGUMENT, writing nothing, if a key is empty, is "step" or "time", repeats an
  // earlier key of the same call, or is not valid UTF-8. INTERNAL naming the path on a write
  // error.
  [[nodiscard]] Status Log(int64_t step, const std::vector<std::pair<std::string, double>>& values);

  // Hands buffered lines and records to the OS. INTERNAL naming the path on error.
  [[nodiscard]] Status Flush();

  const std::string& jsonl_path() const { return jsonl_path_; }
  // The TensorBoard writer, or nullptr when opened with tb_dir "".
  const TensorBoardWriter* tensorboard() const { return tensorboard_.get(); }

 private:
  MetricsLog(std::string jsonl_path, std::FILE* jsonl, std::unique_ptr<TensorBoardWriter> tensorboard)
      : jsonl_path_(std::move(jsonl_path)), jsonl_(jsonl), tensorboard_(std::move(tensorboard)) {}

  const std::string jsonl_path_;
  std::FILE* jsonl_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
  std::string line_;  // reused line buffer
};

}  // namespace mem1

#endif  // MEM1_COMMON_METRICS_METRICS_LOG_H_
