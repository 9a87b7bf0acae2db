// Episode metrics (per trajectory, stored in proto::EpisodeMetrics) and their aggregates.
//
// Definitions (MEM1 paper / reference code conventions), for an episode whose turn t kept a
// context of c_t tokens (prompt included) and generated l_t tokens:
//   peak_tokens      = max_t (c_t + l_t): the largest context the model held at any step
//   dependency       = sum_t (c_t * l_t + l_t (l_t + 1) / 2): tokens attended, summed over
//                      every generated token (each attends everything before it and itself)
//   turns            = model turns taken
//   generated_tokens = sum_t l_t
//   wall_seconds     = wall time from the episode's first prefill to its last token
//   reward           = environment outcome reward; format_errors = malformed turns
// Thread safety: pure functions.
#ifndef MEM1_COMMON_MEMORY_EPISODE_METRICS_H_
#define MEM1_COMMON_MEMORY_EPISODE_METRICS_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mem1 {

// Running per-episode accounting used by the rollout engine.
struct TurnAccounting {
  int64_t peak_tokens = 0;
  int64_t dependency = 0;
  int64_t generated_tokens = 0;
  int32_t turns = 0;
  // Adds a turn with kept context `context` and `generated` new tokens.
  void AddTurn(int64_t context, int64_t generated) {
    peak_tokens = std::max(peak_tokens, context + generated);
    dependency += context * generated + generated * (generated + 1) / 2;
    generated_tokens += generated;
    ++turns;
  }
};

struct Summary {
  double mean = 0, p50 = 0, p95 = 0;
  int64_t count = 0;
};

// Mean and nearest-rank percentiles; all zero for an empty input.
Summary Summarize(std::vector<double> values);

}  // namespace mem1

#endif  // MEM1_COMMON_MEMORY_EPISODE_METRICS_H_
