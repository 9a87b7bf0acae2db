// Every input a fuzzer (tests/fuzz.sh) found crashing is kept in tests/fuzz/regressions/<target>/
// and replayed here through the ordinary build: each must now give an error (or load and work),
// never a crash, an uncaught exception or a giant allocation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/model/model_config.h"
#include "common/tokenizer/tokenizer.h"

namespace mem1 {
namespace {
namespace fs = std::filesystem;

std::vector<fs::path> Inputs(const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(MEM1_SOURCE_DIR) / "tests/fuzz/regressions" / target;
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FuzzRegressionTest, HfConfigWithMistypedFieldsIsAnError) {
  const auto inputs = Inputs("hf_config");
  ASSERT_FALSE(inputs.empty());
  for (const auto& p : inputs) {
    auto c = ParseHfConfig(Read(p), p.filename().string());
    EXPECT_FALSE(c.ok()) << p;
  }
  auto c = ParseHfConfig(R"({"model_type": 3})", "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("\"model_type\" must be a string"), std::string::npos) << c.status().message();
  c = ParseHfConfig(R"({"model_type": "qwen2", "vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
                        "num_hidden_layers": 1, "num_attention_heads": 2, "eos_token_id": ["x"]})", "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("wrong type"), std::string::npos) << c.status().message();
}

TEST(FuzzRegressionTest, TokenizerJsonWithHugeOrMistypedIdsIsAnError) {
  const auto inputs = Inputs("tokenizer_json");
  ASSERT_FALSE(inputs.empty());
  for (const auto& p : inputs) EXPECT_FALSE(LoadHfBpeTokenizer(Read(p), p.filename().string()).ok()) << p;
  auto bpe = [](const std::string& vocab, const std::string& added) {
    return LoadHfBpeTokenizer(R"({"model": {"type": "BPE", "vocab": )" + vocab + R"(, "merges": []}, "added_tokens": )" +
                                  added + "}",
                              "tokenizer.json");
  };
  auto t = bpe(R"({"a": 6444444444444445})", "[]");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("outside [0, 16777216)"), std::string::npos) << t.status().message();
  t = bpe(R"({"a": 0, "b": 16000000})", "[]");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("ids must be dense"), std::string::npos) << t.status().message();
  EXPECT_FALSE(bpe(R"({"a": -1})", "[]").ok());
  EXPECT_FALSE(bpe(R"({"a": 0})", R"([{"content": 5, "id": 1}])").ok());
  EXPECT_FALSE(bpe(R"({"a": 0})", R"([{"content": "x", "id": "1"}])").ok());
  EXPECT_FALSE(bpe(R"({"a": 0})", R"([{"content": "x", "id": 1, "special": "yes"}])").ok());
  EXPECT_FALSE(bpe(R"({"a": 0})", R"([7])").ok());
  EXPECT_TRUE(bpe(R"({"a": 0, "b": 1})", R"([{"content": "<s>", "id": 2, "special": true}])").ok());
}

TEST(FuzzRegressionTest, SentencePieceModelWithBadBytePiecesIsAnErrorOrDecodesSafely) {
  const auto inputs = Inputs("spm_model");
  ASSERT_FALSE(inputs.empty());
  const fs::path tmp = fs::temp_directory_path() / ("mem1_spm_regression_" + std::to_string(::getpid()) + ".model");
  int refused = 0;
  for (const auto& p : inputs) {
    fs::copy_file(p, tmp, fs::copy_options::overwrite_existing);
    auto tok = LoadSentencePieceTokenizer(tmp.string());
    if (!tok.ok()) {
      ++refused;
      EXPECT_NE(tok.status().message().find("is not <0xHH>"), std::string::npos) << p << ": " << tok.status().message();
      continue;
    }
    std::vector<int32_t> ids;
    for (int32_t i = -1; i <= static_cast<int32_t>((*tok)->vocab_size()); ++i) ids.push_back(i);
    (void)(*tok)->Decode(ids);  // must not throw
  }
  fs::remove(tmp);
  EXPECT_GE(refused, 1);
}

}  // namespace
}  // namespace mem1
