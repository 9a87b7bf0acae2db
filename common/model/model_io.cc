#include "common/model/model_io.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "common/model/copy_circuit.h"
#include "common/model/safetensors.h"

namespace mem1 {
namespace {

std::string ShapeString(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Result<torch::ScalarType> TorchDtypeOf(DType d, const std::string& where) {
  switch (d) {
    case DType::kF32: return torch::kFloat32;
    case DType::kF16: return torch::kFloat16;
    case DType::kBF16: return torch::kBFloat16;
    default: return Unimplemented(where + ": dtype " + DTypeName(d) + " is not supported for weights (F32/F16/BF16)");
  }
}

DType DTypeOfTorch(torch::ScalarType t) {
  if (t == torch::kFloat16) return DType::kF16;
  if (t == torch::kBFloat16) return DType::kBF16;
  return DType::kF32;
}

}  // namespace

Result<Qwen2ForCausalLM> LoadHfModel(const std::string& dir, torch::Device device, torch::ScalarType dtype,
                                     CheckpointLoadReport* report) {
  MEM1_ASSIGN_OR_RETURN(Qwen2Config config, LoadHfConfig(dir));
  MEM1_ASSIGN_OR_RETURN(SafetensorsCheckpoint ckpt, SafetensorsCheckpoint::Open(dir));
  CheckpointLoadReport local;
  CheckpointLoadReport& rep = report ? *report : local;
  // Build on CPU in fp32, fill, then move: nothing is exposed until every tensor is in.
  Qwen2ForCausalLM model(config);
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& p : model->named_parameters(true)) {
    const std::string& name = p.key();
    if (name.rfind("value_head.", 0) == 0) continue;
    const SafetensorsFile* file = nullptr;
    const TensorInfo* info = ckpt.Find(name, &file);
    if (info == nullptr) {
      return DataLoss(dir + ": checkpoint lacks tensor \"" + name + "\" (expected shape " +
                      ShapeString(p.value().sizes().vec()) + ")");
    }
    if (info->shape != p.value().sizes().vec()) {
      return DataLoss(file->path() + ": tensor \"" + name + "\" has shape " + ShapeString(info->shape) +
                      ", model expects " + ShapeString(p.value().sizes().vec()));
    }
    MEM1_ASSIGN_OR_RETURN(torch::ScalarType src, TorchDtypeOf(info->dtype, file->path() + ": tensor \"" + name + "\""));
    auto view = torch::from_blob(const_cast<uint8_t*>(file->Data(*info)), info->shape, torch::TensorOptions().dtype(src));
    p.value().copy_(view.to(torch::kFloat32));
    if (const int64_t bad = (~torch::isfinite(p.value())).sum().item<int64_t>(); bad > 0) {
      return DataLoss(file->path() + ": tensor \"" + name + "\" has " + std::to_string(bad) +
                      " non-finite values (NaN/Inf); refusing to load a broken checkpoint");
    }
    used.insert(name);
    ++rep.tensors_loaded;
  }
  for (const auto& name : ckpt.Names()) {
    if (!used.count(name)) rep.ignored.push_back(name);
  }
  // Value head: beside the HF files.
  const std::string vh_path = dir + "/value_head.safetensors";
  if (std::filesystem::exists(vh_path)) {
    MEM1_ASSIGN_OR_RETURN(auto vh, SafetensorsFile::Open(vh_path));
    for (auto& p : model->value_head->named_parameters(true)) {
      const std::string name = "value_head." + p.key();
      const TensorInfo* info = vh->Find(name);
      if (info == nullptr) return DataLoss(vh_path + ": lacks tensor \"" + name + "\"");
      if (info->shape != p.value().sizes().vec()) {
        return DataLoss(vh_path + ": tensor \"" + name + "\" has shape " + ShapeString(info->shape) + ", expected " +
                        ShapeString(p.value().sizes().vec()));
      }
      MEM1_ASSIGN_OR_RETURN(torch::ScalarType src, TorchDtypeOf(info->dtype, vh_path));
      p.value().copy_(torch::from_blob(const_cast<uint8_t*>(vh->Data(*info)), info->shape,
                                       torch::TensorOptions().dtype(src)).to(torch::kFloat32));
    }
    rep.value_head_loaded = true;
  } else {
    model->value_head->weight.zero_();
    model->value_head->bias.zero_();
  }
  try {
    model->to(device, dtype);
  } catch (const c10::Error& e) {
    return Internal("moving model to " + device.str() + ": " + e.what_without_backtrace());
  }
  return model;
}

Status SaveHfModel(Qwen2ForCausalLM& model, const std::string& dir, const std::string& dtype_name) {
  torch::ScalarType dtype = ParseDtype(dtype_name);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgument(dir + ": cannot create directory: " + ec.message());
  Qwen2Config config = model->config();
  config.torch_dtype = dtype_name;
  {
    std::ofstream out(dir + "/config.json");
    out << HfConfigJson(config);
    if (!out) return Internal(dir + "/config.json: write failed");
  }
  std::vector<torch::Tensor> keep;  // owns converted CPU copies while writing
  std::vector<TensorView> main_views, head_views;
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters(true)) {
    auto t = p.value().detach().to(torch::kCPU, dtype).contiguous();
    keep.push_back(t);
    TensorView v{p.key(), DTypeOfTorch(dtype), t.sizes().vec(), t.data_ptr(),
                 static_cast<size_t>(t.numel() * t.element_size())};
    (p.key().rfind("value_head.", 0) == 0 ? head_views : main_views).push_back(v);
  }
  MEM1_RETURN_IF_ERROR(WriteSafetensors(dir + "/model.safetensors", main_views, {{"format", "pt"}}));
  return WriteSafetensors(dir + "/value_head.safetensors", head_views, {{"format", "pt"}});
}

Result<Qwen2ForCausalLM> LoadOrInitModel(const ModelOptions& model, const RuntimeOptions& runtime) {
  const torch::Device device = ParseDevice(runtime.device);
  const torch::ScalarType dtype = ParseDtype(runtime.dtype);
  if (!model.checkpoint.empty()) return LoadHfModel(model.checkpoint, device, dtype);
  Qwen2ForCausalLM m(Qwen2ConfigFromInit(model.init));
  m->InitWeights(runtime.seed, model.init.init_std);
  if (model.init.copy_circuit) MEM1_RETURN_IF_ERROR(InitCopyCircuit(m, runtime.seed, model.init.init_std));
  try {
    m->to(device, dtype);
  } catch (const c10::Error& e) {
    return Internal("moving model to " + device.str() + ": " + e.what_without_backtrace());
  }
  return m;
}

}  // namespace mem1
