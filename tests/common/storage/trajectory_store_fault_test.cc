// TrajectoryStore faults: crash recovery (torn tails, interrupted compaction, stray
// temporaries), corrupt records and shards, another format version, a full disk.
#include "common/storage/trajectory_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
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
