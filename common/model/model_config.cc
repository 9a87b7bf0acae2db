#include "common/model/model_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mem1 {

int64_t Qwen2Config::ParameterCount() const {
  const int64_t d = hidden_size, kv = num_key_value_heads * head_dim();
  const int64_t attn = d * d + d + 2 * (d * kv + kv) + d * d;  // q (+bias), k, v (+bias), o
  const int64_t mlp = 3 * d * intermediate_size;
  const int64_t layer = attn + mlp + 2 * d;  // two RMSNorm weights
  int64_t total = vocab_size * d + num_hidden_layers * layer + d;
  if (!tie_word_embeddings) total += vocab_size * d;
  return total;
}

Qwen2Config Qwen2ConfigFromInit(const ModelInitOptions& i) {
  Qwen2Config c;
  c.vocab_size = i.vocab_size;
  c.hidden_size = i.hidden_size;
  c.intermediate_size = i.intermediate_size;
  c.num_hidden_layers = i.num_hidden_layers;
  c.num_attention_heads = i.num_attention_heads;
  c.num_key_value_heads = i.num_key_value_heads;
  c.max_position_embeddings = i.max_position_embeddings;
  c.rope_theta = i.rope_theta;
  c.rms_norm_eps = i.rms_norm_eps;
  c.tie_word_embeddings = i.tie_word_embeddings;
  return c;
}

namespace {

Result<Qwen2Config> ParseHfConfigJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) return InvalidArgument(source + ": expected a JSON object");
  if (j.contains("model_type") && !j["model_type"].is_string()) {
    return InvalidArgument(source + ": field \"model_type\" must be a string, got " + j["model_type"].dump());
  }
  const std::string model_type = j.value("model_type", std::string());
  if (model_type != "qwen2") {
    return Unimplemented(source + ": model_type \"" + model_type +
                         "\" is not supported (mem1 implements the Qwen2/Qwen2.5 architecture, model_type \"qwen2\")");
  }
  Qwen2Config c;
  auto get_int = [&](const char* key, int64_t* out, bool required) -> Status {
    if (!j.contains(key) || j[key].is_null()) {
      return required ? InvalidArgument(source + ": missing required field \"" + key + "\"") : Status::Ok();
    }
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0) {
      return InvalidArgument(source + ": field \"" + key + "\" must be a non-negative integer, got " + j[key].dump());
    }
    *out = j[key].get<int64_t>();
    return Status::Ok();
  };
  MEM1_RETURN_IF_ERROR(get_int("vocab_size", &c.vocab_size, true));
  MEM1_RETURN_IF_ERROR(get_int("hidden_size", &c.hidden_size, true));
  MEM1_RETURN_IF_ERROR(get_int("intermediate_size", &c.intermediate_size, true));
  MEM1_RETURN_IF_ERROR(get_int("num_hidden_layers", &c.num_hidden_layers, true));
  MEM1_RETURN_IF_ERROR(get_int("num_attention_heads", &c.num_attention_heads, true));
  c.num_key_value_heads = c.num_attention_heads;
  MEM1_RETURN_IF_ERROR(get_int("num_key_value_heads", &c.num_key_value_heads, false));
  c.max_position_embeddings = 32768;
  MEM1_RETURN_IF_ERROR(get_int("max_position_embeddings", &c.max_position_embeddings, false));
  MEM1_RETURN_IF_ERROR(get_int("bos_token_id", &c.bos_token_id, false));
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array()) {
    if (!j["eos_token_id"].empty()) c.eos_token_id = j["eos_token_id"][0].get<int64_t>();
  } else {
    MEM1_RETURN_IF_ERROR(get_int("eos_token_id", &c.eos_token_id, false));
  }
  if (j.contains("rope_theta")) {
    if (!j["rope_theta"].is_number()) return InvalidArgument(source + ": rope_theta must be a number, got " + j["rope_theta"].dump());
    c.rope_theta = j["rope_theta"].get<double>();
  }
  if (j.contains("rms_norm_eps")) {
    if (!j["rms_norm_eps"].is_number()) return InvalidArgument(source + ": rms_norm_eps must be a number, got " + j["rms_norm_eps"].dump());
    c.rms_norm_eps = j["rms_norm_eps"].get<double>();
  }
  if (j.contains("tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean()) return InvalidArgument(source + ": tie_word_embeddings must be a boolean");
    c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  if (j.contains("torch_dtype") && j["torch_dtype"].is_string()) c.torch_dtype = j["torch_dtype"].get<std::string>();
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    return Unimplemented(source + ": rope_scaling " + j["rope_scaling"].dump() + " is not supported");
  }
  if (j.value("use_sliding_window", false)) {
    return Unimplemented(source + ": use_sliding_window=true is not supported");
  }
  if (j.contains("hidden_act") && j["hidden_act"] != "silu") {
    return Unimplemented(source + ": hidden_act " + j["hidden_act"].dump() + " is not supported (only silu)");
  }
  if (c.num_attention_heads == 0 || c.hidden_size % c.num_attention_heads != 0) {
    return InvalidArgument(source + ": hidden_size " + std::to_string(c.hidden_size) +
                           " is not divisible by num_attention_heads " + std::to_string(c.num_attention_heads));
  }
  if (c.num_key_value_heads == 0 || c.num_attention_heads % c.num_key_value_heads != 0) {
    return InvalidArgument(source + ": num_key_value_heads " + std::to_string(c.num_key_value_heads) +
                           " does not divide num_attention_heads " + std::to_string(c.num_attention_heads));
  }
  if (c.head_dim() % 2 != 0) return InvalidArgument(source + ": head dimension must be even for RoPE");
  return c;
}

}  // namespace

Result<Qwen2Config> ParseHfConfig(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(source + ": invalid JSON: " + e.what());
  }
  // Every field is type-checked above; this catches what a check missed (a mistyped nested
  // value), so bad input is an error, never an uncaught exception.
  try {
    return ParseHfConfigJson(j, source);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(source + ": a field has the wrong type: " + e.what());
  }
}

Result<Qwen2Config> LoadHfConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseHfConfig(ss.str(), path);
}

std::string HfConfigJson(const Qwen2Config& c) {
  nlohmann::ordered_json j;
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["model_type"] = "qwen2";
  j["attention_dropout"] = 0.0;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_id >= 0) j["eos_token_id"] = c.eos_token_id;
  j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["max_window_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_scaling"] = nullptr;
  j["rope_theta"] = c.rope_theta;
  j["sliding_window"] = nullptr;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = c.torch_dtype;
  j["transformers_version"] = "4.43.0";
  j["use_cache"] = true;
  j["use_sliding_window"] = false;
  j["vocab_size"] = c.vocab_size;
  return j.dump(2) + "\n";
}

}  // namespace mem1
