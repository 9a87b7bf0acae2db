// Fuzzes the CURVE key file readers (ReadCurveKeyFile, ReadCurvePublicKeyFile) on one file.
#include "common/transport/curve.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mem1::fuzz::WriteScratch("fuzz.key", data, size);
  auto pair = mem1::ReadCurveKeyFile(path);
  if (pair.ok() && pair->public_key.size() != 40) __builtin_trap();
  auto pub = mem1::ReadCurvePublicKeyFile(path);
  mem1::fuzz::Verbose(pair.status());
  mem1::fuzz::Verbose(pub.status());
  return 0;
}
