// TrajectoryStore: the learner's durable, exactly-once record of every trajectory it accepted.
//
// One store is one directory (the learner uses RUN_DIR/store/rank-NNNNN/, one per rank). It is
// built like LevelDB's log + table files: every accepted trajectory is first appended to a
// write-ahead journal (`journal.log`, CRC-32C framed, fsynced), and every `shard_records`
// records the journal is compacted into an immutable, self-describing HDF5 shard
// (`shard-NNNNNN.h5`) readable from h5py. The on-disk format, its compatibility rules and the
// crash-safety argument are specified in common/storage/trajectory_store_format.md.
//
// Records are numbered densely 0, 1, 2, ... in append order ("global index" within the store).
// A trajectory is identified by (actor_id, episode_id); a second Append of the same pair stores
// nothing and returns the first copy's index, also after a crash and reopen, so actors may
// re-send anything that was not acknowledged.
//
// Typical learner use:
//   auto store = TrajectoryStore::Open(dir, TrajectoryStoreOptions{}, ConfigToYaml(config));
//   if (!store.ok()) return store.status();
//   auto r = (*store)->Append(trajectory);   // OK => durable: ack the episode now
//
// Thread safety: a TrajectoryStore object is NOT thread-safe; use each object from one thread
// at a time (external locking if it must move between threads). Different objects may be used
// concurrently (their HDF5 calls are serialised by the thread-safe libhdf5 build that Debian
// ships). At most one read-write store may be open per directory (enforced with a LOCK file and
// flock, across processes); any number of read-only stores may be open beside it.
#ifndef MEM1_COMMON_STORAGE_TRAJECTORY_STORE_H_
#define MEM1_COMMON_STORAGE_TRAJECTORY_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1 {

// Version written as the `format_version` root attribute of every shard. A shard with another
// version is refused (INVALID_ARGUMENT) rather than misread.
inline constexpr int64_t kTrajectoryStoreFormatVersion = 1;

struct TrajectoryStoreOptions {
  // Records per sealed HDF5 shard: when the journal holds this many records they are compacted
  // into one shard and the journal starts afresh. Must be >= 1.
  int64_t shard_records = 256;
  // Deflate level (0 = no compression, 1 fastest .. 9 smallest) of the shard datasets.
  int32_t compression_level = 4;
  // fsync (fdatasync) the journal after every Append, so an OK Append is durable across a
  // power loss. false: an OK Append only survives a process crash until Sync()/Close();
  // shards are always fsynced before they replace journal records.
  bool fsync = true;
  // Largest serialized Trajectory accepted by Append (bytes); larger -> INVALID_ARGUMENT.
  // Must be in [1, 2 GiB - 9] (protobuf's 2 GiB message limit, less the 8-byte index).
  int64_t max_record_bytes = int64_t{256} << 20;  // 256 MiB
};

// What Open / OpenReadOnly found and did while recovering the directory.
struct TrajectoryStoreRecovery {
  int64_t shards = 0;              // sealed shard files read
  int64_t records_in_shards = 0;   // records found in those shards
  int64_t records_in_journal = 0;  // records recovered from the journal (not yet in a shard)
  // Journal records whose index is already covered by a shard (a crash between sealing a shard
  // and resetting the journal); skipped, and the journal rewritten without them (read-write).
  int64_t journal_records_in_shards = 0;
  // A torn or corrupt journal tail: bytes after the last valid record. Read-write: the journal
  // was truncated to the last valid record. Read-only: ignored, the file left as it is.
  int64_t torn_records = 0;  // 1 when a torn tail was found, else 0
  int64_t torn_bytes = 0;
  // Leftover `*.tmp` files of an interrupted shard write / journal reset. Read-write: deleted.
  // Read-only: left in place (only counted).
  int64_t tmp_files = 0;
  // (actor_id, episode_id) pairs found at two indices (never written by this class; a sign of
  // files copied in by hand). The first index wins.
  int64_t duplicate_keys = 0;
  // Interrupted compaction finished at open (journal held >= shard_records records).
  int64_t shards_sealed_at_open = 0;
  // One human-readable line per non-trivial event above ("journal.log: torn tail of 13 byte(s)
  // after the last valid record (offset 4096) dropped"); empty when the directory was clean.
  // Open logs each as a WARNING too.
  std::vector<std::string> notes;
};

// Result of one Append.
struct AppendResult {
  int64_t index = -1;      // global index of the record (the existing one when duplicate)
  bool duplicate = false;  // true: (actor_id, episode_id) was already stored; nothing written
};

class TrajectoryStore {
 public:
  // Opens the store in `dir` for appending, creating `dir` (and parents) when absent, and
  // recovers it: deletes leftover *.tmp files, reads every shard (verifying format_version),
  // scans the journal, truncates a torn tail (a partial or CRC-failing LAST record), drops
  // journal records already sealed in a shard, finishes an interrupted compaction, and rebuilds
  // the (actor_id, episode_id) -> index map. `config_yaml` (the run's resolved config) is
  // stored in every shard this object writes.
  // Errors (each names the file and what is wrong):
  //   INVALID_ARGUMENT  options out of range; a shard of another format_version (the message
  //                     says which version this build reads and what to do).
  //   DATA_LOSS         a corrupt record in the MIDDLE of the journal (valid records follow it:
  //                     acknowledged data would be lost by truncating; the message gives the
  //                     offset); a shard that is not a readable store shard; shards or journal
  //                     records that leave a gap in (or overlap) the indices; a journal record
  //                     that disagrees with the shard holding its index.
  //   UNAVAILABLE       another read-write store holds the directory's LOCK file.
  //   INTERNAL          file-system or HDF5 failure (create, read, write, fsync, rename).
  [[nodiscard]] static Result<std::unique_ptr<TrajectoryStore>> Open(const std::string& dir,
                                                                     const TrajectoryStoreOptions& options,
                                                                     const std::string& config_yaml);

  // Opens an existing store for reading only (inspection, offline training). Never creates,
  // truncates, deletes or writes any file and takes no lock; a torn journal tail and *.tmp files
  // are ignored and reported in recovery(). Sees the records on disk at open time; a writer
  // appending or compacting concurrently does not disturb it (shards are immutable and the
  // journal is replaced by rename, so the open journal stays readable).
  // Errors: NOT_FOUND when `dir` does not exist or holds no journal.log and no shard; otherwise
  // as Open (INVALID_ARGUMENT, DATA_LOSS, INTERNAL).
  [[nodiscard]] static Result<std::unique_ptr<TrajectoryStore>> OpenReadOnly(const std::string& dir);

  // Syncs (when writable) and closes files; errors are logged, not returned. Use Close() to
  // see them.
  ~TrajectoryStore();
  TrajectoryStore(const TrajectoryStore&) = delete;
  TrajectoryStore& operator=(const TrajectoryStore&) = delete;

  // Stores `trajectory` unless its (actor_id, episode_id) is already stored.
  // Precondition (CHECK): the store was opened with Open (not read-only) and not Close()d.
  //  * duplicate: returns {existing index, true}; writes nothing.
  //  * new: appends one journal record holding the next index and the serialized trajectory,
  //    fdatasyncs it when options.fsync, and returns {index, false}. OK means durable (with
  //    fsync=true): the caller may acknowledge the episode.
  //    When the journal then holds shard_records records they are compacted into a new shard.
  // Errors:
  //   INVALID_ARGUMENT  serialized size > options.max_record_bytes (nothing written).
  //   INTERNAL          write/fsync failed. The partial record is cut off again; if even that
  //                     fails, or fsync failed (the page cache state is unknown), the store
  //                     refuses every later Append with the same error: reopen it to recover.
  //   (any)             compaction failed AFTER the record became durable: the message says
  //                     so, Contains() is true and a retry of the same trajectory returns
  //                     {index, duplicate=true}; compaction is retried on the next Append.
  [[nodiscard]] Result<AppendResult> Append(const proto::Trajectory& trajectory);

  // The record at global `index`, from its shard or the journal (at most one shard reader is
  // cached). INVALID_ARGUMENT if index is outside [0, size()); DATA_LOSS if the stored bytes
  // are corrupt (journal CRC, HDF5 checksum, or protobuf parse); INTERNAL on I/O failure.
  [[nodiscard]] Result<proto::Trajectory> Read(int64_t index);

  // Number of records stored (shards + journal). Indices are [0, size()).
  int64_t size() const;
  // Records in sealed shards; indices [0, shard_record_count()) live in shards, the rest in the
  // journal.
  int64_t shard_record_count() const;
  // True when (actor_id, episode_id) is stored.
  bool Contains(const std::string& actor_id, uint64_t episode_id) const;
  // Index of (actor_id, episode_id), or nullopt.
  std::optional<int64_t> Find(const std::string& actor_id, uint64_t episode_id) const;

  // What opening the store found; see TrajectoryStoreRecovery.
  const TrajectoryStoreRecovery& recovery() const;
  // The directory given to Open / OpenReadOnly.
  const std::string& dir() const;
  bool read_only() const;
  // Read-write: the config_yaml given to Open. Read-only: the `config_yaml` attribute of the
  // newest shard, or "" when the store has no shard yet.
  const std::string& config_yaml() const;

  // Makes every OK Append durable (fdatasync of the journal); a no-op cost-wise with
  // options.fsync. INTERNAL on failure (the store then refuses further Appends). Read-only
  // stores: OK, does nothing.
  [[nodiscard]] Status Sync();
  // Sync()s and closes the journal and any cached shard reader. Later calls other than the
  // accessors and the destructor are programmer errors (CHECK). Returns Sync's status.
  [[nodiscard]] Status Close();

 private:
  struct Rep;
  explicit TrajectoryStore(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// True when `dir` looks like a store: it holds a journal.log or a shard-*.h5 file.
bool IsTrajectoryStoreDir(const std::string& dir);

}  // namespace mem1

#endif  // MEM1_COMMON_STORAGE_TRAJECTORY_STORE_H_
