// Fuzzes SafetensorsFile::Open (size prefix, JSON header, dtypes, offsets) on a whole file.
#include "common/model/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mem1::fuzz::WriteScratch("model.safetensors", data, size);
  auto file = mem1::SafetensorsFile::Open(path);
  mem1::fuzz::Verbose(file.status());
  if (!file.ok()) return 0;
  // Touch every tensor's bytes: Open promised they lie inside the mapping.
  uint64_t sum = 0;
  for (const mem1::TensorInfo& t : (*file)->tensors()) {
    const uint8_t* p = (*file)->Data(t);
    for (uint64_t i = t.begin; i < t.end; ++i) sum += p[i - t.begin];
    if ((*file)->Find(t.name) == nullptr) __builtin_trap();
    (void)t.numel();
  }
  for (const auto& kv : (*file)->metadata()) sum += kv.first.size() + kv.second.size();
  volatile uint64_t sink = sum;
  (void)sink;
  return 0;
}
