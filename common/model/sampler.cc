#include "common/model/sampler.h"

#include <glog/logging.h>

namespace mem1 {

Sampler::Sampler(const SamplingOptions& options)
    : options_(options), gen_(at::detail::createCPUGenerator(options.seed)) {
  CHECK_GT(options.temperature, 0.0) << "temperature must be > 0";
  CHECK(options.top_p > 0.0 && options.top_p <= 1.0) << "top_p must be in (0, 1]";
  CHECK_GE(options.top_k, 0);
}

Result<SampleResult> Sampler::Sample(const torch::Tensor& logits_in) {
  torch::NoGradGuard no_grad;
  if (logits_in.dim() != 2) return InvalidArgument("sampler: logits must be [B,V], got " + std::to_string(logits_in.dim()) + " dims");
  auto logits = logits_in.to(torch::kCPU, torch::kFloat32);
  {
    auto bad_rows = (~torch::isfinite(logits)).any(1);
    if (bad_rows.any().item<bool>()) {
      const int64_t row = bad_rows.nonzero()[0][0].item<int64_t>();
      return DataLoss("sampler: the model's logits are not finite (NaN or Inf) in row " + std::to_string(row) + " of " +
                      std::to_string(logits.size(0)) + "; the weights are broken (check the checkpoint, or the learner's "
                      "last update)");
    }
  }
  const double temp = options_.greedy ? 1.0 : options_.temperature;
  auto scaled = temp == 1.0 ? logits : logits / temp;
  auto logp = torch::log_softmax(scaled, -1);  // [B,V]
  torch::Tensor tokens;
  if (options_.greedy) {
    tokens = logits.argmax(-1);
  } else {
    auto filtered = scaled.clone();
    const int64_t V = filtered.size(1);
    if (options_.top_k > 0 && options_.top_k < V) {
      auto kth = std::get<0>(filtered.topk(options_.top_k, -1)).select(1, options_.top_k - 1).unsqueeze(1);
      filtered.masked_fill_(filtered < kth, -std::numeric_limits<float>::infinity());
    }
    if (options_.top_p < 1.0) {
      auto sorted = filtered.sort(-1, /*descending=*/true);
      auto sorted_logits = std::get<0>(sorted);
      auto sorted_idx = std::get<1>(sorted);
      auto cum = torch::softmax(sorted_logits, -1).cumsum(-1);
      // Drop a token when the mass strictly before it already reaches top_p (keeps >= 1).
      auto drop_sorted = (cum - torch::softmax(sorted_logits, -1)) >= options_.top_p;
      auto drop = torch::zeros_like(drop_sorted).scatter(1, sorted_idx, drop_sorted);
      filtered.masked_fill_(drop, -std::numeric_limits<float>::infinity());
    }
    auto probs = torch::softmax(filtered, -1);
    tokens = torch::multinomial(probs, 1, /*replacement=*/false, gen_).squeeze(1);
  }
  SampleResult r;
  r.tokens = tokens.to(torch::kLong);
  r.logprobs = logp.gather(1, r.tokens.unsqueeze(1)).squeeze(1);
  return r;
}

}  // namespace mem1
