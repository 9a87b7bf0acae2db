// Trajectory codec and validation; the rules are specified in wire.h.
#include "common/transport/wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <string>

namespace mem1 {
namespace {

constexpr size_t kMaxIdBytesInMessages = 64;  // actor ids are shortened to this in errors

void CheckLimits(const WireLimits& limits, int64_t vocab_size) {
  CHECK_GE(vocab_size, 1) << "vocab_size";
  CHECK_GE(limits.max_message_bytes, 1);
  CHECK_GE(limits.max_trajectory_tokens, 1);
  CHECK_GE(limits.max_segments, 1);
  CHECK_GE(limits.max_string_bytes, 1);
}

// "actor-3/17": printable, bounded rendering of the trajectory's identity for messages.
std::string TrajectoryName(const proto::Trajectory& t) {
  std::string name;
  if (t.actor_id().empty()) {
    name = "(no actor_id)";
  } else {
    const std::string& id = t.actor_id();
    const size_t n = std::min(id.size(), kMaxIdBytesInMessages);
    name.reserve(n + 3);
    for (size_t i = 0; i < n; ++i) {
      const unsigned char c = static_cast<unsigned char>(id[i]);
      name.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    if (id.size() > n) name += "...";
  }
  return name + "/" + std::to_string(t.episode_id());
}

Status Invalid(const proto::Trajectory& t, const std::string& what) {
  return InvalidArgument("trajectory " + TrajectoryName(t) + ": " + what);
}

Status InvalidSegment(const proto::Trajectory& t, int index, const std::string& what) {
  return Invalid(t, "segment " + std::to_string(index) + ": " + what);
}

// %.17g: shows the exact offending double (nan, inf, -1e+300, ...).
std::string FormatDouble(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

Status CheckString(const proto::Trajectory& t, const char* field, const std::string& value, const WireLimits& limits) {
  if (static_cast<int64_t>(value.size()) > limits.max_string_bytes) {
    return Invalid(t, std::string(field) + " is " + std::to_string(value.size()) + " bytes, over max_string_bytes " +
                          std::to_string(limits.max_string_bytes));
  }
  return Status::Ok();
}

Status CheckFinite(const proto::Trajectory& t, const char* field, double value) {
  if (!std::isfinite(value)) return Invalid(t, std::string(field) + " is not finite: " + FormatDouble(value));
  return Status::Ok();
}

Status ValidateSegment(const proto::Trajectory& t, int index, const WireLimits& limits, int64_t vocab_size) {
  const proto::Segment& s = t.segments(index);
  if (s.role() == proto::ROLE_UNSPECIFIED || !proto::SegmentRole_IsValid(s.role())) {
    return InvalidSegment(t, index,
                          "role " + std::to_string(static_cast<int>(s.role())) + " is unspecified or unknown");
  }
  const int n = s.token_ids_size();
  if (n < 1) return InvalidSegment(t, index, "has no tokens");
  if (s.position_ids_size() != n) {
    return InvalidSegment(t, index,
                          std::to_string(s.position_ids_size()) + " position ids for " + std::to_string(n) + " tokens");
  }
  // Hot loops: raw pointers over the packed fields, no allocation.
  const int32_t* tokens = s.token_ids().data();
  const int32_t* positions = s.position_ids().data();
  for (int k = 0; k < n; ++k) {
    if (tokens[k] < 0 || tokens[k] >= vocab_size) {
      return InvalidSegment(
          t, index,
          "token id " + std::to_string(tokens[k]) + " outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
    if (positions[k] < 0) {
      return InvalidSegment(
          t, index, "position id " + std::to_string(positions[k]) + " at token " + std::to_string(k) + " is negative");
    }
  }
  if (s.role() == proto::ROLE_MODEL) {
    if (s.behaviour_logprobs_size() != n) {
      return InvalidSegment(t, index,
                            std::to_string(s.behaviour_logprobs_size()) + " behaviour log-probs for " +
                                std::to_string(n) + " model tokens");
    }
    const float* logprobs = s.behaviour_logprobs().data();
    for (int k = 0; k < n; ++k) {
      // Written so that NaN fails too.
      if (!(std::isfinite(logprobs[k]) && logprobs[k] <= kMaxLogprob)) {
        return InvalidSegment(t, index,
                              "behaviour log-prob " + FormatDouble(logprobs[k]) + " at token " + std::to_string(k) +
                                  " is not a finite log-probability (<= " + FormatDouble(kMaxLogprob) + ")");
      }
    }
  } else if (s.behaviour_logprobs_size() != 0) {
    return InvalidSegment(t, index,
                          std::to_string(s.behaviour_logprobs_size()) +
                              " behaviour log-probs on a segment that is not ROLE_MODEL (role " +
                              proto::SegmentRole_Name(s.role()) + ")");
  }
  int32_t previous = -1;
  for (int k = 0; k < s.attends_to_size(); ++k) {
    const int32_t target = s.attends_to(k);
    if (target < 0 || target >= index) {
      return InvalidSegment(
          t, index,
          "attends_to " + std::to_string(target) + " is not an earlier segment [0, " + std::to_string(index) + ")");
    }
    if (target <= previous) {
      return InvalidSegment(t, index,
                            "attends_to is not strictly increasing (" + std::to_string(previous) + " then " +
                                std::to_string(target) + ")");
    }
    previous = target;
  }
  if (s.policy_version() < 0) {
    return InvalidSegment(t, index, "policy_version " + std::to_string(s.policy_version()) + " is negative");
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeTrajectory(const proto::Trajectory& t) {
  const size_t size = t.ByteSizeLong();
  CHECK_LE(size, static_cast<size_t>(INT_MAX)) << "trajectory too large for protobuf";
  std::string out(size, '\0');
  google::protobuf::io::ArrayOutputStream array(out.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&array);
  coded.SetSerializationDeterministic(true);
  t.SerializeWithCachedSizes(&coded);
  CHECK(!coded.HadError());
  CHECK_EQ(static_cast<size_t>(coded.ByteCount()), size);
  return out;
}

Result<proto::Trajectory> DecodeTrajectory(const void* data, size_t size, const WireLimits& limits,
                                           int64_t vocab_size) {
  CheckLimits(limits, vocab_size);
  CHECK(data != nullptr || size == 0);
  if (size > static_cast<uint64_t>(limits.max_message_bytes) || size > static_cast<size_t>(INT_MAX)) {
    return InvalidArgument("trajectory message of " + std::to_string(size) + " bytes exceeds max_message_bytes " +
                           std::to_string(limits.max_message_bytes));
  }
  proto::Trajectory t;
  if (!t.ParseFromArray(data, static_cast<int>(size))) {
    return DataLoss("trajectory message of " + std::to_string(size) +
                    " bytes does not parse as mem1.proto.Trajectory (truncated or corrupt)");
  }
  MEM1_RETURN_IF_ERROR(ValidateTrajectory(t, limits, vocab_size));
  return t;
}

Status ValidateTrajectory(const proto::Trajectory& t, const WireLimits& limits, int64_t vocab_size) {
  CheckLimits(limits, vocab_size);
  if (t.schema_version() != proto::SCHEMA_VERSION_CURRENT) {
    return Invalid(t, "schema_version " + std::to_string(static_cast<int>(t.schema_version())) + ", expected " +
                          std::to_string(static_cast<int>(proto::SCHEMA_VERSION_CURRENT)) +
                          " (actor and learner were built from different mem1.proto versions)");
  }
  if (t.actor_id().empty()) return Invalid(t, "actor_id is empty");
  MEM1_RETURN_IF_ERROR(CheckString(t, "actor_id", t.actor_id(), limits));
  MEM1_RETURN_IF_ERROR(CheckString(t, "env_name", t.env_name(), limits));
  MEM1_RETURN_IF_ERROR(CheckString(t, "task_id", t.task_id(), limits));
  MEM1_RETURN_IF_ERROR(CheckString(t, "context_policy", t.context_policy(), limits));
  for (int i = 0; i < t.format_errors_size(); ++i) {
    MEM1_RETURN_IF_ERROR(CheckString(t, "a format_errors flag", t.format_errors(i), limits));
  }
  for (const auto& [name, value] : t.reward_components()) {
    MEM1_RETURN_IF_ERROR(CheckString(t, "a reward_components name", name, limits));
    if (!std::isfinite(value)) {
      return Invalid(t, "reward_components[\"" + name + "\"] is not finite: " + FormatDouble(value));
    }
  }
  if (t.policy_version() < 0) {
    return Invalid(t, "policy_version " + std::to_string(t.policy_version()) + " is negative");
  }
  MEM1_RETURN_IF_ERROR(CheckFinite(t, "reward", t.reward()));
  MEM1_RETURN_IF_ERROR(CheckFinite(t, "metrics.wall_seconds", t.metrics().wall_seconds()));
  MEM1_RETURN_IF_ERROR(CheckFinite(t, "metrics.exact_match", t.metrics().exact_match()));
  MEM1_RETURN_IF_ERROR(CheckFinite(t, "metrics.f1", t.metrics().f1()));
  if (!(std::isfinite(t.sampling_temperature()) && t.sampling_temperature() >= 0)) {
    return Invalid(t, "sampling_temperature " + FormatDouble(t.sampling_temperature()) + " is not a finite value >= 0");
  }
  if (t.segments_size() < 1) return Invalid(t, "has no segments");
  if (t.segments_size() > limits.max_segments) {
    return Invalid(
        t, std::to_string(t.segments_size()) + " segments, over max_segments " + std::to_string(limits.max_segments));
  }
  int64_t total_tokens = 0;
  for (int i = 0; i < t.segments_size(); ++i) {
    MEM1_RETURN_IF_ERROR(ValidateSegment(t, i, limits, vocab_size));
    total_tokens += t.segments(i).token_ids_size();
    if (total_tokens > limits.max_trajectory_tokens) {
      return Invalid(t, "more than max_trajectory_tokens " + std::to_string(limits.max_trajectory_tokens) +
                            " tokens (" + std::to_string(total_tokens) + " by segment " + std::to_string(i) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace mem1
