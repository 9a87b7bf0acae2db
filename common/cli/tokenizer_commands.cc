// `mem1 tokenize` and `mem1 tokenizer train`.
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/cli/cli_common.h"
#include "common/cli/commands.h"
#include "common/tokenizer/tokenizer.h"

namespace mem1 {
namespace {

struct TokenizeArgs {
  std::string tokenizer;
  std::string text;
  std::string file;
  std::string decode;
};

int RunTokenize(const TokenizeArgs& a) {
  auto tok = LoadTokenizer(a.tokenizer);
  if (!tok.ok()) return ReportError(tok.status());
  if (!a.decode.empty()) {
    std::vector<int32_t> ids;
    std::stringstream ss(a.decode);
    for (std::string item; ss >> item;) {
      try {
        size_t used = 0;
        const long v = std::stol(item, &used);
        if (used != item.size()) throw std::invalid_argument(item);
        ids.push_back(static_cast<int32_t>(v));
      } catch (const std::exception&) {
        return ReportError(InvalidArgument("--decode: \"" + item + "\" is not an integer token id"));
      }
    }
    std::cout << (*tok)->Decode(ids) << "\n";
    return 0;
  }
  std::string text = a.text;
  if (!a.file.empty()) {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) return ReportError(NotFound(a.file + ": cannot open"));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const auto ids = (*tok)->Encode(text);
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
  return 0;
}

int RunTrain(const SentencePieceTrainOptions& o) {
  auto st = TrainSentencePiece(o);
  if (!st.ok()) return ReportError(st);
  auto tok = LoadTokenizer(o.model_prefix + ".model");
  if (!tok.ok()) return ReportError(tok.status());
  std::cout << "wrote " << o.model_prefix << ".model (" << (*tok)->vocab_size() << " tokens, "
            << o.user_defined_symbols.size() << " tags as single tokens)\n";
  return 0;
}

}  // namespace

void RegisterTokenizerCommands(CLI::App* app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* t = app->add_subcommand("tokenize", "Encode text to token ids (one line), or decode ids to text");
  t->add_option("--tokenizer", args->tokenizer, "tokenizer.json, SentencePiece .model, or a checkpoint directory")->required();
  auto* text = t->add_option("--text", args->text, "Text to encode");
  auto* file = t->add_option("--file", args->file, "File whose contents to encode");
  auto* dec = t->add_option("--decode", args->decode, "Space-separated ids to decode");
  text->excludes(file)->excludes(dec);
  file->excludes(dec);
  t->callback([args, text, file, dec] {
    if (text->count() + file->count() + dec->count() == 0) throw CLI::RequiredError("--text, --file or --decode");
    throw CLI::RuntimeError(RunTokenize(*args));
  });

  auto* group = app->add_subcommand("tokenizer", "Tokenizer tools");
  group->require_subcommand(1);
  auto opts = std::make_shared<SentencePieceTrainOptions>();
  auto* train = group->add_subcommand("train", "Train a SentencePiece BPE tokenizer with the MEM1 tags as single tokens");
  train->add_option("--corpus", opts->corpus, "Text corpus, one passage per line")->required();
  train->add_option("--out", opts->model_prefix, "Output prefix (writes PREFIX.model, PREFIX.vocab)")->required();
  train->add_option("--vocab-size", opts->vocab_size, "Vocabulary size")->check(CLI::Range(300, 1 << 20));
  train->add_option("--threads", opts->num_threads, "Training threads")->check(CLI::Range(1, 256));
  train->callback([opts] { throw CLI::RuntimeError(RunTrain(*opts)); });
}

}  // namespace mem1
