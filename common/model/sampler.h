// Token sampling from logits: greedy, temperature, top-k, top-p; seeded and reproducible.
//
// The recorded log-prob of a sampled token is log_softmax(logits / temperature) at that token
// over the FULL vocabulary (top-k / top-p only restrict which tokens can be drawn). This is
// exactly what the learner recomputes from the same logits, so PPO ratios are 1 on-policy.
// Greedy uses temperature 1 for the log-prob.
//
// Thread safety: a Sampler owns its generator; use one per thread.
#ifndef MEM1_COMMON_MODEL_SAMPLER_H_
#define MEM1_COMMON_MODEL_SAMPLER_H_

#include <torch/torch.h>

#include <cstdint>

#include "common/util/status.h"

namespace mem1 {

struct SamplingOptions {
  bool greedy = false;       // argmax (ties: lowest id)
  double temperature = 1.0;  // > 0
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // (0, 1]; 1 = off
  uint64_t seed = 0;
};

struct SampleResult {
  torch::Tensor tokens;    // [B] int64, on CPU
  torch::Tensor logprobs;  // [B] float32, on CPU
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  // logits [B,V] (any device/dtype; computed in fp32 on CPU). A NaN or infinite logit (broken
  // weights, an overflow) is DATA_LOSS naming the row, never a draw from garbage or an abort.
  [[nodiscard]] Result<SampleResult> Sample(const torch::Tensor& logits);
  const SamplingOptions& options() const { return options_; }

 private:
  SamplingOptions options_;
  at::Generator gen_;
};

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_SAMPLER_H_
