#include "common/model/copy_circuit.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "common/model/model_io.h"

namespace mem1 {
namespace {

// The embedded policy's shape with the circuit's requirements: D 256, 4 heads of 64, 2 KV heads.
Qwen2Config CircuitConfig(int64_t layers = 4) {
  Qwen2Config c;
  c.vocab_size = 16384;
  c.hidden_size = 256;
  c.intermediate_size = 704;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 4096;
  c.rope_theta = 1e6;
  c.tie_word_embeddings = true;
  return c;
}

// Fraction of the positions of a repeated segment (seeded random tokens: 200 before, the
// segment of 30, `gap` others, the segment again) whose greedy next token is the one that
// followed the same token in the first copy. Positions are the plain 0..T-1. With
// `distractors`, the 200 tokens before hold every segment token once more, followed by another
// token: matching one token back is then ambiguous, matching two is not.
struct CopyScore {
  double accuracy = 0;  // greedy next token = the copied one
  double nll = 0;       // mean -log p(copied token), nats
};
CopyScore Copy(Qwen2ForCausalLM& m, int64_t gap, uint64_t seed, bool distractors = false) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> tok(0, m->config().vocab_size - 1);
  std::vector<int64_t> seg(30);
  for (auto& t : seg) t = tok(rng);
  std::vector<int64_t> seq;
  for (int i = 0; i < 200; ++i) seq.push_back(tok(rng));
  if (distractors) {
    for (size_t k = 0; k < seg.size(); ++k) seq[10 + 6 * k] = seg[k];  // followed by a random token
  }
  seq.insert(seq.end(), seg.begin(), seg.end());
  for (int64_t i = 0; i < gap; ++i) seq.push_back(tok(rng));
  const int64_t second = static_cast<int64_t>(seq.size());
  seq.insert(seq.end(), seg.begin(), seg.end());
  const int64_t T = static_cast<int64_t>(seq.size());
  torch::NoGradGuard g;
  auto tokens = torch::tensor(seq).view({1, T});
  auto pos = torch::arange(T, torch::kLong).view({1, T});
  auto logits = m->Forward(tokens, pos, torch::Tensor(), false).logits[0];  // [T,V]
  auto pred = logits.argmax(-1);
  auto logp = torch::log_softmax(logits, -1);
  int hits = 0, n = 0;
  double nll = 0;
  for (int64_t i = second; i < T - 1; ++i, ++n) {
    hits += pred[i].item<int64_t>() == seq[i + 1];
    nll -= logp[i][seq[i + 1]].item<double>();
  }
  return {static_cast<double>(hits) / n, nll / n};
}

TEST(CopyCircuitTest, AFreshModelWithTheCircuitCopiesARepeatedSegment) {
  Qwen2ForCausalLM plain(CircuitConfig());
  plain->InitWeights(7, 0.02);
  Qwen2ForCausalLM circuit(CircuitConfig());
  circuit->InitWeights(7, 0.02);
  ASSERT_TRUE(InitCopyCircuit(circuit, 7, 0.02).ok());
  for (auto [gap, distractors] : {std::pair<int64_t, bool>{20, false}, {150, false}, {150, true}}) {
    double plain_acc = 0, circuit_acc = 0, plain_nll = 0, circuit_nll = 0;
    for (uint64_t s = 1; s <= 3; ++s) {
      const CopyScore p = Copy(plain, gap, s, distractors), c = Copy(circuit, gap, s, distractors);
      plain_acc += p.accuracy / 3;
      circuit_acc += c.accuracy / 3;
      plain_nll += p.nll / 3;
      circuit_nll += c.nll / 3;
    }
    std::printf("gap %ld%s: greedy copy accuracy %.3f with the circuit, %.3f without; NLL %.2f vs %.2f nats\n",
                static_cast<long>(gap), distractors ? " (every token also seen before another one)" : "", circuit_acc,
                plain_acc, circuit_nll, plain_nll);
    EXPECT_LE(plain_acc, 0.05) << gap;
    EXPECT_GE(circuit_acc, 0.5) << gap;
    // The copied token is not just the argmax but carries probability (the final norm's gain of
    // 8; measured 1.7 / 5.3 / 7.0 nats here against ~9.8 = ln(16384) without the circuit).
    EXPECT_GT(plain_nll, 9.0) << gap;
    EXPECT_LT(circuit_nll, plain_nll - 2.0) << gap;
    if (gap == 20) EXPECT_LT(circuit_nll, 3.0);
  }
}

TEST(CopyCircuitTest, ShapesItCannotHoldAreRefusedAndLeaveTheModelUnchanged) {
  Qwen2ForCausalLM one_layer(CircuitConfig(1));
  one_layer->InitWeights(1, 0.02);
  auto before = one_layer->model->embed_tokens->weight.clone();
  Status st = InitCopyCircuit(one_layer, 1, 0.02);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("num_hidden_layers >= 2"), std::string::npos) << st.message();
  Qwen2Config narrow = CircuitConfig();
  narrow.num_attention_heads = 2;  // head_dim 128: 4 * 128 > 256
  Qwen2ForCausalLM wide_heads(narrow);
  wide_heads->InitWeights(1, 0.02);
  auto q = wide_heads->model->layers[0]->as<Qwen2DecoderLayer>()->self_attn->q_proj->weight.clone();
  st = InitCopyCircuit(wide_heads, 1, 0.02);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(torch::equal(q, wide_heads->model->layers[0]->as<Qwen2DecoderLayer>()->self_attn->q_proj->weight));
  EXPECT_TRUE(torch::equal(before, one_layer->model->embed_tokens->weight));
}

// model.init.copy_circuit reaches the fresh init through LoadOrInitModel; a shape that cannot
// hold the circuit is the config error, not a crash.
TEST(CopyCircuitTest, ConfigOptionInitsTheCircuitOrNamesWhyNot) {
  ModelOptions mo;
  mo.init.vocab_size = 512;
  mo.init.hidden_size = 64;
  mo.init.intermediate_size = 96;
  mo.init.num_hidden_layers = 2;
  mo.init.num_attention_heads = 4;  // head_dim 16: 4 * 16 <= 64
  mo.init.num_key_value_heads = 2;
  mo.init.rope_theta = 1e6;
  mo.init.copy_circuit = true;
  RuntimeOptions rt;
  auto m = LoadOrInitModel(mo, rt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Layer 0's previous-token query is its bias (weights zero); layer 1's second head writes nothing.
  auto& l0 = *(*m)->model->layers[0]->as<Qwen2DecoderLayer>()->self_attn;
  EXPECT_EQ(l0.q_proj->weight.slice(0, 0, 16).abs().max().item<float>(), 0.0f);
  EXPECT_GT(l0.q_proj->bias.slice(0, 0, 16).abs().max().item<float>(), 1.0f);
  mo.init.num_hidden_layers = 1;
  auto bad = LoadOrInitModel(mo, rt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("copy_circuit"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace mem1
