// TrajectoryStore: exactly-once appends, journal + shard round trips, read-only opens that
// never write, limits and options. Crash recovery, corruption, version errors and a full disk
// are in trajectory_store_fault_test.cc.
#include "common/storage/trajectory_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/storage/hdf5_file.h"
#include "tests/common/storage/trajectory_store_test_util.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;
using store_testing::MakeTrajectory;
using store_testing::ReadFileBytes;
using store_testing::Snapshot;
using store_testing::TrajectoryStoreTest;
using store_testing::WriteFileBytes;


TEST_F(TrajectoryStoreTest, AppendThenReadBackFromShardsAndJournal) {
  auto store = OpenOrDie(/*shard_records=*/4);
  ASSERT_NE(store, nullptr);
  AppendRange(store.get(), "actor-a", 0, 11);
  EXPECT_EQ(store->size(), 11);
  EXPECT_EQ(store->shard_record_count(), 8);  // two sealed shards, 3 records in the journal
  EXPECT_TRUE(fs::exists(dir_ / "shard-000000.h5"));
  EXPECT_TRUE(fs::exists(dir_ / "shard-000001.h5"));
  EXPECT_FALSE(fs::exists(dir_ / "shard-000002.h5"));
  ExpectRecords(store.get(), "actor-a", 0);
  // Reading out of order (shard reader cache switches back and forth) gives the same records.
  for (int64_t i : {9, 1, 5, 0, 10, 4}) {
    auto t = store->Read(i);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->episode_id(), static_cast<uint64_t>(i));
  }
  ASSERT_TRUE(store->Close().ok());

  auto again = OpenOrDie(4);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->size(), 11);
  EXPECT_TRUE(again->recovery().notes.empty());
  EXPECT_EQ(again->recovery().records_in_shards, 8);
  EXPECT_EQ(again->recovery().records_in_journal, 3);
  ExpectRecords(again.get(), "actor-a", 0);
}

TEST_F(TrajectoryStoreTest, ShardHoldsAttributesAndColumns) {
  auto store = OpenOrDie(4);
  ASSERT_NE(store, nullptr);
  AppendRange(store.get(), "actor-a", 0, 8);
  ASSERT_TRUE(store->Close().ok());
  auto reader = Hdf5Reader::Open((dir_ / "shard-000001.h5").string());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->GetInt64("format_version").value(), 1);
  EXPECT_EQ((*reader)->GetInt64("first_index").value(), 4);
  EXPECT_EQ((*reader)->GetInt64("count").value(), 4);
  EXPECT_GT((*reader)->GetInt64("created_unix").value(), 1600000000);
  std::vector<double> reward;
  std::vector<int64_t> shape;
  ASSERT_TRUE((*reader)->ReadDoubles("reward", &reward, &shape).ok());
  ASSERT_EQ(reward.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(reward[i], MakeTrajectory("actor-a", 4 + i).reward());
  // record_bytes is the concatenation of the serialized records.
  std::vector<uint8_t> bytes;
  ASSERT_TRUE((*reader)->ReadBytes("record_bytes", &bytes).ok());
  proto::Trajectory first;
  const size_t first_len = MakeTrajectory("actor-a", 4).ByteSizeLong();
  ASSERT_GE(bytes.size(), first_len);
  ASSERT_TRUE(first.ParseFromArray(bytes.data(), static_cast<int>(first_len)));
  EXPECT_TRUE(MessageDifferencer::Equals(first, MakeTrajectory("actor-a", 4)));
  for (const char* name : {"record_offsets", "token_ids", "token_offsets", "episode_id", "policy_version",
                           "num_tokens", "peak_tokens", "group_id", "actor_id", "env_name", "task_id"}) {
    EXPECT_TRUE((*reader)->Has(name)) << name;
  }
  // The run config travels with the shard (read back through the read-only opener).
  auto ro = TrajectoryStore::OpenReadOnly(dir_.string());
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ((*ro)->config_yaml(), "run:\n  dir: test\n");
}

TEST_F(TrajectoryStoreTest, DuplicateActorEpisodeIsStoredOnce) {
  auto store = OpenOrDie(/*shard_records=*/2);
  ASSERT_NE(store, nullptr);
  AppendRange(store.get(), "actor-a", 0, 3);  // indices 0, 1 sealed in a shard; 2 in the journal
  for (uint64_t e : {0, 1, 2}) {
    auto r = store->Append(MakeTrajectory("actor-a", e));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->duplicate);
    EXPECT_EQ(r->index, static_cast<int64_t>(e));
  }
  EXPECT_EQ(store->size(), 3);
  // Same episode id from another actor is a different trajectory.
  auto other = store->Append(MakeTrajectory("actor-b", 1));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->duplicate);
  EXPECT_EQ(other->index, 3);
  EXPECT_TRUE(store->Contains("actor-b", 1));
  EXPECT_FALSE(store->Contains("actor-b", 0));
  ASSERT_TRUE(store->Close().ok());

  auto again = OpenOrDie(2);
  ASSERT_NE(again, nullptr);
  for (const auto& [actor, episode, index] :
       std::vector<std::tuple<std::string, uint64_t, int64_t>>{{"actor-a", 0, 0}, {"actor-a", 2, 2}, {"actor-b", 1, 3}}) {
    auto r = again->Append(MakeTrajectory(actor, episode));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->duplicate) << actor << " " << episode;
    EXPECT_EQ(r->index, index);
  }
  EXPECT_EQ(again->size(), 4);
}

TEST_F(TrajectoryStoreTest, ReopenContinuesDenseIndices) {
  {
    auto store = OpenOrDie(4);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 7);
  }  // destructor closes
  auto store = OpenOrDie(4);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->size(), 7);
  EXPECT_EQ(store->Find("actor-a", 5), std::optional<int64_t>(5));
  AppendRange(store.get(), "actor-a", 7, 10);
  EXPECT_EQ(store->size(), 10);
  EXPECT_EQ(store->shard_record_count(), 8);
  ExpectRecords(store.get(), "actor-a", 0);
}
TEST_F(TrajectoryStoreTest, OpenReadOnlyNeverModifiesFiles) {
  {
    auto store = OpenOrDie(4);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 10);  // 2 shards + 2 journal records
  }
  // Everything a read-write open would repair: a torn tail, stray temporaries.
  {
    std::ofstream out(journal(), std::ios::binary | std::ios::app);
    out << "torn";
  }
  WriteFileBytes(dir_ / "shard-000002.h5.tmp", "half a shard");
  const auto before = Snapshot(dir_);
  {
    auto ro = TrajectoryStore::OpenReadOnly(dir_.string());
    ASSERT_TRUE(ro.ok()) << ro.status().ToString();
    EXPECT_TRUE((*ro)->read_only());
    EXPECT_EQ((*ro)->size(), 10);
    EXPECT_EQ((*ro)->recovery().torn_bytes, 4);
    EXPECT_EQ((*ro)->recovery().tmp_files, 1);
    ExpectRecords(ro->get(), "actor-a", 0);
    ASSERT_TRUE((*ro)->Sync().ok());
  }
  EXPECT_EQ(Snapshot(dir_), before);

  const fs::path missing = dir_ / "no-such-store";
  auto none = TrajectoryStore::OpenReadOnly(missing.string());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(missing));
}

TEST_F(TrajectoryStoreTest, ReadOnlyViewSurvivesConcurrentCompaction) {
  auto writer = OpenOrDie(4);
  ASSERT_NE(writer, nullptr);
  AppendRange(writer.get(), "actor-a", 0, 3);
  auto ro = TrajectoryStore::OpenReadOnly(dir_.string());
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  AppendRange(writer.get(), "actor-a", 3, 6);  // seals 0..3 and resets the journal
  EXPECT_EQ((*ro)->size(), 3);
  ExpectRecords(ro->get(), "actor-a", 0);
}

TEST_F(TrajectoryStoreTest, RecordOverMaxRecordBytesIsRefused) {
  TrajectoryStoreOptions options;
  options.max_record_bytes = 64;
  auto store = TrajectoryStore::Open(dir_.string(), options, "");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto r = (*store)->Append(MakeTrajectory("actor-a", 0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("max_record_bytes 64"), std::string::npos) << r.status().message();
  EXPECT_EQ((*store)->size(), 0);
  EXPECT_FALSE((*store)->Contains("actor-a", 0));
  EXPECT_EQ(fs::file_size(journal()), 0u);
}

TEST_F(TrajectoryStoreTest, BadOptionsAndOutOfRangeReads) {
  TrajectoryStoreOptions options;
  options.shard_records = 0;
  auto bad = TrajectoryStore::Open(dir_.string(), options, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("shard_records"), std::string::npos);

  auto store = OpenOrDie(4);
  ASSERT_NE(store, nullptr);
  AppendRange(store.get(), "actor-a", 0, 2);
  EXPECT_EQ(store->Read(2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Read(-1).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TrajectoryStoreTest, SecondWriterOnSameDirectoryIsUnavailable) {
  auto first = OpenOrDie(4);
  ASSERT_NE(first, nullptr);
  auto second = TrajectoryStore::Open(dir_.string(), TrajectoryStoreOptions{}, "");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(first->Close().ok());
  auto third = TrajectoryStore::Open(dir_.string(), TrajectoryStoreOptions{}, "");
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST_F(TrajectoryStoreTest, NoFsyncOptionStillRoundTrips) {
  TrajectoryStoreOptions options;
  options.fsync = false;
  options.shard_records = 3;
  options.compression_level = 0;
  {
    auto store = TrajectoryStore::Open(dir_.string(), options, "");
    ASSERT_TRUE(store.ok());
    AppendRange(store->get(), "actor-a", 0, 5);
    ASSERT_TRUE((*store)->Sync().ok());
    ASSERT_TRUE((*store)->Close().ok());
  }
  auto store = TrajectoryStore::Open(dir_.string(), options, "");
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->size(), 5);
  ExpectRecords(store->get(), "actor-a", 0);
}

TEST(TrajectoryStoreDirTest, RecognisesStoreDirectories) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("trajectory_store_dir_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_FALSE(IsTrajectoryStoreDir(dir.string()));
  WriteFileBytes(dir / "journal.log", "");
  EXPECT_TRUE(IsTrajectoryStoreDir(dir.string()));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mem1
