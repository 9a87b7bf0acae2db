// Fuzzes the SentencePiece .model reader (LoadSentencePieceTokenizer, our own wire-format
// reader) and, for accepted models, Encode/Decode of a fixed text.
#include "common/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mem1::fuzz::WriteScratch("tokenizer.model", data, size);
  auto tok = mem1::LoadSentencePieceTokenizer(path);
  mem1::fuzz::Verbose(tok.status());
  if (!tok.ok()) return 0;
  static const std::string kSample = "Hello <IS>world</IS>  ab abc 123 h\xC3\xA9llo \xF0\x9F\x98\x80 \xFF";
  std::vector<int32_t> ids = (*tok)->Encode(kSample);
  ids.push_back(-1);
  ids.push_back(static_cast<int32_t>((*tok)->vocab_size()));
  (void)(*tok)->Decode(ids);
  (void)(*tok)->TokenId("<IS>");
  (void)(*tok)->eos_id();
  return 0;
}
