// Writes valid binary seeds for the protobuf fuzz targets:
//   OUT/trajectory/*.pb      : encoded proto::Trajectory messages that pass ValidateTrajectory
//   OUT/weight_chunks/*.bin  : chunk streams in weight_chunks_fuzz.cc's framing
//   OUT/curve_key, OUT/authorized_keys : fresh CURVE key files in WriteCurveKeyPair's format
// Usage: mem1_fuzz_seeds OUT_DIR (tests/fuzz.sh does not need it; the seeds are checked in).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/transport/curve.h"
#include "common/transport/weight_chunks.h"
#include "common/transport/wire.h"

namespace {

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

mem1::proto::Trajectory Trajectory(int segments, bool with_extras) {
  mem1::proto::Trajectory t;
  t.set_schema_version(mem1::proto::SCHEMA_VERSION_CURRENT);
  t.set_actor_id("actor-0");
  t.set_episode_id(7);
  t.set_env_name("qa");
  t.set_task_id("task-3");
  t.set_policy_version(2);
  t.set_reward(1.0);
  t.set_context_policy("mem1");
  t.set_sampling_temperature(1.0f);
  int pos = 0;
  for (int i = 0; i < segments; ++i) {
    mem1::proto::Segment* s = t.add_segments();
    const bool model = i % 2 == 1;
    s->set_role(i == 0 ? mem1::proto::ROLE_PROMPT : model ? mem1::proto::ROLE_MODEL : mem1::proto::ROLE_OBSERVATION);
    for (int k = 0; k < 3 + i; ++k) {
      s->add_token_ids((i * 37 + k * 11) % 1000);
      s->add_position_ids(pos++);
      if (model) s->add_behaviour_logprobs(-0.5f * k);
    }
    for (int j = 0; j < i; ++j) s->add_attends_to(j);
    s->set_policy_version(2);
    s->set_turn(i / 2);
  }
  if (with_extras) {
    (*t.mutable_reward_components())["em"] = 1.0;
    (*t.mutable_reward_components())["f1"] = 0.5;
    t.add_format_errors("no_state");
    t.mutable_metrics()->set_turns(2);
    t.mutable_metrics()->set_f1(0.5);
    t.set_group_id(11);
    t.set_truncated(true);
  }
  return t;
}

std::string Frame(const std::vector<mem1::proto::WeightUpdate>& chunks, uint8_t flags) {
  std::string out;
  for (const auto& c : chunks) {
    const std::string b = c.SerializeAsString();
    out.push_back(static_cast<char>(flags));
    out.push_back(static_cast<char>(b.size() & 0xff));
    out.push_back(static_cast<char>((b.size() >> 8) & 0xff));
    out += b;
  }
  return out;
}

mem1::WeightTensor Tensor(const std::string& name, const std::string& dtype, std::vector<int64_t> shape) {
  mem1::WeightTensor t{name, dtype, shape, ""};
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  for (int64_t i = 0; i < numel * mem1::WeightDTypeSize(dtype); ++i) t.bytes.push_back(static_cast<char>(i * 7));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  std::filesystem::create_directories(out + "/trajectory");
  std::filesystem::create_directories(out + "/weight_chunks");
  Write(out + "/trajectory/one_segment.pb", mem1::EncodeTrajectory(Trajectory(1, false)));
  Write(out + "/trajectory/four_segments.pb", mem1::EncodeTrajectory(Trajectory(4, true)));
  Write(out + "/trajectory/seven_segments.pb", mem1::EncodeTrajectory(Trajectory(7, false)));

  const std::vector<mem1::WeightTensor> tensors = {Tensor("a.weight", "F32", {2, 3}), Tensor("b.bias", "BF16", {5}),
                                                    Tensor("c.scalar", "F16", {}), Tensor("d.empty", "F32", {0, 4})};
  // Valid checksums (flags 2: take after each chunk), several chunk sizes, two versions.
  Write(out + "/weight_chunks/v1_chunk8.bin", Frame(mem1::ChunkWeights(1, tensors, 8), 2));
  Write(out + "/weight_chunks/v1_chunk64.bin", Frame(mem1::ChunkWeights(1, tensors, 64), 2));
  auto two = mem1::ChunkWeights(1, tensors, 5);
  auto v2 = mem1::ChunkWeights(2, tensors, 7);
  two.insert(two.end(), v2.begin(), v2.end());
  Write(out + "/weight_chunks/v1_then_v2.bin", Frame(two, 3));

  std::filesystem::create_directories(out + "/curve_key");
  std::filesystem::create_directories(out + "/authorized_keys");
  std::vector<mem1::CurveKeyPair> pairs;
  for (int i = 0; i < 3; ++i) {
    auto p = mem1::GenerateCurveKeyPair();
    if (!p.ok()) {
      std::fprintf(stderr, "no CURVE: %s\n", p.status().ToString().c_str());
      return 1;
    }
    pairs.push_back(p.value());
  }
  Write(out + "/curve_key/learner.key", "public " + pairs[0].public_key + "\nsecret " + pairs[0].secret_key + "\n");
  Write(out + "/curve_key/commented.key", "# mem1 CURVE key\n\nsecret " + pairs[1].secret_key + "\npublic " +
                                             pairs[1].public_key + "\n");
  Write(out + "/curve_key/learner.pub", "public " + pairs[0].public_key + "\n");
  Write(out + "/authorized_keys/two_actors", "# actors\n" + pairs[1].public_key + " actor-1\n" + pairs[2].public_key +
                                                 " actor-2\n\n");
  Write(out + "/authorized_keys/unnamed", pairs[0].public_key + "\n");
  return 0;
}
