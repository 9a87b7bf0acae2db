// Fuzzes WeightAssembler::Add on a stream of WeightUpdate chunks, as an actor's weight
// subscriber sees them (dropped, reordered, duplicated, corrupt).
//
// Input framing: repeated records [flags:1][len:2 little-endian][len bytes of a serialized
// proto::WeightUpdate]. flags bit 0: replace the chunk's checksum by Crc32c(data) (so the
// fuzzer gets past the checksum); bit 1: call TakeComplete after the chunk. Records that do
// not parse as a WeightUpdate are skipped.
#include "common/transport/weight_chunks.h"
#include "common/util/crc32c.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mem1::WeightAssembler::Options options;
  options.max_versions_in_flight = 2;
  options.max_version_bytes = 1 << 20;  // keep allocations small: 1 MiB per version
  mem1::WeightAssembler assembler(options);
  size_t pos = 0;
  while (pos + 3 <= size) {
    const uint8_t flags = data[pos];
    const size_t len = static_cast<size_t>(data[pos + 1]) | (static_cast<size_t>(data[pos + 2]) << 8);
    pos += 3;
    const size_t n = std::min(len, size - pos);
    mem1::proto::WeightUpdate chunk;
    const bool parsed = chunk.ParseFromArray(data + pos, static_cast<int>(n));
    pos += n;
    if (!parsed) continue;
    if (flags & 1) chunk.set_checksum(mem1::Crc32c(chunk.data().data(), chunk.data().size()));
    const int64_t before = assembler.last_taken_version();
    mem1::Status st = assembler.Add(chunk);
    mem1::fuzz::Verbose(st);
    if (assembler.versions_in_flight() > options.max_versions_in_flight) __builtin_trap();
    if (flags & 2) {
      std::optional<mem1::CompleteWeights> w = assembler.TakeComplete();
      if (w.has_value()) {
        // A complete version is newer than anything taken before, sorted, and every tensor
        // holds exactly numel * dtype size bytes.
        if (w->version <= before) __builtin_trap();
        for (size_t i = 0; i < w->tensors.size(); ++i) {
          const mem1::WeightTensor& t = w->tensors[i];
          if (i > 0 && !(w->tensors[i - 1].name < t.name)) __builtin_trap();
          int64_t numel = 1;
          for (int64_t d : t.shape) numel *= d;
          if (static_cast<int64_t>(t.bytes.size()) != numel * mem1::WeightDTypeSize(t.dtype)) __builtin_trap();
        }
      }
    }
  }
  return 0;
}
