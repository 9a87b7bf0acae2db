// Model <-> weight-broadcast tensors. The learner publishes every parameter (policy and value
// head, by the module's parameter name) as float32; actors copy a complete version in place.
// Thread safety: the model must not be used concurrently.
#ifndef MEM1_COMMON_MODEL_WEIGHT_SYNC_H_
#define MEM1_COMMON_MODEL_WEIGHT_SYNC_H_

#include <vector>

#include "common/model/qwen2.h"
#include "common/transport/weight_chunks.h"
#include "common/util/status.h"

namespace mem1 {

// Every named parameter as an "F32" WeightTensor (copied to host memory).
std::vector<WeightTensor> ModelWeightTensors(Qwen2ForCausalLM& model);

// Copies `weights` into the model's parameters (any device / dtype). INVALID_ARGUMENT, with
// nothing changed, when a name is missing or unknown, or a shape or dtype differs.
[[nodiscard]] Status LoadWeightTensors(Qwen2ForCausalLM& model, const CompleteWeights& weights);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_WEIGHT_SYNC_H_
