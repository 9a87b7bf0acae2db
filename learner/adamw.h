// The learner's optimizer arithmetic: the learning-rate schedule (linear warm-up, cosine decay
// to a floor), the global gradient norm and its clip, and one AdamW update with decoupled
// weight decay and bias-corrected fp32 moments. Pure functions of their arguments.
#ifndef MEM1_LEARNER_ADAMW_H_
#define MEM1_LEARNER_ADAMW_H_

#include <torch/torch.h>

#include <vector>

#include "common/config/config.h"

namespace mem1 {

// Learning rate at optimizer step `step` (0-based): peak * (step + 1) / warmup_steps during
// warm-up, then peak * (min_lr_ratio + (1 - min_lr_ratio) * (1 + cos(pi * progress)) / 2)
// with progress = (step - warmup) / (total_steps - warmup), clamped to [0, 1].
double ScheduledLearningRate(const OptimOptions& optim, int64_t total_steps, int64_t step, double peak);

// sqrt(sum of squared entries) over every gradient, accumulated in fp64.
double GlobalGradNorm(const std::vector<torch::Tensor>& grads);

// The factor that clips a gradient of norm `grad_norm` to `clip` (1 when clip <= 0 or not exceeded).
double GradClipScale(double grad_norm, double clip);

// One AdamW step `t` (1-based) of `param` with `grad` (fp32): m = b1 m + (1-b1) g,
// v = b2 v + (1-b2) g^2, w = w (1 - lr wd) - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
// `param` keeps its dtype (the update is computed in fp32).
void AdamWUpdate(const OptimOptions& optim, int64_t t, double lr, const torch::Tensor& grad, torch::Tensor* param,
                 torch::Tensor* m, torch::Tensor* v);

}  // namespace mem1

#endif  // MEM1_LEARNER_ADAMW_H_
