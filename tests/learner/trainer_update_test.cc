// The numbers of one Trainer update against values worked out by hand (or, for gradients,
// computed here independently of the Trainer with autograd over ScoreSequences): the
// learning-rate schedule (warm-up, cosine, floor), global grad-norm clipping, the hand-written
// AdamW (bias correction, decoupled weight decay), advantage whitening and the KL term.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "learner/synthetic_trajectories.h"
#include "learner/trainer.h"
#include "tests/common/model/test_util.h"

namespace mem1 {
namespace {

using mem1::testing::TinyModel;

LearnerOptions Sft() {
  LearnerOptions o;
  o.ppo.algorithm = Algorithm::kSft;
  o.micro_batch_tokens = 96;  // several micro-batches: the Trainer accumulates, the reference does not
  o.total_steps = 10;
  o.optim.warmup_steps = 0;
  o.optim.min_lr_ratio = 1.0;  // constant learning rate = the peak
  o.optim.weight_decay = 0;
  o.optim.grad_clip = 0;
  return o;
}

std::map<std::string, torch::Tensor> Weights(Qwen2ForCausalLM& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m->named_parameters(true)) out[p.key()] = p.value().detach().clone();
  return out;
}

// The SFT gradient of `batch` (d/dtheta of -sum log p / loss tokens) in one pass, without the
// Trainer. Parameters without a gradient (the value head in SFT) get zeros.
std::map<std::string, torch::Tensor> SftGradients(Qwen2ForCausalLM m, const std::vector<proto::Trajectory>& batch) {
  std::vector<MaskedSequence> seqs;
  for (const auto& t : batch) seqs.push_back(BuildMaskedSequence(t).value());
  std::vector<const MaskedSequence*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  m->zero_grad();
  auto sc = ScoreSequences(m, ptrs, std::vector<float>(ptrs.size(), 1.f), false);
  (-sc.logp.sum() / static_cast<double>(sc.logp.numel())).backward();
  std::map<std::string, torch::Tensor> g;
  for (const auto& p : m->named_parameters(true)) {
    g[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::zeros_like(p.value());
  }
  return g;
}

double GlobalNorm(const std::map<std::string, torch::Tensor>& g) {
  double sq = 0;
  for (const auto& [name, t] : g) sq += t.to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sq);
}

// Per-parameter change of one step: after - before.
std::map<std::string, torch::Tensor> Delta(const std::map<std::string, torch::Tensor>& before, Qwen2ForCausalLM& m) {
  std::map<std::string, torch::Tensor> d;
  for (const auto& [name, after] : Weights(m)) d[name] = after - before.at(name);
  return d;
}

// ||a - b|| / ||b|| over all parameters.
double RelativeDistance(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  double num = 0, den = 0;
  for (const auto& [name, t] : b) {
    num += (a.at(name) - t).to(torch::kFloat64).pow(2).sum().item<double>();
    den += t.to(torch::kFloat64).pow(2).sum().item<double>();
  }
  return std::sqrt(num / den);
}

// --- learning-rate schedule ------------------------------------------------------------------

TEST(TrainerUpdateTest, LearningRateWarmsUpLinearlyThenFollowsTheCosineToTheFloor) {
  auto comm = MakeLocalCommunicator();
  LearnerOptions o = Sft();
  o.total_steps = 14;
  o.optim.warmup_steps = 4;
  o.optim.min_lr_ratio = 0.1;
  Trainer t(TinyModel(80), o, comm.get());
  const double peak = 2.0;
  // Warm-up: peak * (step + 1) / warmup.
  EXPECT_NEAR(t.LearningRate(0, peak), 0.5, 1e-12);
  EXPECT_NEAR(t.LearningRate(1, peak), 1.0, 1e-12);
  EXPECT_NEAR(t.LearningRate(2, peak), 1.5, 1e-12);
  EXPECT_NEAR(t.LearningRate(3, peak), 2.0, 1e-12);
  // Cosine over the 10 steps after the warm-up: peak * (0.1 + 0.9 * (1 + cos(pi p)) / 2).
  EXPECT_NEAR(t.LearningRate(4, peak), 2.0, 1e-12);                // p = 0
  EXPECT_NEAR(t.LearningRate(6, peak), 1.8281152949374527, 1e-12);  // p = 0.2: cos = 0.80901699...
  EXPECT_NEAR(t.LearningRate(9, peak), 1.1, 1e-12);                // p = 0.5: halfway = 0.55 peak
  EXPECT_NEAR(t.LearningRate(13, peak), 0.2 + 1.8 * 0.5 * (1 + std::cos(0.9 * M_PI)), 1e-12);  // p = 0.9
  // The floor: min_lr_ratio * peak at total_steps and after.
  EXPECT_NEAR(t.LearningRate(14, peak), 0.2, 1e-12);
  EXPECT_NEAR(t.LearningRate(100, peak), 0.2, 1e-12);

  // No warm-up: the cosine starts at the peak on step 0.
  o.optim.warmup_steps = 0;
  o.total_steps = 10;
  Trainer u(TinyModel(80), o, comm.get());
  EXPECT_NEAR(u.LearningRate(0, 1e-3), 1e-3, 1e-15);
  EXPECT_NEAR(u.LearningRate(5, 1e-3), 0.55e-3, 1e-15);
  EXPECT_NEAR(u.LearningRate(10, 1e-3), 1e-4, 1e-15);
  // min_lr_ratio 1: constant.
  o.optim.min_lr_ratio = 1.0;
  Trainer c(TinyModel(80), o, comm.get());
  EXPECT_NEAR(c.LearningRate(7, 3e-4), 3e-4, 1e-15);
}

TEST(TrainerUpdateTest, EachStepUsesTheScheduleOfItsStepIndex) {
  auto comm = MakeLocalCommunicator();
  LearnerOptions o = Sft();
  o.total_steps = 6;
  o.optim.warmup_steps = 2;
  o.optim.min_lr_ratio = 0.0;
  o.optim.actor_lr = 1e-3;
  Trainer t(TinyModel(81), o, comm.get());
  const auto batch = SyntheticBatch(600, 3, 97, 0);
  // Steps 0, 1 warm up (1/2, 2/2 of the peak); steps 2..5 follow the cosine over 4 steps.
  const double expected[] = {0.5e-3, 1e-3, 1e-3, 0.5e-3 * (1 + std::cos(M_PI / 4)), 0.5e-3,
                             0.5e-3 * (1 + std::cos(3 * M_PI / 4))};
  for (double lr : expected) {
    auto st = t.Step(batch);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_NEAR(st->lr, lr, 1e-15) << "step " << st->step;
  }
  EXPECT_EQ(t.step(), 6);
}

// --- AdamW ----------------------------------------------------------------------------------

// First step, t = 1: m = (1-b1) g, v = (1-b2) g^2, so the bias-corrected update is
// g / (|g| + eps) = sign(g) when eps is negligible; decoupled decay scales the weight by
// (1 - lr * wd) first. Hence w1 = w0 (1 - lr wd) - lr sign(g), coordinate by coordinate, and a
// parameter without gradient (the value head in SFT) is only decayed, with the critic lr.
TEST(TrainerUpdateTest, FirstAdamWStepIsDecoupledDecayPlusOneLearningRateAgainstTheGradientSign) {
  auto comm = MakeLocalCommunicator();
  LearnerOptions o = Sft();
  o.optim.actor_lr = 1e-2;
  o.optim.critic_lr = 1e-1;
  o.optim.weight_decay = 0.1;
  o.optim.eps = 1e-30;
  Trainer t(TinyModel(82), o, comm.get());
  const auto batch = SyntheticBatch(610, 4, 97, 0);
  const auto grads = SftGradients(TinyModel(82), batch);
  const auto before = Weights(t.policy());
  auto st = t.Step(batch);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_NEAR(st->lr, 1e-2, 1e-15);
  const auto after = Weights(t.policy());
  int64_t unit_steps = 0, actor_elements = 0, checked_signs = 0;
  for (const auto& [name, w0] : before) {
    const auto& w1 = after.at(name);
    if (name.rfind("value_head.", 0) == 0) {
      // No gradient: m = v = 0, update 0; decay only, with the critic lr: 1 - 0.1 * 0.1.
      EXPECT_LE((w1 - w0 * 0.99).abs().max().item<float>(), 1e-6) << name;
      continue;
    }
    auto step = w0 * (1 - 1e-2 * 0.1) - w1;  // = lr * g / (|g| + eps)
    auto mag = step.abs();
    // Every coordinate moved by exactly lr (nonzero gradient) or not at all.
    auto off = torch::min(mag, (mag - 1e-2).abs());
    EXPECT_LE(off.max().item<float>(), 1e-6) << name;
    unit_steps += (mag > 0.5e-2).sum().item<int64_t>();
    actor_elements += w0.numel();
    // Against the gradient, where the gradient is clearly nonzero.
    const auto& g = grads.at(name);
    auto clear = g.abs() > 1e-4 * g.abs().max().item<float>() + 1e-12;
    EXPECT_TRUE(torch::equal(torch::sign(step).masked_select(clear), torch::sign(g).masked_select(clear))) << name;
    checked_signs += clear.sum().item<int64_t>();
  }
  EXPECT_GT(unit_steps, actor_elements * 9 / 10);  // almost every coordinate has a gradient
  EXPECT_GT(checked_signs, actor_elements / 2);
}

// eps = lr = 1e3 makes the first update linear in the gradient: lr g / (|g| + eps) = g (to
// |g| / eps < 1e-3). So the step equals the gradient computed here, the clipped step is the
// unclipped one times clip / norm, and a clip above the norm changes nothing.
TEST(TrainerUpdateTest, GradientNormIsGlobalAndClippingScalesTheUpdateByClipOverNorm) {
  auto comm = MakeLocalCommunicator();
  LearnerOptions o = Sft();
  o.optim.actor_lr = 1e3;
  o.optim.eps = 1e3;
  const auto batch = SyntheticBatch(620, 4, 97, 0);
  const auto grads = SftGradients(TinyModel(83), batch);
  const double norm = GlobalNorm(grads);
  ASSERT_GT(norm, 1e-3);
  auto run = [&](double clip, StepStats* stats) {
    LearnerOptions c = o;
    c.optim.grad_clip = clip;
    Trainer t(TinyModel(83), c, comm.get());
    const auto before = Weights(t.policy());
    auto st = t.Step(batch);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (st.ok()) *stats = *st;
    return Delta(before, t.policy());
  };
  StepStats off, quarter, above;
  const auto d_off = run(0, &off);
  // The reported norm is the global pre-clip norm of the token-mean gradient.
  EXPECT_NEAR(off.grad_norm, norm, 1e-4 * norm);
  // Step = gradient descent with the gradient computed here (micro-batch accumulation and
  // the all-reduce do not change it).
  std::map<std::string, torch::Tensor> minus_g;
  for (const auto& [name, g] : grads) minus_g[name] = -g;
  EXPECT_LT(RelativeDistance(d_off, minus_g), 2e-3);
  // Clip at a quarter of the norm: the same step, a quarter as long.
  const auto d_quarter = run(norm / 4, &quarter);
  EXPECT_NEAR(quarter.grad_norm, off.grad_norm, 1e-9 * norm);  // reported before clipping
  std::map<std::string, torch::Tensor> scaled;
  for (const auto& [name, d] : d_off) scaled[name] = d * 0.25;
  EXPECT_LT(RelativeDistance(d_quarter, scaled), 2e-3);
  // A clip above the norm is no clip at all: bit-identical weights.
  const auto d_above = run(2 * norm, &above);
  for (const auto& [name, d] : d_off) EXPECT_TRUE(torch::equal(d, d_above.at(name))) << name;
}

// --- advantage whitening (PPO) ----------------------------------------------------------------

// One trajectory twice, with rewards 3 and 1, and a zero value head: V = 0 everywhere, so with
// gamma = lambda = 1 every model token's advantage is its trajectory's reward and its return
// the reward. Whitened over the batch's 2n tokens (mean 2, std 1) the advantages are +1 / -1.
// The proximal policy is the current one (ratio 1); the first copy's behaviour log-probs are
// log 2 below it (importance weight 2), the second's equal it (weight 1). Per token the
// policy term is -w A, the value term 0.5 R^2:
//   whitened:   policy = -(2n * 1 + n * (-1)) / 2n = -0.5
//   unwhitened: policy = -(2n * 3 + n * 1) / 2n = -3.5
//   value = 0.5 (9n + n) / 2n = 2.5, is_weight_mean = (2n + n) / 2n = 1.5,
//   loss = policy + 0.5 value.
TEST(TrainerUpdateTest, AdvantagesAreWhitenedOverTheGlobalBatch) {
  auto comm = MakeLocalCommunicator();
  for (bool whiten : {true, false}) {
    LearnerOptions o;
    o.ppo.algorithm = Algorithm::kPpo;
    o.ppo.gamma = 1.0;
    o.ppo.lam = 1.0;
    o.ppo.whiten_advantages = whiten;
    o.ppo.value_coef = 0.5;
    o.ppo.entropy_coef = 0;
    o.ppo.kl_coef = 0;
    o.ppo.is_weight_cap = 5.0;
    o.micro_batch_tokens = 96;
    o.total_steps = 10;
    auto model = TinyModel(84);
    {
      torch::NoGradGuard g;
      model->value_head->weight.zero_();
      model->value_head->bias.zero_();
    }
    Trainer t(model, o, comm.get());
    proto::Trajectory a = SyntheticMem1Trajectory(630, 97, 3, 0);
    a.set_reward(3.0);
    const auto seq = BuildMaskedSequence(a).value();
    torch::Tensor prox;
    {
      torch::NoGradGuard g;
      prox = ScoreSequences(t.policy(), {&seq}, {1.0f}, false).logp;
    }
    const int64_t n = prox.numel();
    ASSERT_GT(n, 5);
    int64_t k = 0;
    for (auto& s : *a.mutable_segments()) {
      for (auto& lp : *s.mutable_behaviour_logprobs()) lp = prox[k++].item<float>();
    }
    ASSERT_EQ(k, n);
    proto::Trajectory b = a;  // weight 1
    b.set_episode_id(a.episode_id() + 1);
    b.set_reward(1.0);
    k = 0;
    for (auto& s : *a.mutable_segments()) {  // weight 2
      for (auto& lp : *s.mutable_behaviour_logprobs()) lp = prox[k++].item<float>() - static_cast<float>(std::log(2.0));
    }
    auto st = t.Step({a, b});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->trajectories, 2);
    EXPECT_EQ(st->tokens, 2 * n);
    const double policy = whiten ? -0.5 : -3.5;
    EXPECT_NEAR(st->policy_loss, policy, 1e-5) << "whiten=" << whiten;
    EXPECT_NEAR(st->value_loss, 2.5, 1e-6) << "whiten=" << whiten;
    EXPECT_NEAR(st->is_weight_mean, 1.5, 1e-5);
    EXPECT_NEAR(st->clip_fraction, 0.0, 1e-12);
    EXPECT_NEAR(st->loss, policy + 0.5 * 2.5, 1e-5) << "whiten=" << whiten;
    EXPECT_NEAR(st->reward_mean, 2.0, 1e-12);
  }
}

// --- KL to the frozen initial policy -------------------------------------------------------

// k3 estimate per token, exp(ref - logp) - (ref - logp) - 1, averaged over loss tokens, with
// the log-probs computed here: of the trainer's current weights and of a fresh copy of the
// initial model (the reference must stay frozen at the initial weights).
double ExpectedKl(Trainer& t, Qwen2ForCausalLM initial, const std::vector<proto::Trajectory>& batch) {
  std::vector<MaskedSequence> seqs;
  for (const auto& tr : batch) seqs.push_back(BuildMaskedSequence(tr).value());
  std::vector<const MaskedSequence*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  torch::NoGradGuard g;
  const std::vector<float> temps(ptrs.size(), 1.f);
  auto now = ScoreSequences(t.policy(), ptrs, temps, false).logp.to(torch::kFloat64);
  auto ref = ScoreSequences(initial, ptrs, temps, false).logp.to(torch::kFloat64);
  double sum = 0;
  for (int64_t i = 0; i < now.numel(); ++i) {
    const double d = ref[i].item<double>() - now[i].item<double>();
    sum += std::exp(d) - d - 1.0;
  }
  return sum / static_cast<double>(now.numel());
}

TEST(TrainerUpdateTest, KlTermIsTheK3EstimateAgainstTheFrozenInitialPolicy) {
  auto comm = MakeLocalCommunicator();
  LearnerOptions o;
  o.ppo.algorithm = Algorithm::kGrpo;
  o.ppo.kl_coef = 0.1;
  o.ppo.entropy_coef = 0;
  o.ppo.max_policy_lag = 1000;
  o.micro_batch_tokens = 96;
  o.total_steps = 10;
  o.optim.actor_lr = 1e-2;
  o.optim.min_lr_ratio = 1.0;
  Trainer t(TinyModel(85), o, comm.get());
  auto batch = SyntheticBatch(640, 4, 97, 0);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].set_group_id(1);
    batch[i].set_reward(i % 2);
  }
  // Step 1: the policy is the reference: KL 0.
  auto first = t.Step(batch);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_NEAR(first->kl, 0.0, 1e-9);
  EXPECT_NEAR(first->loss, first->policy_loss, 1e-7);
  for (int step = 2; step <= 3; ++step) {
    const double expected = ExpectedKl(t, TinyModel(85), batch);
    ASSERT_GT(expected, 1e-5) << "the first step did not move the policy";
    auto st = t.Step(batch);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_NEAR(st->kl, expected, 1e-4 * expected) << "step " << step;
    // loss = policy + kl_coef * KL (GRPO: no value term; entropy off).
    EXPECT_NEAR(st->loss, st->policy_loss + 0.1 * st->kl, 1e-6 * (1 + std::abs(st->loss))) << "step " << step;
  }
}

// optim.freeze: matching parameters keep their values (and stay out of the grad norm) for
// freeze_steps steps, then train like the rest; freeze_steps 0 freezes them for the whole run.
TEST(TrainerUpdateTest, FrozenParametersStayPutForFreezeStepsThenTrain) {
  auto comm = MakeLocalCommunicator();
  const auto batch = SyntheticBatch(611, 4, 97, 0);
  const std::string layer0 = "model.layers.0.self_attn.q_proj.weight";
  for (int32_t freeze_steps : {0, 2}) {
    LearnerOptions o = Sft();
    o.optim.actor_lr = 1e-2;
    o.optim.freeze = "model\\.layers\\.0\\.self_attn\\..*";
    o.optim.freeze_steps = freeze_steps;
    Trainer t(TinyModel(83), o, comm.get());
    const auto start = Weights(t.policy());
    for (int step = 0; step < 3; ++step) {
      const auto before = Weights(t.policy());
      auto st = t.Step(batch);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      const auto d = Delta(before, t.policy());
      const bool frozen = freeze_steps == 0 || step < freeze_steps;
      for (const auto& [name, delta] : d) {
        if (name.rfind("value_head.", 0) == 0) continue;
        const bool matches = name.rfind("model.layers.0.self_attn.", 0) == 0;
        const float moved = delta.abs().max().item<float>();
        if (matches && frozen) {
          EXPECT_EQ(moved, 0.0f) << name << " step " << step;
        } else {
          EXPECT_GT(moved, 0.0f) << name << " step " << step;
        }
      }
    }
    EXPECT_EQ(torch::equal(start.at(layer0), Weights(t.policy()).at(layer0)), freeze_steps == 0);
  }
}

}  // namespace
}  // namespace mem1
