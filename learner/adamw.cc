#include "learner/adamw.h"

#include <algorithm>
#include <cmath>

namespace mem1 {

double ScheduledLearningRate(const OptimOptions& o, int64_t total_steps, int64_t step, double peak) {
  if (o.warmup_steps > 0 && step < o.warmup_steps) return peak * (step + 1) / static_cast<double>(o.warmup_steps);
  const int64_t total = std::max<int64_t>(1, total_steps - o.warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / total);
  const double cosine = 0.5 * (1.0 + std::cos(std::acos(-1.0) * progress));
  return peak * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine);
}

double GlobalGradNorm(const std::vector<torch::Tensor>& grads) {
  double sq = 0;
  for (const auto& g : grads) sq += g.to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sq);
}

double GradClipScale(double grad_norm, double clip) {
  return (clip > 0 && grad_norm > clip) ? clip / (grad_norm + 1e-6) : 1.0;
}

void AdamWUpdate(const OptimOptions& o, int64_t t, double lr, const torch::Tensor& grad, torch::Tensor* param,
                 torch::Tensor* m, torch::Tensor* v) {
  torch::NoGradGuard g;
  const double bc1 = 1.0 - std::pow(o.beta1, t), bc2 = 1.0 - std::pow(o.beta2, t);
  m->mul_(o.beta1).add_(grad, 1.0 - o.beta1);
  v->mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
  auto update = (*m / bc1) / ((*v / bc2).sqrt() + o.eps);
  auto w = param->to(torch::kFloat32);
  if (o.weight_decay > 0) w.mul_(1.0 - lr * o.weight_decay);
  w.add_(update, -lr);
  param->copy_(w);
}

}  // namespace mem1
