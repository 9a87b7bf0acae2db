// Our SentencePiece BPE encoder/decoder against libsentencepiece itself, on a model trained
// by `mem1_spm_train` with the options `mem1 tokenizer train` uses. This binary links
// libsentencepiece and NOT libprotobuf (see sentencepiece_tokenizer.cc for why).
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/tokenizer/tokenizer.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;

TEST(SentencePieceReferenceTest, IdsAndTextMatchLibsentencepiece) {
  const fs::path dir = fs::temp_directory_path() / ("mem1_spref_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::mt19937 rng(11);
  const std::vector<std::string> words = {"the",   "capital", "of",     "Zorvath", "river", "Quellin's", "city",
                                          "1987",  "north",   "café",   "東京",    "is",    "located",   "in",
                                          "<IS>",  "</IS>",   "query",  "answer",  "and",   "population", "x"};
  auto sentence = [&] {
    std::string s;
    const int n = 3 + static_cast<int>(rng() % 10);
    for (int w = 0; w < n; ++w) {
      s += words[rng() % words.size()];
      const int sep = rng() % 10;
      s += sep < 7 ? " " : sep == 7 ? "  " : sep == 8 ? ", " : "";
    }
    return s;
  };
  {
    std::ofstream corpus(dir / "corpus.txt");
    for (int i = 0; i < 4000; ++i) corpus << sentence() << "\n";
  }
  SentencePieceTrainOptions o;
  o.corpus = (dir / "corpus.txt").string();
  o.model_prefix = (dir / "sp").string();
  o.vocab_size = 600;
  ASSERT_TRUE(TrainSentencePiece(o).ok());

  sentencepiece::SentencePieceProcessor ref;
  ASSERT_TRUE(ref.Load((dir / "sp.model").string()).ok());
  auto ours = LoadTokenizer((dir / "sp.model").string());
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  ASSERT_EQ((*ours)->vocab_size(), ref.GetPieceSize());

  std::vector<std::string> texts = {"", " ", "   leading", "trailing   ", "a\tb\nc", "emoji 😀 and ☃ unseen",
                                    "<IS>state</IS><query>q</query>", "Ωmega ÿ \x7f control"};
  for (int i = 0; i < 300; ++i) texts.push_back(sentence());
  // The model really merges (the comparison is not over byte-level fallbacks only).
  EXPECT_LE((*ours)->Encode("the capital of Zorvath").size(), 8u);
  for (const auto& t : texts) {
    std::vector<int> expect;
    ASSERT_TRUE(ref.Encode(t, &expect).ok());
    const auto got = (*ours)->Encode(t);
    EXPECT_EQ(std::vector<int>(got.begin(), got.end()), expect) << "\"" << t << "\"";
    std::string expect_text;
    ASSERT_TRUE(ref.Decode(expect, &expect_text).ok());
    EXPECT_EQ((*ours)->Decode(got), expect_text) << "\"" << t << "\"";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mem1
