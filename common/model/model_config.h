// Qwen2-family architecture hyper-parameters and their HF `config.json` form. Torch-free.
#ifndef MEM1_COMMON_MODEL_MODEL_CONFIG_H_
#define MEM1_COMMON_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <string>

#include "common/config/config.h"
#include "common/util/status.h"

namespace mem1 {

struct Qwen2Config {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;            // D
  int64_t intermediate_size = 0;      // F (SwiGLU)
  int64_t num_hidden_layers = 0;      // L
  int64_t num_attention_heads = 0;    // H
  int64_t num_key_value_heads = 0;    // Hkv (GQA), divides H
  int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "float32";  // dtype the weights were saved in (informational)
  int64_t bos_token_id = -1;            // -1 = unset
  int64_t eos_token_id = -1;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // Total parameters of the decoder + lm_head (value head excluded).
  int64_t ParameterCount() const;
};

// From the typed init options of a fresh model.
Qwen2Config Qwen2ConfigFromInit(const ModelInitOptions& init);

// Parses HF `config.json` text. `source` names the file in messages. Accepts model_type
// "qwen2" (Qwen2 / Qwen2.5). UNIMPLEMENTED for other architectures or for features we do not
// implement (sliding-window attention in use, rope_scaling); INVALID_ARGUMENT for missing or
// inconsistent fields, naming the field and value.
[[nodiscard]] Result<Qwen2Config> ParseHfConfig(const std::string& json_text, const std::string& source);
[[nodiscard]] Result<Qwen2Config> LoadHfConfig(const std::string& dir);  // dir/config.json

// HF `config.json` text (architectures ["Qwen2ForCausalLM"], model_type "qwen2") that
// transformers and vLLM load.
std::string HfConfigJson(const Qwen2Config& config);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_MODEL_CONFIG_H_
