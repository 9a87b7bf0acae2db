// TrajectoryStore: journal (CRC-32C framed records, trajectory_journal.h) + sealed HDF5 shards
// (trajectory_shard.h). The format is specified in trajectory_store_format.md. This file holds
// the store itself: the directory layout, open/recover, append, compact and read.
#include "common/storage/trajectory_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <unordered_map>
#include <utility>

#include "common/storage/trajectory_journal.h"
#include "common/storage/trajectory_shard.h"
#include "common/util/files.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;
using store_internal::EncodeJournalRecord;
using store_internal::FrameJournalPayload;
using store_internal::JournalEntry;
using store_internal::JournalPayloadIndex;
using store_internal::JournalScan;
using store_internal::kIndexBytes;
using store_internal::kMaxRecordBytesLimit;
using store_internal::kRecordHeaderBytes;
using store_internal::QuietHdf5;
using store_internal::ReadJournalRecord;
using store_internal::ScanJournal;
using store_internal::ShardColumns;
using store_internal::ShardReader;
using store_internal::WriteShardFile;

constexpr char kJournalName[] = "journal.log";
constexpr char kJournalTmpName[] = "journal.log.tmp";
constexpr char kLockName[] = "LOCK";
constexpr char kShardPrefix[] = "shard-";
constexpr char kShardSuffix[] = ".h5";
constexpr char kTmpSuffix[] = ".tmp";

std::string JoinPath(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

// Parses "shard-NNNNNN.h5" -> NNNNNN; -1 for any other name.
int64_t ShardNumber(const std::string& name) {
  const size_t p = sizeof(kShardPrefix) - 1, s = sizeof(kShardSuffix) - 1;
  if (name.size() <= p + s || name.compare(0, p, kShardPrefix) != 0 ||
      name.compare(name.size() - s, s, kShardSuffix) != 0) {
    return -1;
  }
  const std::string digits = name.substr(p, name.size() - p - s);
  if (digits.size() > 15 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoll(digits);
}

std::string ShardName(int64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%s%06lld%s", kShardPrefix, static_cast<long long>(number), kShardSuffix);
  return buf;
}

bool IsOurTmpFile(const std::string& name) {
  const size_t t = sizeof(kTmpSuffix) - 1;
  if (name.size() <= t || name.compare(name.size() - t, t, kTmpSuffix) != 0) return false;
  const std::string base = name.substr(0, name.size() - t);
  return base == kJournalName || ShardNumber(base) >= 0;
}

}  // namespace

struct TrajectoryStore::Rep {
  struct Shard {
    std::string path;
    int64_t first_index = 0;
    int64_t count = 0;
  };

  std::string dir;
  TrajectoryStoreOptions options;
  std::string config_yaml;
  bool read_only = false;
  bool closed = false;
  int lock_fd = -1;
  int journal_fd = -1;        // -1 only for a read-only store without journal.log
  std::string journal_path;
  int64_t journal_end = 0;    // append offset (end of the last valid record)
  std::vector<Shard> shards;  // contiguous, in index order
  int64_t shard_end = 0;      // first index not in a shard
  int64_t next_shard_number = 0;
  std::vector<JournalEntry> journal;  // journal[i] holds index shard_end + i (keys cleared)
  std::unordered_map<std::string, std::unordered_map<uint64_t, int64_t>> keys;
  TrajectoryStoreRecovery recovery;
  std::unique_ptr<ShardReader> cached_reader;
  size_t cached_shard = 0;
  Status failed;  // sticky Append failure (fsync error or un-truncatable partial write)

  ~Rep() {
    if (journal_fd >= 0) ::close(journal_fd);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  int64_t size() const { return shard_end + static_cast<int64_t>(journal.size()); }

  std::optional<int64_t> Find(const std::string& actor, uint64_t episode) const {
    auto a = keys.find(actor);
    if (a == keys.end()) return std::nullopt;
    auto e = a->second.find(episode);
    if (e == a->second.end()) return std::nullopt;
    return e->second;
  }

  // Inserts a key found during recovery; the first index wins.
  void AddRecoveredKey(const std::string& actor, uint64_t episode, int64_t index, const std::string& where) {
    auto [it, inserted] = keys[actor].emplace(episode, index);
    if (!inserted) {
      ++recovery.duplicate_keys;
      recovery.notes.push_back(where + ": (actor " + actor + ", episode " + std::to_string(episode) +
                               ") is stored at index " + std::to_string(it->second) + " and again at " +
                               std::to_string(index) + "; reads keep both, dedup uses the first");
    }
  }

  Status OpenJournal();
  Status ListDirectory(std::vector<std::pair<int64_t, std::string>>* shard_files);
  Status LoadShards(const std::vector<std::pair<int64_t, std::string>>& shard_files);
  Status RecoverJournal();
  Status RewriteJournal(const std::vector<JournalEntry>& keep);
  Status Compact();
  Result<std::string> ReadJournalPayload(const JournalEntry& e) const;
  Status Recover();
};

Status TrajectoryStore::Rep::OpenJournal() {
  journal_path = JoinPath(dir, kJournalName);
  if (read_only) {
    journal_fd = ::open(journal_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (journal_fd < 0 && errno != ENOENT) return Internal(journal_path + ": cannot open: " + ErrnoText());
    return Status::Ok();
  }
  const bool existed = fs::exists(journal_path);
  journal_fd = ::open(journal_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (journal_fd < 0) return Internal(journal_path + ": cannot open for writing: " + ErrnoText());
  if (!existed) MEM1_RETURN_IF_ERROR(SyncPath(dir, /*directory=*/true));
  return Status::Ok();
}

Status TrajectoryStore::Rep::ListDirectory(std::vector<std::pair<int64_t, std::string>>* shard_files) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (IsOurTmpFile(name)) {
      ++recovery.tmp_files;
      if (read_only) {
        recovery.notes.push_back(name + ": leftover temporary file ignored (read-only)");
      } else {
        if (::unlink(entry.path().c_str()) != 0) {
          return Internal(entry.path().string() + ": cannot delete leftover temporary file: " + ErrnoText());
        }
        recovery.notes.push_back(name + ": leftover temporary file of an interrupted write deleted");
      }
      continue;
    }
    const int64_t number = ShardNumber(name);
    if (number >= 0) shard_files->emplace_back(number, entry.path().string());
  }
  if (ec) return Internal(dir + ": cannot list directory: " + ec.message());
  if (!read_only && recovery.tmp_files > 0) MEM1_RETURN_IF_ERROR(SyncPath(dir, /*directory=*/true));
  std::sort(shard_files->begin(), shard_files->end());
  return Status::Ok();
}

Status TrajectoryStore::Rep::LoadShards(const std::vector<std::pair<int64_t, std::string>>& shard_files) {
  for (const auto& [number, path] : shard_files) {
    MEM1_ASSIGN_OR_RETURN(auto reader, ShardReader::Open(path));
    if (reader->first_index() != shard_end) {
      return DataLoss(path + ": starts at index " + std::to_string(reader->first_index()) +
                      " but the shards before it end at index " + std::to_string(shard_end) +
                      (reader->first_index() > shard_end ? ": a shard is missing" : ": shards overlap"));
    }
    std::vector<std::string> actors;
    std::vector<uint64_t> episodes;
    MEM1_RETURN_IF_ERROR(reader->ReadKeys(&actors, &episodes));
    const std::string name = fs::path(path).filename().string();
    for (int64_t i = 0; i < reader->count(); ++i) {
      AddRecoveredKey(actors[i], episodes[i], shard_end + i, name);
    }
    if (read_only) {
      MEM1_ASSIGN_OR_RETURN(config_yaml, reader->ConfigYaml());
    }
    shards.push_back({path, shard_end, reader->count()});
    shard_end += reader->count();
    next_shard_number = number + 1;
    ++recovery.shards;
  }
  recovery.records_in_shards = shard_end;
  return Status::Ok();
}

Status TrajectoryStore::Rep::RecoverJournal() {
  if (journal_fd < 0) return Status::Ok();  // read-only store with shards only
  MEM1_ASSIGN_OR_RETURN(JournalScan scan, ScanJournal(journal_fd, journal_path));
  std::vector<JournalEntry> keep;
  for (auto& e : scan.entries) {
    if (e.index < shard_end) {  // sealed already: crash between shard rename and journal reset
      const auto at = Find(e.actor_id, e.episode_id);
      if (!at || *at != e.index) {
        return DataLoss(journal_path + ": record at offset " + std::to_string(e.offset) + " (index " +
                        std::to_string(e.index) + ", actor " + e.actor_id + ", episode " +
                        std::to_string(e.episode_id) + ") disagrees with the shard holding index " +
                        std::to_string(e.index) + ": the journal belongs to another store?");
      }
      ++recovery.journal_records_in_shards;
      continue;
    }
    const int64_t expected = shard_end + static_cast<int64_t>(keep.size());
    if (e.index != expected) {
      return DataLoss(journal_path + ": record at offset " + std::to_string(e.offset) + " has index " +
                      std::to_string(e.index) + " but index " + std::to_string(expected) +
                      " was expected (shards end at " + std::to_string(shard_end) + "): records are missing");
    }
    keep.push_back(e);
  }
  if (recovery.journal_records_in_shards > 0) {
    recovery.notes.push_back(std::string(kJournalName) + ": " + std::to_string(recovery.journal_records_in_shards) +
                             " record(s) already sealed in a shard skipped (interrupted journal reset)");
  }
  for (const auto& e : keep) AddRecoveredKey(e.actor_id, e.episode_id, e.index, kJournalName);
  recovery.records_in_journal = static_cast<int64_t>(keep.size());
  journal_end = scan.valid_end;

  if (scan.valid_end < scan.file_size) {
    recovery.torn_records = 1;
    recovery.torn_bytes = scan.file_size - scan.valid_end;
    const std::string what = std::string(kJournalName) + ": torn tail of " + std::to_string(recovery.torn_bytes) +
                             " byte(s) after the last valid record (offset " + std::to_string(scan.valid_end) + ")";
    if (read_only) {
      recovery.notes.push_back(what + " ignored (read-only)");
    } else {
      if (::ftruncate(journal_fd, scan.valid_end) != 0) {
        return Internal(journal_path + ": cannot truncate torn tail to " + std::to_string(scan.valid_end) +
                        " bytes: " + ErrnoText());
      }
      MEM1_RETURN_IF_ERROR(SyncFd(journal_fd, journal_path));
      recovery.notes.push_back(what + " dropped");
    }
  }
  journal = std::move(keep);
  for (auto& e : journal) e.actor_id.clear();
  if (!read_only && recovery.journal_records_in_shards > 0) MEM1_RETURN_IF_ERROR(RewriteJournal(journal));
  return Status::Ok();
}

// Writes `keep` (records of the current journal) to journal.log.tmp, fsyncs it and renames it
// over journal.log. On success the journal fd and offsets refer to the new file; on failure
// before the rename nothing changed.
Status TrajectoryStore::Rep::RewriteJournal(const std::vector<JournalEntry>& keep) {
  const std::string tmp = JoinPath(dir, kJournalTmpName);
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal(tmp + ": cannot create: " + ErrnoText());
  std::vector<JournalEntry> moved;
  int64_t end = 0;
  Status st;
  for (const auto& e : keep) {
    auto payload = ReadJournalPayload(e);
    if (!payload.ok()) {
      st = payload.status();
      break;
    }
    const std::string rec = FrameJournalPayload(e.payload_len, *payload);
    st = PwriteAll(fd, rec.data(), rec.size(), end, tmp);
    if (!st.ok()) break;
    JournalEntry n = e;
    n.offset = end;
    moved.push_back(n);
    end += static_cast<int64_t>(rec.size());
  }
  if (st.ok()) st = SyncFd(fd, tmp);
  if (!st.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), journal_path.c_str()) != 0) {
    const std::string err = ErrnoText();
    ::close(fd);
    ::unlink(tmp.c_str());
    return Internal("cannot rename " + tmp + " to " + journal_path + ": " + err);
  }
  ::close(journal_fd);
  journal_fd = fd;
  journal_end = end;
  journal = std::move(moved);
  return SyncPath(dir, /*directory=*/true);
}

Result<std::string> TrajectoryStore::Rep::ReadJournalPayload(const JournalEntry& e) const {
  std::string payload, why;
  const int64_t file_end = e.offset + static_cast<int64_t>(kRecordHeaderBytes + e.payload_len);
  Status st = ReadJournalRecord(journal_fd, journal_path, e.offset, file_end, &payload, &why);
  if (!st.ok()) {
    if (st.code() == StatusCode::kInternal) return st;
    return DataLoss(journal_path + ": record index " + std::to_string(e.index) + " at offset " +
                    std::to_string(e.offset) + " is corrupt on re-read (" + why + ")");
  }
  if (JournalPayloadIndex(payload) != e.index) {
    return DataLoss(journal_path + ": record at offset " + std::to_string(e.offset) + " holds index " +
                    std::to_string(static_cast<uint64_t>(JournalPayloadIndex(payload))) + ", expected " +
                    std::to_string(e.index));
  }
  return payload;
}

// Seals every journal record into shard-<next>.h5: write .tmp, fsync, rename, fsync dir, then
// reset the journal (RewriteJournal({})). See the format doc for the crash analysis.
Status TrajectoryStore::Rep::Compact() {
  if (journal.empty()) return Status::Ok();
  ShardColumns columns;
  for (const auto& e : journal) {
    MEM1_ASSIGN_OR_RETURN(std::string payload, ReadJournalPayload(e));
    proto::Trajectory t;
    if (!t.ParseFromArray(payload.data() + kIndexBytes, static_cast<int>(payload.size() - kIndexBytes))) {
      return DataLoss(journal_path + ": record index " + std::to_string(e.index) + " is not a Trajectory");
    }
    columns.Add(t, payload.substr(kIndexBytes));
  }
  const std::string final_path = JoinPath(dir, ShardName(next_shard_number));
  const std::string tmp = final_path + kTmpSuffix;
  Status st = WriteShardFile(tmp, options.compression_level, shard_end, columns, config_yaml);
  if (st.ok()) st = SyncPath(tmp, /*directory=*/false);
  if (st.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    st = Internal("cannot rename " + tmp + " to " + final_path + ": " + ErrnoText());
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // The shard is in place: its records now live there, whatever happens to the journal.
  const int64_t n = static_cast<int64_t>(journal.size());
  shards.push_back({final_path, shard_end, n});
  shard_end += n;
  ++next_shard_number;
  journal.clear();  // the stale records stay in the file until the reset below succeeds
  MEM1_RETURN_IF_ERROR(SyncPath(dir, /*directory=*/true));
  return RewriteJournal({});
}

Status TrajectoryStore::Rep::Recover() {
  QuietHdf5();
  if (!read_only) {
    std::error_code ec;
    const bool existed = fs::is_directory(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) return Internal(dir + ": cannot create store directory: " + ec.message());
    if (!existed) {  // make the new directory's own name durable
      fs::path self = fs::absolute(fs::path(dir)).lexically_normal();
      if (!self.has_filename()) self = self.parent_path();  // "a/b/" -> "a/b"
      MEM1_RETURN_IF_ERROR(SyncPath(self.parent_path().string(), /*directory=*/true));
    }
    const std::string lock_path = JoinPath(dir, kLockName);
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) return Internal(lock_path + ": cannot open lock file: " + ErrnoText());
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      return Unavailable(lock_path + ": held by another read-write TrajectoryStore (another learner on this "
                                     "directory?); open it read-only or stop the other process");
    }
  } else {
    if (!fs::is_directory(dir)) return NotFound(dir + ": no such trajectory store directory");
    if (!IsTrajectoryStoreDir(dir)) {
      return NotFound(dir + ": not a trajectory store (no journal.log and no shard-*.h5)");
    }
  }
  // Journal first, then the shard list: a concurrent compaction seen in between leaves journal
  // records that are also in a shard (skipped), never a gap.
  MEM1_RETURN_IF_ERROR(OpenJournal());
  std::vector<std::pair<int64_t, std::string>> shard_files;
  MEM1_RETURN_IF_ERROR(ListDirectory(&shard_files));
  MEM1_RETURN_IF_ERROR(LoadShards(shard_files));
  MEM1_RETURN_IF_ERROR(RecoverJournal());
  if (!read_only && static_cast<int64_t>(journal.size()) >= options.shard_records) {
    MEM1_RETURN_IF_ERROR(Compact());
    ++recovery.shards_sealed_at_open;
    recovery.notes.push_back("journal held >= shard_records records: sealed them into a shard at open");
  }
  for (const auto& note : recovery.notes) LOG(WARNING) << dir << ": " << note;
  LOG(INFO) << dir << ": trajectory store opened" << (read_only ? " read-only" : "") << ": " << size()
            << " records (" << shard_end << " in " << shards.size() << " shards, " << journal.size()
            << " in the journal)";
  return Status::Ok();
}

TrajectoryStore::TrajectoryStore(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

TrajectoryStore::~TrajectoryStore() {
  if (rep_ && !rep_->closed) {
    Status st = Close();
    if (!st.ok()) LOG(ERROR) << st.ToString();
  }
}

Result<std::unique_ptr<TrajectoryStore>> TrajectoryStore::Open(const std::string& dir,
                                                                const TrajectoryStoreOptions& options,
                                                                const std::string& config_yaml) {
  if (options.shard_records < 1) {
    return InvalidArgument(dir + ": TrajectoryStoreOptions.shard_records " + std::to_string(options.shard_records) +
                           " must be >= 1");
  }
  if (options.compression_level < 0 || options.compression_level > 9) {
    return InvalidArgument(dir + ": TrajectoryStoreOptions.compression_level " +
                           std::to_string(options.compression_level) + " must be in [0, 9]");
  }
  if (options.max_record_bytes < 1 || options.max_record_bytes > kMaxRecordBytesLimit) {
    return InvalidArgument(dir + ": TrajectoryStoreOptions.max_record_bytes " +
                           std::to_string(options.max_record_bytes) + " must be in [1, " +
                           std::to_string(kMaxRecordBytesLimit) + "]");
  }
  auto rep = std::make_unique<Rep>();
  rep->dir = dir;
  rep->options = options;
  rep->config_yaml = config_yaml;
  MEM1_RETURN_IF_ERROR(rep->Recover());
  return std::unique_ptr<TrajectoryStore>(new TrajectoryStore(std::move(rep)));
}

Result<std::unique_ptr<TrajectoryStore>> TrajectoryStore::OpenReadOnly(const std::string& dir) {
  auto rep = std::make_unique<Rep>();
  rep->dir = dir;
  rep->read_only = true;
  MEM1_RETURN_IF_ERROR(rep->Recover());
  return std::unique_ptr<TrajectoryStore>(new TrajectoryStore(std::move(rep)));
}

Result<AppendResult> TrajectoryStore::Append(const proto::Trajectory& trajectory) {
  Rep& r = *rep_;
  CHECK(!r.read_only) << r.dir << ": Append on a read-only TrajectoryStore";
  CHECK(!r.closed) << r.dir << ": Append after Close";
  if (auto at = r.Find(trajectory.actor_id(), trajectory.episode_id())) return AppendResult{*at, true};
  if (!r.failed.ok()) return r.failed;
  const size_t bytes = trajectory.ByteSizeLong();
  const std::string who = "trajectory (actor " + trajectory.actor_id() + ", episode " +
                          std::to_string(trajectory.episode_id()) + ")";
  if (static_cast<int64_t>(bytes) > r.options.max_record_bytes) {
    return InvalidArgument(r.dir + ": " + who + " is " + std::to_string(bytes) +
                           " bytes serialized, over max_record_bytes " + std::to_string(r.options.max_record_bytes));
  }
  const int64_t index = r.size();
  const std::string rec = EncodeJournalRecord(index, trajectory.SerializeAsString());
  const int64_t offset = r.journal_end;
  if (Status st = PwriteAll(r.journal_fd, rec.data(), rec.size(), offset, r.journal_path); !st.ok()) {
    if (::ftruncate(r.journal_fd, offset) != 0) {
      r.failed = Internal(st.message() + "; cutting the partial record off failed too (" + ErrnoText() +
                          "): reopen the store to recover");
      return r.failed;
    }
    return st;
  }
  if (r.options.fsync) {
    if (Status st = SyncFd(r.journal_fd, r.journal_path); !st.ok()) {
      r.failed = Internal(st.message() + ": durability unknown, reopen the store to recover");
      return r.failed;
    }
  }
  r.journal_end += static_cast<int64_t>(rec.size());
  JournalEntry e;
  e.index = index;
  e.offset = offset;
  e.payload_len = static_cast<uint32_t>(rec.size() - kRecordHeaderBytes);
  r.journal.push_back(e);
  r.keys[trajectory.actor_id()].emplace(trajectory.episode_id(), index);
  if (static_cast<int64_t>(r.journal.size()) >= r.options.shard_records) {
    if (Status st = r.Compact(); !st.ok()) {
      return Status(st.code(), r.dir + ": " + who + " is durable as record " + std::to_string(index) +
                                   " in journal.log, but sealing a shard failed (retried on the next Append): " +
                                   st.message());
    }
  }
  return AppendResult{index, false};
}

Result<proto::Trajectory> TrajectoryStore::Read(int64_t index) {
  Rep& r = *rep_;
  CHECK(!r.closed) << r.dir << ": Read after Close";
  if (index < 0 || index >= r.size()) {
    return InvalidArgument(r.dir + ": record index " + std::to_string(index) + " out of range [0, " +
                           std::to_string(r.size()) + ")");
  }
  proto::Trajectory t;
  if (index < r.shard_end) {
    auto it = std::upper_bound(r.shards.begin(), r.shards.end(), index,
                               [](int64_t i, const Rep::Shard& s) { return i < s.first_index; });
    const size_t s = static_cast<size_t>(it - r.shards.begin()) - 1;
    if (!r.cached_reader || r.cached_shard != s) {
      r.cached_reader.reset();
      MEM1_ASSIGN_OR_RETURN(r.cached_reader, ShardReader::Open(r.shards[s].path));
      r.cached_shard = s;
    }
    MEM1_ASSIGN_OR_RETURN(std::string bytes, r.cached_reader->ReadRecord(index - r.shards[s].first_index));
    if (!t.ParseFromString(bytes)) {
      return DataLoss(r.shards[s].path + ": record " + std::to_string(index) + " is not a serialized Trajectory");
    }
    return t;
  }
  const JournalEntry& e = r.journal[static_cast<size_t>(index - r.shard_end)];
  MEM1_ASSIGN_OR_RETURN(std::string payload, r.ReadJournalPayload(e));
  if (!t.ParseFromArray(payload.data() + kIndexBytes, static_cast<int>(payload.size() - kIndexBytes))) {
    return DataLoss(r.journal_path + ": record " + std::to_string(index) + " is not a serialized Trajectory");
  }
  return t;
}

int64_t TrajectoryStore::size() const { return rep_->size(); }
int64_t TrajectoryStore::shard_record_count() const { return rep_->shard_end; }
bool TrajectoryStore::Contains(const std::string& actor_id, uint64_t episode_id) const {
  return rep_->Find(actor_id, episode_id).has_value();
}
std::optional<int64_t> TrajectoryStore::Find(const std::string& actor_id, uint64_t episode_id) const {
  return rep_->Find(actor_id, episode_id);
}
const TrajectoryStoreRecovery& TrajectoryStore::recovery() const { return rep_->recovery; }
const std::string& TrajectoryStore::dir() const { return rep_->dir; }
bool TrajectoryStore::read_only() const { return rep_->read_only; }
const std::string& TrajectoryStore::config_yaml() const { return rep_->config_yaml; }

Status TrajectoryStore::Sync() {
  Rep& r = *rep_;
  CHECK(!r.closed) << r.dir << ": Sync after Close";
  if (r.read_only) return Status::Ok();
  if (!r.failed.ok()) return r.failed;
  if (Status st = SyncFd(r.journal_fd, r.journal_path); !st.ok()) {
    r.failed = st;
    return st;
  }
  return Status::Ok();
}

Status TrajectoryStore::Close() {
  Rep& r = *rep_;
  CHECK(!r.closed) << r.dir << ": Close called twice";
  Status st = Sync();
  r.cached_reader.reset();
  if (r.journal_fd >= 0) ::close(r.journal_fd);
  if (r.lock_fd >= 0) ::close(r.lock_fd);  // releases the flock
  r.journal_fd = r.lock_fd = -1;
  r.closed = true;
  return st;
}

bool IsTrajectoryStoreDir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kJournalName, ec)) return true;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (ShardNumber(entry.path().filename().string()) >= 0) return true;
  }
  return false;
}

}  // namespace mem1
