#include "common/model/qwen2.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/common/model/test_util.h"

namespace mem1 {
namespace {

using mem1::testing::TinyConfig;
using mem1::testing::TinyModel;

torch::Tensor Ids(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kLong).view({1, -1}); }
torch::Tensor Range(int64_t from, int64_t n) { return torch::arange(from, from + n, torch::kLong).view({1, -1}); }

// Independent reference forward for ONE sequence, written plainly from the Qwen2 equations:
// per-head loops, explicit K/V head sharing, RoPE pairs (i, i + Dh/2) rotated by
// pos * theta^(-2i/Dh) computed in double. mask[t][s] (true = visible).
torch::Tensor ReferenceLogits(Qwen2ForCausalLM& m, const std::vector<int64_t>& tokens, const std::vector<int64_t>& pos,
                              const std::vector<std::vector<bool>>& mask) {
  torch::NoGradGuard g;
  const auto& c = m->config();
  const int64_t T = tokens.size(), Dh = c.head_dim(), H = c.num_attention_heads, G = H / c.num_key_value_heads;
  auto rms = [&](const torch::Tensor& x, const torch::Tensor& w) {
    return w * (x / torch::sqrt(x.pow(2).mean(-1, true) + c.rms_norm_eps));
  };
  auto rope = [&](torch::Tensor x /*[T,Dh]*/) {
    auto out = x.clone();
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = 0; i < Dh / 2; ++i) {
        const double ang = pos[t] * std::pow(c.rope_theta, -2.0 * i / Dh);
        const double a = x[t][i].item<double>(), b = x[t][i + Dh / 2].item<double>();
        out[t][i] = a * std::cos(ang) - b * std::sin(ang);
        out[t][i + Dh / 2] = b * std::cos(ang) + a * std::sin(ang);
      }
    }
    return out;
  };
  auto h = m->model->embed_tokens->weight.index_select(0, torch::tensor(tokens, torch::kLong)).to(torch::kDouble);
  for (const auto& mod : *m->model->layers) {
    auto* L = mod->as<Qwen2DecoderLayerImpl>();
    auto x = rms(h, L->input_layernorm->weight.to(torch::kDouble));
    auto& a = L->self_attn;
    auto q = torch::matmul(x, a->q_proj->weight.to(torch::kDouble).t()) + a->q_proj->bias.to(torch::kDouble);
    auto k = torch::matmul(x, a->k_proj->weight.to(torch::kDouble).t()) + a->k_proj->bias.to(torch::kDouble);
    auto v = torch::matmul(x, a->v_proj->weight.to(torch::kDouble).t()) + a->v_proj->bias.to(torch::kDouble);
    std::vector<torch::Tensor> heads;
    for (int64_t hd = 0; hd < H; ++hd) {
      const int64_t kvh = hd / G;
      auto qh = rope(q.narrow(1, hd * Dh, Dh));
      auto kh = rope(k.narrow(1, kvh * Dh, Dh));
      auto vh = v.narrow(1, kvh * Dh, Dh);
      auto out = torch::zeros({T, Dh}, torch::kDouble);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> sc;
        double mx = -1e300;
        for (int64_t s = 0; s < T; ++s) {
          sc.push_back(mask[t][s] ? (qh[t] * kh[s]).sum().item<double>() / std::sqrt(double(Dh)) : -INFINITY);
          mx = std::max(mx, sc.back());
        }
        double z = 0;
        for (auto& e : sc) { e = std::exp(e - mx); z += e; }
        for (int64_t s = 0; s < T; ++s) if (mask[t][s]) out[t] += vh[s] * (sc[s] / z);
      }
      heads.push_back(out);
    }
    h = h + torch::matmul(torch::cat(heads, 1), a->o_proj->weight.to(torch::kDouble).t());
    auto y = rms(h, L->post_attention_layernorm->weight.to(torch::kDouble));
    auto& mlp = L->mlp;
    auto gate = torch::matmul(y, mlp->gate_proj->weight.to(torch::kDouble).t());
    auto up = torch::matmul(y, mlp->up_proj->weight.to(torch::kDouble).t());
    h = h + torch::matmul(gate * torch::sigmoid(gate) * up, mlp->down_proj->weight.to(torch::kDouble).t());
  }
  h = rms(h, m->model->norm->weight.to(torch::kDouble));
  return torch::matmul(h, m->LmHeadWeight().to(torch::kDouble).t()).to(torch::kFloat32);
}

std::vector<std::vector<bool>> CausalMask(int64_t T) {
  std::vector<std::vector<bool>> m(T, std::vector<bool>(T, false));
  for (int64_t t = 0; t < T; ++t) for (int64_t s = 0; s <= t; ++s) m[t][s] = true;
  return m;
}

torch::Tensor ToTensor(const std::vector<std::vector<bool>>& m) {
  const int64_t T = m.size();
  auto t = torch::zeros({1, T, T}, torch::kBool);
  for (int64_t i = 0; i < T; ++i) for (int64_t j = 0; j < T; ++j) t[0][i][j] = static_cast<bool>(m[i][j]);
  return t;
}

TEST(Qwen2Test, CausalForwardMatchesIndependentReference) {
  for (bool tied : {true, false}) {
    auto m = TinyModel(3, tied);
    std::vector<int64_t> tokens = {5, 17, 42, 8, 96, 0, 33};
    std::vector<int64_t> pos = {0, 1, 2, 3, 4, 5, 6};
    auto ref = ReferenceLogits(m, tokens, pos, CausalMask(7));
    torch::NoGradGuard g;
    auto out = m->Forward(Ids(tokens), Range(0, 7), torch::Tensor());
    EXPECT_LE((out.logits[0] - ref).abs().max().item<float>(), 1e-4) << "tied=" << tied;
  }
}

TEST(Qwen2Test, ArbitraryMaskAndPositionsMatchReference) {
  auto m = TinyModel(4);
  std::vector<int64_t> tokens = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> pos = {0, 1, 2, 2, 3, 9};  // non-monotone, as in a MEM1 layout
  auto mask = CausalMask(6);
  mask[3][1] = mask[3][2] = false;  // token 3 does not see tokens 1..2
  mask[5][4] = false;
  auto ref = ReferenceLogits(m, tokens, pos, mask);
  torch::NoGradGuard g;
  auto out = m->Forward(Ids(tokens), torch::tensor(pos, torch::kLong).view({1, -1}), ToTensor(mask));
  EXPECT_LE((out.logits[0] - ref).abs().max().item<float>(), 1e-4);
}

// The correctness core of the masked trajectory: one forward over
// [prompt][G1][C2][G2] with the MEM1 mask and generation-time positions gives, for every
// token, exactly the logits of a separate forward over the context that token saw.
TEST(Qwen2Test, Mem1PruningMaskEqualsSeparateTurnForwards) {
  auto m = TinyModel(5);
  torch::NoGradGuard g;
  const std::vector<int64_t> prompt = {3, 14, 15, 92, 65};
  const std::vector<int64_t> g1 = {35, 89, 79};          // turn 1 generated (IS_1 + action_1)
  const std::vector<int64_t> c2 = {35, 89, 79, 32, 38};  // turn 2 context: IS_1 + action_1 + info_1
  const std::vector<int64_t> g2 = {46, 26, 43, 38};      // turn 2 generated
  const std::vector<int64_t> c3 = {46, 26, 43, 38, 50, 28};
  const std::vector<int64_t> g3 = {84, 19};
  const int64_t P = prompt.size();
  std::vector<int64_t> seq, pos;
  std::vector<int> seg;  // segment id per token: 0 prompt, 1 G1, 2 C2, 3 G2, 4 C3, 5 G3
  auto append = [&](const std::vector<int64_t>& toks, int64_t start_pos, int id) {
    for (size_t i = 0; i < toks.size(); ++i) { seq.push_back(toks[i]); pos.push_back(start_pos + i); seg.push_back(id); }
  };
  append(prompt, 0, 0);
  append(g1, P, 1);
  append(c2, P, 2);
  append(g2, P + c2.size(), 3);
  append(c3, P, 4);
  append(g3, P + c3.size(), 5);
  const int64_t T = seq.size();
  // Visibility: prompt -> causal; C_t -> prompt + C_t; G_t -> prompt + C_t + G_t; G1 -> prompt + G1.
  auto visible = [&](int q, int k) {
    if (k == 0) return true;  // every segment sees the prompt
    if (q == k) return true;
    if ((q == 3 && k == 2) || (q == 5 && k == 4)) return true;
    return false;
  };
  std::vector<std::vector<bool>> mask(T, std::vector<bool>(T, false));
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j <= i; ++j) mask[i][j] = visible(seg[i], seg[j]);
  auto stitched = m->Forward(Ids(seq), torch::tensor(pos, torch::kLong).view({1, -1}), ToTensor(mask)).logits[0];

  auto concat = [](std::vector<std::vector<int64_t>> parts) {
    std::vector<int64_t> out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  // Turn 1 real context: prompt + G1. Turn 2: prompt + C2 + G2. Turn 3: prompt + C3 + G3.
  const auto turn1 = concat({prompt, g1});
  const auto turn2 = concat({prompt, c2, g2});
  const auto turn3 = concat({prompt, c3, g3});
  auto l1 = m->Forward(Ids(turn1), Range(0, turn1.size()), torch::Tensor()).logits[0];
  auto l2 = m->Forward(Ids(turn2), Range(0, turn2.size()), torch::Tensor()).logits[0];
  auto l3 = m->Forward(Ids(turn3), Range(0, turn3.size()), torch::Tensor()).logits[0];
  auto diff = [](const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<float>(); };
  const int64_t o_g1 = P, o_c2 = o_g1 + g1.size(), o_g2 = o_c2 + c2.size(), o_c3 = o_g2 + g2.size(), o_g3 = o_c3 + c3.size();
  EXPECT_LE(diff(stitched.narrow(0, 0, P + g1.size()), l1), 1e-4);
  EXPECT_LE(diff(stitched.narrow(0, o_c2, c2.size()), l2.narrow(0, P, c2.size())), 1e-4);
  EXPECT_LE(diff(stitched.narrow(0, o_g2, g2.size()), l2.narrow(0, P + c2.size(), g2.size())), 1e-4);
  EXPECT_LE(diff(stitched.narrow(0, o_c3, c3.size()), l3.narrow(0, P, c3.size())), 1e-4);
  EXPECT_LE(diff(stitched.narrow(0, o_g3, g3.size()), l3.narrow(0, P + c3.size(), g3.size())), 1e-4);
  // And the naive single-copy layout (what the reference MEM1 code does) does NOT match:
  // G2 positioned after G1 with the whole history visible sees a different context.
  auto naive = m->Forward(Ids(concat({prompt, g1, c2, g2})), Range(0, P + g1.size() + c2.size() + g2.size()),
                          torch::Tensor()).logits[0];
  EXPECT_GT(diff(naive.narrow(0, o_g2, g2.size()), l2.narrow(0, P + c2.size(), g2.size())), 1e-3);
}

// The packed forward (no padding; one-token rows batched, longer segments on their own) gives
// the full-forward logits for every segment: slots in any order, decode rows on contiguous and
// non-contiguous slots beside prefills of a fresh slot and of a kept prefix, and a forward of
// prefills only and of decode rows only. The cache it writes serves later steps.
TEST(Qwen2Test, PackedForwardMatchesFullForwardForMixedSegments) {
  auto m = TinyModel(8);
  torch::NoGradGuard g;
  KvCache cache(m->config(), /*num_slots=*/5, /*capacity=*/64, torch::kCPU, torch::kFloat32);
  std::vector<std::vector<int64_t>> seqs(5);
  auto full_last = [&](const std::vector<int64_t>& s, int64_t n) {  // logits of the last n tokens of s
    auto l = m->Forward(Ids(s), Range(0, s.size()), torch::Tensor()).logits[0];
    return l.narrow(0, l.size(0) - n, n);
  };
  float worst = 0;
  int64_t checked = 0;
  // One packed step: per slot the new tokens; logits of every new token are compared.
  auto step = [&](const std::vector<int64_t>& slots, const std::vector<std::vector<int64_t>>& add) {
    std::vector<int64_t> n, toks, pos, rows;
    for (size_t i = 0; i < slots.size(); ++i) {
      const auto& s = seqs[slots[i]];
      n.push_back(add[i].size());
      for (size_t k = 0; k < add[i].size(); ++k) {
        rows.push_back(toks.size());
        toks.push_back(add[i][k]);
        pos.push_back(s.size() + k);
      }
    }
    auto out = m->ForwardPacked(&cache, slots, n, torch::tensor(toks, torch::kLong), torch::tensor(pos, torch::kLong), rows)
                   .logits;
    ASSERT_EQ(out.size(0), static_cast<int64_t>(toks.size()));
    int64_t row = 0;
    for (size_t i = 0; i < slots.size(); ++i) {
      auto& s = seqs[slots[i]];
      s.insert(s.end(), add[i].begin(), add[i].end());
      const int64_t k = add[i].size();
      worst = std::max(worst, (out.narrow(0, row, k) - full_last(s, k)).abs().max().item<float>());
      row += k;
      ++checked;
    }
  };
  step({2, 0, 4}, {{1, 2, 3, 4, 5}, {6, 7}, {8, 9, 10}});        // prefills only, slots out of order
  step({0, 1, 2}, {{11}, {12, 13, 14, 15}, {16}});                 // decode (0, 2: not contiguous) + a new slot
  step({4, 0, 1, 2}, {{17}, {18}, {19}, {20}});                    // decode rows only
  step({0, 1, 2}, {{21}, {22}, {23}});                             // contiguous decode rows (a view)
  cache.Truncate(4, 2);                                           // slot 4 keeps a 2-token prefix
  seqs[4].resize(2);
  step({1, 4, 3, 2}, {{24}, {25, 26, 27}, {28, 29}, {30}});        // decode beside a kept prefix and a new slot
  EXPECT_EQ(checked, 17);
  EXPECT_LT(worst, 1e-4);
  for (int64_t s = 0; s < 5; ++s) EXPECT_EQ(cache.length(s), static_cast<int64_t>(seqs[s].size())) << "slot " << s;
  // Only the logits asked for, in the order asked.
  std::vector<int64_t> toks = {31, 32, 33, 34};
  auto some = m->ForwardPacked(&cache, {0, 3}, {1, 3}, torch::tensor(toks, torch::kLong),
                               torch::tensor(std::vector<int64_t>{(int64_t)seqs[0].size(), (int64_t)seqs[3].size(),
                                                                  (int64_t)seqs[3].size() + 1, (int64_t)seqs[3].size() + 2},
                                             torch::kLong),
                               {3, 0})
                  .logits;
  seqs[0].push_back(31);
  seqs[3].insert(seqs[3].end(), {32, 33, 34});
  ASSERT_EQ(some.size(0), 2);
  EXPECT_LT((some[0] - full_last(seqs[3], 1)[0]).abs().max().item<float>(), 1e-4);
  EXPECT_LT((some[1] - full_last(seqs[0], 1)[0]).abs().max().item<float>(), 1e-4);
}

// KV-cache decode of a ragged batch equals full-forward logits, including a slot that is
// refilled with a new sequence mid-batch and a prefix kept across "turns" via Truncate.
TEST(Qwen2Test, KvCacheDecodeMatchesFullForwardForRaggedBatch) {
  auto m = TinyModel(6);
  torch::NoGradGuard g;
  const auto c = m->config();
  KvCache cache(c, /*num_slots=*/3, /*capacity=*/64, torch::kCPU, torch::kFloat32);
  std::vector<std::vector<int64_t>> seqs = {{1, 2, 3, 4, 5, 6, 7}, {8, 9}, {10, 11, 12, 13}};
  auto full_logits = [&](const std::vector<int64_t>& s) {
    return m->Forward(Ids(s), Range(0, s.size()), torch::Tensor()).logits[0];
  };
  float worst = 0;
  // Prefill all three with different lengths in one padded call.
  const int64_t Tmax = 7;
  auto tokens = torch::zeros({3, Tmax}, torch::kLong), pos = torch::zeros({3, Tmax}, torch::kLong);
  std::vector<int64_t> n_valid;
  for (int64_t b = 0; b < 3; ++b) {
    for (size_t i = 0; i < seqs[b].size(); ++i) { tokens[b][i] = seqs[b][i]; pos[b][i] = int64_t(i); }
    n_valid.push_back(seqs[b].size());
  }
  auto out = m->ForwardCached(&cache, {0, 1, 2}, tokens, pos, n_valid).logits;
  for (int64_t b = 0; b < 3; ++b) {
    worst = std::max(worst, (out[b].narrow(0, 0, n_valid[b]) - full_logits(seqs[b])).abs().max().item<float>());
  }
  // Decode 6 steps one token per slot; at step 3 slot 1 ends and is refilled with a new prompt.
  std::vector<int64_t> next = {20, 21, 22};
  for (int step = 0; step < 6; ++step) {
    if (step == 3) {
      cache.Reset(1);
      seqs[1] = {40, 41, 42};
      auto o = m->ForwardCached(&cache, {1}, Ids(seqs[1]), Range(0, 3), {3}).logits[0];
      worst = std::max(worst, (o - full_logits(seqs[1])).abs().max().item<float>());
      next[1] = 43;
    }
    auto tk = torch::tensor(next, torch::kLong).view({3, 1});
    auto ps = torch::tensor(std::vector<int64_t>{(int64_t)seqs[0].size(), (int64_t)seqs[1].size(),
                                                 (int64_t)seqs[2].size()}, torch::kLong).view({3, 1});
    auto lo = m->ForwardCached(&cache, {0, 1, 2}, tk, ps, {1, 1, 1}).logits;
    for (int64_t b = 0; b < 3; ++b) {
      seqs[b].push_back(next[b]);
      auto ref = full_logits(seqs[b]);
      worst = std::max(worst, (lo[b][0] - ref[ref.size(0) - 1]).abs().max().item<float>());
      next[b] = (next[b] * 7 + 3) % c.vocab_size;
    }
  }
  // Non-contiguous slot subset (2, 0) uses the gather path.
  auto tk = torch::tensor(std::vector<int64_t>{5, 6}, torch::kLong).view({2, 1});
  auto ps = torch::tensor(std::vector<int64_t>{(int64_t)seqs[2].size(), (int64_t)seqs[0].size()}, torch::kLong).view({2, 1});
  auto lo = m->ForwardCached(&cache, {2, 0}, tk, ps, {1, 1}).logits;
  seqs[2].push_back(5);
  seqs[0].push_back(6);
  auto r2 = full_logits(seqs[2]), r0 = full_logits(seqs[0]);
  worst = std::max(worst, (lo[0][0] - r2[r2.size(0) - 1]).abs().max().item<float>());
  worst = std::max(worst, (lo[1][0] - r0[r0.size(0) - 1]).abs().max().item<float>());
  // Prefix reuse: keep slot 0's first 4 tokens (a "prompt"), append a new turn context.
  cache.Truncate(0, 4);
  std::vector<int64_t> turn = {70, 71, 72};
  auto o = m->ForwardCached(&cache, {0}, Ids(turn), Range(4, 3), {3}).logits[0];
  std::vector<int64_t> expect_seq = {seqs[0][0], seqs[0][1], seqs[0][2], seqs[0][3], 70, 71, 72};
  worst = std::max(worst, (o - full_logits(expect_seq).narrow(0, 4, 3)).abs().max().item<float>());
  EXPECT_LE(worst, 1e-4);
}

TEST(Qwen2Test, ValuesHaveOnePerTokenAndGradientsFlow) {
  auto m = TinyModel(7);
  m->train();
  auto out = m->Forward(Ids({1, 2, 3}), Range(0, 3), torch::Tensor(), true);
  ASSERT_EQ(out.values.sizes(), (std::vector<int64_t>{1, 3}));
  (out.logits.logsumexp(-1).sum() + out.values.sum()).backward();
  for (const auto& p : m->named_parameters(true)) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0.f) << p.key();
  }
}

TEST(Qwen2Test, Bfloat16ForwardIsCloseToFloat32) {
  auto m = TinyModel(8);
  torch::NoGradGuard g;
  auto ref = m->Forward(Ids({1, 2, 3, 4}), Range(0, 4), torch::Tensor()).logits;
  m->to(torch::kBFloat16);
  auto low = m->Forward(Ids({1, 2, 3, 4}), Range(0, 4), torch::Tensor()).logits.to(torch::kFloat32);
  EXPECT_LE((low - ref).abs().max().item<float>(), 0.1f);
}

}  // namespace
}  // namespace mem1
