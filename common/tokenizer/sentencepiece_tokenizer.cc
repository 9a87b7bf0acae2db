// SentencePiece backend and the tokenizer factory.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/tokenizer/tokenizer.h"

namespace mem1 {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  Status Init(const std::string& path) {
    const auto st = sp_.Load(path);
    if (!st.ok()) return InvalidArgument(path + ": not a SentencePiece model: " + st.ToString());
    return Status::Ok();
  }
  std::vector<int32_t> Encode(const std::string& text) const override {
    std::vector<int> ids;
    const auto st = sp_.Encode(text, &ids);
    if (!st.ok()) LOG(WARNING) << "SentencePiece encode failed: " << st.ToString();
    return std::vector<int32_t>(ids.begin(), ids.end());
  }
  std::string Decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    std::vector<int> valid;
    auto flush = [&] {
      if (valid.empty()) return;
      std::string part;
      (void)sp_.Decode(valid, &part);
      out += part;
      valid.clear();
    };
    for (int32_t id : ids) {
      if (id < 0 || id >= sp_.GetPieceSize()) { flush(); out += "\xEF\xBF\xBD"; continue; }
      valid.push_back(id);
    }
    flush();
    return out;
  }
  int64_t vocab_size() const override { return sp_.GetPieceSize(); }
  int32_t TokenId(const std::string& token) const override {
    const int id = sp_.PieceToId(token);
    // PieceToId returns unk for unknown pieces; tell them apart.
    if (id == sp_.unk_id() && token != sp_.IdToPiece(sp_.unk_id())) return -1;
    return id;
  }
  int32_t eos_id() const override { return sp_.eos_id(); }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadSentencePieceTokenizer(const std::string& model_path) {
  auto tok = std::make_unique<SentencePieceTokenizer>();
  MEM1_RETURN_IF_ERROR(tok->Init(model_path));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path_in) {
  namespace fs = std::filesystem;
  std::string path = path_in;
  if (fs::is_directory(path)) {
    if (fs::exists(path + "/tokenizer.json")) path += "/tokenizer.json";
    else if (fs::exists(path + "/tokenizer.model")) path += "/tokenizer.model";
    else return NotFound(path_in + ": directory has no tokenizer.json or tokenizer.model");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open tokenizer file");
  char first = 0;
  in >> first;  // skips whitespace
  if (first == '{') {
    in.seekg(0);
    std::stringstream ss;
    ss << in.rdbuf();
    return LoadHfBpeTokenizer(ss.str(), path);
  }
  return LoadSentencePieceTokenizer(path);
}

const std::vector<std::string>& EmbeddedSpecialTokens() {
  static const std::vector<std::string>* tokens = new std::vector<std::string>{
      "<IS>", "</IS>", "<query>", "</query>", "<answer>", "</answer>", "<info>", "</info>",
      "<think>", "</think>", "<search>", "</search>", "<information>", "</information>",
      "<action>", "</action>", "[HINT]", "[/HINT]", "[SEP]",
      "<|im_start|>", "<|im_end|>", "<|endoftext|>"};
  return *tokens;
}

Status TrainSentencePiece(const SentencePieceTrainOptions& o) {
  if (!std::filesystem::exists(o.corpus)) return NotFound(o.corpus + ": corpus file not found");
  if (std::filesystem::file_size(o.corpus) == 0) return InvalidArgument(o.corpus + ": corpus is empty");
  if (o.vocab_size < 300) return InvalidArgument("vocab_size " + std::to_string(o.vocab_size) + " is below 300 (byte fallback needs 256 + specials)");
  std::string symbols;
  for (const auto& s : o.user_defined_symbols) {
    if (s.find(',') != std::string::npos) return InvalidArgument("user symbol \"" + s + "\" contains a comma");
    symbols += (symbols.empty() ? "" : ",") + s;
  }
  std::ostringstream args;
  args << "--input=" << o.corpus << " --model_prefix=" << o.model_prefix << " --vocab_size=" << o.vocab_size
       << " --model_type=bpe --byte_fallback=true --character_coverage=0.9995"
       << " --normalization_rule_name=identity --add_dummy_prefix=false --remove_extra_whitespaces=false"
       << " --split_by_whitespace=true --allow_whitespace_only_pieces=true"
       << " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3"
       << " --num_threads=" << o.num_threads << " --input_sentence_size=" << o.input_sentence_size
       << " --shuffle_input_sentence=true --minloglevel=2";
  if (!symbols.empty()) args << " --user_defined_symbols=" << symbols;
  const auto st = sentencepiece::SentencePieceTrainer::Train(args.str());
  if (!st.ok()) return InvalidArgument("SentencePiece training failed: " + st.ToString());
  return Status::Ok();
}

}  // namespace mem1
