// Weight broadcast chunking and reassembly; the chunk layout is specified in weight_chunks.h.
#include "common/transport/weight_chunks.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "common/util/crc32c.h"

namespace mem1 {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string ShapeString(const google::protobuf::RepeatedField<int64_t>& shape) {
  return ShapeString(std::vector<int64_t>(shape.begin(), shape.end()));
}

// "weight chunk (version 7, tensor "a.b", chunk 3 of 5): " prefix for error messages.
std::string ChunkName(const proto::WeightUpdate& c) {
  std::string name = c.tensor_name().substr(0, 200);
  if (c.tensor_name().size() > name.size()) name += "...";
  return "weight chunk (version " + std::to_string(c.version()) + ", tensor \"" + name + "\", chunk " +
         std::to_string(c.chunk_index()) + " of " + std::to_string(c.chunk_count()) + "): ";
}

Status Invalid(const proto::WeightUpdate& c, const std::string& what) { return InvalidArgument(ChunkName(c) + what); }

// Raw byte size of a tensor of `shape` and element size `element_bytes`, or -1 when a dim is
// negative, or -2 when it exceeds `limit` bytes (checked without overflow).
int64_t TensorBytes(const google::protobuf::RepeatedField<int64_t>& shape, int64_t element_bytes, int64_t limit) {
  for (const int64_t d : shape) {
    if (d < 0) return -1;
  }
  for (const int64_t d : shape) {
    if (d == 0) return 0;
  }
  const int64_t max_numel = limit / element_bytes;
  int64_t numel = 1;
  for (const int64_t d : shape) {
    if (numel > max_numel / d) return -2;
    numel *= d;
  }
  if (numel > max_numel) return -2;
  return numel * element_bytes;
}

// Checks the chunk's byte_offset / data size / chunk_count against the layout for a tensor of
// `total` bytes; on success sets *chunk_size to S (0 when the tensor is a single chunk, where
// S is not observable).
Status CheckLayout(const proto::WeightUpdate& c, int64_t total, int64_t* chunk_size) {
  const int64_t count = c.chunk_count();
  const int64_t index = c.chunk_index();
  const int64_t offset = c.byte_offset();
  const int64_t size = static_cast<int64_t>(c.data().size());
  if (count < 1 || index < 0 || index >= count) return Invalid(c, "chunk index outside [0, chunk_count)");
  const std::string where = "byte_offset " + std::to_string(offset) + " and " + std::to_string(size) +
                            " data bytes do not fit the chunk layout of a " + std::to_string(total) + "-byte tensor";
  if (count == 1) {
    if (offset != 0 || size != total) return Invalid(c, where);
    *chunk_size = 0;
    return Status::Ok();
  }
  if (total == 0) return Invalid(c, "an empty tensor must be sent as one chunk");
  int64_t s = 0;
  if (index < count - 1) {
    s = size;  // every chunk but the last has exactly S bytes
  } else {
    if (offset <= 0 || offset % index != 0) return Invalid(c, where);
    s = offset / index;
  }
  if (s < 1 || s >= total) return Invalid(c, where);
  const int64_t expected_count = total / s + (total % s != 0);
  if (expected_count != count) {
    return Invalid(c, "chunk_count " + std::to_string(count) + " does not match " + std::to_string(expected_count) +
                          " chunks of " + std::to_string(s) + " bytes for a " + std::to_string(total) + "-byte tensor");
  }
  // index < count == ceil(total / s), so index * s < total: no overflow.
  if (offset != index * s || size != std::min(s, total - index * s)) return Invalid(c, where);
  *chunk_size = s;
  return Status::Ok();
}

}  // namespace

int64_t WeightDTypeSize(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "BF16" || dtype == "F16") return 2;
  return 0;
}

std::vector<proto::WeightUpdate> ChunkWeights(int64_t version, const std::vector<WeightTensor>& tensors,
                                              int64_t chunk_bytes) {
  CHECK_GE(version, 0);
  CHECK_GE(chunk_bytes, 1);
  CHECK(!tensors.empty());
  CHECK_LE(tensors.size(), static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  std::set<std::string> names;
  std::vector<proto::WeightUpdate> chunks;
  for (const WeightTensor& t : tensors) {
    CHECK(!t.name.empty()) << "unnamed weight tensor";
    CHECK(names.insert(t.name).second) << "duplicate weight tensor " << t.name;
    const int64_t element_bytes = WeightDTypeSize(t.dtype);
    CHECK_GT(element_bytes, 0) << t.name << ": unknown dtype " << t.dtype;
    int64_t numel = 1;
    for (const int64_t d : t.shape) {
      CHECK_GE(d, 0) << t.name << ": shape " << ShapeString(t.shape);
      numel *= d;
    }
    const int64_t total = static_cast<int64_t>(t.bytes.size());
    CHECK_EQ(total, numel * element_bytes) << t.name << ": " << t.dtype << " " << ShapeString(t.shape);
    const int64_t count = std::max<int64_t>(1, total / chunk_bytes + (total % chunk_bytes != 0));
    CHECK_LE(count, std::numeric_limits<int32_t>::max()) << t.name << ": too many chunks; raise chunk_bytes";
    for (int64_t i = 0; i < count; ++i) {
      const int64_t offset = i * chunk_bytes;
      const int64_t size = std::min(chunk_bytes, total - offset);
      proto::WeightUpdate& c = chunks.emplace_back();
      c.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
      c.set_version(version);
      c.set_tensor_name(t.name);
      c.set_dtype(t.dtype);
      for (const int64_t d : t.shape) c.add_shape(d);
      c.set_chunk_index(static_cast<int32_t>(i));
      c.set_chunk_count(static_cast<int32_t>(count));
      c.set_byte_offset(offset);
      c.set_data(t.bytes.data() + offset, static_cast<size_t>(size));
      c.set_checksum(Crc32c(c.data().data(), c.data().size()));
      c.set_tensor_count(static_cast<int32_t>(tensors.size()));
    }
  }
  return chunks;
}

WeightAssembler::WeightAssembler(Options options) : options_(options) {
  CHECK_GE(options_.max_versions_in_flight, 1);
  CHECK_GE(options_.max_version_bytes, 1);
}

Status WeightAssembler::Add(const proto::WeightUpdate& c) {
  if (c.schema_version() != proto::SCHEMA_VERSION_CURRENT) {
    return Invalid(c, "schema_version " + std::to_string(static_cast<int>(c.schema_version())) + ", expected " +
                          std::to_string(static_cast<int>(proto::SCHEMA_VERSION_CURRENT)));
  }
  if (c.version() < 0) return Invalid(c, "negative version");
  if (c.version() <= last_taken_version_) return Status::Ok();
  if (complete_.has_value() && c.version() <= complete_->version) return Status::Ok();

  // The chunk on its own.
  if (c.tensor_name().empty()) return Invalid(c, "empty tensor_name");
  const int64_t element_bytes = WeightDTypeSize(c.dtype());
  if (element_bytes == 0) return Invalid(c, "unknown dtype \"" + c.dtype().substr(0, 32) + "\" (F32, BF16, F16)");
  if (c.tensor_count() < 1) return Invalid(c, "tensor_count " + std::to_string(c.tensor_count()) + " < 1");
  const int64_t total = TensorBytes(c.shape(), element_bytes, options_.max_version_bytes);
  if (total == -1) return Invalid(c, "negative dim in shape " + ShapeString(c.shape()));
  if (total == -2) {
    return Invalid(c, c.dtype() + " " + ShapeString(c.shape()) + " is over max_version_bytes " +
                          std::to_string(options_.max_version_bytes));
  }
  int64_t chunk_size = 0;
  MEM1_RETURN_IF_ERROR(CheckLayout(c, total, &chunk_size));
  const uint32_t crc = Crc32c(c.data().data(), c.data().size());
  if (crc != c.checksum()) {
    return DataLoss(ChunkName(c) + "CRC32C mismatch (got " + std::to_string(crc) + ", chunk says " +
                    std::to_string(c.checksum()) + "); chunk discarded");
  }

  // Against earlier chunks of the same version (checked before any state changes).
  auto version_it = in_flight_.find(c.version());
  PendingTensor* tensor = nullptr;
  if (version_it != in_flight_.end()) {
    PendingVersion& v = version_it->second;
    if (v.tensor_count != c.tensor_count()) {
      return Invalid(c, "tensor_count " + std::to_string(c.tensor_count()) + " but earlier chunks said " +
                            std::to_string(v.tensor_count));
    }
    auto tensor_it = v.tensors.find(c.tensor_name());
    if (tensor_it != v.tensors.end()) {
      tensor = &tensor_it->second;
      if (tensor->dtype != c.dtype() ||
          !std::equal(tensor->shape.begin(), tensor->shape.end(), c.shape().begin(), c.shape().end())) {
        return Invalid(c, c.dtype() + " " + ShapeString(c.shape()) + " but earlier chunks said " + tensor->dtype + " " +
                              ShapeString(tensor->shape));
      }
      if (tensor->chunk_count != c.chunk_count() || tensor->chunk_size != chunk_size) {
        return Invalid(c, "chunk size " + std::to_string(chunk_size) + " / count " + std::to_string(c.chunk_count()) +
                              " but earlier chunks said " + std::to_string(tensor->chunk_size) + " / " +
                              std::to_string(tensor->chunk_count));
      }
      if (tensor->received[c.chunk_index()]) return Status::Ok();  // duplicate
    } else {
      if (static_cast<int64_t>(v.tensors.size()) >= v.tensor_count) {
        return Invalid(c, "more distinct tensors than tensor_count " + std::to_string(v.tensor_count));
      }
      if (v.declared_bytes + total > options_.max_version_bytes) {
        return Invalid(c,
                       "version would hold more than max_version_bytes " + std::to_string(options_.max_version_bytes));
      }
    }
  } else {
    // A new version: make room, or drop it when it is the oldest of all.
    if (static_cast<int64_t>(in_flight_.size()) >= options_.max_versions_in_flight) {
      if (c.version() < in_flight_.begin()->first) return Status::Ok();
      LOG(WARNING) << "weight version " << in_flight_.begin()->first << " evicted incomplete by version "
                   << c.version();
      in_flight_.erase(in_flight_.begin());
    }
    version_it = in_flight_.emplace(c.version(), PendingVersion{}).first;
    version_it->second.version = c.version();
    version_it->second.tensor_count = c.tensor_count();
  }

  PendingVersion& v = version_it->second;
  if (tensor == nullptr) {
    tensor = &v.tensors[c.tensor_name()];
    tensor->dtype = c.dtype();
    tensor->shape.assign(c.shape().begin(), c.shape().end());
    tensor->chunk_count = c.chunk_count();
    tensor->chunk_size = chunk_size;
    tensor->bytes.resize(static_cast<size_t>(total));
    tensor->received.assign(static_cast<size_t>(c.chunk_count()), false);
    v.declared_bytes += total;
  }
  if (!c.data().empty()) std::memcpy(&tensor->bytes[c.byte_offset()], c.data().data(), c.data().size());
  tensor->received[c.chunk_index()] = true;
  if (++tensor->received_count == tensor->chunk_count && ++v.complete_tensors == v.tensor_count) {
    Complete(c.version());
  }
  return Status::Ok();
}

void WeightAssembler::Complete(int64_t version) {
  auto it = in_flight_.find(version);
  CHECK(it != in_flight_.end());
  complete_ = std::move(it->second);
  in_flight_.erase(in_flight_.begin(), std::next(it));  // this version and every older one
}

std::optional<CompleteWeights> WeightAssembler::TakeComplete() {
  if (!complete_.has_value()) return std::nullopt;
  CompleteWeights out;
  out.version = complete_->version;
  out.tensors.reserve(complete_->tensors.size());
  for (auto& [name, t] : complete_->tensors) {
    out.tensors.push_back(WeightTensor{name, std::move(t.dtype), std::move(t.shape), std::move(t.bytes)});
  }
  complete_.reset();
  last_taken_version_ = out.version;
  return out;
}

}  // namespace mem1
