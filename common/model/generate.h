// Single-sequence generation with a KV cache (the `mem1 generate` path and smoke tests).
// The multi-turn batched rollout engine lives in actor/rollout.
#ifndef MEM1_COMMON_MODEL_GENERATE_H_
#define MEM1_COMMON_MODEL_GENERATE_H_

#include <cstdint>
#include <vector>

#include "common/model/qwen2.h"
#include "common/model/sampler.h"

namespace mem1 {

struct GenerateResult {
  std::vector<int32_t> tokens;   // generated ids (prompt excluded)
  std::vector<float> logprobs;   // log-prob of each generated id (see Sampler)
  bool hit_eos = false;
};

// Prefills `prompt` (positions 0..P-1), then samples up to `max_new_tokens`, stopping after
// `eos_id` (>= 0) is produced. Precondition: prompt non-empty.
// A non-finite logit is the sampler's DATA_LOSS.
[[nodiscard]] Result<GenerateResult> Generate(Qwen2ForCausalLM& model, const std::vector<int32_t>& prompt, int64_t max_new_tokens,
                        Sampler* sampler, int32_t eos_id);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_GENERATE_H_
