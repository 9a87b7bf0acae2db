// safetensors reading and writing (https://huggingface.co/docs/safetensors format), torch-free.
//
// File layout: u64 little-endian N, then N bytes of UTF-8 JSON header
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
//    "data_offsets": [begin, end]}, ...}
// then the data buffer; offsets are relative to the start of the data buffer.
//
// Every structural defect is reported as DATA_LOSS (truncated / corrupt file) or
// UNIMPLEMENTED (a dtype we do not handle) naming the file and tensor; nothing is partially
// loaded. Files are memory-mapped read-only; views stay valid while the reader lives.
//
// Thread safety: a SafetensorsFile is immutable after Open and may be read from any thread.
#ifndef MEM1_COMMON_MODEL_SAFETENSORS_H_
#define MEM1_COMMON_MODEL_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32" -> kF32 etc. Returns false for names we do not know.
bool ParseDTypeName(const std::string& name, DType* out);
const char* DTypeName(DType dtype);
size_t DTypeSize(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offset into the data buffer
  uint64_t end = 0;    // one past the last byte
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps `path` and validates the whole header: size prefix within the file, JSON syntax,
  // known dtypes, offsets inside the data buffer, byte length == numel * dtype size, no
  // overlapping tensors. NOT_FOUND if the file cannot be opened.
  [[nodiscard]] static Result<std::shared_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when absent.
  const TensorInfo* Find(const std::string& name) const;
  // Raw little-endian bytes of `info` (end - begin bytes). `info` must come from this file.
  const uint8_t* Data(const TensorInfo& info) const { return data_ + info.begin; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A (possibly sharded) HF checkpoint directory: `model.safetensors`, or
// `model.safetensors.index.json` + the shards it names. Every tensor name maps to one shard.
class SafetensorsCheckpoint {
 public:
  // NOT_FOUND when neither file exists; DATA_LOSS when the index names a missing shard, a
  // tensor the shard lacks, or a tensor appears in two shards.
  [[nodiscard]] static Result<SafetensorsCheckpoint> Open(const std::string& dir);

  std::vector<std::string> Names() const;
  // nullptr when absent; *file receives the owning shard.
  const TensorInfo* Find(const std::string& name, const SafetensorsFile** file) const;

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> shards_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> where_;
};

// A tensor to write: `data` must hold numel * DTypeSize(dtype) bytes, little-endian.
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// Writes a single safetensors file atomically (temp file + fsync + rename). Tensors are stored
// in name order, header padded with spaces to an 8-byte boundary (as the reference writer).
// INVALID_ARGUMENT for duplicate names or nbytes != numel * dtype size.
[[nodiscard]] Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                                      const std::map<std::string, std::string>& metadata);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_SAFETENSORS_H_
