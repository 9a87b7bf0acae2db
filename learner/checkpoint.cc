// Learner checkpoints (HDF5) and their HF export; the checkpoint files of a run directory.
#include <array>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "common/model/model_io.h"
#include "common/storage/hdf5_file.h"
#include "common/util/files.h"
#include "learner/trainer.h"

namespace mem1 {
namespace {

constexpr int64_t kCheckpointFormatVersion = 1;

// OK when a checkpoint written for `saved` can be loaded into a model of `mine`; otherwise
// INVALID_ARGUMENT naming the first field that differs. (Tensor by tensor, a deeper
// checkpoint would load into a shallower model without any shape mismatch.)
Status SameModelShape(const Qwen2Config& saved, const Qwen2Config& mine, const std::string& path) {
  const std::pair<const char*, std::pair<int64_t, int64_t>> fields[] = {
      {"vocab_size", {saved.vocab_size, mine.vocab_size}},
      {"hidden_size", {saved.hidden_size, mine.hidden_size}},
      {"intermediate_size", {saved.intermediate_size, mine.intermediate_size}},
      {"num_hidden_layers", {saved.num_hidden_layers, mine.num_hidden_layers}},
      {"num_attention_heads", {saved.num_attention_heads, mine.num_attention_heads}},
      {"num_key_value_heads", {saved.num_key_value_heads, mine.num_key_value_heads}},
      {"tie_word_embeddings", {saved.tie_word_embeddings, mine.tie_word_embeddings}},
  };
  for (const auto& [name, values] : fields) {
    if (values.first == values.second) continue;
    return InvalidArgument(path + ": the checkpoint's model has " + name + " " + std::to_string(values.first) +
                           ", this model " + std::to_string(values.second) +
                           " (resume with the model config the run was started with)");
  }
  return Status::Ok();
}

}  // namespace

Status Trainer::Save(const std::string& path, const std::string& config_yaml) const {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::create_directories(dir, ec) && ec) {
    return Internal(dir.string() + ": cannot create the checkpoint directory: " + ec.message());
  }
  MEM1_ASSIGN_OR_RETURN(auto w, Hdf5Writer::Create(tmp));
  MEM1_RETURN_IF_ERROR(w->SetInt64("format_version", kCheckpointFormatVersion));
  MEM1_RETURN_IF_ERROR(w->SetInt64("step", step_));
  MEM1_RETURN_IF_ERROR(w->SetInt64("policy_version", policy_version_));
  MEM1_RETURN_IF_ERROR(w->SetInt64("data_cursor", data_cursor_));
  {
    std::string cursors;
    for (size_t i = 0; i < rank_cursors_.size(); ++i) cursors += (i ? "," : "") + std::to_string(rank_cursors_[i]);
    MEM1_RETURN_IF_ERROR(w->SetString("rank_cursors", cursors));
  }
  MEM1_RETURN_IF_ERROR(w->SetString("config", config_yaml));
  MEM1_RETURN_IF_ERROR(w->SetString("algorithm", ToString(options_.ppo.algorithm)));
  MEM1_RETURN_IF_ERROR(w->SetString("model_config", HfConfigJson(policy_->config())));
  for (const auto& p : params_) {
    for (const auto& [group, t] : {std::pair<std::string, torch::Tensor>{"params/", p.tensor},
                                   {"adam_m/", p.m}, {"adam_v/", p.v}}) {
      auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      MEM1_RETURN_IF_ERROR(w->WriteFloats(group + p.name, c.data_ptr<float>(), c.sizes().vec()));
    }
  }
  if (reference_) {
    for (const auto& p : reference_->named_parameters(true)) {
      auto c = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
      MEM1_RETURN_IF_ERROR(w->WriteFloats("reference/" + p.key(), c.data_ptr<float>(), c.sizes().vec()));
    }
  }
  auto rng = at::detail::getDefaultCPUGenerator().get_state();
  MEM1_RETURN_IF_ERROR(w->WriteBytes("rng/cpu", rng.data_ptr<uint8_t>(), rng.numel()));
  MEM1_RETURN_IF_ERROR(w->Close());
  return DurableRename(tmp, path);
}

Status Trainer::Load(const std::string& path) {
  MEM1_ASSIGN_OR_RETURN(auto r, Hdf5Reader::Open(path));
  MEM1_ASSIGN_OR_RETURN(int64_t version, r->GetInt64("format_version"));
  if (version != kCheckpointFormatVersion) {
    return InvalidArgument(path + ": learner checkpoint format version " + std::to_string(version) +
                           ", this build reads version " + std::to_string(kCheckpointFormatVersion) +
                           " (resume with the mem1 build that wrote it, or start from its exported HF policy)");
  }
  {
    MEM1_ASSIGN_OR_RETURN(std::string model_json, r->GetString("model_config"));
    MEM1_ASSIGN_OR_RETURN(Qwen2Config saved, ParseHfConfig(model_json, path + ": model_config"));
    MEM1_RETURN_IF_ERROR(SameModelShape(saved, policy_->config(), path));
  }
  MEM1_ASSIGN_OR_RETURN(int64_t step, r->GetInt64("step"));
  MEM1_ASSIGN_OR_RETURN(int64_t pv, r->GetInt64("policy_version"));
  MEM1_ASSIGN_OR_RETURN(int64_t cursor, r->GetInt64("data_cursor"));
  std::vector<int64_t> rank_cursors;
  if (auto c = r->GetString("rank_cursors"); c.ok()) {
    size_t b = 0;
    const std::string& text = *c;
    while (b < text.size()) {
      size_t e = text.find(',', b);
      if (e == std::string::npos) e = text.size();
      try {
        rank_cursors.push_back(std::stoll(text.substr(b, e - b)));
      } catch (const std::exception&) {
        return DataLoss(path + ": rank_cursors attribute is not a list of integers: \"" + text + "\"");
      }
      b = e + 1;
    }
  }
  // Read everything first; apply only when all of it is consistent.
  std::vector<std::array<std::vector<float>, 3>> loaded(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const char* groups[3] = {"params/", "adam_m/", "adam_v/"};
    for (int k = 0; k < 3; ++k) {
      std::vector<int64_t> shape;
      MEM1_RETURN_IF_ERROR(r->ReadFloats(groups[k] + params_[i].name, &loaded[i][k], &shape));
      if (shape != params_[i].tensor.sizes().vec()) {
        return DataLoss(path + ": " + groups[k] + params_[i].name + " has a different shape than the model");
      }
    }
  }
  std::vector<std::vector<float>> loaded_reference;
  if (reference_) {
    for (const auto& p : reference_->named_parameters(true)) {
      std::vector<int64_t> shape;
      loaded_reference.emplace_back();
      MEM1_RETURN_IF_ERROR(r->ReadFloats("reference/" + p.key(), &loaded_reference.back(), &shape));
      if (shape != p.value().sizes().vec()) {
        return DataLoss(path + ": reference/" + p.key() + " has a different shape than the model");
      }
    }
  }
  std::vector<uint8_t> rng;
  MEM1_RETURN_IF_ERROR(r->ReadBytes("rng/cpu", &rng));
  torch::NoGradGuard g;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    auto shape = p.tensor.sizes().vec();
    p.tensor.copy_(torch::from_blob(loaded[i][0].data(), shape, torch::kFloat32));
    p.m.copy_(torch::from_blob(loaded[i][1].data(), shape, torch::kFloat32));
    p.v.copy_(torch::from_blob(loaded[i][2].data(), shape, torch::kFloat32));
  }
  if (reference_) {
    size_t i = 0;
    for (auto& p : reference_->named_parameters(true)) {
      p.value().copy_(torch::from_blob(loaded_reference[i++].data(), p.value().sizes(), torch::kFloat32));
    }
  }
  auto state = torch::from_blob(rng.data(), {static_cast<int64_t>(rng.size())}, torch::kUInt8).clone();
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  }
  step_ = step;
  policy_version_ = pv;
  data_cursor_ = cursor;
  rank_cursors_ = std::move(rank_cursors);
  return Status::Ok();
}

Status ExportCheckpointToHf(const std::string& checkpoint, const std::string& out_dir, const std::string& dtype) {
  MEM1_ASSIGN_OR_RETURN(auto r, Hdf5Reader::Open(checkpoint));
  MEM1_ASSIGN_OR_RETURN(std::string config_json, r->GetString("model_config"));
  MEM1_ASSIGN_OR_RETURN(Qwen2Config config, ParseHfConfig(config_json, checkpoint + ":model_config"));
  Qwen2ForCausalLM model(config);
  torch::NoGradGuard g;
  for (auto& p : model->named_parameters(true)) {
    std::vector<float> data;
    std::vector<int64_t> shape;
    MEM1_RETURN_IF_ERROR(r->ReadFloats("params/" + p.key(), &data, &shape));
    if (shape != p.value().sizes().vec()) return DataLoss(checkpoint + ": params/" + p.key() + " has the wrong shape");
    p.value().copy_(torch::from_blob(data.data(), shape, torch::kFloat32));
  }
  return SaveHfModel(model, out_dir, dtype);
}

std::string CheckpointPath(const std::string& run_dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof(name), "step_%08lld.h5", static_cast<long long>(step));
  return run_dir + "/checkpoints/" + name;
}

namespace {
std::vector<std::string> ListCheckpoints(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/checkpoints", ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step_", 0) == 0 && e.path().extension() == ".h5") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}
}  // namespace

Result<std::string> LatestCheckpoint(const std::string& dir) {
  if (std::filesystem::is_regular_file(dir)) return dir;
  auto files = ListCheckpoints(dir);
  if (files.empty()) return NotFound(dir + ": no checkpoints/step_*.h5 to resume from");
  return files.back();
}

void PruneCheckpoints(const std::string& run_dir, int keep) {
  auto files = ListCheckpoints(run_dir);
  for (size_t i = 0; i + keep < files.size(); ++i) std::filesystem::remove(files[i]);
}

}  // namespace mem1
