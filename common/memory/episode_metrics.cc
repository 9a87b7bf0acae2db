#include "common/memory/episode_metrics.h"

#include <cmath>

namespace mem1 {

Summary Summarize(std::vector<double> v) {
  Summary s;
  s.count = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  auto rank = [&](double q) {
    const size_t idx = static_cast<size_t>(std::ceil(q * v.size()));
    return v[std::min(v.size() - 1, idx == 0 ? 0 : idx - 1)];
  };
  s.p50 = rank(0.5);
  s.p95 = rank(0.95);
  return s;
}

}  // namespace mem1
