// Qwen2-family decoder-only transformer (Qwen2 / Qwen2.5) with a scalar value head.
//
// Architecture (HF Qwen2ForCausalLM): token embedding -> L x [RMSNorm -> GQA self-attention
// with q/k/v bias and RoPE -> residual -> RMSNorm -> SwiGLU MLP -> residual] -> RMSNorm ->
// lm_head (tied to the embedding when tie_word_embeddings). The value head (PPO critic) is a
// Linear(D, 1) on the final normalised hidden state; it is not part of the HF layout.
//
// Parameter names are exactly HF's ("model.layers.3.self_attn.q_proj.weight", ...), so
// named_parameters() maps 1:1 onto safetensors keys.
//
// Shapes: B batch, T query tokens, K key tokens, D hidden, H query heads, Hkv kv heads,
// Dh head dim, V vocab. Masks are bool, true = may attend.
//
// Thread safety: a model may be used by one thread at a time (libtorch modules are not
// re-entrant for training); inference from several threads needs separate KvCaches and
// external serialisation.
#ifndef MEM1_COMMON_MODEL_QWEN2_H_
#define MEM1_COMMON_MODEL_QWEN2_H_

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "common/model/kv_cache.h"
#include "common/model/model_config.h"

namespace mem1 {

struct ModelOutput {
  torch::Tensor logits;  // [B, T, V] in the model dtype
  torch::Tensor values;  // [B, T] float32 (undefined when values were not requested)
};

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [.., D] -> [.., D]
  torch::Tensor weight;
 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// Block-sparse attention plan for ONE sequence: query rows [q_begin, q_end) attend only to
// the keys in `keys` (sorted positions in the sequence) with an additive `bias` [rows, |keys|].
// The learner builds it from segment spans (learner/scoring.h AttentionBlocksFromSpans);
// AttentionBlocksFromMask builds it from a dense mask (reference). Equal to dense attention under that mask
// but skips fully masked key ranges (a MEM1 turn sees the prompt and its own context copy, not
// the other turns), which is most of a long stitched trajectory.
struct AttentionBlock {
  int64_t q_begin = 0, q_end = 0;
  torch::Tensor keys;  // [K] int64
  torch::Tensor bias;  // [q_end - q_begin, K] float32
};

// Groups consecutive rows whose visible sets grow by exactly the row itself (the causal
// continuation of one segment). mask: T*T row-major bytes (1 = visible). The reference the
// span plan is tested against; T^2 work, not used on the training path.
std::vector<AttentionBlock> AttentionBlocksFromMask(const uint8_t* mask, int64_t T, torch::Device device);

// What a packed cached forward (Qwen2ForCausalLM::ForwardPacked) attends, built once per
// forward and shared by every layer. Packed order: the one-token rows first, then each longer
// segment.
struct PackedAttentionPlan {
  int64_t decode_rows = 0;                    // one-token rows at packed positions [0, decode_rows)
  int64_t decode_first_slot = -1;             // their slots are first, first+1, ... (a view, no gather); else -1
  torch::Tensor decode_slots, decode_starts;  // [decode_rows] int64: slot, cached length (= write position)
  int64_t decode_keys = 0;                    // keys gathered for the one-token rows (max length + 1)
  torch::Tensor decode_bias;                  // [decode_rows, 1, decode_keys] additive
  struct Segment {
    int64_t offset = 0, n = 0, slot = 0, start = 0;  // packed offset, new tokens, slot, cached length
    torch::Tensor bias;                              // [1, n, start + n] additive (causal over the new tokens)
  };
  std::vector<Segment> segments;
};

class Qwen2AttentionImpl : public torch::nn::Module {
 public:
  explicit Qwen2AttentionImpl(const Qwen2Config& c);
  // Full-sequence attention. x [B,T,D]; cos/sin [B,T,Dh]; bias [B,T,T] additive mask
  // (MaskBias). Returns [B,T,D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& bias);
  // Cached attention: appends this step's K/V for rows `slots` into `cache` layer `layer`
  // at each row's current length, then attends over [0, len_b + i]. key_bias [B,T,K] additive.
  torch::Tensor ForwardCached(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                              KvCache* cache, int64_t layer, const std::vector<int64_t>& slots,
                              const std::vector<int64_t>& n_valid, const torch::Tensor& key_bias,
                              int64_t max_keys);
  // Packed cached attention: x [1,N,D] holds the plan's one-token rows and segments back to
  // back; each appends its K/V to its slot and attends over the slot's cache plus itself.
  torch::Tensor ForwardPacked(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                              KvCache* cache, int64_t layer, const PackedAttentionPlan& plan);
  // Block-sparse attention for one sequence (x [1,T,D]).
  torch::Tensor ForwardBlocked(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                               const std::vector<AttentionBlock>& blocks);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  struct Qkv {
    torch::Tensor q;  // [B,H,T,Dh], RoPE applied
    torch::Tensor k;  // [B,Hkv,T,Dh], RoPE applied
    torch::Tensor v;  // [B,Hkv,T,Dh]
  };
  // The projections every variant starts with: x [B,T,D], cos/sin [B,T,Dh].
  Qkv Project(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
  torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& bias);
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(Qwen2Attention);

class Qwen2MlpImpl : public torch::nn::Module {
 public:
  explicit Qwen2MlpImpl(const Qwen2Config& c);
  torch::Tensor forward(const torch::Tensor& x);  // [..,D] -> [..,D]
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Qwen2Mlp);

class Qwen2DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit Qwen2DecoderLayerImpl(const Qwen2Config& c);
  Qwen2Attention self_attn{nullptr};
  Qwen2Mlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(Qwen2DecoderLayer);

class Qwen2BackboneImpl : public torch::nn::Module {
 public:
  explicit Qwen2BackboneImpl(const Qwen2Config& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RmsNorm norm{nullptr};
};
TORCH_MODULE(Qwen2Backbone);

class Qwen2ForCausalLMImpl : public torch::nn::Module {
 public:
  explicit Qwen2ForCausalLMImpl(const Qwen2Config& config);

  const Qwen2Config& config() const { return config_; }
  // Token ids recorded in config.json (generation stops at eos); do not affect the weights.
  void set_eos_token_id(int64_t id) { config_.eos_token_id = id; }

  // Initialises every parameter from a seeded CPU generator (N(0, std) for embeddings and
  // linear weights, zeros for biases, ones for norms), independent of the device.
  void InitWeights(uint64_t seed, double std);

  // One pass over whole sequences. tokens, positions: [B,T] int64. mask: [B,T,T] bool
  // (true = query t may attend key s) or undefined for plain causal attention.
  // Every query row must allow at least one key.
  ModelOutput Forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                      const torch::Tensor& mask, bool compute_values = true);

  // Final hidden states [B,T,D] for the same inputs (for losses that slice before lm_head).
  torch::Tensor Hidden(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& mask);
  // Same for one sequence (tokens, positions [1,T]) with a block-sparse attention plan.
  torch::Tensor HiddenBlocked(const torch::Tensor& tokens, const torch::Tensor& positions,
                              const std::vector<AttentionBlock>& blocks);

  // Incremental forward with a KV cache (inference only, no autograd). Row b appends
  // n_valid[b] tokens (tokens/positions [B,T], right-padded; 1 <= n_valid[b] <= T) to slot
  // slots[b]; each new token attends to the slot's cached tokens plus the new tokens before
  // it. Slots must be distinct. Returns logits for all T positions of each row ([B,T,V];
  // rows' padded positions hold garbage) and values when requested.
  // Precondition (CHECK): cache.length(slot) + n_valid <= cache.capacity().
  // `logit_rows` (flat indices b*T + t, optional): compute the LM head only for these
  // positions; logits (and values) are then [N,V] / [N] in that order. A prefill needs the
  // logits of one position per row, so this skips T-1 of every T [D]x[D,V] products.
  ModelOutput ForwardCached(KvCache* cache, const std::vector<int64_t>& slots, const torch::Tensor& tokens,
                            const torch::Tensor& positions, const std::vector<int64_t>& n_valid,
                            bool compute_values = false, const std::vector<int64_t>* logit_rows = nullptr);

  // The same incremental forward with no padding: segment i appends n_tokens[i] >= 1 tokens to
  // slot slots[i]; tokens and positions [N] (int64) hold the segments back to back in that
  // order (N = sum of n_tokens). One-token segments (decode steps) attend as one batch, longer
  // ones (prefills) each on their own, and every linear layer runs once over all N tokens, so a
  // prefill rides in the same forward as the other rows' decode steps. Returns the logits of
  // `logit_rows` (indices into [0, N)) as [R,V]. Same numbers as ForwardCached of each segment
  // alone, up to float summation order. Slots distinct; capacity CHECKed as ForwardCached.
  ModelOutput ForwardPacked(KvCache* cache, const std::vector<int64_t>& slots, const std::vector<int64_t>& n_tokens,
                            const torch::Tensor& tokens, const torch::Tensor& positions,
                            const std::vector<int64_t>& logit_rows);

  // lm_head weight [V,D] (the embedding when tied).
  torch::Tensor LmHeadWeight() const;

  Qwen2Backbone model{nullptr};
  torch::nn::Linear lm_head{nullptr};     // null when tied
  torch::nn::Linear value_head{nullptr};  // [1, D] + bias

 private:
  // One layer's self-attention variant (full-mask, block-sparse or KV-cached):
  // x [B,T,D] (already input_layernorm-ed), cos/sin [B,T,Dh], `layer` its index -> [B,T,D].
  using LayerAttention = std::function<torch::Tensor(Qwen2AttentionImpl& attention, const torch::Tensor& x,
                                                     const torch::Tensor& cos, const torch::Tensor& sin,
                                                     int64_t layer)>;
  // The decoder stack, applied from this one place for every forward variant:
  // embed(tokens) -> L x [h += attend(norm(h)); h += mlp(norm(h))] -> final norm.
  // tokens, positions [B,T] -> final hidden states [B,T,D].
  torch::Tensor DecoderStack(const torch::Tensor& tokens, const torch::Tensor& positions,
                             const LayerAttention& attend);
  std::pair<torch::Tensor, torch::Tensor> Rope(const torch::Tensor& positions, torch::ScalarType dtype) const;
  ModelOutput Head(const torch::Tensor& hidden, bool compute_values);
  Qwen2Config config_;
  torch::Tensor inv_freq_;  // [Dh/2] float32, on the module device
};
TORCH_MODULE(Qwen2ForCausalLM);

// y = x W^T + b for x [..., in]; uses gemv when there is one row (decode at batch 1 is
// bandwidth-bound and BLAS gemm reads weights at half the speed of gemv there).
torch::Tensor LinearForward(const torch::Tensor& x, const torch::nn::Linear& layer);
// Same with explicit weight [out,in] and optional bias [out] (undefined = none).
torch::Tensor LinearForward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// Additive attention bias from a bool mask [B,T,K]: 0 where true, -inf where false (float32).
torch::Tensor MaskBias(const torch::Tensor& mask);

// Parses "cpu" / "cuda" / "cuda:N"; and "float32" / "bfloat16" / "float16".
torch::Device ParseDevice(const std::string& name);
torch::ScalarType ParseDtype(const std::string& name);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_QWEN2_H_
