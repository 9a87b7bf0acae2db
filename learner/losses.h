// RL / SFT loss terms on gathered model tokens. Every function works on flat per-token
// tensors of the N loss tokens of a (micro-)batch and returns PER-TOKEN terms [N]; the trainer
// sums them and divides by the global token count (token-mean over the global batch, so data
// parallel ranks and gradient accumulation give the same gradient as one big batch).
//
// Shapes: N loss tokens, V vocab.
#ifndef MEM1_LEARNER_LOSSES_H_
#define MEM1_LEARNER_LOSSES_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace mem1 {

// GAE over the model tokens of one trajectory (observation/prompt tokens are not steps).
// values[k] = V(state before model token k); the outcome reward arrives at the last token,
// the value after the last token is 0. Returns advantages and returns (= adv + values).
void ComputeGae(const std::vector<float>& values, double reward, double gamma, double lam,
                std::vector<float>* advantages, std::vector<float>* returns);

// GRPO: per-trajectory advantage (r - mean_g) / (std_g + eps) within each group id; a group of
// one gets 0. std is the population std (as in the GRPO / veRL implementation with unbiased=False).
std::vector<float> GroupNormalizedAdvantages(const std::vector<double>& rewards, const std::vector<uint64_t>& groups,
                                             double eps = 1e-6);

// Clipped surrogate (decoupled PPO). logp, logp_prox, advantages, is_weight: [N].
// ratio = exp(logp - logp_prox); term = -is_weight * min(ratio * A, clip(ratio, 1-eps, 1+eps) * A).
// With a single on-policy pass logp_prox == behaviour log-prob and is_weight == 1: plain PPO.
torch::Tensor PpoPolicyTerms(const torch::Tensor& logp, const torch::Tensor& logp_prox, const torch::Tensor& advantages,
                             const torch::Tensor& is_weight, double clip);

// 0.5 * max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2). [N].
torch::Tensor ValueTerms(const torch::Tensor& values, const torch::Tensor& old_values, const torch::Tensor& returns,
                         double clip);

// Entropy of softmax(logits) per row. logits [N,V] -> [N].
torch::Tensor EntropyTerms(const torch::Tensor& logits);

// Low-variance KL estimate (k3): exp(ref - logp) - (ref - logp) - 1 >= 0. [N].
torch::Tensor KlTerms(const torch::Tensor& logp, const torch::Tensor& ref_logp);

// Truncated importance weight min(exp(logp_prox - logp_behaviour), cap). [N].
torch::Tensor TruncatedIsWeight(const torch::Tensor& logp_prox, const torch::Tensor& logp_behaviour, double cap);

}  // namespace mem1

#endif  // MEM1_LEARNER_LOSSES_H_
