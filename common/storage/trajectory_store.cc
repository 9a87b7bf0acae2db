// TrajectoryStore: journal (CRC-32C framed records) + sealed HDF5 shards. The format is
// specified in trajectory_store_format.md; this file follows it section by section:
//   1. POSIX file helpers      2. journal record codec + scan      3. HDF5 shard writer
//   4. HDF5 shard reader       5. the store (open/recover, append, compact, read)
#include "common/storage/trajectory_store.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <unordered_map>
#include <utility>

#include "common/util/crc32c.h"
#include "common/util/files.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;

constexpr char kJournalName[] = "journal.log";
constexpr char kJournalTmpName[] = "journal.log.tmp";
constexpr char kLockName[] = "LOCK";
constexpr char kShardPrefix[] = "shard-";
constexpr char kShardSuffix[] = ".h5";
constexpr char kTmpSuffix[] = ".tmp";
// Journal record magic: the bytes "M1J1" (mem1 journal, record format 1) read as a u32 LE.
constexpr uint32_t kJournalMagic = 0x314A314Du;
constexpr size_t kRecordHeaderBytes = 12;  // magic, payload length, masked CRC
constexpr size_t kIndexBytes = 8;          // payload starts with the u64 LE global index
constexpr int64_t kMaxRecordBytesLimit = (int64_t{1} << 31) - 1 - static_cast<int64_t>(kIndexBytes);
// HDF5 chunk sizes (elements): 256 KiB of record bytes, 64 Ki tokens, 16 Ki column rows.
constexpr hsize_t kBytesChunk = hsize_t{1} << 18;
constexpr hsize_t kTokenChunk = hsize_t{1} << 16;
constexpr hsize_t kColumnChunk = hsize_t{1} << 14;

// ---------------------------------------------------------------- 1. POSIX file helpers

std::string ErrnoText() { return std::strerror(errno); }

std::string JoinPath(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

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

Status PwriteAll(int fd, const char* data, size_t n, int64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Internal(path + ": write of " + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                      " failed: " + ErrnoText());
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += w;
  }
  return Status::Ok();
}

// Reads exactly n bytes; DATA_LOSS when the file ends first, INTERNAL on an I/O error.
Status PreadAll(int fd, char* data, size_t n, int64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, data, n, offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Internal(path + ": read at offset " + std::to_string(offset) + " failed: " + ErrnoText());
    }
    if (r == 0) return DataLoss(path + ": unexpected end of file at offset " + std::to_string(offset));
    data += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return Status::Ok();
}

Status SyncFd(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return Internal(path + ": fdatasync failed: " + ErrnoText());
  return Status::Ok();
}

Result<int64_t> FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Internal(path + ": fstat failed: " + ErrnoText());
  return static_cast<int64_t>(st.st_size);
}

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

// ---------------------------------------------------------------- 2. journal records

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

// True when a complete, CRC-valid record header + payload starts at buf[pos] (buf holds n bytes).
bool ValidRecordAt(const char* buf, size_t n, size_t pos) {
  if (n - pos < kRecordHeaderBytes) return false;
  if (GetU32(buf + pos) != kJournalMagic) return false;
  const uint32_t len = GetU32(buf + pos + 4);
  if (len < kIndexBytes || len > n - pos - kRecordHeaderBytes) return false;
  return MaskCrc32c(Crc32c(buf + pos + kRecordHeaderBytes, len)) == GetU32(buf + pos + 8);
}

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

// ---------------------------------------------------------------- 3./4. HDF5 shards

void QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }  // per thread; cheap

// Owns one HDF5 id; closes it with the matching H5?close.
class H5Id {
 public:
  H5Id() = default;
  H5Id(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
  H5Id(H5Id&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  H5Id& operator=(H5Id&& o) noexcept {
    if (this != &o) {
      Reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  ~H5Id() { Reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now and reports whether the close succeeded (file closes flush).
  bool Close() {
    const bool ok = id_ < 0 || closer_(id_) >= 0;
    id_ = -1;
    return ok;
  }

 private:
  void Reset() {
    if (id_ >= 0) closer_(id_);
    id_ = -1;
  }
  hid_t id_ = -1;
  herr_t (*closer_)(hid_t) = nullptr;
};

H5Id VlenUtf8Type() {
  H5Id t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

// One shard being written: a plain value bag, then WriteShardFile.
struct ShardColumns {
  std::string record_bytes;
  std::vector<int64_t> record_offsets{0};
  std::vector<int32_t> token_ids;
  std::vector<int64_t> token_offsets{0};
  std::vector<uint64_t> episode_id, group_id;
  std::vector<int64_t> policy_version, num_tokens, generated_tokens, peak_tokens;
  std::vector<double> reward;
  std::vector<std::string> actor_id, env_name, task_id;

  void Add(const proto::Trajectory& t, const std::string& serialized) {
    record_bytes += serialized;
    record_offsets.push_back(static_cast<int64_t>(record_bytes.size()));
    int64_t generated = 0;
    for (const auto& s : t.segments()) {
      token_ids.insert(token_ids.end(), s.token_ids().begin(), s.token_ids().end());
      if (s.role() == proto::ROLE_MODEL) generated += s.token_ids_size();
    }
    num_tokens.push_back(static_cast<int64_t>(token_ids.size()) - token_offsets.back());
    token_offsets.push_back(static_cast<int64_t>(token_ids.size()));
    episode_id.push_back(t.episode_id());
    group_id.push_back(t.group_id());
    policy_version.push_back(t.policy_version());
    generated_tokens.push_back(generated);
    peak_tokens.push_back(t.metrics().peak_tokens());
    reward.push_back(t.reward());
    actor_id.push_back(t.actor_id());
    env_name.push_back(t.env_name());
    task_id.push_back(t.task_id());
  }
};

class ShardWriter {
 public:
  ShardWriter(std::string path, int level) : path_(std::move(path)), level_(level) {}

  Status Create() {
    H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    // 1.8 object format: attributes of any size (config_yaml), readable by h5py / HDF5 >= 1.8.
    H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    file_ = H5Id(H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file_.valid()) return Internal(path_ + ": cannot create HDF5 file");
    return Status::Ok();
  }

  // 1-D numeric dataset: chunked, shuffle (multi-byte types) + deflate + Fletcher-32 checksum.
  Status Column(const char* name, hid_t file_type, hid_t mem_type, const void* data, size_t n, hsize_t chunk) {
    const hsize_t dims[1] = {static_cast<hsize_t>(n)};
    H5Id space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (n > 0) {  // a zero-length dataset cannot be chunked with fixed dims: contiguous, empty
      const hsize_t c[1] = {std::min<hsize_t>(chunk, n)};
      H5Pset_chunk(dcpl.get(), 1, c);
      if (H5Tget_size(file_type) > 1) H5Pset_shuffle(dcpl.get());
      if (level_ > 0) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(level_));
      H5Pset_fletcher32(dcpl.get());
    }
    H5Id ds(H5Dcreate2(file_.get(), name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
    if (!ds.valid()) return Internal(path_ + ": cannot create dataset " + name);
    if (n > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
      return Internal(path_ + ": cannot write dataset " + name);
    }
    return Status::Ok();
  }

  // 1-D variable-length UTF-8 string dataset (contiguous: filters would only see heap ids).
  Status Strings(const char* name, const std::vector<std::string>& values) {
    std::vector<const char*> ptrs;
    for (const auto& v : values) ptrs.push_back(v.c_str());
    H5Id type = VlenUtf8Type();
    const hsize_t dims[1] = {values.size()};
    H5Id space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    H5Id ds(H5Dcreate2(file_.get(), name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
    if (!ds.valid()) return Internal(path_ + ": cannot create dataset " + name);
    if (!ptrs.empty() && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
      return Internal(path_ + ": cannot write dataset " + name);
    }
    return Status::Ok();
  }

  Status IntAttr(const char* name, hid_t file_type, int64_t value) {
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id a(H5Acreate2(file_.get(), name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!a.valid() || H5Awrite(a.get(), H5T_NATIVE_INT64, &value) < 0) {
      return Internal(path_ + ": cannot write attribute " + name);
    }
    return Status::Ok();
  }

  Status StringAttr(const char* name, const std::string& value) {
    H5Id type = VlenUtf8Type();
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id a(H5Acreate2(file_.get(), name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const char* p = value.c_str();
    if (!a.valid() || H5Awrite(a.get(), type.get(), &p) < 0) return Internal(path_ + ": cannot write attribute " + name);
    return Status::Ok();
  }

  Status Close() {
    if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0 || !file_.Close()) {
      return Internal(path_ + ": HDF5 flush/close failed");
    }
    return Status::Ok();
  }

 private:
  std::string path_;
  int level_;
  H5Id file_;
};

Status WriteShardFile(const std::string& path, int level, int64_t first_index, const ShardColumns& c,
                      const std::string& config_yaml) {
  QuietHdf5();
  ShardWriter w(path, level);
  MEM1_RETURN_IF_ERROR(w.Create());
  const int64_t count = static_cast<int64_t>(c.episode_id.size());
  MEM1_RETURN_IF_ERROR(w.IntAttr("format_version", H5T_STD_I32LE, kTrajectoryStoreFormatVersion));
  MEM1_RETURN_IF_ERROR(w.IntAttr("first_index", H5T_STD_I64LE, first_index));
  MEM1_RETURN_IF_ERROR(w.IntAttr("count", H5T_STD_I64LE, count));
  MEM1_RETURN_IF_ERROR(w.IntAttr("created_unix", H5T_STD_I64LE, static_cast<int64_t>(std::time(nullptr))));
  MEM1_RETURN_IF_ERROR(w.StringAttr("config_yaml", config_yaml));
  MEM1_RETURN_IF_ERROR(w.StringAttr("record_type", proto::Trajectory::descriptor()->full_name()));
  MEM1_RETURN_IF_ERROR(w.Column("record_bytes", H5T_STD_U8LE, H5T_NATIVE_UINT8, c.record_bytes.data(),
                                c.record_bytes.size(), kBytesChunk));
  MEM1_RETURN_IF_ERROR(w.Column("record_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, c.record_offsets.data(),
                                c.record_offsets.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(
      w.Column("token_ids", H5T_STD_I32LE, H5T_NATIVE_INT32, c.token_ids.data(), c.token_ids.size(), kTokenChunk));
  MEM1_RETURN_IF_ERROR(w.Column("token_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, c.token_offsets.data(),
                                c.token_offsets.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(w.Column("episode_id", H5T_STD_U64LE, H5T_NATIVE_UINT64, c.episode_id.data(),
                                c.episode_id.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(
      w.Column("group_id", H5T_STD_U64LE, H5T_NATIVE_UINT64, c.group_id.data(), c.group_id.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(w.Column("policy_version", H5T_STD_I64LE, H5T_NATIVE_INT64, c.policy_version.data(),
                                c.policy_version.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(
      w.Column("reward", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, c.reward.data(), c.reward.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(w.Column("num_tokens", H5T_STD_I64LE, H5T_NATIVE_INT64, c.num_tokens.data(),
                                c.num_tokens.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(w.Column("generated_tokens", H5T_STD_I64LE, H5T_NATIVE_INT64, c.generated_tokens.data(),
                                c.generated_tokens.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(w.Column("peak_tokens", H5T_STD_I64LE, H5T_NATIVE_INT64, c.peak_tokens.data(),
                                c.peak_tokens.size(), kColumnChunk));
  MEM1_RETURN_IF_ERROR(w.Strings("actor_id", c.actor_id));
  MEM1_RETURN_IF_ERROR(w.Strings("env_name", c.env_name));
  MEM1_RETURN_IF_ERROR(w.Strings("task_id", c.task_id));
  return w.Close();
}

// A sealed shard opened for reading: header at Open, columns and records on demand.
class ShardReader {
 public:
  // DATA_LOSS: not HDF5 / not a shard; INVALID_ARGUMENT: another format_version.
  static Result<std::unique_ptr<ShardReader>> Open(const std::string& path) {
    QuietHdf5();
    std::unique_ptr<ShardReader> r(new ShardReader());
    r->path_ = path;
    // Default file access (HDF5's own file locks on; on file systems without flock, e.g. some
    // Lustre/NFS mounts, run with HDF5_USE_FILE_LOCKING=FALSE as for any HDF5 program).
    r->file_ = H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!r->file_.valid()) return DataLoss(path + ": not a readable HDF5 file (truncated or corrupt shard?)");
    auto version = r->IntAttr("format_version");
    if (!version.ok()) {
      return DataLoss(path + ": no format_version attribute: not a trajectory store shard");
    }
    if (*version != kTrajectoryStoreFormatVersion) {
      return InvalidArgument(path + ": shard format_version " + std::to_string(*version) +
                             ", but this build reads format_version " +
                             std::to_string(kTrajectoryStoreFormatVersion) +
                             "; open the store with a mem1 build of that format version, or move the store "
                             "aside and start a fresh one");
    }
    MEM1_ASSIGN_OR_RETURN(r->first_index_, r->IntAttr("first_index"));
    MEM1_ASSIGN_OR_RETURN(r->count_, r->IntAttr("count"));
    if (r->first_index_ < 0 || r->count_ < 0) {
      return DataLoss(path + ": negative first_index " + std::to_string(r->first_index_) + " or count " +
                      std::to_string(r->count_));
    }
    return r;
  }

  int64_t first_index() const { return first_index_; }
  int64_t count() const { return count_; }
  const std::string& path() const { return path_; }

  Result<int64_t> IntAttr(const char* name) const {
    if (H5Aexists(file_.get(), name) <= 0) return DataLoss(path_ + ": missing attribute " + name);
    H5Id a(H5Aopen(file_.get(), name, H5P_DEFAULT), H5Aclose);
    H5Id type(H5Aget_type(a.get()), H5Tclose);
    int64_t v = 0;
    if (H5Tget_class(type.get()) != H5T_INTEGER || H5Aread(a.get(), H5T_NATIVE_INT64, &v) < 0) {
      return DataLoss(path_ + ": attribute " + name + " is not a readable integer");
    }
    return v;
  }

  Result<std::string> StringAttr(const char* name) const {
    if (H5Aexists(file_.get(), name) <= 0) return DataLoss(path_ + ": missing attribute " + name);
    H5Id a(H5Aopen(file_.get(), name, H5P_DEFAULT), H5Aclose);
    H5Id type(H5Aget_type(a.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_STRING) return DataLoss(path_ + ": attribute " + name + " is not a string");
    if (H5Tis_variable_str(type.get()) > 0) {
      H5Id mem = VlenUtf8Type();
      char* p = nullptr;
      if (H5Aread(a.get(), mem.get(), &p) < 0) return DataLoss(path_ + ": cannot read attribute " + name);
      std::string s = p ? p : "";
      H5free_memory(p);
      return s;
    }
    std::string s(H5Tget_size(type.get()), '\0');
    if (H5Aread(a.get(), type.get(), s.data()) < 0) return DataLoss(path_ + ": cannot read attribute " + name);
    return s.substr(0, s.find('\0'));
  }

  // Opens dataset `name` and checks it is 1-D with `n` elements of class `klass`.
  Result<H5Id> OpenColumn(const char* name, H5T_class_t klass, int64_t n) const {
    if (H5Lexists(file_.get(), name, H5P_DEFAULT) <= 0) return DataLoss(path_ + ": missing dataset " + name);
    H5Id ds(H5Dopen2(file_.get(), name, H5P_DEFAULT), H5Dclose);
    if (!ds.valid()) return DataLoss(path_ + ": cannot open dataset " + name);
    H5Id type(H5Dget_type(ds.get()), H5Tclose);
    H5Id space(H5Dget_space(ds.get()), H5Sclose);
    hsize_t dims[1] = {0};
    if (H5Tget_class(type.get()) != klass || H5Sget_simple_extent_ndims(space.get()) != 1 ||
        H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 1 || (n >= 0 && dims[0] != static_cast<hsize_t>(n))) {
      return DataLoss(path_ + ": dataset " + name + " has an unexpected type or shape (expected " +
                      std::to_string(n) + " elements)");
    }
    return ds;
  }

  template <typename T>
  Status ReadColumn(const char* name, H5T_class_t klass, hid_t mem_type, int64_t n, std::vector<T>* out) const {
    MEM1_ASSIGN_OR_RETURN(H5Id ds, OpenColumn(name, klass, n));
    out->assign(static_cast<size_t>(n), T{});
    if (n > 0 && H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) < 0) {
      return DataLoss(path_ + ": cannot read dataset " + name + " (checksum or I/O error)");
    }
    return Status::Ok();
  }

  Status ReadStrings(const char* name, std::vector<std::string>* out) const {
    MEM1_ASSIGN_OR_RETURN(H5Id ds, OpenColumn(name, H5T_STRING, count_));
    out->clear();
    if (count_ == 0) return Status::Ok();
    H5Id mem = VlenUtf8Type();
    std::vector<char*> ptrs(static_cast<size_t>(count_), nullptr);
    if (H5Dread(ds.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
      return DataLoss(path_ + ": cannot read string dataset " + name);
    }
    for (char* p : ptrs) out->emplace_back(p ? p : "");
    H5Id space(H5Dget_space(ds.get()), H5Sclose);
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return Status::Ok();
  }

  // Serialized Trajectory of the shard's `local`-th record (0 <= local < count).
  Result<std::string> ReadRecord(int64_t local) {
    QuietHdf5();
    CHECK(local >= 0 && local < count_) << local;
    if (!record_bytes_.valid()) {
      MEM1_RETURN_IF_ERROR(ReadColumn("record_offsets", H5T_INTEGER, H5T_NATIVE_INT64, count_ + 1, &offsets_));
      MEM1_ASSIGN_OR_RETURN(H5Id ds, OpenColumn("record_bytes", H5T_INTEGER, -1));
      H5Id space(H5Dget_space(ds.get()), H5Sclose);
      hsize_t dims[1] = {0};
      H5Sget_simple_extent_dims(space.get(), dims, nullptr);
      bool ok = offsets_[0] == 0 && offsets_.back() == static_cast<int64_t>(dims[0]);
      for (size_t i = 1; ok && i < offsets_.size(); ++i) ok = offsets_[i] >= offsets_[i - 1];
      if (!ok) return DataLoss(path_ + ": record_offsets are not a monotonic 0..size(record_bytes) table");
      record_bytes_ = std::move(ds);
    }
    const hsize_t start[1] = {static_cast<hsize_t>(offsets_[local])};
    const hsize_t len[1] = {static_cast<hsize_t>(offsets_[local + 1] - offsets_[local])};
    std::string bytes(len[0], '\0');
    if (len[0] == 0) return bytes;
    H5Id fspace(H5Dget_space(record_bytes_.get()), H5Sclose);
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, len, nullptr);
    H5Id mspace(H5Screate_simple(1, len, nullptr), H5Sclose);
    if (H5Dread(record_bytes_.get(), H5T_NATIVE_UINT8, mspace.get(), fspace.get(), H5P_DEFAULT, bytes.data()) < 0) {
      return DataLoss(path_ + ": cannot read record " + std::to_string(first_index_ + local) +
                      " from record_bytes (checksum or I/O error)");
    }
    return bytes;
  }

 private:
  ShardReader() = default;
  std::string path_;
  H5Id file_;
  int64_t first_index_ = 0, count_ = 0;
  std::vector<int64_t> offsets_;
  H5Id record_bytes_;
};

}  // namespace

// ---------------------------------------------------------------- 5. the store

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
    MEM1_RETURN_IF_ERROR(reader->ReadStrings("actor_id", &actors));
    MEM1_RETURN_IF_ERROR(
        reader->ReadColumn("episode_id", H5T_INTEGER, H5T_NATIVE_UINT64, reader->count(), &episodes));
    const std::string name = fs::path(path).filename().string();
    for (int64_t i = 0; i < reader->count(); ++i) {
      AddRecoveredKey(actors[i], episodes[i], shard_end + i, name);
    }
    if (read_only) {
      MEM1_ASSIGN_OR_RETURN(config_yaml, reader->StringAttr("config_yaml"));
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
    std::string rec(kRecordHeaderBytes, '\0');
    PutU32(rec.data(), kJournalMagic);
    PutU32(rec.data() + 4, e.payload_len);
    PutU32(rec.data() + 8, MaskCrc32c(Crc32c(payload->data(), payload->size())));
    rec += *payload;
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
  if (static_cast<int64_t>(GetU64(payload.data())) != e.index) {
    return DataLoss(journal_path + ": record at offset " + std::to_string(e.offset) + " holds index " +
                    std::to_string(GetU64(payload.data())) + ", expected " + std::to_string(e.index));
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
