// Text <-> token ids, one interface with two backends:
//  * HfBpeTokenizer: Hugging Face `tokenizer.json` byte-level BPE as used by Qwen2/Qwen2.5
//    (NFC normaliser, Qwen2 split regex, byte-level alphabet, ranked merges, added tokens).
//  * SentencePieceTokenizer: a SentencePiece BPE model (`.model`), as trained by
//    `mem1 tokenizer train` for the small embedded model; MEM1 tags are user-defined symbols.
// Added/special tokens (e.g. <|im_start|>, <IS>) found in text are always encoded atomically.
//
// Thread safety: const methods are safe to call concurrently after construction.
#ifndef MEM1_COMMON_TOKENIZER_TOKENIZER_H_
#define MEM1_COMMON_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> Encode(const std::string& text) const = 0;
  // Ids outside [0, vocab_size()) decode to U+FFFD.
  virtual std::string Decode(const std::vector<int32_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  // Id of a whole token (special or regular) or -1 when the vocabulary lacks it.
  virtual int32_t TokenId(const std::string& token) const = 0;
  // End-of-sequence id or -1.
  virtual int32_t eos_id() const = 0;
};

// Chooses the backend by content: a file that parses as a JSON object with "model" is a HF
// tokenizer.json; anything else is tried as a SentencePiece model. A directory is searched for
// tokenizer.json then tokenizer.model. NOT_FOUND / INVALID_ARGUMENT / UNIMPLEMENTED name the file.
[[nodiscard]] Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path);

// Copies a tokenizer (a tokenizer.json / .model file, or a directory holding one) into a
// checkpoint directory as tokenizer.json or tokenizer.model, with the tokenizer_config.json
// beside it when there is one (its chat template), so the checkpoint is self-contained. NOT_FOUND if there is no tokenizer at `tokenizer_path`.
[[nodiscard]] Status CopyTokenizerInto(const std::string& tokenizer_path, const std::string& checkpoint_dir);

// Backend constructors (usually reached through LoadTokenizer).
[[nodiscard]] Result<std::unique_ptr<Tokenizer>> LoadHfBpeTokenizer(const std::string& json_text,
                                                                    const std::string& source);
[[nodiscard]] Result<std::unique_ptr<Tokenizer>> LoadSentencePieceTokenizer(const std::string& model_path);

// The tags every embedded vocabulary carries as single tokens: MEM1 `paper` preset
// (<IS>, <query>, <answer>, <info>), the `mem1-code` preset (<think>, <search>,
// <information>), WebShop's action wrapper, and chat markers.
const std::vector<std::string>& EmbeddedSpecialTokens();

struct SentencePieceTrainOptions {
  std::string corpus;        // text file, one sentence/passage per line
  std::string model_prefix;  // writes <prefix>.model and <prefix>.vocab
  int32_t vocab_size = 8192;
  std::vector<std::string> user_defined_symbols = EmbeddedSpecialTokens();
  int32_t num_threads = 2;
  int64_t input_sentence_size = 2000000;  // sentences sampled for training
};

// Trains a byte-fallback BPE model with identity normalisation (exact round trips of any
// UTF-8, whitespace runs included). INVALID_ARGUMENT on bad options or an empty corpus.
[[nodiscard]] Status TrainSentencePiece(const SentencePieceTrainOptions& options);

}  // namespace mem1

#endif  // MEM1_COMMON_TOKENIZER_TOKENIZER_H_
