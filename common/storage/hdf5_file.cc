#include "common/storage/hdf5_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace mem1 {
namespace {

// No HDF5 clean-up at exit: after a failed close (a full disk) HDF5 keeps the file in its
// tables and its atexit handler closes it again, which segfaults (found by
// TrajectoryStoreFaultTest.FullDisk...). Every file here is closed explicitly, so nothing is
// lost. Must run before the library initialises: a static initializer in each file that uses
// HDF5 (either may be the first one linked).
[[maybe_unused]] const bool kHdf5NoAtExit = [] {
  (void)H5dont_atexit();
  return true;
}();

// Silences HDF5's automatic error printing for the calling thread (we report statuses).
void QuietHdf5() {
  static bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

Status WriteDataset(hid_t file, const std::string& path, const std::string& name, hid_t type, const void* data,
                    const std::vector<int64_t>& shape) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.empty() ? nullptr : dims.data(), nullptr);
  if (shape.empty()) {
    H5Sclose(space);
    space = H5Screate(H5S_SCALAR);
  }
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  // Non-empty arrays are stored in chunks of at most ~64 MiB with a Fletcher-32 checksum each:
  // a damaged file fails to read (H5Dread errors) instead of returning wrong numbers.
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t row_bytes = H5Tget_size(type), elements = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    elements *= dims[d];
    if (d > 0) row_bytes *= dims[d];
  }
  if (!dims.empty() && elements > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (hsize_t{64} << 20) / std::max<hsize_t>(1, row_bytes)));
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
    H5Pset_fletcher32(dcpl);
  }
  hid_t ds = H5Dcreate2(file, name.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  H5Sclose(space);
  if (ds < 0) return Internal(path + ": cannot create dataset " + name);
  const herr_t rc = H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Dclose(ds);
  if (rc < 0) return Internal(path + ": cannot write dataset " + name);
  return Status::Ok();
}

template <typename T>
Status ReadDataset(hid_t file, const std::string& path, const std::string& name, hid_t mem_type, H5T_class_t klass,
                   std::vector<T>* data, std::vector<int64_t>* shape) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) return NotFound(path + ": no dataset " + name);
  hid_t ds = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  if (ds < 0) return DataLoss(path + ": cannot open dataset " + name);
  hid_t ftype = H5Dget_type(ds);
  const bool ok_type = H5Tget_class(ftype) == klass;
  H5Tclose(ftype);
  if (!ok_type) {
    H5Dclose(ds);
    return DataLoss(path + ": dataset " + name + " has an unexpected type");
  }
  hid_t space = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::max(rank, 0));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  H5Sclose(space);
  int64_t n = 1;
  if (shape) shape->clear();
  for (hsize_t d : dims) {
    n *= static_cast<int64_t>(d);
    if (shape) shape->push_back(static_cast<int64_t>(d));
  }
  data->resize(n);
  const herr_t rc = n == 0 ? 0 : H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data->data());
  H5Dclose(ds);
  if (rc < 0) return DataLoss(path + ": cannot read dataset " + name + " (damaged file: checksum or structure error)");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Hdf5Writer>> Hdf5Writer::Create(const std::string& path) {
  QuietHdf5();
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return Internal(path + ": cannot create HDF5 file");
  std::unique_ptr<Hdf5Writer> w(new Hdf5Writer());
  w->file_ = f;
  w->path_ = path;
  return w;
}

Hdf5Writer::~Hdf5Writer() {
  if (file_ >= 0) H5Fclose(file_);
}

Status Hdf5Writer::WriteFloats(const std::string& name, const float* data, const std::vector<int64_t>& shape) {
  return WriteDataset(file_, path_, name, H5T_NATIVE_FLOAT, data, shape);
}
Status Hdf5Writer::WriteDoubles(const std::string& name, const double* data, const std::vector<int64_t>& shape) {
  return WriteDataset(file_, path_, name, H5T_NATIVE_DOUBLE, data, shape);
}
Status Hdf5Writer::WriteBytes(const std::string& name, const uint8_t* data, int64_t n) {
  return WriteDataset(file_, path_, name, H5T_NATIVE_UINT8, data, {n});
}

Status Hdf5Writer::SetInt64(const std::string& name, int64_t value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(file_, name.c_str(), H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  if (attr < 0) return Internal(path_ + ": cannot create attribute " + name);
  const herr_t rc = H5Awrite(attr, H5T_NATIVE_INT64, &value);
  H5Aclose(attr);
  return rc < 0 ? Internal(path_ + ": cannot write attribute " + name) : Status::Ok();
}

Status Hdf5Writer::SetString(const std::string& name, const std::string& value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::max<size_t>(1, value.size()));
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(file_, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  if (attr < 0) {
    H5Tclose(type);
    return Internal(path_ + ": cannot create attribute " + name);
  }
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  const herr_t rc = H5Awrite(attr, type, padded.data());
  H5Aclose(attr);
  H5Tclose(type);
  return rc < 0 ? Internal(path_ + ": cannot write attribute " + name) : Status::Ok();
}

Status Hdf5Writer::Close() {
  if (file_ < 0) return Status::Ok();
  errno = 0;
  const herr_t a = H5Fflush(file_, H5F_SCOPE_GLOBAL);
  const herr_t b = H5Fclose(file_);
  const int e = errno;  // HDF5 does not report it; a failed write(2) left it (e.g. ENOSPC)
  file_ = -1;
  if (a >= 0 && b >= 0) return Status::Ok();
  return Internal(path_ + ": flush/close failed" + (e != 0 ? std::string(": ") + std::strerror(e) : ""));
}

Result<std::unique_ptr<Hdf5Reader>> Hdf5Reader::Open(const std::string& path) {
  QuietHdf5();
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return NotFound(path + ": no such checkpoint file");
    std::fclose(f);
    return DataLoss(path + ": not a readable HDF5 file (truncated or corrupt?)");
  }
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return DataLoss(path + ": cannot open HDF5 file");
  std::unique_ptr<Hdf5Reader> r(new Hdf5Reader());
  r->file_ = f;
  r->path_ = path;
  return r;
}

Hdf5Reader::~Hdf5Reader() {
  if (file_ >= 0) H5Fclose(file_);
}

bool Hdf5Reader::Has(const std::string& name) const {
  // Check each path component (H5Lexists fails on missing intermediate groups).
  size_t pos = 0;
  while ((pos = name.find('/', pos + 1)) != std::string::npos) {
    if (H5Lexists(file_, name.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return H5Lexists(file_, name.c_str(), H5P_DEFAULT) > 0;
}

Status Hdf5Reader::ReadFloats(const std::string& name, std::vector<float>* data, std::vector<int64_t>* shape) const {
  if (!Has(name)) return NotFound(path_ + ": no dataset " + name);
  return ReadDataset(file_, path_, name, H5T_NATIVE_FLOAT, H5T_FLOAT, data, shape);
}
Status Hdf5Reader::ReadDoubles(const std::string& name, std::vector<double>* data, std::vector<int64_t>* shape) const {
  if (!Has(name)) return NotFound(path_ + ": no dataset " + name);
  return ReadDataset(file_, path_, name, H5T_NATIVE_DOUBLE, H5T_FLOAT, data, shape);
}
Status Hdf5Reader::ReadBytes(const std::string& name, std::vector<uint8_t>* data) const {
  if (!Has(name)) return NotFound(path_ + ": no dataset " + name);
  return ReadDataset(file_, path_, name, H5T_NATIVE_UINT8, H5T_INTEGER, data, nullptr);
}

Result<int64_t> Hdf5Reader::GetInt64(const std::string& name) const {
  if (H5Aexists(file_, name.c_str()) <= 0) return NotFound(path_ + ": no attribute " + name);
  hid_t attr = H5Aopen(file_, name.c_str(), H5P_DEFAULT);
  int64_t v = 0;
  const herr_t rc = H5Aread(attr, H5T_NATIVE_INT64, &v);
  H5Aclose(attr);
  if (rc < 0) return DataLoss(path_ + ": attribute " + name + " is not an integer");
  return v;
}

Result<std::string> Hdf5Reader::GetString(const std::string& name) const {
  if (H5Aexists(file_, name.c_str()) <= 0) return NotFound(path_ + ": no attribute " + name);
  hid_t attr = H5Aopen(file_, name.c_str(), H5P_DEFAULT);
  hid_t type = H5Aget_type(attr);
  if (H5Tget_class(type) != H5T_STRING) {
    H5Tclose(type);
    H5Aclose(attr);
    return DataLoss(path_ + ": attribute " + name + " is not a string");
  }
  const size_t n = H5Tget_size(type);
  std::string s(n, '\0');
  const herr_t rc = H5Aread(attr, type, s.data());
  H5Tclose(type);
  H5Aclose(attr);
  if (rc < 0) return DataLoss(path_ + ": cannot read attribute " + name);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace mem1
