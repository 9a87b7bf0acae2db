// Fuzzes ReadAuthorizedKeys (lines "<Z85 key> [name]").
#include "common/transport/curve.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mem1::fuzz::WriteScratch("authorized_keys", data, size);
  auto keys = mem1::ReadAuthorizedKeys(path);
  mem1::fuzz::Verbose(keys.status());
  if (!keys.ok()) return 0;
  for (const auto& kv : *keys) {
    if (kv.first.size() != 40) __builtin_trap();
  }
  return 0;
}
