#include "learner/trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <regex>

#include "learner/adamw.h"
#include "learner/losses.h"
#include "common/util/strings.h"

namespace mem1 {
Trainer::Trainer(Qwen2ForCausalLM policy, const LearnerOptions& options, Communicator* comm)
    : policy_(std::move(policy)), options_(options), comm_(comm) {
  CHECK(comm_ != nullptr);
  std::optional<std::regex> freeze;  // the pattern was checked when the config was parsed
  if (!options_.optim.freeze.empty()) freeze.emplace(options_.optim.freeze);
  int64_t frozen = 0;
  for (auto& p : policy_->named_parameters(true)) {
    Param q;
    q.name = p.key();
    q.frozen = freeze.has_value() && std::regex_match(p.key(), *freeze);
    frozen += q.frozen ? p.value().numel() : 0;
    q.tensor = p.value();
    q.m = torch::zeros_like(p.value(), torch::kFloat32);
    q.v = torch::zeros_like(p.value(), torch::kFloat32);
    q.critic = p.key().rfind("value_head.", 0) == 0;
    params_.push_back(std::move(q));
  }
  if (!options_.optim.freeze.empty()) {
    LOG(INFO) << "optim.freeze \"" << options_.optim.freeze << "\": " << frozen << " parameters frozen "
              << (options_.optim.freeze_steps > 0 ? "for " + std::to_string(options_.optim.freeze_steps) + " steps"
                                                   : std::string("for the whole run"));
  }
  if (options_.ppo.algorithm != Algorithm::kSft && options_.ppo.kl_coef > 0) {
    reference_ = Qwen2ForCausalLM(policy_->config());
    torch::NoGradGuard g;
    auto src = policy_->named_parameters(true);
    for (auto& p : reference_->named_parameters(true)) p.value().copy_(src[p.key()].detach());
    reference_->to(policy_->model->embed_tokens->weight.device(), policy_->model->embed_tokens->weight.scalar_type());
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
    reference_->eval();
  }
}

double Trainer::LearningRate(int64_t step, double peak) const {
  return ScheduledLearningRate(options_.optim, options_.total_steps, step, peak);
}

Result<double> Trainer::HeldOutNll(const std::vector<proto::Trajectory>& shard) {
  double sums[2] = {0, 0};  // -log p, tokens
  Status local;  // a local failure still joins the reduction below, so no rank waits forever
  try {
    torch::NoGradGuard no_grad;
    std::vector<MaskedSequence> seqs;
    for (const auto& t : shard) {
      auto seq = BuildMaskedSequence(t);
      if (seq.ok()) seqs.push_back(std::move(seq).value());
    }
    std::vector<const MaskedSequence*> ptrs;
    for (const auto& s : seqs) ptrs.push_back(&s);
    const bool was_training = policy_->is_training();
    policy_->eval();
    for (const auto& mb : PackByLength(ptrs, options_.micro_batch_tokens)) {
      std::vector<const MaskedSequence*> s;
      std::vector<float> temps;
      for (size_t i : mb) {
        s.push_back(ptrs[i]);
        temps.push_back(1.f);
      }
      auto sc = ScoreSequences(policy_, s, temps, false);
      sums[0] -= sc.logp.sum().item<double>();
      sums[1] += static_cast<double>(sc.logp.numel());
    }
    if (was_training) policy_->train();
  } catch (const c10::Error& e) {
    local = Internal(std::string("held-out NLL: libtorch: ") + e.what_without_backtrace());
  }
  auto red = torch::tensor(std::vector<double>{sums[0], sums[1]}, torch::kFloat64);
  comm_->AllReduceSum(red);
  MEM1_RETURN_IF_ERROR(local);
  const double tokens = red[1].item<double>();
  if (tokens <= 0) return InvalidArgument("held-out NLL: no loss tokens in the held-out trajectories");
  return red[0].item<double>() / tokens;
}

Result<StepStats> Trainer::Step(const std::vector<proto::Trajectory>& shard) {
  // libtorch failures (out of memory above all) become a status at this boundary, so a caller
  // can retry with a smaller micro_batch_tokens instead of the process aborting.
  try {
    StepStats st = StepImpl(shard);
    nonfinite_streak_ = st.skipped_nonfinite ? nonfinite_streak_ + 1 : 0;
    if (st.skipped_nonfinite) {
      // Every rank sees the same all-reduced norm, so every rank decides the same.
      LOG(WARNING) << "step " << st.step << ": gradient norm is not finite (loss " << st.loss
                   << "); update skipped, weights unchanged (" << nonfinite_streak_ << " in a row)";
      if (nonfinite_streak_ >= kMaxNonFiniteSteps) {
        return DataLoss("training step " + std::to_string(st.step) + ": the gradient norm was NaN/Inf in " +
                        std::to_string(nonfinite_streak_) + " steps in a row (loss " + std::to_string(st.loss) +
                        "); weights left as they were. Lower learner.optim.actor_lr or check the data");
      }
    }
    return st;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (what.find("out of memory") != std::string::npos || what.find("alloc") != std::string::npos) {
      return ResourceExhausted("training step " + std::to_string(step_) + ": " + what +
                               " (retry with a smaller learner.micro_batch_tokens)");
    }
    return Internal("training step " + std::to_string(step_) + ": libtorch: " + what);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("training step " + std::to_string(step_) +
                             ": out of host memory (retry with a smaller learner.micro_batch_tokens)");
  }
}

StepStats Trainer::StepImpl(const std::vector<proto::Trajectory>& shard) {
  const double t0 = MonotonicSeconds();
  const auto& ppo = options_.ppo;
  const bool is_ppo = ppo.algorithm == Algorithm::kPpo, is_grpo = ppo.algorithm == Algorithm::kGrpo,
             is_sft = ppo.algorithm == Algorithm::kSft;
  StepStats st;
  // 1. Admission over this rank's shard; counts are summed over ranks below.
  std::vector<const proto::Trajectory*> admitted;
  int64_t stale = 0;
  for (const auto& t : shard) {
    const int64_t lag = policy_version_ - t.policy_version();
    if (!is_sft && lag > ppo.max_policy_lag) {
      ++stale;
      continue;
    }
    admitted.push_back(&t);
  }
  std::vector<float> grpo_adv;
  if (is_grpo) {
    // Groups are whole on one rank (the actor sends a group to one rank), so normalising
    // within the shard is normalising within each group.
    std::vector<double> rewards;
    std::vector<uint64_t> groups;
    for (const auto* t : admitted) {
      rewards.push_back(t->reward());
      // Group ids are unique per actor; key by both.
      groups.push_back(t->group_id() ^ (std::hash<std::string>()(t->actor_id()) * 0x9E3779B97F4A7C15ull));
    }
    grpo_adv = GroupNormalizedAdvantages(rewards, groups);
  }
  double reward_sum = 0;
  for (const auto* t : admitted) reward_sum += t->reward();
  // 2. Masked sequences of the admitted shard.
  std::vector<MaskedSequence> seqs;
  std::vector<const proto::Trajectory*> mine;
  std::vector<float> my_grpo;
  int64_t malformed = 0;
  for (size_t g = 0; g < admitted.size(); ++g) {
    auto seq = BuildMaskedSequence(*admitted[g]);
    if (!seq.ok()) {
      LOG(WARNING) << "skipping malformed trajectory: " << seq.status().message();
      ++malformed;
      continue;
    }
    seqs.push_back(std::move(seq).value());
    mine.push_back(admitted[g]);
    if (is_grpo) my_grpo.push_back(grpo_adv[g]);
  }
  {
    auto counts = torch::tensor(std::vector<double>{static_cast<double>(stale), static_cast<double>(mine.size()),
                                                    static_cast<double>(malformed), reward_sum},
                                torch::kFloat64);
    comm_->AllReduceSum(counts);
    st.stale_dropped = static_cast<int64_t>(counts[0].item<double>());
    st.trajectories = static_cast<int64_t>(counts[1].item<double>());
    st.malformed = static_cast<int64_t>(counts[2].item<double>());
    st.reward_mean = st.trajectories > 0 ? counts[3].item<double>() / st.trajectories : 0;
  }
  if (st.stale_dropped > 0 && comm_->rank() == 0) {
    LOG(WARNING) << "step " << step_ << ": dropped " << st.stale_dropped << " trajectories older than max_policy_lag="
                 << ppo.max_policy_lag << " (learner version " << policy_version_ << ")";
  }
  std::vector<const MaskedSequence*> seq_ptrs;
  std::vector<float> temps;
  for (size_t i = 0; i < seqs.size(); ++i) {
    seq_ptrs.push_back(&seqs[i]);
    const float t = mine[i]->sampling_temperature();
    temps.push_back(t > 0 ? t : 1.f);
  }
  // SFT's auxiliary LM loss: the same sequences with every non-model token that is not the
  // first of its segment also scored (predicted from the row before it, inside the segment, so
  // from exactly what the agent saw); lm_model[i] marks which scored tokens are model tokens.
  const bool with_lm = is_sft && ppo.sft_lm_weight > 0;
  std::vector<MaskedSequence> lm_seqs;
  std::vector<const MaskedSequence*> lm_ptrs;
  std::vector<torch::Tensor> lm_model;
  double lm_local = 0;
  if (with_lm) {
    lm_seqs = seqs;
    for (auto& q : lm_seqs) {
      std::vector<float> flag;
      for (const auto& span : q.segments) {
        for (int64_t i = span.begin; i < span.end; ++i) {
          if (i == 0) continue;
          if (q.loss_mask[i]) {
            flag.push_back(1.f);
          } else if (i > span.begin) {
            q.loss_mask[i] = 1;
            flag.push_back(0.f);
            lm_local += 1;
          }
        }
      }
      lm_model.push_back(torch::tensor(flag, torch::kFloat32).to(policy_->model->embed_tokens->weight.device()));
    }
    for (const auto& q : lm_seqs) lm_ptrs.push_back(&q);
  }
  const auto batches = PackByLength(seq_ptrs, options_.micro_batch_tokens);
  st.micro_batches = batches.size();
  auto subset = [&](const std::vector<size_t>& idx, std::vector<const MaskedSequence*>* s, std::vector<float>* t) {
    for (size_t i : idx) {
      s->push_back(seq_ptrs[i]);
      t->push_back(temps[i]);
    }
  };
  const auto device = policy_->model->embed_tokens->weight.device();
  // 3. No-grad pass: proximal log-probs, old values, reference log-probs (per sequence).
  std::vector<torch::Tensor> prox(seqs.size()), old_values(seqs.size()), ref(seqs.size());
  const bool need_ref = reference_ && ppo.kl_coef > 0;
  if (!is_sft) {
    torch::NoGradGuard g;
    for (const auto& mb : batches) {
      std::vector<const MaskedSequence*> s;
      std::vector<float> t;
      subset(mb, &s, &t);
      auto sc = ScoreSequences(policy_, s, t, false);
      TokenScores rs;
      if (need_ref) rs = ScoreSequences(reference_, s, t, false);
      int64_t off = 0;
      for (size_t k = 0; k < mb.size(); ++k) {
        prox[mb[k]] = sc.logp.narrow(0, off, sc.counts[k]).clone();
        old_values[mb[k]] = sc.values.narrow(0, off, sc.counts[k]).clone();
        if (need_ref) ref[mb[k]] = rs.logp.narrow(0, off, sc.counts[k]).clone();
        off += sc.counts[k];
      }
    }
  }
  // Rollout <-> learner log-prob gap over on-policy tokens (sampled by the current weights):
  // ~0 by construction with the exact masked layout; drift means a bug or a numerics problem.
  double gap_local[3] = {0, 0, 0};  // sum |diff|, count, max |diff|
  if (!is_sft) {
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto lp = prox[i].to(torch::kCPU);
      const float* p = lp.data_ptr<float>();
      int64_t k = 0;
      for (int64_t j = 1; j < seqs[i].length; ++j) {
        if (!seqs[i].loss_mask[j]) continue;
        if (seqs[i].policy_versions[j] == policy_version_) {
          const double d = std::abs(static_cast<double>(p[k]) - seqs[i].behaviour_logprobs[j]);
          gap_local[0] += d;
          gap_local[1] += 1;
          gap_local[2] = std::max(gap_local[2], d);
        }
        ++k;
      }
    }
  }
  // 4. Advantages and returns per sequence; whitening over the global batch.
  std::vector<torch::Tensor> adv(seqs.size()), ret(seqs.size()), behaviour(seqs.size());
  double local[3] = {0, 0, 0};  // sum, sum of squares, count of loss tokens
  for (size_t i = 0; i < seqs.size(); ++i) {
    std::vector<float> b;
    for (int64_t k = 1; k < seqs[i].length; ++k) {
      if (seqs[i].loss_mask[k]) b.push_back(seqs[i].behaviour_logprobs[k]);
    }
    const int64_t n = b.size();
    behaviour[i] = torch::tensor(b, torch::kFloat32).to(device);
    if (is_ppo) {
      std::vector<float> v(n), a, r;
      auto ov = old_values[i].to(torch::kCPU);
      for (int64_t k = 0; k < n; ++k) v[k] = ov[k].item<float>();
      ComputeGae(v, mine[i]->reward(), ppo.gamma, ppo.lam, &a, &r);
      adv[i] = torch::tensor(a, torch::kFloat32).to(device);
      ret[i] = torch::tensor(r, torch::kFloat32).to(device);
    } else if (is_grpo) {
      adv[i] = torch::full({n}, my_grpo[i], torch::kFloat32).to(device);
    }
    if (adv[i].defined()) {
      local[0] += adv[i].sum().item<double>();
      local[1] += adv[i].pow(2).sum().item<double>();
    }
    local[2] += n;
  }
  auto red = torch::tensor(std::vector<double>{local[0], local[1], local[2], gap_local[0], gap_local[1], lm_local},
                           torch::kFloat64);
  comm_->AllReduceSum(red);
  st.logprob_gap_tokens = static_cast<int64_t>(red[4].item<double>());
  st.logprob_gap_mean = st.logprob_gap_tokens > 0 ? red[3].item<double>() / st.logprob_gap_tokens : 0;
  {
    // Max over ranks: every rank's local max, gathered.
    std::string mine_max(reinterpret_cast<const char*>(&gap_local[2]), sizeof(double));
    for (const auto& part : comm_->AllGatherBytes(mine_max)) {
      double v = 0;
      if (part.size() == sizeof(double)) std::memcpy(&v, part.data(), sizeof(double));
      st.logprob_gap_max = std::max(st.logprob_gap_max, v);
    }
  }
  const double global_tokens = red[2].item<double>();
  st.tokens = static_cast<int64_t>(global_tokens);
  const double global_lm_tokens = red[5].item<double>();
  st.lm_tokens = static_cast<int64_t>(global_lm_tokens);
  if (ppo.whiten_advantages && is_ppo && global_tokens > 1) {
    const double mean = red[0].item<double>() / global_tokens;
    const double var = std::max(0.0, red[1].item<double>() / global_tokens - mean * mean);
    for (auto& a : adv) a = (a - mean) / (std::sqrt(var) + 1e-8);
  }
  // 5. Gradient accumulation.
  for (auto& p : params_) {
    if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
  }
  double sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // loss, policy, value, entropy, kl, clipped, is_weight, lm
  // The objective is a per-token mean; with the LM loss, over model tokens + weight x LM tokens.
  const double model_denom = std::max(1.0, global_tokens);
  const double denom = with_lm ? std::max(1.0, global_tokens + ppo.sft_lm_weight * global_lm_tokens) : model_denom;
  policy_->train();
  for (const auto& mb : batches) {
    std::vector<const MaskedSequence*> s;
    std::vector<float> t;
    subset(mb, &s, &t);
    TokenScores sc;
    if (!with_lm) sc = ScoreSequences(policy_, s, t, !is_sft && ppo.entropy_coef > 0);
    auto cat = [&](const std::vector<torch::Tensor>& v) {
      std::vector<torch::Tensor> parts;
      for (size_t i : mb) parts.push_back(v[i]);
      return torch::cat(parts);
    };
    torch::Tensor terms;
    if (with_lm) {
      std::vector<const MaskedSequence*> ls;
      for (size_t i : mb) ls.push_back(lm_ptrs[i]);
      auto lsc = ScoreSequences(policy_, ls, t, false);
      auto is_model = cat(lm_model);
      auto nll = -lsc.logp;
      terms = nll * (is_model + ppo.sft_lm_weight * (1.0 - is_model));
      sums[1] += (nll * is_model).sum().item<double>();
      sums[7] += (nll * (1.0 - is_model)).sum().item<double>();
    } else if (is_sft) {
      terms = -sc.logp;
      sums[1] += terms.sum().item<double>();
    } else {
      auto lp_prox = cat(prox), a = cat(adv), beh = cat(behaviour);
      auto w = TruncatedIsWeight(lp_prox, beh, ppo.is_weight_cap);
      auto pol = PpoPolicyTerms(sc.logp, lp_prox, a, w, ppo.clip_ratio);
      terms = pol;
      sums[1] += pol.sum().item<double>();
      sums[6] += w.sum().item<double>();
      {
        torch::NoGradGuard g;
        auto ratio = torch::exp(sc.logp - lp_prox);
        sums[5] += ((ratio - 1.0).abs() > ppo.clip_ratio).to(torch::kFloat64).sum().item<double>();
      }
      if (is_ppo) {
        auto vt = ValueTerms(sc.values, cat(old_values), cat(ret), ppo.value_clip);
        terms = terms + ppo.value_coef * vt;
        sums[2] += vt.sum().item<double>();
      }
      if (sc.entropy.defined()) {
        terms = terms - ppo.entropy_coef * sc.entropy;
        sums[3] += sc.entropy.sum().item<double>();
      }
      if (need_ref) {
        auto kl = KlTerms(sc.logp, cat(ref));
        terms = terms + ppo.kl_coef * kl;
        sums[4] += kl.sum().item<double>();
      }
    }
    auto loss = terms.sum() / denom;
    sums[0] += loss.item<double>() * denom;
    loss.backward();
  }
  // Token means over the global batch.
  auto stats_t = torch::tensor(std::vector<double>(sums, sums + 8), torch::kFloat64);
  comm_->AllReduceSum(stats_t);
  st.loss = stats_t[0].item<double>() / denom;
  st.policy_loss = stats_t[1].item<double>() / model_denom;
  st.lm_loss = global_lm_tokens > 0 ? stats_t[7].item<double>() / global_lm_tokens : 0;
  st.value_loss = stats_t[2].item<double>() / denom;
  st.entropy = stats_t[3].item<double>() / denom;
  st.kl = stats_t[4].item<double>() / denom;
  st.clip_fraction = stats_t[5].item<double>() / denom;
  st.is_weight_mean = stats_t[6].item<double>() / denom;
  AllReduceGradients(&st);
  OptimizerStep(&st);
  ++step_;
  ++policy_version_;
  st.step = step_;
  st.policy_version = policy_version_;
  st.seconds = MonotonicSeconds() - t0;
  return st;
}

void Trainer::AllReduceGradients(StepStats* st) {
  const double t0 = MonotonicSeconds();
  std::vector<torch::Tensor> flat;
  for (auto& p : params_) {
    if (!p.tensor.grad().defined()) p.tensor.mutable_grad() = torch::zeros_like(p.tensor);
    flat.push_back(p.tensor.grad().reshape({-1}).to(torch::kFloat32));
  }
  auto buffer = torch::cat(flat).contiguous();
  if (comm_->backend() == CommBackend::kMpi && !buffer.device().is_cpu()) buffer = buffer.cpu();
  comm_->AllReduceSum(buffer);
  buffer = buffer.to(params_.front().tensor.device());
  int64_t off = 0;
  for (auto& p : params_) {
    const int64_t n = p.tensor.numel();
    p.tensor.mutable_grad().copy_(buffer.narrow(0, off, n).view_as(p.tensor));
    off += n;
  }
  st->allreduce_seconds = MonotonicSeconds() - t0;
}

void Trainer::OptimizerStep(StepStats* st) {
  torch::NoGradGuard g;
  const auto& o = options_.optim;
  const bool freezing = options_.optim.freeze_steps == 0 || step_ < options_.optim.freeze_steps;
  auto is_frozen = [&](const Param& p) { return p.frozen && freezing; };
  std::vector<torch::Tensor> grads;
  for (auto& p : params_) {
    if (!is_frozen(p)) grads.push_back(p.tensor.grad());
  }
  st->grad_norm = GlobalGradNorm(grads);
  st->lr = LearningRate(step_, o.actor_lr);
  if (!std::isfinite(st->grad_norm)) {
    st->skipped_nonfinite = true;
    return;
  }
  const double scale = GradClipScale(st->grad_norm, o.grad_clip);
  st->lr = LearningRate(step_, o.actor_lr);
  for (auto& p : params_) {
    if (is_frozen(p)) continue;
    const double lr = LearningRate(step_, p.critic ? o.critic_lr : o.actor_lr);
    AdamWUpdate(o, step_ + 1, lr, p.tensor.grad().to(torch::kFloat32) * scale, &p.tensor, &p.m, &p.v);
  }
}

}  // namespace mem1
