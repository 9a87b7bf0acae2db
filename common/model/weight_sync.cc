#include "common/model/weight_sync.h"

#include <map>

namespace mem1 {

std::vector<WeightTensor> ModelWeightTensors(Qwen2ForCausalLM& model) {
  torch::NoGradGuard g;
  std::vector<WeightTensor> out;
  for (const auto& p : model->named_parameters(true)) {
    auto t = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    WeightTensor w;
    w.name = p.key();
    w.dtype = "F32";
    w.shape = t.sizes().vec();
    w.bytes.assign(static_cast<const char*>(t.data_ptr()), t.numel() * sizeof(float));
    out.push_back(std::move(w));
  }
  return out;
}

Status LoadWeightTensors(Qwen2ForCausalLM& model, const CompleteWeights& weights) {
  std::map<std::string, const WeightTensor*> by_name;
  for (const auto& w : weights.tensors) by_name[w.name] = &w;
  auto params = model->named_parameters(true);
  if (by_name.size() != params.size()) {
    return InvalidArgument("weight version " + std::to_string(weights.version) + " has " +
                           std::to_string(by_name.size()) + " tensors, the model " + std::to_string(params.size()));
  }
  for (const auto& p : params) {
    auto it = by_name.find(p.key());
    if (it == by_name.end()) {
      return InvalidArgument("weight version " + std::to_string(weights.version) + " lacks tensor " + p.key());
    }
    const WeightTensor& w = *it->second;
    if (w.dtype != "F32" || w.shape != p.value().sizes().vec() ||
        static_cast<int64_t>(w.bytes.size()) != p.value().numel() * 4) {
      return InvalidArgument("weight version " + std::to_string(weights.version) + ": tensor " + p.key() +
                             " has dtype " + w.dtype + " and a shape or size unlike the model's");
    }
  }
  torch::NoGradGuard g;
  for (auto& p : params) {
    const WeightTensor& w = *by_name[p.key()];
    auto src = torch::from_blob(const_cast<char*>(w.bytes.data()), w.shape, torch::kFloat32);
    p.value().copy_(src);
  }
  return Status::Ok();
}

}  // namespace mem1
