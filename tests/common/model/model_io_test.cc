#include "common/model/model_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/model/safetensors.h"
#include "tests/common/model/test_util.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;
using mem1::testing::TinyConfig;
using mem1::testing::TinyModel;

class ModelIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mem1_io_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Writes a checkpoint the way HF transformers lays it out, without using our writer:
// config.json by hand, weights as bf16 in one or two shards with an index.
void WriteHfFixture(const fs::path& dir, Qwen2ForCausalLM& m, bool sharded) {
  nlohmann::json cfg = {{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"},
                        {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2},
                        {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 97},
                        {"max_position_embeddings", 512}, {"rope_theta", 10000.0}, {"rms_norm_eps", 1e-6},
                        {"tie_word_embeddings", true}, {"torch_dtype", "bfloat16"}, {"hidden_act", "silu"},
                        {"use_sliding_window", false}, {"sliding_window", 4096}, {"bos_token_id", 1},
                        {"eos_token_id", 2}};
  std::ofstream(dir / "config.json") << cfg.dump(2);
  std::vector<torch::Tensor> keep;
  std::vector<TensorView> a, b;
  for (auto& p : m->named_parameters(true)) {
    if (p.key().rfind("value_head", 0) == 0) continue;
    auto t = p.value().detach().to(torch::kBFloat16).contiguous();
    keep.push_back(t);
    TensorView v{p.key(), DType::kBF16, t.sizes().vec(), t.data_ptr(), size_t(t.numel() * 2)};
    (sharded && p.key().find("layers.1.") != std::string::npos ? b : a).push_back(v);
  }
  if (!sharded) {
    ASSERT_TRUE(WriteSafetensors((dir / "model.safetensors").string(), a, {{"format", "pt"}}).ok());
    return;
  }
  ASSERT_TRUE(WriteSafetensors((dir / "model-00001-of-00002.safetensors").string(), a, {}).ok());
  ASSERT_TRUE(WriteSafetensors((dir / "model-00002-of-00002.safetensors").string(), b, {}).ok());
  nlohmann::json wm;
  for (auto& v : a) wm[v.name] = "model-00001-of-00002.safetensors";
  for (auto& v : b) wm[v.name] = "model-00002-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << nlohmann::json{{"metadata", {}}, {"weight_map", wm}}.dump();
}

TEST_F(ModelIoTest, TinyHfCheckpointLoadsAndRuns) {
  for (bool sharded : {false, true}) {
    auto src = TinyModel(11);
    const fs::path d = dir_ / (sharded ? "sharded" : "single");
    fs::create_directories(d);
    WriteHfFixture(d, src, sharded);
    CheckpointLoadReport report;
    auto loaded = LoadHfModel(d.string(), torch::kCPU, torch::kFloat32, &report);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ((*loaded)->config().eos_token_id, 2);
    EXPECT_FALSE(report.value_head_loaded);
    // Same weights rounded to bf16 => same logits as the source model rounded the same way.
    src->to(torch::kBFloat16);
    src->to(torch::kFloat32);
    torch::NoGradGuard g;
    auto ids = torch::tensor(std::vector<int64_t>{1, 5, 9, 13}, torch::kLong).view({1, 4});
    auto pos = torch::arange(4, torch::kLong).view({1, 4});
    auto a = (*loaded)->Forward(ids, pos, torch::Tensor()).logits;
    auto b = src->Forward(ids, pos, torch::Tensor()).logits;
    EXPECT_TRUE(torch::equal(a, b)) << "sharded=" << sharded;
  }
}

TEST_F(ModelIoTest, SaveThenLoadIsBitExact) {
  for (bool tied : {true, false}) {
    auto m = TinyModel(12, tied);
    {
      torch::NoGradGuard g;
      m->value_head->weight.normal_();
    }
    const std::string d = (dir_ / (tied ? "tied" : "untied")).string();
    ASSERT_TRUE(SaveHfModel(m, d, "float32").ok());
    auto st = SafetensorsFile::Open(d + "/model.safetensors");
    ASSERT_TRUE(st.ok());
    EXPECT_EQ((*st)->Find("lm_head.weight") != nullptr, !tied);
    EXPECT_EQ((*st)->Find("value_head.weight"), nullptr);  // HF layout stays clean
    CheckpointLoadReport report;
    auto back = LoadHfModel(d, torch::kCPU, torch::kFloat32, &report);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(report.value_head_loaded);
    auto pa = m->named_parameters(true);
    auto pb = (*back)->named_parameters(true);
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  }
}

TEST_F(ModelIoTest, NonFiniteWeightIsRefusedAtLoadNamingTheTensor) {
  auto m = TinyModel(14);
  {
    torch::NoGradGuard g;
    m->named_parameters(true)["model.layers.1.mlp.up_proj.weight"][2][3] = std::numeric_limits<float>::quiet_NaN();
  }
  ASSERT_TRUE(SaveHfModel(m, dir_.string(), "float32").ok());
  auto r = LoadHfModel(dir_.string(), torch::kCPU, torch::kFloat32);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("\"model.layers.1.mlp.up_proj.weight\" has 1 non-finite"), std::string::npos)
      << r.status().message();
}

TEST_F(ModelIoTest, MissingTensorAndShapeMismatchAreNamed) {
  auto m = TinyModel(13);
  WriteHfFixture(dir_, m, false);
  // Drop one tensor.
  {
    auto f = SafetensorsFile::Open((dir_ / "model.safetensors").string());
    ASSERT_TRUE(f.ok());
    std::vector<TensorView> views;
    std::vector<std::vector<uint8_t>> bytes;
    for (const auto& t : (*f)->tensors()) {
      if (t.name == "model.layers.1.mlp.up_proj.weight") continue;
      bytes.emplace_back((*f)->Data(t), (*f)->Data(t) + (t.end - t.begin));
      views.push_back({t.name, t.dtype, t.shape, nullptr, t.end - t.begin});
    }
    for (size_t i = 0; i < views.size(); ++i) views[i].data = bytes[i].data();
    f->reset();
    ASSERT_TRUE(WriteSafetensors((dir_ / "model.safetensors").string(), views, {}).ok());
  }
  auto r = LoadHfModel(dir_.string(), torch::kCPU, torch::kFloat32);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("model.layers.1.mlp.up_proj.weight"), std::string::npos);
  // Config that disagrees with the weights' shapes.
  auto cfg = nlohmann::json::parse(std::ifstream(dir_ / "config.json"));
  cfg["intermediate_size"] = 64;
  std::ofstream(dir_ / "config.json") << cfg.dump();
  auto s = LoadHfModel(dir_.string(), torch::kCPU, torch::kFloat32);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("has shape [48, 32], model expects [64, 32]"), std::string::npos)
      << s.status().message();
}

TEST_F(ModelIoTest, UnsupportedArchitectureIsUnimplemented) {
  std::ofstream(dir_ / "config.json") << R"({"model_type": "llama", "hidden_size": 8})";
  auto r = LoadHfModel(dir_.string(), torch::kCPU, torch::kFloat32);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(r.status().message().find("llama"), std::string::npos);
}

TEST_F(ModelIoTest, HfConfigRoundTrip) {
  Qwen2Config c = TinyConfig(false);
  c.eos_token_id = 7;
  auto back = ParseHfConfig(HfConfigJson(c), "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->num_key_value_heads, 2);
  EXPECT_FALSE(back->tie_word_embeddings);
  EXPECT_EQ(back->eos_token_id, 7);
  EXPECT_EQ(back->ParameterCount(), c.ParameterCount());
  // Parameter count formula agrees with the module.
  auto m = TinyModel(1, false);
  int64_t n = 0;
  for (const auto& p : m->named_parameters(true)) if (p.key().rfind("value_head", 0) != 0) n += p.value().numel();
  EXPECT_EQ(n, c.ParameterCount());
}

}  // namespace
}  // namespace mem1
