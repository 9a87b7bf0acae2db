#include "learner/losses.h"

#include <cmath>
#include <map>

namespace mem1 {

void ComputeGae(const std::vector<float>& values, double reward, double gamma, double lam,
                std::vector<float>* advantages, std::vector<float>* returns) {
  const size_t n = values.size();
  advantages->assign(n, 0.f);
  returns->assign(n, 0.f);
  double gae = 0;
  for (size_t k = n; k-- > 0;) {
    const double r = (k + 1 == n) ? reward : 0.0;
    const double next_v = (k + 1 == n) ? 0.0 : values[k + 1];
    const double delta = r + gamma * next_v - values[k];
    gae = delta + gamma * lam * gae;
    (*advantages)[k] = static_cast<float>(gae);
    (*returns)[k] = static_cast<float>(gae + values[k]);
  }
}

std::vector<float> GroupNormalizedAdvantages(const std::vector<double>& rewards, const std::vector<uint64_t>& groups,
                                             double eps) {
  std::map<uint64_t, std::pair<double, double>> sums;  // sum, sum of squares
  std::map<uint64_t, int64_t> counts;
  for (size_t i = 0; i < rewards.size(); ++i) {
    sums[groups[i]].first += rewards[i];
    sums[groups[i]].second += rewards[i] * rewards[i];
    counts[groups[i]]++;
  }
  std::vector<float> adv(rewards.size(), 0.f);
  for (size_t i = 0; i < rewards.size(); ++i) {
    const int64_t n = counts[groups[i]];
    if (n < 2) continue;
    const double mean = sums[groups[i]].first / n;
    const double var = std::max(0.0, sums[groups[i]].second / n - mean * mean);
    adv[i] = static_cast<float>((rewards[i] - mean) / (std::sqrt(var) + eps));
  }
  return adv;
}

torch::Tensor PpoPolicyTerms(const torch::Tensor& logp, const torch::Tensor& logp_prox, const torch::Tensor& advantages,
                             const torch::Tensor& is_weight, double clip) {
  auto ratio = torch::exp(logp - logp_prox);
  auto unclipped = ratio * advantages;
  auto clipped = torch::clamp(ratio, 1.0 - clip, 1.0 + clip) * advantages;
  return -is_weight * torch::min(unclipped, clipped);
}

torch::Tensor ValueTerms(const torch::Tensor& values, const torch::Tensor& old_values, const torch::Tensor& returns,
                         double clip) {
  auto clipped = old_values + torch::clamp(values - old_values, -clip, clip);
  return 0.5 * torch::max((values - returns).pow(2), (clipped - returns).pow(2));
}

torch::Tensor EntropyTerms(const torch::Tensor& logits) {
  auto logp = torch::log_softmax(logits.to(torch::kFloat32), -1);
  return -(logp.exp() * logp).sum(-1);
}

torch::Tensor KlTerms(const torch::Tensor& logp, const torch::Tensor& ref_logp) {
  auto d = ref_logp - logp;
  return torch::exp(d) - d - 1.0;
}

torch::Tensor TruncatedIsWeight(const torch::Tensor& logp_prox, const torch::Tensor& logp_behaviour, double cap) {
  return torch::clamp_max(torch::exp(logp_prox - logp_behaviour), cap);
}

}  // namespace mem1
