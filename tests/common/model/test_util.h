// Shared fixtures for model tests: a tiny random Qwen2 config.
#ifndef MEM1_TESTS_COMMON_MODEL_TEST_UTIL_H_
#define MEM1_TESTS_COMMON_MODEL_TEST_UTIL_H_

#include "common/model/qwen2.h"

namespace mem1::testing {

inline Qwen2Config TinyConfig(bool tied = true) {
  Qwen2Config c;
  c.vocab_size = 97;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 512;
  c.rope_theta = 10000.0;
  c.rms_norm_eps = 1e-6;
  c.tie_word_embeddings = tied;
  return c;
}

// Random model with non-trivial biases/norms so every parameter matters.
inline Qwen2ForCausalLM TinyModel(uint64_t seed, bool tied = true) {
  Qwen2ForCausalLM m(TinyConfig(tied));
  m->InitWeights(seed, 0.2);
  torch::NoGradGuard g;
  torch::manual_seed(seed + 1);
  for (auto& p : m->named_parameters(true)) {
    if (p.key().find("norm") != std::string::npos) p.value().add_(torch::randn_like(p.value()) * 0.1);
    if (p.key().find("bias") != std::string::npos) p.value().add_(torch::randn_like(p.value()) * 0.1);
  }
  m->eval();
  return m;
}

}  // namespace mem1::testing

#endif  // MEM1_TESTS_COMMON_MODEL_TEST_UTIL_H_
