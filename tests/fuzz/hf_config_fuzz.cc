// Fuzzes ParseHfConfig (a Hugging Face config.json for the Qwen2 family).
#include "common/model/model_config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = mem1::ParseHfConfig(text, "fuzz/config.json");
  mem1::fuzz::Verbose(config.status());
  return 0;
}
