// Journal record codec and recovery scan (see trajectory_journal.h).
#include "common/storage/trajectory_journal.h"

#include <cstring>
#include <utility>

#include "common/util/crc32c.h"
#include "common/util/files.h"
#include "proto/mem1.pb.h"

namespace mem1::store_internal {
namespace {

// Journal record magic: the bytes "M1J1" (mem1 journal, record format 1) read as a u32 LE.
constexpr uint32_t kJournalMagic = 0x314A314Du;

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// True when a complete, CRC-valid record header + payload starts at buf[pos] (buf holds n bytes).
bool ValidRecordAt(const char* buf, size_t n, size_t pos) {
  if (n - pos < kRecordHeaderBytes) return false;
  if (GetU32(buf + pos) != kJournalMagic) return false;
  const uint32_t len = GetU32(buf + pos + 4);
  if (len < kIndexBytes || len > n - pos - kRecordHeaderBytes) return false;
  return MaskCrc32c(Crc32c(buf + pos + kRecordHeaderBytes, len)) == GetU32(buf + pos + 8);
}

}  // namespace

std::string EncodeJournalRecord(int64_t index, const std::string& serialized) {
  std::string rec(kRecordHeaderBytes + kIndexBytes + serialized.size(), '\0');
  char* payload = rec.data() + kRecordHeaderBytes;
  PutU64(payload, static_cast<uint64_t>(index));
  std::memcpy(payload + kIndexBytes, serialized.data(), serialized.size());
  const size_t payload_len = kIndexBytes + serialized.size();
  PutU32(rec.data(), kJournalMagic);
  PutU32(rec.data() + 4, static_cast<uint32_t>(payload_len));
  PutU32(rec.data() + 8, MaskCrc32c(Crc32c(payload, payload_len)));
  return rec;
}

std::string FrameJournalPayload(uint32_t payload_len, const std::string& payload) {
  std::string rec(kRecordHeaderBytes, '\0');
  PutU32(rec.data(), kJournalMagic);
  PutU32(rec.data() + 4, payload_len);
  PutU32(rec.data() + 8, MaskCrc32c(Crc32c(payload.data(), payload.size())));
  rec += payload;
  return rec;
}

int64_t JournalPayloadIndex(const std::string& payload) { return static_cast<int64_t>(GetU64(payload.data())); }

// Reads and verifies one record whose header starts at `offset`; fills `payload`.
// DATA_LOSS (with `why`) for a bad magic, length, CRC or a short file.
Status ReadJournalRecord(int fd, const std::string& path, int64_t offset, int64_t file_size, std::string* payload,
                         std::string* why) {
  char header[kRecordHeaderBytes];
  if (file_size - offset < static_cast<int64_t>(kRecordHeaderBytes)) {
    *why = "partial record header (" + std::to_string(file_size - offset) + " bytes)";
    return DataLoss(*why);
  }
  MEM1_RETURN_IF_ERROR(PreadAll(fd, header, sizeof(header), offset, path));
  if (GetU32(header) != kJournalMagic) {
    *why = "bad record magic";
    return DataLoss(*why);
  }
  const uint32_t len = GetU32(header + 4);
  if (len < kIndexBytes) {
    *why = "record length " + std::to_string(len) + " below the 8-byte minimum";
    return DataLoss(*why);
  }
  if (static_cast<int64_t>(len) > file_size - offset - static_cast<int64_t>(kRecordHeaderBytes)) {
    *why = "partial record (length " + std::to_string(len) + ", " +
           std::to_string(file_size - offset - static_cast<int64_t>(kRecordHeaderBytes)) + " bytes present)";
    return DataLoss(*why);
  }
  payload->resize(len);
  MEM1_RETURN_IF_ERROR(PreadAll(fd, payload->data(), len, offset + kRecordHeaderBytes, path));
  if (MaskCrc32c(Crc32c(payload->data(), len)) != GetU32(header + 8)) {
    *why = "CRC mismatch";
    return DataLoss(*why);
  }
  return Status::Ok();
}

// Scans the whole journal. A bad record followed by no valid record is a torn tail (valid_end
// stops before it); a bad record followed by a valid one is DATA_LOSS.
Result<JournalScan> ScanJournal(int fd, const std::string& path) {
  JournalScan scan;
  MEM1_ASSIGN_OR_RETURN(scan.file_size, FileSize(fd, path));
  int64_t off = 0;
  std::string payload, why;
  while (off < scan.file_size) {
    Status st = ReadJournalRecord(fd, path, off, scan.file_size, &payload, &why);
    if (st.code() == StatusCode::kInternal) return st;
    if (!st.ok()) {
      // Is any valid record after the bad one? Read the rest of the file and look.
      std::string rest(static_cast<size_t>(scan.file_size - off), '\0');
      MEM1_RETURN_IF_ERROR(PreadAll(fd, rest.data(), rest.size(), off, path));
      for (size_t pos = 1; pos + kRecordHeaderBytes <= rest.size(); ++pos) {
        if (ValidRecordAt(rest.data(), rest.size(), pos)) {
          return DataLoss(path + ": the record at offset " + std::to_string(off) + " (journal record #" +
                          std::to_string(scan.entries.size()) + ") is corrupt (" + why +
                          ") but a valid record follows at offset " +
                          std::to_string(off + static_cast<int64_t>(pos)) +
                          "; refusing to drop acknowledged records. Restore the file from a backup, or truncate it "
                          "to " + std::to_string(off) + " bytes to keep only the records before the corruption");
        }
      }
      break;  // torn tail
    }
    JournalEntry e;
    e.index = static_cast<int64_t>(GetU64(payload.data()));
    e.offset = off;
    e.payload_len = static_cast<uint32_t>(payload.size());
    proto::Trajectory t;
    if (!t.ParseFromArray(payload.data() + kIndexBytes, static_cast<int>(payload.size() - kIndexBytes))) {
      return DataLoss(path + ": record at offset " + std::to_string(off) +
                      " passes its CRC but is not a serialized mem1.proto.Trajectory");
    }
    e.actor_id = t.actor_id();
    e.episode_id = t.episode_id();
    scan.entries.push_back(std::move(e));
    off += static_cast<int64_t>(kRecordHeaderBytes + payload.size());
  }
  scan.valid_end = off;
  return scan;
}

}  // namespace mem1::store_internal
