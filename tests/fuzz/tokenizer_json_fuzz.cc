// Fuzzes LoadHfBpeTokenizer (tokenizer.json) and, for accepted inputs, Encode/Decode of a
// fixed text that exercises the split regex, byte-level alphabet, merges and added tokens.
#include "common/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto tok = mem1::LoadHfBpeTokenizer(text, "fuzz/tokenizer.json");
  mem1::fuzz::Verbose(tok.status());
  if (!tok.ok()) return 0;
  static const std::string kSample =
      "Hello <IS>world</IS> <|im_start|>user 123 h\xC3\xA9llo  \n\t\xE2\x96\x81 don't \xF0\x9F\x98\x80 \xFF";
  std::vector<int32_t> ids = (*tok)->Encode(kSample);
  ids.push_back(-1);
  ids.push_back(static_cast<int32_t>((*tok)->vocab_size()));
  (void)(*tok)->Decode(ids);
  (void)(*tok)->TokenId("<IS>");
  (void)(*tok)->eos_id();
  return 0;
}
