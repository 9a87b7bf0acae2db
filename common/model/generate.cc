#include "common/model/generate.h"

namespace mem1 {

Result<GenerateResult> Generate(Qwen2ForCausalLM& model, const std::vector<int32_t>& prompt, int64_t max_new_tokens,
                        Sampler* sampler, int32_t eos_id) {
  CHECK(!prompt.empty()) << "prompt must not be empty";
  torch::NoGradGuard no_grad;
  const auto device = model->model->embed_tokens->weight.device();
  const auto dtype = model->model->embed_tokens->weight.scalar_type();
  const int64_t P = static_cast<int64_t>(prompt.size());
  KvCache cache(model->config(), 1, P + max_new_tokens + 1, device, dtype);
  auto ids = torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kLong).view({1, P}).to(device);
  auto pos = torch::arange(P, torch::kLong).view({1, P}).to(device);
  auto out = model->ForwardCached(&cache, {0}, ids, pos, {P});
  auto logits = out.logits.select(1, P - 1);  // [1,V]
  GenerateResult result;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    MEM1_ASSIGN_OR_RETURN(SampleResult s, sampler->Sample(logits));
    const int32_t tok = static_cast<int32_t>(s.tokens[0].item<int64_t>());
    result.tokens.push_back(tok);
    result.logprobs.push_back(s.logprobs[0].item<float>());
    if (eos_id >= 0 && tok == eos_id) { result.hit_eos = true; break; }
    if (step + 1 == max_new_tokens) break;
    auto next = torch::full({1, 1}, static_cast<int64_t>(tok), torch::kLong).to(device);
    auto next_pos = torch::full({1, 1}, P + step, torch::kLong).to(device);
    logits = model->ForwardCached(&cache, {0}, next, next_pos, {1}).logits.select(1, 0);
  }
  return result;
}

}  // namespace mem1
