// HDF5 shard writer and reader (see trajectory_shard.h and trajectory_store_format.md).
#include "common/storage/trajectory_shard.h"

#include <glog/logging.h>
#include <hdf5.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <ctime>
#include <utility>

#include "common/storage/trajectory_store.h"

namespace mem1::store_internal {
namespace {

// HDF5 chunk sizes (elements): 256 KiB of record bytes, 64 Ki tokens, 16 Ki column rows.
constexpr hsize_t kBytesChunk = hsize_t{1} << 18;
constexpr hsize_t kTokenChunk = hsize_t{1} << 16;
constexpr hsize_t kColumnChunk = hsize_t{1} << 14;

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
    errno = 0;
    if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0 || !file_.Close()) {
      const int e = errno;  // HDF5 does not report it; the failed write(2) left it (e.g. ENOSPC)
      return Internal(path_ + ": HDF5 flush/close failed" + (e != 0 ? std::string(": ") + std::strerror(e) : ""));
    }
    return Status::Ok();
  }

 private:
  std::string path_;
  int level_;
  H5Id file_;
};

}  // namespace

// No HDF5 clean-up at exit: after a failed close (a full disk) HDF5 keeps the file in its
// tables and its atexit handler closes it again, which segfaults (found by
// TrajectoryStoreFaultTest.FullDisk...). Every file here is closed explicitly, so nothing is
// lost. Must run before the library initialises: a static initializer in each file that uses
// HDF5 (either may be the first one linked).
[[maybe_unused]] const bool kHdf5NoAtExit = [] {
  (void)H5dont_atexit();
  return true;
}();

void QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }  // per thread; cheap

void ShardColumns::Add(const proto::Trajectory& t, const std::string& serialized) {
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

// The open HDF5 file of a ShardReader, with the typed accessors it reads through.
class ShardReader::File {
 public:
  // DATA_LOSS: not HDF5 / not a shard; INVALID_ARGUMENT: another format_version.
  static Result<std::unique_ptr<File>> Open(const std::string& path) {
    QuietHdf5();
    std::unique_ptr<File> r(new File());
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
  File() = default;
  std::string path_;
  H5Id file_;
  int64_t first_index_ = 0, count_ = 0;
  std::vector<int64_t> offsets_;
  H5Id record_bytes_;
};

ShardReader::ShardReader(std::unique_ptr<File> file) : file_(std::move(file)) {}
ShardReader::~ShardReader() = default;

Result<std::unique_ptr<ShardReader>> ShardReader::Open(const std::string& path) {
  MEM1_ASSIGN_OR_RETURN(std::unique_ptr<File> file, File::Open(path));
  return std::unique_ptr<ShardReader>(new ShardReader(std::move(file)));
}

int64_t ShardReader::first_index() const { return file_->first_index(); }
int64_t ShardReader::count() const { return file_->count(); }
const std::string& ShardReader::path() const { return file_->path(); }

Status ShardReader::ReadKeys(std::vector<std::string>* actor_ids, std::vector<uint64_t>* episode_ids) const {
  MEM1_RETURN_IF_ERROR(file_->ReadStrings("actor_id", actor_ids));
  return file_->ReadColumn("episode_id", H5T_INTEGER, H5T_NATIVE_UINT64, file_->count(), episode_ids);
}

Result<std::string> ShardReader::ConfigYaml() const { return file_->StringAttr("config_yaml"); }

Result<std::string> ShardReader::ReadRecord(int64_t local) { return file_->ReadRecord(local); }

}  // namespace mem1::store_internal
