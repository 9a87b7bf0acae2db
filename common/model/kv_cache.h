// Slot-based KV cache for batched incremental decoding.
//
// The cache holds `num_slots` independent sequences (slots). Each slot has a length (tokens
// cached so far) and per-layer K/V storage of `capacity` tokens. Slots are filled, truncated
// and reset independently, so one batch can mix sequences of different lengths, an ended
// episode's slot can be refilled mid-batch, and a prefix (e.g. the MEM1 task prompt) can be
// kept while everything after it is dropped (Truncate) and re-encoded next turn.
//
// Shapes: K/V of layer l are [S, Hkv, C, Dh] (S slots, C capacity, Dh head dim).
// Thread safety: not thread-safe; one rollout thread owns a cache.
#ifndef MEM1_COMMON_MODEL_KV_CACHE_H_
#define MEM1_COMMON_MODEL_KV_CACHE_H_

#include <torch/torch.h>

#include <vector>

#include "common/model/model_config.h"

namespace mem1 {

class KvCache {
 public:
  // Allocates zeroed storage on `device` in `dtype`.
  KvCache(const Qwen2Config& config, int64_t num_slots, int64_t capacity, torch::Device device,
          torch::ScalarType dtype);

  int64_t num_slots() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t capacity() const { return capacity_; }
  // Tokens currently cached in `slot`. Precondition: 0 <= slot < num_slots().
  int64_t length(int64_t slot) const;
  // Drops every token of `slot` (length 0). Storage is reused, not cleared.
  void Reset(int64_t slot);
  // Keeps the first `length` tokens of `slot`. Precondition: length <= this->length(slot).
  void Truncate(int64_t slot, int64_t length);
  // Copies the first `length` tokens of `src` into `dst` (dst length becomes `length`), e.g.
  // to start several episodes from one cached prompt.
  void CopyPrefix(int64_t src, int64_t dst, int64_t length);

  // Internal API for the model's cached forward.
  torch::Tensor& keys(int64_t layer) { return keys_[layer]; }
  torch::Tensor& values(int64_t layer) { return values_[layer]; }
  void SetLength(int64_t slot, int64_t length);
  // Bytes held by K/V storage.
  int64_t bytes() const;

 private:
  int64_t capacity_;
  std::vector<torch::Tensor> keys_, values_;
  std::vector<int64_t> lengths_;
};

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_KV_CACHE_H_
