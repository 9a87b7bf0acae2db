// Minimal HDF5 reading/writing for learner checkpoints (and later the trajectory store).
// HDF5 types stay in the .cc. Dataset names may contain '/' (intermediate groups are created).
// Errors: NOT_FOUND (missing file/dataset/attribute), DATA_LOSS (unreadable file, wrong type
// or shape, a checksum mismatch), INTERNAL (HDF5 failure). Arrays are written chunked with a
// Fletcher-32 checksum per chunk, so damaged data is an error on read, not wrong numbers. Thread safety: one thread per object (HDF5 serial build).
#ifndef MEM1_COMMON_STORAGE_HDF5_FILE_H_
#define MEM1_COMMON_STORAGE_HDF5_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

class Hdf5Writer {
 public:
  // Creates (truncates) `path`.
  [[nodiscard]] static Result<std::unique_ptr<Hdf5Writer>> Create(const std::string& path);
  ~Hdf5Writer();
  [[nodiscard]] Status WriteFloats(const std::string& name, const float* data, const std::vector<int64_t>& shape);
  [[nodiscard]] Status WriteDoubles(const std::string& name, const double* data, const std::vector<int64_t>& shape);
  [[nodiscard]] Status WriteBytes(const std::string& name, const uint8_t* data, int64_t n);
  // Root attributes.
  [[nodiscard]] Status SetInt64(const std::string& name, int64_t value);
  [[nodiscard]] Status SetString(const std::string& name, const std::string& value);
  // Flushes and closes the file; the writer is unusable afterwards.
  [[nodiscard]] Status Close();

 private:
  Hdf5Writer() = default;
  int64_t file_ = -1;
  std::string path_;
};

class Hdf5Reader {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Hdf5Reader>> Open(const std::string& path);
  ~Hdf5Reader();
  bool Has(const std::string& name) const;
  [[nodiscard]] Status ReadFloats(const std::string& name, std::vector<float>* data, std::vector<int64_t>* shape) const;
  [[nodiscard]] Status ReadDoubles(const std::string& name, std::vector<double>* data, std::vector<int64_t>* shape) const;
  [[nodiscard]] Status ReadBytes(const std::string& name, std::vector<uint8_t>* data) const;
  [[nodiscard]] Result<int64_t> GetInt64(const std::string& name) const;
  [[nodiscard]] Result<std::string> GetString(const std::string& name) const;

 private:
  Hdf5Reader() = default;
  int64_t file_ = -1;
  std::string path_;
};

}  // namespace mem1

#endif  // MEM1_COMMON_STORAGE_HDF5_FILE_H_
