// Loading and saving policies as Hugging Face checkpoints (config.json + model.safetensors,
// optionally sharded), so a Qwen2/Qwen2.5 checkpoint from the Hub loads, and a trained policy
// opens in transformers or vLLM.
//
// The value head (PPO critic) is not part of the HF layout: it is saved beside the model as
// `value_head.safetensors` and loaded when present (otherwise initialised to zero output).
#ifndef MEM1_COMMON_MODEL_MODEL_IO_H_
#define MEM1_COMMON_MODEL_MODEL_IO_H_

#include <string>

#include "common/config/config.h"
#include "common/model/qwen2.h"
#include "common/util/status.h"

namespace mem1 {

struct CheckpointLoadReport {
  int64_t tensors_loaded = 0;
  std::vector<std::string> ignored;  // tensors in the file the model does not use
  bool value_head_loaded = false;
};

// Loads `dir` onto `device` in `dtype` (bf16/fp16/fp32 files converted). Errors:
// NOT_FOUND (no config.json / weights), DATA_LOSS (corrupt or truncated file, missing
// tensor, shape mismatch; names the tensor and both shapes), UNIMPLEMENTED (architecture or
// dtype we do not support). Never returns a partially loaded model.
[[nodiscard]] Result<Qwen2ForCausalLM> LoadHfModel(const std::string& dir, torch::Device device,
                                                   torch::ScalarType dtype, CheckpointLoadReport* report = nullptr);

// Writes config.json + model.safetensors (+ value_head.safetensors) into `dir` (created),
// tensors converted to `dtype` ("float32", "bfloat16" or "float16"). Tied models omit
// lm_head.weight, as HF does.
[[nodiscard]] Status SaveHfModel(Qwen2ForCausalLM& model, const std::string& dir, const std::string& dtype);

// The policy a run starts from: `model.checkpoint` when set, otherwise a fresh model of shape
// `model.init` initialised from `runtime.seed`; on runtime.device in runtime.dtype.
[[nodiscard]] Result<Qwen2ForCausalLM> LoadOrInitModel(const ModelOptions& model, const RuntimeOptions& runtime);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_MODEL_IO_H_
