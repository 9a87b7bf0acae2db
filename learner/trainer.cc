#include "learner/trainer.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <mutex>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "common/model/model_io.h"
#include "common/storage/hdf5_file.h"
#include "learner/losses.h"
#include "common/util/files.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

constexpr int64_t kCheckpointFormatVersion = 1;

// OK when a checkpoint written for `saved` can be loaded into a model of `mine`; otherwise
// INVALID_ARGUMENT naming the first field that differs. (Tensor by tensor, a deeper
// checkpoint would load into a shallower model without any shape mismatch.)
Status SameModelShape(const Qwen2Config& saved, const Qwen2Config& mine, const std::string& path) {
  const std::pair<const char*, std::pair<int64_t, int64_t>> fields[] = {
      {"vocab_size", {saved.vocab_size, mine.vocab_size}},
      {"hidden_size", {saved.hidden_size, mine.hidden_size}},
      {"intermediate_size", {saved.intermediate_size, mine.intermediate_size}},
      {"num_hidden_layers", {saved.num_hidden_layers, mine.num_hidden_layers}},
      {"num_attention_heads", {saved.num_attention_heads, mine.num_attention_heads}},
      {"num_key_value_heads", {saved.num_key_value_heads, mine.num_key_value_heads}},
      {"tie_word_embeddings", {saved.tie_word_embeddings, mine.tie_word_embeddings}},
  };
  for (const auto& [name, values] : fields) {
    if (values.first == values.second) continue;
    return InvalidArgument(path + ": the checkpoint's model has " + name + " " + std::to_string(values.first) +
                           ", this model " + std::to_string(values.second) +
                           " (resume with the model config the run was started with)");
  }
  return Status::Ok();
}

}  // namespace

TokenScores ScoreSequences(Qwen2ForCausalLM& model, const std::vector<const MaskedSequence*>& seqs,
                           const std::vector<float>& temperatures, bool with_entropy, AttentionMode mode) {
  const auto device = model->model->embed_tokens->weight.device();
  const int64_t B = seqs.size();
  std::vector<int64_t> targets;
  std::vector<float> temps;
  TokenScores out;
  torch::Tensor h;  // [N,D] hidden state of every predicting row
  if (mode == AttentionMode::kBlockSparse) {
    std::vector<torch::Tensor> parts;
    for (int64_t b = 0; b < B; ++b) {
      const MaskedSequence& s = *seqs[b];
      std::vector<int64_t> tok(s.tokens.begin(), s.tokens.end()), pos(s.positions.begin(), s.positions.end());
      std::vector<int64_t> rows;
      for (int64_t i = 1; i < s.length; ++i) {
        if (!s.loss_mask[i]) continue;
        rows.push_back(i - 1);
        targets.push_back(s.tokens[i]);
        temps.push_back(temperatures[b]);
      }
      out.counts.push_back(static_cast<int64_t>(rows.size()));
      const auto blocks = AttentionBlocksFromMask(s.mask.data(), s.length, device);
      auto hidden = model->HiddenBlocked(torch::tensor(tok).view({1, -1}).to(device),
                                         torch::tensor(pos).view({1, -1}).to(device), blocks);  // [1,T,D]
      parts.push_back(hidden[0].index_select(0, torch::tensor(rows, torch::kLong).to(device)));
    }
    h = torch::cat(parts, 0);
  } else {
    int64_t T = 0;
    for (const auto* s : seqs) T = std::max(T, s->length);
    auto tokens = torch::zeros({B, T}, torch::kLong), pos = torch::zeros({B, T}, torch::kLong);
    auto mask = torch::zeros({B, T, T}, torch::kBool);
    std::vector<int64_t> pred_rows;
    for (int64_t b = 0; b < B; ++b) {
      const MaskedSequence& s = *seqs[b];
      auto* tp = tokens[b].data_ptr<int64_t>();
      auto* pp = pos[b].data_ptr<int64_t>();
      auto* mp = mask[b].data_ptr<bool>();
      for (int64_t i = 0; i < s.length; ++i) {
        tp[i] = s.tokens[i];
        pp[i] = s.positions[i];
        for (int64_t j = 0; j <= i; ++j) mp[i * T + j] = s.mask[i * s.length + j] != 0;
      }
      for (int64_t i = s.length; i < T; ++i) mp[i * T + i] = true;  // padding rows attend to themselves
      int64_t count = 0;
      for (int64_t i = 1; i < s.length; ++i) {
        if (!s.loss_mask[i]) continue;
        pred_rows.push_back(b * T + i - 1);
        targets.push_back(s.tokens[i]);
        temps.push_back(temperatures[b]);
        ++count;
      }
      out.counts.push_back(count);
    }
    auto hidden = model->Hidden(tokens.to(device), pos.to(device), mask.to(device));  // [B,T,D]
    const int64_t D = hidden.size(2);
    h = hidden.reshape({B * T, D}).index_select(0, torch::tensor(pred_rows, torch::kLong).to(device));  // [N,D]
  }
  auto logits = LinearForward(h, model->LmHeadWeight(), torch::Tensor()).to(torch::kFloat32);  // [N,V]
  auto temp = torch::tensor(temps, torch::kFloat32).to(device).unsqueeze(1);
  auto logp_all = torch::log_softmax(logits / temp, -1);
  out.logp = logp_all.gather(1, torch::tensor(targets, torch::kLong).to(device).unsqueeze(1)).squeeze(1);
  out.values = LinearForward(h.to(model->value_head->weight.scalar_type()), model->value_head).squeeze(-1).to(torch::kFloat32);
  if (with_entropy) out.entropy = -(logp_all.exp() * logp_all).sum(-1);
  return out;
}

std::vector<std::vector<size_t>> PackByLength(const std::vector<const MaskedSequence*>& seqs, int64_t budget) {
  std::vector<size_t> order(seqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return seqs[a]->length < seqs[b]->length; });
  std::vector<std::vector<size_t>> batches;
  std::vector<size_t> cur;
  int64_t max_len = 0;
  for (size_t idx : order) {
    const int64_t len = seqs[idx]->length;
    if (!cur.empty() && static_cast<int64_t>(cur.size() + 1) * std::max(max_len, len) > budget) {
      batches.push_back(std::move(cur));
      cur.clear();
      max_len = 0;
    }
    cur.push_back(idx);
    max_len = std::max(max_len, len);
  }
  if (!cur.empty()) batches.push_back(std::move(cur));
  return batches;
}

Trainer::Trainer(Qwen2ForCausalLM policy, const LearnerOptions& options, Communicator* comm)
    : policy_(std::move(policy)), options_(options), comm_(comm) {
  CHECK(comm_ != nullptr);
  for (auto& p : policy_->named_parameters(true)) {
    Param q;
    q.name = p.key();
    q.tensor = p.value();
    q.m = torch::zeros_like(p.value(), torch::kFloat32);
    q.v = torch::zeros_like(p.value(), torch::kFloat32);
    q.critic = p.key().rfind("value_head.", 0) == 0;
    params_.push_back(std::move(q));
  }
  if (options_.ppo.algorithm != "sft" && options_.ppo.kl_coef > 0) {
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
  const auto& o = options_.optim;
  if (o.warmup_steps > 0 && step < o.warmup_steps) return peak * (step + 1) / static_cast<double>(o.warmup_steps);
  const int64_t total = std::max<int64_t>(1, options_.total_steps - o.warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / total);
  const double cosine = 0.5 * (1.0 + std::cos(std::acos(-1.0) * progress));
  return peak * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine);
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
    return StepImpl(shard);
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
  const bool is_ppo = ppo.algorithm == "ppo", is_grpo = ppo.algorithm == "grpo", is_sft = ppo.algorithm == "sft";
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
  auto red = torch::tensor(std::vector<double>{local[0], local[1], local[2], gap_local[0], gap_local[1]}, torch::kFloat64);
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
  if (ppo.whiten_advantages && is_ppo && global_tokens > 1) {
    const double mean = red[0].item<double>() / global_tokens;
    const double var = std::max(0.0, red[1].item<double>() / global_tokens - mean * mean);
    for (auto& a : adv) a = (a - mean) / (std::sqrt(var) + 1e-8);
  }
  // 5. Gradient accumulation.
  for (auto& p : params_) {
    if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
  }
  double sums[7] = {0, 0, 0, 0, 0, 0, 0};  // loss, policy, value, entropy, kl, clipped, is_weight
  const double denom = std::max(1.0, global_tokens);
  policy_->train();
  for (const auto& mb : batches) {
    std::vector<const MaskedSequence*> s;
    std::vector<float> t;
    subset(mb, &s, &t);
    auto sc = ScoreSequences(policy_, s, t, !is_sft && ppo.entropy_coef > 0);
    auto cat = [&](const std::vector<torch::Tensor>& v) {
      std::vector<torch::Tensor> parts;
      for (size_t i : mb) parts.push_back(v[i]);
      return torch::cat(parts);
    };
    torch::Tensor terms;
    if (is_sft) {
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
  auto stats_t = torch::tensor(std::vector<double>(sums, sums + 7), torch::kFloat64);
  comm_->AllReduceSum(stats_t);
  st.loss = stats_t[0].item<double>() / denom;
  st.policy_loss = stats_t[1].item<double>() / denom;
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
  if (comm_->name() == "mpi" && !buffer.device().is_cpu()) buffer = buffer.cpu();
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
  double sq = 0;
  for (auto& p : params_) sq += p.tensor.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  st->grad_norm = std::sqrt(sq);
  const double scale = (o.grad_clip > 0 && st->grad_norm > o.grad_clip) ? o.grad_clip / (st->grad_norm + 1e-6) : 1.0;
  const int64_t t = step_ + 1;
  const double bc1 = 1.0 - std::pow(o.beta1, t), bc2 = 1.0 - std::pow(o.beta2, t);
  st->lr = LearningRate(step_, o.actor_lr);
  for (auto& p : params_) {
    const double lr = LearningRate(step_, p.critic ? o.critic_lr : o.actor_lr);
    auto grad = p.tensor.grad().to(torch::kFloat32) * scale;
    p.m.mul_(o.beta1).add_(grad, 1.0 - o.beta1);
    p.v.mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
    auto update = (p.m / bc1) / ((p.v / bc2).sqrt() + o.eps);
    auto w = p.tensor.to(torch::kFloat32);
    if (o.weight_decay > 0) w.mul_(1.0 - lr * o.weight_decay);
    w.add_(update, -lr);
    p.tensor.copy_(w);
  }
}

Status Trainer::Save(const std::string& path, const std::string& config_yaml) const {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::create_directories(dir, ec) && ec) {
    return Internal(dir.string() + ": cannot create the checkpoint directory: " + ec.message());
  }
  MEM1_ASSIGN_OR_RETURN(auto w, Hdf5Writer::Create(tmp));
  MEM1_RETURN_IF_ERROR(w->SetInt64("format_version", kCheckpointFormatVersion));
  MEM1_RETURN_IF_ERROR(w->SetInt64("step", step_));
  MEM1_RETURN_IF_ERROR(w->SetInt64("policy_version", policy_version_));
  MEM1_RETURN_IF_ERROR(w->SetInt64("data_cursor", data_cursor_));
  {
    std::string cursors;
    for (size_t i = 0; i < rank_cursors_.size(); ++i) cursors += (i ? "," : "") + std::to_string(rank_cursors_[i]);
    MEM1_RETURN_IF_ERROR(w->SetString("rank_cursors", cursors));
  }
  MEM1_RETURN_IF_ERROR(w->SetString("config", config_yaml));
  MEM1_RETURN_IF_ERROR(w->SetString("algorithm", options_.ppo.algorithm));
  MEM1_RETURN_IF_ERROR(w->SetString("model_config", HfConfigJson(policy_->config())));
  for (const auto& p : params_) {
    for (const auto& [group, t] : {std::pair<std::string, torch::Tensor>{"params/", p.tensor},
                                   {"adam_m/", p.m}, {"adam_v/", p.v}}) {
      auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      MEM1_RETURN_IF_ERROR(w->WriteFloats(group + p.name, c.data_ptr<float>(), c.sizes().vec()));
    }
  }
  if (reference_) {
    for (const auto& p : reference_->named_parameters(true)) {
      auto c = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
      MEM1_RETURN_IF_ERROR(w->WriteFloats("reference/" + p.key(), c.data_ptr<float>(), c.sizes().vec()));
    }
  }
  auto rng = at::detail::getDefaultCPUGenerator().get_state();
  MEM1_RETURN_IF_ERROR(w->WriteBytes("rng/cpu", rng.data_ptr<uint8_t>(), rng.numel()));
  MEM1_RETURN_IF_ERROR(w->Close());
  return DurableRename(tmp, path);
}

Status Trainer::Load(const std::string& path) {
  MEM1_ASSIGN_OR_RETURN(auto r, Hdf5Reader::Open(path));
  MEM1_ASSIGN_OR_RETURN(int64_t version, r->GetInt64("format_version"));
  if (version != kCheckpointFormatVersion) {
    return InvalidArgument(path + ": learner checkpoint format version " + std::to_string(version) +
                           ", this build reads version " + std::to_string(kCheckpointFormatVersion) +
                           " (resume with the mem1 build that wrote it, or start from its exported HF policy)");
  }
  {
    MEM1_ASSIGN_OR_RETURN(std::string model_json, r->GetString("model_config"));
    MEM1_ASSIGN_OR_RETURN(Qwen2Config saved, ParseHfConfig(model_json, path + ": model_config"));
    MEM1_RETURN_IF_ERROR(SameModelShape(saved, policy_->config(), path));
  }
  MEM1_ASSIGN_OR_RETURN(int64_t step, r->GetInt64("step"));
  MEM1_ASSIGN_OR_RETURN(int64_t pv, r->GetInt64("policy_version"));
  MEM1_ASSIGN_OR_RETURN(int64_t cursor, r->GetInt64("data_cursor"));
  std::vector<int64_t> rank_cursors;
  if (auto c = r->GetString("rank_cursors"); c.ok()) {
    size_t b = 0;
    const std::string& text = *c;
    while (b < text.size()) {
      size_t e = text.find(',', b);
      if (e == std::string::npos) e = text.size();
      try {
        rank_cursors.push_back(std::stoll(text.substr(b, e - b)));
      } catch (const std::exception&) {
        return DataLoss(path + ": rank_cursors attribute is not a list of integers: \"" + text + "\"");
      }
      b = e + 1;
    }
  }
  // Read everything first; apply only when all of it is consistent.
  std::vector<std::array<std::vector<float>, 3>> loaded(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const char* groups[3] = {"params/", "adam_m/", "adam_v/"};
    for (int k = 0; k < 3; ++k) {
      std::vector<int64_t> shape;
      MEM1_RETURN_IF_ERROR(r->ReadFloats(groups[k] + params_[i].name, &loaded[i][k], &shape));
      if (shape != params_[i].tensor.sizes().vec()) {
        return DataLoss(path + ": " + groups[k] + params_[i].name + " has a different shape than the model");
      }
    }
  }
  std::vector<std::vector<float>> loaded_reference;
  if (reference_) {
    for (const auto& p : reference_->named_parameters(true)) {
      std::vector<int64_t> shape;
      loaded_reference.emplace_back();
      MEM1_RETURN_IF_ERROR(r->ReadFloats("reference/" + p.key(), &loaded_reference.back(), &shape));
      if (shape != p.value().sizes().vec()) {
        return DataLoss(path + ": reference/" + p.key() + " has a different shape than the model");
      }
    }
  }
  std::vector<uint8_t> rng;
  MEM1_RETURN_IF_ERROR(r->ReadBytes("rng/cpu", &rng));
  torch::NoGradGuard g;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    auto shape = p.tensor.sizes().vec();
    p.tensor.copy_(torch::from_blob(loaded[i][0].data(), shape, torch::kFloat32));
    p.m.copy_(torch::from_blob(loaded[i][1].data(), shape, torch::kFloat32));
    p.v.copy_(torch::from_blob(loaded[i][2].data(), shape, torch::kFloat32));
  }
  if (reference_) {
    size_t i = 0;
    for (auto& p : reference_->named_parameters(true)) {
      p.value().copy_(torch::from_blob(loaded_reference[i++].data(), p.value().sizes(), torch::kFloat32));
    }
  }
  auto state = torch::from_blob(rng.data(), {static_cast<int64_t>(rng.size())}, torch::kUInt8).clone();
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  }
  step_ = step;
  policy_version_ = pv;
  data_cursor_ = cursor;
  rank_cursors_ = std::move(rank_cursors);
  return Status::Ok();
}

Status ExportCheckpointToHf(const std::string& checkpoint, const std::string& out_dir, const std::string& dtype) {
  MEM1_ASSIGN_OR_RETURN(auto r, Hdf5Reader::Open(checkpoint));
  MEM1_ASSIGN_OR_RETURN(std::string config_json, r->GetString("model_config"));
  MEM1_ASSIGN_OR_RETURN(Qwen2Config config, ParseHfConfig(config_json, checkpoint + ":model_config"));
  Qwen2ForCausalLM model(config);
  torch::NoGradGuard g;
  for (auto& p : model->named_parameters(true)) {
    std::vector<float> data;
    std::vector<int64_t> shape;
    MEM1_RETURN_IF_ERROR(r->ReadFloats("params/" + p.key(), &data, &shape));
    if (shape != p.value().sizes().vec()) return DataLoss(checkpoint + ": params/" + p.key() + " has the wrong shape");
    p.value().copy_(torch::from_blob(data.data(), shape, torch::kFloat32));
  }
  return SaveHfModel(model, out_dir, dtype);
}

std::string CheckpointPath(const std::string& run_dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof(name), "step_%08lld.h5", static_cast<long long>(step));
  return run_dir + "/checkpoints/" + name;
}

namespace {
std::vector<std::string> ListCheckpoints(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/checkpoints", ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step_", 0) == 0 && e.path().extension() == ".h5") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}
}  // namespace

Result<std::string> LatestCheckpoint(const std::string& dir) {
  if (std::filesystem::is_regular_file(dir)) return dir;
  auto files = ListCheckpoints(dir);
  if (files.empty()) return NotFound(dir + ": no checkpoints/step_*.h5 to resume from");
  return files.back();
}

void PruneCheckpoints(const std::string& run_dir, int keep) {
  auto files = ListCheckpoints(run_dir);
  for (size_t i = 0; i + keep < files.size(); ++i) std::filesystem::remove(files[i]);
}

}  // namespace mem1
