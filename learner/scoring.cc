#include "learner/scoring.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace mem1 {

std::vector<AttentionBlock> AttentionBlocksFromSpans(const MaskedSequence& s, torch::Device device, int64_t offset) {
  std::vector<AttentionBlock> out;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  for (const QueryBlock& qb : QueryBlocks(s)) {
    std::vector<int64_t> keys;
    for (const auto& [b, e] : qb.keys) {
      for (int64_t j = b; j < e; ++j) keys.push_back(offset + j);
    }
    const int64_t earlier = static_cast<int64_t>(keys.size()), R = qb.q_end - qb.q_begin;
    for (int64_t j = qb.q_begin; j < qb.q_end; ++j) keys.push_back(offset + j);
    // Every earlier key is visible; the block's own rows are causal.
    auto causal = torch::full({R, R}, -std::numeric_limits<float>::infinity(), f32).triu(1);
    auto bias = earlier > 0 ? torch::cat({torch::zeros({R, earlier}, f32), causal}, 1) : causal;
    out.push_back({offset + qb.q_begin, offset + qb.q_end, torch::tensor(keys, torch::kLong).to(device), bias});
  }
  return out;
}

TokenScores ScoreSequences(Qwen2ForCausalLM& model, const std::vector<const MaskedSequence*>& seqs,
                           const std::vector<float>& temperatures, bool with_entropy, AttentionMode mode) {
  const auto device = model->model->embed_tokens->weight.device();
  const int64_t B = seqs.size();
  std::vector<int64_t> targets;
  std::vector<float> temps;
  TokenScores out;
  torch::Tensor h;  // [N,D] hidden state of every predicting row
  // Sequence b's loss tokens: their targets and temperatures, and the rows that predict them in
  // the forward's flattened output, where the sequence starts at row `base`.
  auto add_loss_rows = [&](int64_t b, int64_t base, std::vector<int64_t>* rows) {
    const MaskedSequence& s = *seqs[b];
    int64_t count = 0;
    for (int64_t i = 1; i < s.length; ++i) {
      if (!s.loss_mask[i]) continue;
      rows->push_back(base + i - 1);
      targets.push_back(s.tokens[i]);
      temps.push_back(temperatures[b]);
      ++count;
    }
    out.counts.push_back(count);
  };
  if (mode == AttentionMode::kBlockSparse) {
    // The micro-batch's sequences run as ONE packed row of tokens: each sequence's attention
    // blocks are shifted to its offset, so no block sees another sequence, and the projections
    // and MLPs run one GEMM over every token instead of one small GEMM per sequence (per-op
    // overhead dominated batches of short sequences: copy and LM samples, one-turn episodes).
    std::vector<int64_t> tok, pos, rows;
    std::vector<AttentionBlock> blocks;
    int64_t offset = 0;
    for (int64_t b = 0; b < B; ++b) {
      const MaskedSequence& s = *seqs[b];
      tok.insert(tok.end(), s.tokens.begin(), s.tokens.end());
      pos.insert(pos.end(), s.positions.begin(), s.positions.end());
      add_loss_rows(b, offset, &rows);
      for (auto& block : AttentionBlocksFromSpans(s, device, offset)) blocks.push_back(std::move(block));
      offset += s.length;
    }
    auto hidden = model->HiddenBlocked(torch::tensor(tok).view({1, -1}).to(device),
                                       torch::tensor(pos).view({1, -1}).to(device), blocks);  // [1,sum T,D]
    h = hidden[0].index_select(0, torch::tensor(rows, torch::kLong).to(device));
  } else {
    int64_t T = 0;
    for (const auto* s : seqs) T = std::max(T, s->length);
    auto tokens = torch::zeros({B, T}, torch::kLong), pos = torch::zeros({B, T}, torch::kLong);
    auto mask = torch::zeros({B, T, T}, torch::kBool);  // the reference path: dense on demand
    std::vector<int64_t> pred_rows;
    for (int64_t b = 0; b < B; ++b) {
      const MaskedSequence& s = *seqs[b];
      auto* tp = tokens[b].data_ptr<int64_t>();
      auto* pp = pos[b].data_ptr<int64_t>();
      auto* mp = mask[b].data_ptr<bool>();
      const std::vector<uint8_t> dense = DenseMask(s);
      for (int64_t i = 0; i < s.length; ++i) {
        tp[i] = s.tokens[i];
        pp[i] = s.positions[i];
        for (int64_t j = 0; j <= i; ++j) mp[i * T + j] = dense[i * s.length + j] != 0;
      }
      for (int64_t i = s.length; i < T; ++i) mp[i * T + i] = true;  // padding rows attend to themselves
      add_loss_rows(b, b * T, &pred_rows);
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

}  // namespace mem1
