// Weight broadcast payload: learner rank 0 splits a full set of policy weights into
// proto::WeightUpdate chunks (published over ZeroMQ PUB/SUB); every actor reassembles them
// with a WeightAssembler and swaps weights only when a version is complete.
//
// Chunk layout (the wire contract both sides rely on). For a tensor of B = numel * dtype size
// raw bytes split with chunk size S >= 1:
//   chunk_count = max(1, ceil(B / S));
//   chunk i covers bytes [i * S, min((i + 1) * S, B)) -> byte_offset = i * S, data = that range;
//   a tensor with B == 0 is one chunk with byte_offset 0 and empty data;
//   checksum = Crc32c(data) (unmasked); tensor_count = tensors in the version;
//   dtype, shape, chunk_count and tensor_count are repeated, identically, in every chunk.
// A version V is complete when, for tensor_count distinct tensor names, every chunk index in
// [0, chunk_count) has arrived with a valid checksum. PUB/SUB may drop, reorder or duplicate
// chunks; an actor that misses a chunk simply waits for a later version (or a re-send).
#ifndef MEM1_COMMON_TRANSPORT_WEIGHT_CHUNKS_H_
#define MEM1_COMMON_TRANSPORT_WEIGHT_CHUNKS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1 {

// One named tensor in safetensors terms.
struct WeightTensor {
  std::string name;            // HF name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::string dtype;           // "F32" | "BF16" | "F16"
  std::vector<int64_t> shape;  // dims >= 0; {} is a scalar (1 element)
  std::string bytes;           // raw little-endian data, numel * dtype size bytes
};

// A fully assembled weight version.
struct CompleteWeights {
  int64_t version = -1;
  std::vector<WeightTensor> tensors;  // sorted by name (byte-wise), names unique
};

// Bytes per element of a weight dtype name ("F32" -> 4, "BF16"/"F16" -> 2); 0 if unknown.
int64_t WeightDTypeSize(const std::string& dtype);

// Splits every tensor of `tensors` into chunks of at most `chunk_bytes` bytes following the
// layout above, in input order (tensor by tensor, chunk index ascending). Copies the data.
// Preconditions (CHECK; the learner's own weights are not untrusted input): version >= 0,
// chunk_bytes >= 1, tensors non-empty with unique non-empty names, known dtypes,
// non-negative dims, bytes.size() == numel * dtype size, chunk_count fits in int32.
std::vector<proto::WeightUpdate> ChunkWeights(int64_t version, const std::vector<WeightTensor>& tensors,
                                              int64_t chunk_bytes);

// Options of WeightAssembler (declared outside the class so `Options options = {}` compiles).
struct WeightAssemblerOptions {
  int32_t max_versions_in_flight = 2;     // incomplete versions kept at once (>= 1, CHECKed)
  int64_t max_version_bytes = 8LL << 30;  // sum of declared tensor bytes per version (>= 1); 8 GiB
};

// Reassembles chunks into complete versions.
//
// State: up to max_versions_in_flight incomplete versions being assembled, plus at most one
// complete version waiting for TakeComplete (the newest to have completed). When a version
// completes, every older version (complete or not) is discarded: it could never be used.
//
// Thread safety: not thread-safe; owned and called by one thread (the actor's weight
// subscriber loop).
class WeightAssembler {
 public:
  using Options = WeightAssemblerOptions;

  explicit WeightAssembler(Options options = {});
  // Movable, so `assembler = WeightAssembler();` forgets every version (e.g. after a learner
  // restart that may publish older version numbers). Not copyable (it may hold gigabytes).
  WeightAssembler(WeightAssembler&&) = default;
  WeightAssembler& operator=(WeightAssembler&&) = default;
  WeightAssembler(const WeightAssembler&) = delete;
  WeightAssembler& operator=(const WeightAssembler&) = delete;

  // Adds one chunk. Checks, in order:
  //   INVALID_ARGUMENT: schema_version != SCHEMA_VERSION_CURRENT, or version < 0.
  //   OK, ignored: version <= last_taken_version(), or <= the complete version waiting to be
  //     taken (already complete or superseded).
  //   INVALID_ARGUMENT: the chunk alone is inconsistent: empty tensor_name, unknown dtype,
  //     negative dim, tensor_count < 1, chunk_index outside [0, chunk_count), byte_offset /
  //     data size / chunk_count not matching the layout above for numel * dtype size bytes,
  //     or a tensor larger than max_version_bytes.
  //   DATA_LOSS: Crc32c(data) != checksum. The chunk is discarded; a later re-send of the same
  //     chunk can still complete the version.
  //   INVALID_ARGUMENT: the chunk contradicts earlier chunks of its version: tensor_count, or
  //     dtype / shape / chunk_count / chunk size of the same tensor; more distinct tensors
  //     than tensor_count; declared bytes of the version over max_version_bytes. The chunk is
  //     discarded; the state is unchanged.
  //   OK, ignored: the chunk starts a new version while max_versions_in_flight incomplete
  //     versions are held and it is older than all of them.
  //   OK: stored. Starting a new version while max_versions_in_flight incomplete versions are
  //     held first evicts the oldest (lowest version) of them. A duplicate of a chunk already
  //     held is a no-op (idempotent).
  // Messages name the version, tensor and chunk index.
  [[nodiscard]] Status Add(const proto::WeightUpdate& chunk);

  // The newest complete version, removed from the assembler; older versions are discarded and
  // last_taken_version() becomes its version. nullopt if no version is complete.
  std::optional<CompleteWeights> TakeComplete();

  // Version returned by the last TakeComplete; -1 before the first.
  int64_t last_taken_version() const { return last_taken_version_; }
  // Incomplete versions currently held (0..max_versions_in_flight).
  int32_t versions_in_flight() const { return static_cast<int32_t>(in_flight_.size()); }

 private:
  struct PendingTensor {
    std::string dtype;
    std::vector<int64_t> shape;
    int32_t chunk_count = 0;
    int64_t chunk_size = 0;      // S of the layout; 0 until known (single-chunk tensors)
    std::string bytes;           // B bytes, filled as chunks arrive
    std::vector<bool> received;  // per chunk index
    int32_t received_count = 0;
  };
  struct PendingVersion {
    int64_t version = -1;
    int32_t tensor_count = 0;
    int64_t declared_bytes = 0;  // sum of B over tensors seen so far
    int32_t complete_tensors = 0;
    std::map<std::string, PendingTensor> tensors;  // by name, so output is sorted
  };

  // Moves `version` (now complete) into complete_ and drops every older version.
  void Complete(int64_t version);

  Options options_;
  int64_t last_taken_version_ = -1;
  std::map<int64_t, PendingVersion> in_flight_;  // incomplete versions, by version
  std::optional<PendingVersion> complete_;       // newest complete version, not yet taken
};

}  // namespace mem1

#endif  // MEM1_COMMON_TRANSPORT_WEIGHT_CHUNKS_H_
