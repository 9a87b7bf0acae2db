// The trajectory store's sealed shards (shard-NNNNNN.h5): the HDF5 writer and reader.
// Internal to TrajectoryStore (common/storage/trajectory_store.cc); the layout (attributes,
// datasets, filters) is specified in trajectory_store_format.md. HDF5 types stay in the .cc.
//
// Thread safety: a ShardReader is used by one thread at a time; distinct readers and writers
// may run concurrently (libhdf5's thread-safe build serialises them).
#ifndef MEM1_COMMON_STORAGE_TRAJECTORY_SHARD_H_
#define MEM1_COMMON_STORAGE_TRAJECTORY_SHARD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1::store_internal {

// Turns off HDF5's automatic error printing for the calling thread (errors become statuses).
void QuietHdf5();

// One shard being written: a plain value bag (one entry per record, in index order), then
// WriteShardFile.
struct ShardColumns {
  std::string record_bytes;
  std::vector<int64_t> record_offsets{0};
  std::vector<int32_t> token_ids;
  std::vector<int64_t> token_offsets{0};
  std::vector<uint64_t> episode_id, group_id;
  std::vector<int64_t> policy_version, num_tokens, generated_tokens, peak_tokens;
  std::vector<double> reward;
  std::vector<std::string> actor_id, env_name, task_id;

  // Appends trajectory `t`, whose serialized bytes are `serialized`.
  void Add(const proto::Trajectory& t, const std::string& serialized);
};

// Writes `c` as a complete shard file at `path` (created or truncated): format_version,
// first_index, count, created_unix, config_yaml and record_type attributes, then every
// column; deflate `level` (0 = none). Does not fsync. INTERNAL naming the path and the object
// that failed.
[[nodiscard]] Status WriteShardFile(const std::string& path, int level, int64_t first_index, const ShardColumns& c,
                                    const std::string& config_yaml);

// A sealed shard opened for reading: header at Open, columns and records on demand.
class ShardReader {
 public:
  // DATA_LOSS: not HDF5 / not a shard / a bad header; INVALID_ARGUMENT: another
  // format_version (the message says which this build reads and what to do).
  [[nodiscard]] static Result<std::unique_ptr<ShardReader>> Open(const std::string& path);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  int64_t first_index() const;
  int64_t count() const;
  const std::string& path() const;

  // The (actor_id, episode_id) key of every record, in record order (count() each).
  // DATA_LOSS for a missing or malformed column.
  [[nodiscard]] Status ReadKeys(std::vector<std::string>* actor_ids, std::vector<uint64_t>* episode_ids) const;
  // The config_yaml attribute. DATA_LOSS when missing or not a string.
  [[nodiscard]] Result<std::string> ConfigYaml() const;
  // Serialized Trajectory of the shard's `local`-th record (CHECK: 0 <= local < count()).
  // DATA_LOSS for a checksum error or a malformed record_offsets table.
  [[nodiscard]] Result<std::string> ReadRecord(int64_t local);

 private:
  class File;  // the HDF5 file and its cached datasets
  explicit ShardReader(std::unique_ptr<File> file);
  std::unique_ptr<File> file_;
};

}  // namespace mem1::store_internal

#endif  // MEM1_COMMON_STORAGE_TRAJECTORY_SHARD_H_
