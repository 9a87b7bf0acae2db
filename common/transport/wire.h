// Trajectory wire codec: the bytes an actor sends to the learner, and the validation the
// learner applies to every message before it touches the trajectory store or the batcher.
//
// Encoding: a proto::Trajectory (common/proto/mem1.proto) in protobuf binary format,
// serialized deterministically (map entries sorted by key), so equal messages give equal
// bytes (useful for journals and checksums). No framing is added: one ZeroMQ message holds
// exactly one Trajectory.
//
// Validation (ValidateTrajectory) accepts a trajectory iff all of the following hold. They
// are checked in this order and the first violation found is reported:
//   * schema_version == SCHEMA_VERSION_CURRENT;
//   * actor_id is non-empty; actor_id, env_name, task_id, context_policy, every
//     format_errors flag and every reward_components name are <= max_string_bytes bytes;
//   * policy_version >= 0; reward, every reward_components value, metrics.wall_seconds,
//     metrics.exact_match and metrics.f1 are finite; sampling_temperature is finite, >= 0;
//   * 1 <= segments_size() <= max_segments;
//   * every segment i:
//       - role is a known SegmentRole other than ROLE_UNSPECIFIED;
//       - n = token_ids_size() >= 1 and position_ids_size() == n;
//       - every token id lies in [0, vocab_size); every position id is >= 0;
//       - ROLE_MODEL: behaviour_logprobs_size() == n and every value is finite and
//         <= kMaxLogprob (a log-probability; the slack absorbs fp32 rounding of log 1);
//         any other role: behaviour_logprobs is empty;
//       - attends_to is strictly increasing (no duplicates) and every entry lies in [0, i)
//         (a segment may only see earlier segments);
//       - policy_version >= 0;
//   * the sum of n over all segments is <= max_trajectory_tokens.
// Errors are INVALID_ARGUMENT with a message naming the trajectory ("actor-3/17"), the
// segment index and the offending value, e.g.
//   "trajectory actor-3/17: segment 4: token id 9001 outside the vocabulary [0, 8192)".
//
// Cost: one pass over the tokens, no allocation unless an error message is built.
// Thread safety: pure functions; safe from any thread.
#ifndef MEM1_COMMON_TRANSPORT_WIRE_H_
#define MEM1_COMMON_TRANSPORT_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1 {

// Largest accepted behaviour log-prob (log p <= 0 up to fp32 rounding).
inline constexpr float kMaxLogprob = 1e-3f;

// Size limits applied by the learner to every incoming trajectory. All must be >= 1
// (CHECKed by the functions below).
struct WireLimits {
  int64_t max_message_bytes = 64 << 20;     // encoded Trajectory size, bytes (64 MiB)
  int64_t max_trajectory_tokens = 1 << 20;  // sum of token_ids over all segments
  int32_t max_segments = 4096;              // segments per trajectory
  int32_t max_string_bytes = 4096;          // any one string field / flag / component name
};

// Deterministic protobuf serialization of `t` (map entries sorted by key). Does not
// validate. CHECK-fails only if `t` is too large for protobuf (>= 2 GiB).
std::string EncodeTrajectory(const proto::Trajectory& t);

// Parses `size` bytes at `data` and validates the result with ValidateTrajectory.
// Returns:
//   INVALID_ARGUMENT if size > limits.max_message_bytes (checked before parsing);
//   DATA_LOSS if the bytes do not parse as a proto::Trajectory (truncated / corrupt);
//   INVALID_ARGUMENT if the parsed trajectory breaks a rule above.
// Precondition (CHECK): vocab_size >= 1; limits fields >= 1; data != nullptr unless size == 0.
[[nodiscard]] Result<proto::Trajectory> DecodeTrajectory(const void* data, size_t size, const WireLimits& limits,
                                                         int64_t vocab_size);

// OK iff `t` satisfies every rule in the file comment; otherwise INVALID_ARGUMENT naming
// the first violation. Does not check the encoded size (DecodeTrajectory does).
// Precondition (CHECK): vocab_size >= 1; limits fields >= 1.
[[nodiscard]] Status ValidateTrajectory(const proto::Trajectory& t, const WireLimits& limits, int64_t vocab_size);

}  // namespace mem1

#endif  // MEM1_COMMON_TRANSPORT_WIRE_H_
