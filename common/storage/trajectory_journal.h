// The trajectory store's write-ahead journal (journal.log): the record codec and the recovery
// scan. Internal to TrajectoryStore (common/storage/trajectory_store.cc); the format is
// specified in trajectory_store_format.md ("journal.log").
//
// A record is a 12-byte header — magic "M1J1" (u32 LE), payload length (u32 LE), masked
// CRC-32C of the payload (u32 LE) — then the payload: the record's global index (u64 LE)
// followed by one serialized mem1.proto.Trajectory.
//
// Thread safety: pure functions; the fd arguments are read with pread only.
#ifndef MEM1_COMMON_STORAGE_TRAJECTORY_JOURNAL_H_
#define MEM1_COMMON_STORAGE_TRAJECTORY_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1::store_internal {

inline constexpr size_t kRecordHeaderBytes = 12;  // magic, payload length, masked CRC
inline constexpr size_t kIndexBytes = 8;          // payload starts with the u64 LE global index
// Largest serialized Trajectory a record can hold (the u32 length less the index, within
// protobuf's 2 GiB limit): the upper bound of TrajectoryStoreOptions::max_record_bytes.
inline constexpr int64_t kMaxRecordBytesLimit = (int64_t{1} << 31) - 1 - static_cast<int64_t>(kIndexBytes);

// One valid record found in (or appended to) the journal.
struct JournalEntry {
  int64_t index = 0;
  int64_t offset = 0;       // offset of the record header in the journal file
  uint32_t payload_len = 0;
  std::string actor_id;     // key, kept only during recovery
  uint64_t episode_id = 0;
};

struct JournalScan {
  std::vector<JournalEntry> entries;
  int64_t valid_end = 0;  // end of the last valid record
  int64_t file_size = 0;
};

// The whole record (header + index + serialized trajectory) for global `index`.
std::string EncodeJournalRecord(int64_t index, const std::string& serialized);

// Header for an existing `payload` (index + serialized trajectory) whose length field is
// `payload_len`, followed by the payload: a record re-written by a journal rewrite.
std::string FrameJournalPayload(uint32_t payload_len, const std::string& payload);

// The global index a payload starts with. Precondition: payload.size() >= kIndexBytes.
int64_t JournalPayloadIndex(const std::string& payload);

// Reads and verifies one record whose header starts at `offset` of a file of `file_size`
// bytes; fills `payload` (index + serialized trajectory). DATA_LOSS (with `why` set to the
// reason) for a bad magic, length or CRC or a short file; INTERNAL on an I/O error.
[[nodiscard]] Status ReadJournalRecord(int fd, const std::string& path, int64_t offset, int64_t file_size,
                                       std::string* payload, std::string* why);

// Scans the whole journal. A bad record followed by no valid record is a torn tail (valid_end
// stops before it); a bad record followed by a valid one is DATA_LOSS (acknowledged records
// would be lost by truncating; the message says how to recover). A record that passes its CRC
// but is not a Trajectory is DATA_LOSS. INTERNAL on an I/O error.
[[nodiscard]] Result<JournalScan> ScanJournal(int fd, const std::string& path);

}  // namespace mem1::store_internal

#endif  // MEM1_COMMON_STORAGE_TRAJECTORY_JOURNAL_H_
