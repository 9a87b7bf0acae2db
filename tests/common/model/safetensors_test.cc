#include "common/model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mem1 {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mem1_st_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a raw file: 8-byte length, header text, data bytes.
  std::string WriteRaw(const std::string& name, const std::string& header, const std::string& data,
                       int64_t declared_len = -1) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    uint64_t n = declared_len >= 0 ? static_cast<uint64_t>(declared_len) : header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
    out << header << data;
    return path;
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, SaveLoadIsBitExactForEveryWeightDtype) {
  std::vector<float> f32 = {1.0f, -2.5f, 3.25e-8f, 1e30f, -0.0f, 7.0f};
  std::vector<uint16_t> bf16 = {0x3f80, 0xc020, 0x0001, 0x7f7f};  // raw bit patterns
  std::vector<uint16_t> f16 = {0x3c00, 0xfbff, 0x0400};
  std::vector<TensorView> views = {
      {"b.weight", DType::kF32, {2, 3}, f32.data(), f32.size() * 4},
      {"a.bias", DType::kBF16, {4}, bf16.data(), bf16.size() * 2},
      {"c", DType::kF16, {3, 1}, f16.data(), f16.size() * 2},
  };
  const std::string path = (dir_ / "m.safetensors").string();
  ASSERT_TRUE(WriteSafetensors(path, views, {{"format", "pt"}}).ok());
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  ASSERT_EQ((*file)->tensors().size(), 3u);
  for (const auto& v : views) {
    const TensorInfo* info = (*file)->Find(v.name);
    ASSERT_NE(info, nullptr) << v.name;
    EXPECT_EQ(info->dtype, v.dtype);
    EXPECT_EQ(info->shape, v.shape);
    ASSERT_EQ(info->end - info->begin, v.nbytes);
    EXPECT_EQ(std::memcmp((*file)->Data(*info), v.data, v.nbytes), 0) << v.name;
  }
  // Header length is 8-byte aligned, as the reference writer does.
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST_F(SafetensorsTest, TruncatedFileIsDataLoss) {
  std::vector<float> x(16, 1.0f);
  const std::string path = (dir_ / "t.safetensors").string();
  ASSERT_TRUE(WriteSafetensors(path, {{"x", DType::kF32, {16}, x.data(), 64}}, {}).ok());
  fs::resize_file(path, fs::file_size(path) - 10);
  auto f = SafetensorsFile::Open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("out of range"), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("\"x\""), std::string::npos);
}

TEST_F(SafetensorsTest, HeaderBeyondEndOfFile) {
  auto f = SafetensorsFile::Open(WriteRaw("h.safetensors", "{}", "", 4096));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("header extends beyond end of file"), std::string::npos);
}

TEST_F(SafetensorsTest, TinyFileAndAbsurdHeaderLength) {
  const std::string tiny = (dir_ / "tiny.safetensors").string();
  std::ofstream(tiny) << "abc";
  auto f = SafetensorsFile::Open(tiny);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  auto g = SafetensorsFile::Open(WriteRaw("big.safetensors", "{}", "", int64_t{1} << 50));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kDataLoss);
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
  auto f = SafetensorsFile::Open(WriteRaw(
      "o.safetensors", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
      std::string(12, '\0')));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("tensor \"v\": data_offsets [8, 16] out of range"), std::string::npos)
      << f.status().message();
}

TEST_F(SafetensorsTest, UnknownDtype) {
  auto f = SafetensorsFile::Open(
      WriteRaw("d.safetensors", R"({"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", std::string(1, '\0')));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(f.status().message().find("unknown dtype \"F4\""), std::string::npos);
}

TEST_F(SafetensorsTest, ShapeDoesNotMatchByteLength) {
  auto f = SafetensorsFile::Open(
      WriteRaw("s.safetensors", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("does not match shape x dtype"), std::string::npos);
}

TEST_F(SafetensorsTest, OverlappingTensorsAndBadJson) {
  auto f = SafetensorsFile::Open(WriteRaw(
      "ov.safetensors", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      std::string(12, '\0')));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("overlap"), std::string::npos);
  auto g = SafetensorsFile::Open(WriteRaw("j.safetensors", "{not json", ""));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kDataLoss);
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  auto f = SafetensorsFile::Open((dir_ / "none.safetensors").string());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
}

TEST_F(SafetensorsTest, ShardedCheckpointResolvesEveryTensor) {
  std::vector<float> a = {1, 2}, b = {3, 4, 5};
  ASSERT_TRUE(WriteSafetensors((dir_ / "model-00001-of-00002.safetensors").string(),
                               {{"a", DType::kF32, {2}, a.data(), 8}}, {}).ok());
  ASSERT_TRUE(WriteSafetensors((dir_ / "model-00002-of-00002.safetensors").string(),
                               {{"b", DType::kF32, {3}, b.data(), 12}}, {}).ok());
  nlohmann::json index = {{"metadata", {{"total_size", 20}}},
                          {"weight_map", {{"a", "model-00001-of-00002.safetensors"},
                                          {"b", "model-00002-of-00002.safetensors"}}}};
  std::ofstream(dir_ / "model.safetensors.index.json") << index.dump();
  auto ck = SafetensorsCheckpoint::Open(dir_.string());
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  const SafetensorsFile* file = nullptr;
  const TensorInfo* info = ck->Find("b", &file);
  ASSERT_NE(info, nullptr);
  float got[3];
  std::memcpy(got, file->Data(*info), 12);
  EXPECT_EQ(got[2], 5.0f);
  EXPECT_EQ(ck->Names().size(), 2u);
}

TEST_F(SafetensorsTest, IndexNamingMissingShardIsDataLoss) {
  nlohmann::json index = {{"weight_map", {{"a", "model-00009.safetensors"}}}};
  std::ofstream(dir_ / "model.safetensors.index.json") << index.dump();
  auto ck = SafetensorsCheckpoint::Open(dir_.string());
  ASSERT_FALSE(ck.ok());
  EXPECT_EQ(ck.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(ck.status().message().find("model-00009.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace mem1
