// Shared by the TrajectoryStore test files: a MEM1-shaped test trajectory, file helpers and
// the fixture (a fresh store directory per test).
#ifndef MEM1_TESTS_COMMON_STORAGE_TRAJECTORY_STORE_TEST_UTIL_H_
#define MEM1_TESTS_COMMON_STORAGE_TRAJECTORY_STORE_TEST_UTIL_H_

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "common/storage/trajectory_store.h"

namespace mem1::store_testing {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;

// A small MEM1-shaped trajectory: prompt, model turn, observation, re-encoded context, model turn.
// Every field depends on (actor, episode) so records are distinguishable.
inline proto::Trajectory MakeTrajectory(const std::string& actor, uint64_t episode) {
  proto::Trajectory t;
  t.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
  t.set_actor_id(actor);
  t.set_episode_id(episode);
  t.set_env_name(episode % 3 == 0 ? "webshop" : "qa");
  t.set_task_id("task-" + std::to_string(episode * 7 % 11));
  t.set_policy_version(static_cast<int64_t>(episode / 2));
  t.set_group_id(episode / 4);
  t.set_reward(0.25 * static_cast<double>(episode % 5));
  (*t.mutable_reward_components())["em"] = 0.5 * static_cast<double>(episode % 3);
  (*t.mutable_reward_components())["format"] = -0.1;
  t.set_context_policy("mem1");
  t.set_sampling_temperature(1.0f);
  const proto::SegmentRole roles[] = {proto::ROLE_PROMPT, proto::ROLE_MODEL, proto::ROLE_OBSERVATION,
                                      proto::ROLE_CONTEXT, proto::ROLE_MODEL};
  int32_t position = 0;
  for (int s = 0; s < 5; ++s) {
    proto::Segment* seg = t.add_segments();
    seg->set_role(roles[s]);
    seg->set_turn(s < 2 ? 0 : 1);
    const int n = 3 + static_cast<int>((episode + s) % 4);
    for (int i = 0; i < n; ++i) {
      seg->add_token_ids(static_cast<int32_t>(100 + episode * 10 + s * 3 + i));
      seg->add_position_ids(position++);
      if (roles[s] == proto::ROLE_MODEL) seg->add_behaviour_logprobs(-0.01f * static_cast<float>(i + 1));
    }
    for (int a = 0; a < s; ++a) seg->add_attends_to(a);
    if (roles[s] == proto::ROLE_MODEL) seg->set_policy_version(t.policy_version());
  }
  t.mutable_metrics()->set_peak_tokens(20 + static_cast<int64_t>(episode));
  t.mutable_metrics()->set_turns(2);
  t.mutable_metrics()->set_generated_tokens(t.segments(1).token_ids_size() + t.segments(4).token_ids_size());
  return t;
}

inline std::string ReadFileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every file in `dir` (name -> bytes).
inline std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files[e.path().filename().string()] = ReadFileBytes(e.path());
  return files;
}

class TrajectoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("trajectory_store_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    // MEM1_KEEP_STORE_TEST_DIRS=1 keeps the stores (e.g. to try `mem1 inspect` on them).
    if (std::getenv("MEM1_KEEP_STORE_TEST_DIRS") == nullptr) fs::remove_all(dir_);
  }

  std::unique_ptr<TrajectoryStore> OpenOrDie(int64_t shard_records = 4) {
    TrajectoryStoreOptions options;
    options.shard_records = shard_records;
    options.compression_level = 1;
    auto store = TrajectoryStore::Open(dir_.string(), options, "run:\n  dir: test\n");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Appends episodes [from, to) of `actor`, expecting fresh consecutive indices.
  void AppendRange(TrajectoryStore* store, const std::string& actor, uint64_t from, uint64_t to) {
    for (uint64_t e = from; e < to; ++e) {
      const int64_t expected = store->size();
      auto r = store->Append(MakeTrajectory(actor, e));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_FALSE(r->duplicate);
      EXPECT_EQ(r->index, expected);
    }
  }

  // Record i must be MakeTrajectory(actor, first_episode + i) for every i.
  void ExpectRecords(TrajectoryStore* store, const std::string& actor, uint64_t first_episode) {
    for (int64_t i = 0; i < store->size(); ++i) {
      auto t = store->Read(i);
      ASSERT_TRUE(t.ok()) << "index " << i << ": " << t.status().ToString();
      EXPECT_TRUE(MessageDifferencer::Equals(*t, MakeTrajectory(actor, first_episode + static_cast<uint64_t>(i))))
          << "index " << i;
    }
  }

  fs::path journal() const { return dir_ / "journal.log"; }

  fs::path dir_;
};

}  // namespace mem1::store_testing

#endif  // MEM1_TESTS_COMMON_STORAGE_TRAJECTORY_STORE_TEST_UTIL_H_
