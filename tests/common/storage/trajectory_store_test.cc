// TrajectoryStore: exactly-once appends, journal + shard round trips, crash recovery (torn
// tails, interrupted compaction, stray temporaries), corruption and version errors, read-only
// opens that never write.
#include "common/storage/trajectory_store.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/storage/hdf5_file.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;

// A small MEM1-shaped trajectory: prompt, model turn, observation, re-encoded context, model turn.
// Every field depends on (actor, episode) so records are distinguishable.
proto::Trajectory MakeTrajectory(const std::string& actor, uint64_t episode) {
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

std::string ReadFileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every file in `dir` (name -> bytes).
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
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

TEST_F(TrajectoryStoreTest, TruncatedLastRecordIsDroppedAndReported) {
  {
    auto store = OpenOrDie(/*shard_records=*/100);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 3);
  }
  const std::string full = ReadFileBytes(journal());
  fs::resize_file(journal(), full.size() - 5);  // the third record loses its last 5 bytes

  auto store = OpenOrDie(100);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->size(), 2);
  EXPECT_EQ(store->recovery().torn_records, 1);
  const int64_t third_record_bytes = 12 + 8 + static_cast<int64_t>(MakeTrajectory("actor-a", 2).ByteSizeLong());
  EXPECT_EQ(store->recovery().torn_bytes, third_record_bytes - 5);
  EXPECT_FALSE(store->recovery().notes.empty());
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(journal())), static_cast<int64_t>(full.size()) - third_record_bytes);
  ExpectRecords(store.get(), "actor-a", 0);
  EXPECT_FALSE(store->Contains("actor-a", 2));
  // The dropped episode was never acknowledged: its re-send is stored afresh, at index 2.
  AppendRange(store.get(), "actor-a", 2, 4);
  ASSERT_TRUE(store->Close().ok());

  auto clean = OpenOrDie(100);
  ASSERT_NE(clean, nullptr);
  EXPECT_TRUE(clean->recovery().notes.empty());
  EXPECT_EQ(clean->size(), 4);
  ExpectRecords(clean.get(), "actor-a", 0);
}

TEST_F(TrajectoryStoreTest, GarbageAfterLastRecordIsDroppedAndReported) {
  {
    auto store = OpenOrDie(100);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 3);
  }
  const auto good_size = fs::file_size(journal());
  {
    std::ofstream out(journal(), std::ios::binary | std::ios::app);
    // Starts like a record header (magic, length 5 < the 8-byte minimum), then nonsense.
    const std::string garbage = std::string("M1J1", 4) + std::string("\x05\0\0\0", 4) + "garbage!!";
    out.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));  // 17 bytes
  }
  auto store = OpenOrDie(100);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->size(), 3);
  EXPECT_EQ(store->recovery().torn_records, 1);
  EXPECT_EQ(store->recovery().torn_bytes, 17);
  EXPECT_EQ(fs::file_size(journal()), good_size);
  ExpectRecords(store.get(), "actor-a", 0);
}

TEST_F(TrajectoryStoreTest, CorruptMiddleRecordIsDataLoss) {
  {
    auto store = OpenOrDie(100);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 3);
  }
  std::string bytes = ReadFileBytes(journal());
  const size_t first_record = 12 + 8 + MakeTrajectory("actor-a", 0).ByteSizeLong();
  bytes[first_record + 12 + 8 + 10] ^= 0x40;  // a payload byte of the second record
  WriteFileBytes(journal(), bytes);

  TrajectoryStoreOptions options;
  auto store = TrajectoryStore::Open(dir_.string(), options, "");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("journal.log"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("offset " + std::to_string(first_record)), std::string::npos)
      << store.status().message();
  EXPECT_EQ(ReadFileBytes(journal()), bytes);  // nothing dropped

  auto ro = TrajectoryStore::OpenReadOnly(dir_.string());
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.status().code(), StatusCode::kDataLoss);
}

TEST_F(TrajectoryStoreTest, CorruptMiddleRecordHeaderIsDataLoss) {
  {
    auto store = OpenOrDie(100);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 3);
  }
  std::string bytes = ReadFileBytes(journal());
  bytes[6] ^= 0x01;  // the first record's length field
  WriteFileBytes(journal(), bytes);
  auto store = TrajectoryStore::Open(dir_.string(), TrajectoryStoreOptions{}, "");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
}

// Compaction = write shard .tmp, fsync, rename, fsync dir, reset journal. Simulate a crash after
// the rename but before the journal reset by putting the pre-compaction journal back.
TEST_F(TrajectoryStoreTest, CrashBetweenShardRenameAndJournalResetLosesAndDuplicatesNothing) {
  {
    auto store = OpenOrDie(/*shard_records=*/100);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 4);
  }
  const std::string journal_before = ReadFileBytes(journal());
  {
    auto store = OpenOrDie(/*shard_records=*/4);  // the journal is full: sealed at open
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->recovery().shards_sealed_at_open, 1);
    EXPECT_EQ(store->shard_record_count(), 4);
  }
  ASSERT_TRUE(fs::exists(dir_ / "shard-000000.h5"));
  EXPECT_EQ(fs::file_size(journal()), 0u);
  WriteFileBytes(journal(), journal_before);  // "crash": the journal reset never happened

  auto store = OpenOrDie(4);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->size(), 4);
  EXPECT_EQ(store->recovery().journal_records_in_shards, 4);
  EXPECT_EQ(store->recovery().records_in_journal, 0);
  EXPECT_EQ(fs::file_size(journal()), 0u);  // the interrupted reset was finished
  ExpectRecords(store.get(), "actor-a", 0);
  auto dup = store->Append(MakeTrajectory("actor-a", 2));
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->index, 2);
  AppendRange(store.get(), "actor-a", 4, 6);
  ExpectRecords(store.get(), "actor-a", 0);
}

// A crash before the rename leaves shard-NNNNNN.h5.tmp (and maybe journal.log.tmp): deleted at
// open; the journal still holds the records.
TEST_F(TrajectoryStoreTest, CrashBeforeShardRenameLeavesTmpFilesThatAreDeleted) {
  {
    auto store = OpenOrDie(/*shard_records=*/4);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 6);  // shard-000000 holds 0..3, journal 4..5
  }
  fs::copy_file(dir_ / "shard-000000.h5", dir_ / "shard-000001.h5.tmp");
  WriteFileBytes(dir_ / "journal.log.tmp", "partial");
  auto store = OpenOrDie(4);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->recovery().tmp_files, 2);
  EXPECT_FALSE(fs::exists(dir_ / "shard-000001.h5.tmp"));
  EXPECT_FALSE(fs::exists(dir_ / "journal.log.tmp"));
  EXPECT_EQ(store->size(), 6);
  ExpectRecords(store.get(), "actor-a", 0);
  AppendRange(store.get(), "actor-a", 6, 9);  // seals shard-000001 for real
  EXPECT_TRUE(fs::exists(dir_ / "shard-000001.h5"));
  ExpectRecords(store.get(), "actor-a", 0);
}

TEST_F(TrajectoryStoreTest, MissingShardIsDataLoss) {
  {
    auto store = OpenOrDie(2);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 7);
  }
  fs::remove(dir_ / "shard-000001.h5");
  auto store = TrajectoryStore::Open(dir_.string(), TrajectoryStoreOptions{}, "");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("shard-000002.h5"), std::string::npos) << store.status().message();
}

TEST_F(TrajectoryStoreTest, TruncatedShardIsDataLoss) {
  {
    auto store = OpenOrDie(4);
    ASSERT_NE(store, nullptr);
    AppendRange(store.get(), "actor-a", 0, 5);
  }
  const fs::path shard = dir_ / "shard-000000.h5";
  fs::resize_file(shard, fs::file_size(shard) / 2);
  auto store = TrajectoryStore::Open(dir_.string(), TrajectoryStoreOptions{}, "");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
  EXPECT_NE(store.status().message().find("shard-000000.h5"), std::string::npos) << store.status().message();
}

TEST_F(TrajectoryStoreTest, ShardOfAnotherFormatVersionIsRefusedWithActionableMessage) {
  fs::create_directories(dir_);
  {
    auto w = Hdf5Writer::Create((dir_ / "shard-000000.h5").string());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->SetInt64("format_version", 2).ok());
    ASSERT_TRUE((*w)->SetInt64("first_index", 0).ok());
    ASSERT_TRUE((*w)->SetInt64("count", 0).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto store = TrajectoryStore::Open(dir_.string(), TrajectoryStoreOptions{}, "");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  const std::string& m = store.status().message();
  EXPECT_NE(m.find("shard-000000.h5"), std::string::npos) << m;
  EXPECT_NE(m.find("format_version 2"), std::string::npos) << m;
  EXPECT_NE(m.find("reads format_version 1"), std::string::npos) << m;
  auto ro = TrajectoryStore::OpenReadOnly(dir_.string());
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.status().code(), StatusCode::kInvalidArgument);
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


// A full disk (a 256 KiB tmpfs) on append: a clear error naming ENOSPC, never a crash (also not
// at exit: HDF5's atexit handler used to segfault on the shard whose close had failed); every
// record whose Append returned OK reads back after a reopen.
// Needs root / CAP_SYS_ADMIN for the mount; otherwise skipped with the reason.
TEST(TrajectoryStoreFaultTest, FullDiskIsAClearErrorAndEveryEarlierRecordStaysReadable) {
  const fs::path mnt = fs::temp_directory_path() / ("mem1_fulldisk_" + std::to_string(::getpid()));
  fs::create_directories(mnt);
  const std::string mount = "mount -t tmpfs -o size=256k tmpfs " + mnt.string() + " 2>/dev/null";
  if (std::system(mount.c_str()) != 0) {
    fs::remove_all(mnt);
    GTEST_SKIP() << "skipped: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)";
  }
  const std::string dir = (mnt / "store").string();
  std::vector<uint64_t> acked;  // episodes whose Append returned OK
  std::vector<Status> failures;
  {
    TrajectoryStoreOptions o;
    o.shard_records = 16;
    o.fsync = true;
    auto store = TrajectoryStore::Open(dir, o, "run: {}");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int i = 0; i < 100000 && failures.size() < 4; ++i) {
      proto::Trajectory t = MakeTrajectory("actor-a", static_cast<uint64_t>(i));
      t.set_task_id(std::string(2000, static_cast<char>('a' + i % 26)));  // ~2 KB per record
      auto r = (*store)->Append(t);
      if (r.ok()) {
        acked.push_back(static_cast<uint64_t>(i));
      } else {
        failures.push_back(r.status());
      }
    }
    (void)(*store)->Close();
  }
  ASSERT_EQ(failures.size(), 4u) << "a 256 KiB file system never filled up";
  EXPECT_GT(acked.size(), 10u);
  bool named = false;
  for (const auto& f : failures) {
    EXPECT_EQ(f.code(), StatusCode::kInternal) << f.ToString();
    std::cout << "append " << acked.size() + 1 << "+: " << f.ToString() << "\n";
    named |= f.message().find("No space left on device") != std::string::npos;
  }
  EXPECT_TRUE(named) << "no failure names the cause; first: " << failures[0].ToString();
  {
    auto ro = TrajectoryStore::OpenReadOnly(dir);
    ASSERT_TRUE(ro.ok()) << ro.status().ToString();
    std::set<uint64_t> present;
    for (int64_t i = 0; i < (*ro)->size(); ++i) {
      auto t = (*ro)->Read(i);
      ASSERT_TRUE(t.ok()) << "record " << i << ": " << t.status().ToString();
      EXPECT_TRUE(present.insert(t->episode_id()).second) << "episode " << t->episode_id() << " stored twice";
    }
    for (uint64_t e : acked) EXPECT_TRUE(present.count(e)) << "acked episode " << e << " lost";
  }
  EXPECT_EQ(std::system(("umount " + mnt.string()).c_str()), 0);
  fs::remove_all(mnt);
}

}  // namespace
}  // namespace mem1
