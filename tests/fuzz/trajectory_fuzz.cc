// Fuzzes DecodeTrajectory (protobuf parse + ValidateTrajectory), as the learner's intake calls
// it on every message. Invariant checked: an accepted trajectory re-encodes to bytes that
// decode and validate again.
#include "common/transport/wire.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mem1::WireLimits limits;
  limits.max_message_bytes = 1 << 20;
  limits.max_trajectory_tokens = 1 << 16;
  limits.max_segments = 256;
  limits.max_string_bytes = 256;
  constexpr int64_t kVocab = 1000;
  auto t = mem1::DecodeTrajectory(size == 0 ? "" : static_cast<const void*>(data), size, limits, kVocab);
  mem1::fuzz::Verbose(t.status());
  if (!t.ok()) return 0;
  const std::string again = mem1::EncodeTrajectory(*t);
  auto t2 = mem1::DecodeTrajectory(again.data(), again.size(), limits, kVocab);
  if (!t2.ok()) {
    fprintf(stderr, "re-encoded trajectory rejected: %s\n", t2.status().ToString().c_str());
    __builtin_trap();
  }
  return 0;
}
