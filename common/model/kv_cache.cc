#include "common/model/kv_cache.h"

#include <glog/logging.h>

namespace mem1 {

KvCache::KvCache(const Qwen2Config& config, int64_t num_slots, int64_t capacity, torch::Device device,
                 torch::ScalarType dtype)
    : capacity_(capacity), lengths_(num_slots, 0) {
  CHECK_GT(num_slots, 0);
  CHECK_GT(capacity, 0);
  auto opts = torch::TensorOptions().device(device).dtype(dtype);
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    keys_.push_back(torch::zeros({num_slots, config.num_key_value_heads, capacity, config.head_dim()}, opts));
    values_.push_back(torch::zeros({num_slots, config.num_key_value_heads, capacity, config.head_dim()}, opts));
  }
}

int64_t KvCache::length(int64_t slot) const {
  CHECK(slot >= 0 && slot < num_slots()) << "slot " << slot;
  return lengths_[slot];
}

void KvCache::Reset(int64_t slot) { SetLength(slot, 0); }

void KvCache::Truncate(int64_t slot, int64_t length) {
  CHECK_LE(length, this->length(slot));
  SetLength(slot, length);
}

void KvCache::SetLength(int64_t slot, int64_t length) {
  CHECK(slot >= 0 && slot < num_slots()) << "slot " << slot;
  CHECK(length >= 0 && length <= capacity_) << "length " << length;
  lengths_[slot] = length;
}

void KvCache::CopyPrefix(int64_t src, int64_t dst, int64_t length) {
  CHECK_LE(length, this->length(src));
  torch::NoGradGuard no_grad;
  if (src != dst && length > 0) {
    for (size_t l = 0; l < keys_.size(); ++l) {
      keys_[l][dst].narrow(1, 0, length).copy_(keys_[l][src].narrow(1, 0, length));
      values_[l][dst].narrow(1, 0, length).copy_(values_[l][src].narrow(1, 0, length));
    }
  }
  SetLength(dst, length);
}

int64_t KvCache::bytes() const {
  int64_t b = 0;
  for (size_t l = 0; l < keys_.size(); ++l) b += 2 * keys_[l].numel() * keys_[l].element_size();
  return b;
}

}  // namespace mem1
