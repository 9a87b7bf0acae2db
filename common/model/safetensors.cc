#include "common/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mem1 {
namespace {

struct DTypeEntry {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
    {DType::kF64, "F64", 8}, {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2}, {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},
};

// Header larger than this is certainly corrupt (the reference reader uses 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

}  // namespace

bool ParseDTypeName(const std::string& name, DType* out) {
  for (const auto& e : kDTypes) {
    if (name == e.name) { *out = e.dtype; return true; }
  }
  return false;
}
const char* DTypeName(DType dtype) {
  for (const auto& e : kDTypes) if (e.dtype == dtype) return e.name;
  return "?";
}
size_t DTypeSize(DType dtype) {
  for (const auto& e : kDTypes) if (e.dtype == dtype) return e.size;
  return 0;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr && map_ != MAP_FAILED) munmap(map_, map_size_);
}

Result<std::shared_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return NotFound(path + ": cannot open safetensors file: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) { ::close(fd); return Internal(path + ": fstat failed"); }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    return DataLoss(path + ": truncated safetensors file (" + std::to_string(file_size) +
                    " bytes, need at least the 8-byte header length)");
  }
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_size_ = file_size;
  f->map_ = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (f->map_ == MAP_FAILED) return Internal(path + ": mmap failed: " + std::strerror(errno));
  const uint8_t* base = static_cast<const uint8_t*>(f->map_);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | base[i];
  if (header_len > kMaxHeaderBytes) {
    return DataLoss(path + ": corrupt safetensors header length " + std::to_string(header_len));
  }
  if (8 + header_len > file_size) {
    return DataLoss(path + ": header extends beyond end of file (header " + std::to_string(header_len) +
                    " bytes, file " + std::to_string(file_size) + " bytes): truncated file?");
  }
  const uint64_t data_size = file_size - 8 - header_len;
  f->data_ = base + 8 + header_len;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(reinterpret_cast<const char*>(base + 8),
                                   reinterpret_cast<const char*>(base + 8 + header_len));
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(path + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) return DataLoss(path + ": header is not a JSON object");
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return DataLoss(path + ": __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) return DataLoss(path + ": __metadata__." + m.key() + " is not a string");
        f->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor \"" + name + "\"";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets")) {
      return DataLoss(where + ": entry needs dtype, shape and data_offsets");
    }
    TensorInfo info;
    info.name = name;
    if (!v["dtype"].is_string()) return DataLoss(where + ": dtype is not a string");
    const std::string dtype = v["dtype"].get<std::string>();
    if (!ParseDTypeName(dtype, &info.dtype)) {
      return Unimplemented(where + ": unknown dtype \"" + dtype + "\"");
    }
    if (!v["shape"].is_array()) return DataLoss(where + ": shape is not an array");
    for (const auto& d : v["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) return DataLoss(where + ": bad shape entry " + d.dump());
      info.shape.push_back(d.get<int64_t>());
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return DataLoss(where + ": data_offsets must be [begin, end]");
    }
    info.begin = off[0].get<uint64_t>();
    info.end = off[1].get<uint64_t>();
    if (info.begin > info.end || info.end > data_size) {
      return DataLoss(where + ": data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                      "] out of range (data buffer is " + std::to_string(data_size) + " bytes)");
    }
    const uint64_t want = static_cast<uint64_t>(info.numel()) * DTypeSize(info.dtype);
    if (info.end - info.begin != want) {
      return DataLoss(where + ": byte length " + std::to_string(info.end - info.begin) +
                      " does not match shape x dtype (" + std::to_string(want) + " bytes)");
    }
    f->tensors_.push_back(std::move(info));
  }
  // No two tensors may share bytes.
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : f->tensors_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->begin < sorted[i - 1]->end && sorted[i]->end > sorted[i]->begin) {
      return DataLoss(path + ": tensors \"" + sorted[i - 1]->name + "\" and \"" + sorted[i]->name + "\" overlap");
    }
  }
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  return f;
}

const TensorInfo* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<SafetensorsCheckpoint> SafetensorsCheckpoint::Open(const std::string& dir) {
  namespace fs = std::filesystem;
  SafetensorsCheckpoint ckpt;
  const std::string single = dir + "/model.safetensors";
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (fs::exists(single)) {
    MEM1_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(single));
    ckpt.shards_.push_back(file);
    for (const auto& t : file->tensors()) ckpt.where_[t.name] = {0, &t};
    return ckpt;
  }
  if (!fs::exists(index_path)) {
    return NotFound(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  nlohmann::json index;
  try {
    std::ifstream in(index_path);
    index = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(index_path + ": invalid JSON: " + e.what());
  }
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    return DataLoss(index_path + ": missing \"weight_map\" object");
  }
  std::map<std::string, size_t> shard_of_file;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string()) return DataLoss(index_path + ": weight_map." + it.key() + " is not a string");
    const std::string shard = it.value().get<std::string>();
    if (shard.find("..") != std::string::npos || shard.find('/') != std::string::npos) {
      return DataLoss(index_path + ": shard name \"" + shard + "\" must be a plain file name");
    }
    if (!shard_of_file.count(shard)) {
      auto file = SafetensorsFile::Open(dir + "/" + shard);
      if (!file.ok()) {
        if (file.status().code() == StatusCode::kNotFound) {
          return DataLoss(index_path + ": names shard \"" + shard + "\" which is missing");
        }
        return file.status();
      }
      shard_of_file[shard] = ckpt.shards_.size();
      ckpt.shards_.push_back(*file);
    }
    const size_t s = shard_of_file[shard];
    const TensorInfo* info = ckpt.shards_[s]->Find(it.key());
    if (info == nullptr) {
      return DataLoss(index_path + ": tensor \"" + it.key() + "\" is not in shard \"" + shard + "\"");
    }
    ckpt.where_[it.key()] = {s, info};
  }
  return ckpt;
}

std::vector<std::string> SafetensorsCheckpoint::Names() const {
  std::vector<std::string> names;
  for (const auto& kv : where_) names.push_back(kv.first);
  return names;
}

const TensorInfo* SafetensorsCheckpoint::Find(const std::string& name, const SafetensorsFile** file) const {
  auto it = where_.find(name);
  if (it == where_.end()) return nullptr;
  if (file != nullptr) *file = shards_[it->second.first].get();
  return it->second.second;
}

Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorView*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorView& t = *sorted[i];
    if (i > 0 && sorted[i - 1]->name == t.name) return InvalidArgument("duplicate tensor name \"" + t.name + "\"");
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    if (t.nbytes != static_cast<size_t>(numel) * DTypeSize(t.dtype)) {
      return InvalidArgument("tensor \"" + t.name + "\": nbytes " + std::to_string(t.nbytes) +
                             " != numel x dtype size");
    }
    header[t.name] = {{"dtype", DTypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  const std::string tmp = path + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) return InvalidArgument(tmp + ": cannot create: " + std::strerror(errno));
  uint8_t len_bytes[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  bool ok = std::fwrite(len_bytes, 1, 8, out) == 8 && std::fwrite(text.data(), 1, text.size(), out) == text.size();
  for (const TensorView* t : sorted) {
    if (!ok) break;
    ok = t->nbytes == 0 || std::fwrite(t->data, 1, t->nbytes, out) == t->nbytes;
  }
  ok = ok && std::fflush(out) == 0 && fsync(fileno(out)) == 0;
  ok = (std::fclose(out) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Internal(path + ": write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace mem1
