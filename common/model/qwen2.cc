#include "common/model/qwen2.h"

#include <glog/logging.h>

#include <cmath>

#include "common/model/skinny_gemm.h"

namespace mem1 {
namespace {

using torch::indexing::Slice;

// rotate_half as in HF: [x1, x2] -> [-x2, x1] over the last dim.
torch::Tensor RotateHalf(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// x [B,h,T,Dh]; cos/sin [B,T,Dh] -> broadcast over heads.
torch::Tensor ApplyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  auto c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  return x * c + RotateHalf(x) * s;
}

}  // namespace

torch::Tensor MaskBias(const torch::Tensor& mask) {
  return torch::zeros(mask.sizes(), torch::TensorOptions().dtype(torch::kFloat32).device(mask.device()))
      .masked_fill_(mask.logical_not(), -std::numeric_limits<float>::infinity());
}

torch::Tensor LinearForward(const torch::Tensor& x, const torch::nn::Linear& layer) {
  return LinearForward(x, layer->weight, layer->bias);
}

torch::Tensor LinearForward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  // A decode step's 1-32 rows: stream the weights once (skinny_gemm.h) instead of BLAS's GEMM.
  if (SkinnyLinearApplies(x, w)) return SkinnyLinear(x, w, b);
  const int64_t in = x.size(-1);
  const int64_t rows = x.numel() / in;
  if (rows == 1 && !(torch::GradMode::is_enabled() && w.requires_grad())) {
    auto y = torch::mv(w, x.reshape({in}));
    if (b.defined()) y = y + b;
    auto shape = x.sizes().vec();
    shape.back() = w.size(0);
    return y.reshape(shape);
  }
  return torch::nn::functional::linear(x, w, b.defined() ? b : torch::Tensor());
}

torch::Device ParseDevice(const std::string& name) { return torch::Device(name); }

torch::ScalarType ParseDtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "float16") return torch::kFloat16;
  LOG(FATAL) << "unknown dtype " << name << " (config validation should have caught it)";
  return torch::kFloat32;
}

// ---------------------------------------------------------------- RMSNorm
RmsNormImpl::RmsNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  auto xf = x.to(torch::kFloat32);
  auto var = xf.pow(2).mean(-1, /*keepdim=*/true);
  xf = xf * torch::rsqrt(var + eps_);
  return weight * xf.to(x.scalar_type());
}

// ---------------------------------------------------------------- attention
Qwen2AttentionImpl::Qwen2AttentionImpl(const Qwen2Config& c)
    : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim()) {
  const int64_t d = c.hidden_size;
  q_proj = register_module("q_proj", torch::nn::Linear(torch::nn::LinearOptions(d, heads_ * head_dim_).bias(true)));
  k_proj = register_module("k_proj", torch::nn::Linear(torch::nn::LinearOptions(d, kv_heads_ * head_dim_).bias(true)));
  v_proj = register_module("v_proj", torch::nn::Linear(torch::nn::LinearOptions(d, kv_heads_ * head_dim_).bias(true)));
  o_proj = register_module("o_proj", torch::nn::Linear(torch::nn::LinearOptions(heads_ * head_dim_, d).bias(false)));
}

// q [B,H,T,Dh], k/v [B,Hkv,K,Dh], bias [B,T,K] additive (0 = visible, -inf = masked) -> [B,T,H*Dh].
// GQA without materialising repeated K/V: query heads are grouped per kv head
// (head h uses kv head h / G, as HF repeat_kv). The 1/sqrt(Dh) scale is folded into q and the
// mask is one in-place add, so the [.., T, K] scores are touched once before the softmax.
torch::Tensor Qwen2AttentionImpl::Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         const torch::Tensor& bias) {
  const int64_t B = q.size(0), T = q.size(2), K = k.size(2), G = heads_ / kv_heads_;
  const auto dtype = q.scalar_type();
  auto qg = (q * (1.0 / std::sqrt(static_cast<double>(head_dim_)))).reshape({B, kv_heads_, G * T, head_dim_});
  auto scores = torch::matmul(qg, k.transpose(-1, -2));  // [B,Hkv,G*T,K]
  if (dtype != torch::kFloat32) scores = scores.to(torch::kFloat32);
  scores = scores.view({B, kv_heads_, G, T, K});
  scores.add_(bias.view({B, 1, 1, T, K}));
  auto probs = torch::softmax(scores, -1).to(dtype).view({B, kv_heads_, G * T, K});
  auto out = torch::matmul(probs, v);  // [B,Hkv,G*T,Dh]
  return out.view({B, heads_, T, head_dim_}).transpose(1, 2).reshape({B, T, heads_ * head_dim_});
}

Qwen2AttentionImpl::Qkv Qwen2AttentionImpl::Project(const torch::Tensor& x, const torch::Tensor& cos,
                                                     const torch::Tensor& sin) {
  const int64_t B = x.size(0), T = x.size(1);
  auto q = LinearForward(x, q_proj).view({B, T, heads_, head_dim_}).transpose(1, 2);
  auto k = LinearForward(x, k_proj).view({B, T, kv_heads_, head_dim_}).transpose(1, 2);
  auto v = LinearForward(x, v_proj).view({B, T, kv_heads_, head_dim_}).transpose(1, 2);
  return {ApplyRope(q, cos, sin), ApplyRope(k, cos, sin), v};
}

torch::Tensor Qwen2AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                          const torch::Tensor& bias) {
  auto [q, k, v] = Project(x, cos, sin);
  return LinearForward(Attend(q, k, v, bias), o_proj);
}

torch::Tensor Qwen2AttentionImpl::ForwardCached(const torch::Tensor& x, const torch::Tensor& cos,
                                                const torch::Tensor& sin, KvCache* cache, int64_t layer,
                                                const std::vector<int64_t>& slots,
                                                const std::vector<int64_t>& n_valid, const torch::Tensor& key_bias,
                                                int64_t max_keys) {
  const int64_t B = x.size(0), T = x.size(1);
  auto [q, k, v] = Project(x, cos, sin);
  torch::Tensor& kc = cache->keys(layer);    // [S,Hkv,C,Dh]
  torch::Tensor& vc = cache->values(layer);
  if (T == 1) {
    // Decode: one scatter per layer instead of one copy per row.
    std::vector<int64_t> starts(B);
    for (int64_t b = 0; b < B; ++b) starts[b] = cache->length(slots[b]);
    auto opts = torch::TensorOptions().dtype(torch::kLong).device(kc.device());
    auto slot_idx = torch::tensor(slots, opts), pos_idx = torch::tensor(starts, opts);
    kc.index_put_({slot_idx, Slice(), pos_idx}, k.select(2, 0));
    vc.index_put_({slot_idx, Slice(), pos_idx}, v.select(2, 0));
  } else {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t start = cache->length(slots[b]);
      kc[slots[b]].narrow(1, start, n_valid[b]).copy_(k[b].narrow(1, 0, n_valid[b]));
      vc[slots[b]].narrow(1, start, n_valid[b]).copy_(v[b].narrow(1, 0, n_valid[b]));
    }
  }
  // Gather the rows' caches; contiguous slot ranges are a view, not a copy.
  bool contiguous = true;
  for (int64_t b = 1; b < B; ++b) contiguous = contiguous && slots[b] == slots[0] + b;
  torch::Tensor keys, values;
  if (contiguous) {
    keys = kc.narrow(0, slots[0], B).narrow(2, 0, max_keys);
    values = vc.narrow(0, slots[0], B).narrow(2, 0, max_keys);
  } else {
    auto idx = torch::tensor(slots, torch::TensorOptions().dtype(torch::kLong).device(kc.device()));
    // Narrow first: gathering whole slots would copy every slot's full capacity each step.
    keys = kc.narrow(2, 0, max_keys).index_select(0, idx);
    values = vc.narrow(2, 0, max_keys).index_select(0, idx);
  }
  return LinearForward(Attend(q, keys, values, key_bias), o_proj);
}

torch::Tensor Qwen2AttentionImpl::ForwardPacked(const torch::Tensor& x, const torch::Tensor& cos,
                                                const torch::Tensor& sin, KvCache* cache, int64_t layer,
                                                const PackedAttentionPlan& plan) {
  auto [q, k, v] = Project(x, cos, sin);  // q [1,H,N,Dh], k/v [1,Hkv,N,Dh]
  torch::Tensor& kc = cache->keys(layer);  // [S,Hkv,C,Dh]
  torch::Tensor& vc = cache->values(layer);
  std::vector<torch::Tensor> outs;
  const int64_t Bd = plan.decode_rows;
  if (Bd > 0) {
    // The one-token rows as a batch of Bd sequences of length 1: one scatter, one attention.
    auto qd = q.narrow(2, 0, Bd).permute({2, 1, 0, 3});  // [Bd,H,1,Dh]
    auto kd = k.narrow(2, 0, Bd).permute({2, 1, 0, 3});  // [Bd,Hkv,1,Dh]
    auto vd = v.narrow(2, 0, Bd).permute({2, 1, 0, 3});
    kc.index_put_({plan.decode_slots, Slice(), plan.decode_starts}, kd.select(2, 0));
    vc.index_put_({plan.decode_slots, Slice(), plan.decode_starts}, vd.select(2, 0));
    torch::Tensor keys, values;
    if (plan.decode_first_slot >= 0) {
      keys = kc.narrow(0, plan.decode_first_slot, Bd).narrow(2, 0, plan.decode_keys);
      values = vc.narrow(0, plan.decode_first_slot, Bd).narrow(2, 0, plan.decode_keys);
    } else {
      keys = kc.narrow(2, 0, plan.decode_keys).index_select(0, plan.decode_slots);
      values = vc.narrow(2, 0, plan.decode_keys).index_select(0, plan.decode_slots);
    }
    outs.push_back(Attend(qd, keys, values, plan.decode_bias).view({1, Bd, heads_ * head_dim_}));
  }
  for (const auto& seg : plan.segments) {
    kc[seg.slot].narrow(1, seg.start, seg.n).copy_(k[0].narrow(1, seg.offset, seg.n));
    vc[seg.slot].narrow(1, seg.start, seg.n).copy_(v[0].narrow(1, seg.offset, seg.n));
    auto keys = kc.narrow(0, seg.slot, 1).narrow(2, 0, seg.start + seg.n);
    auto values = vc.narrow(0, seg.slot, 1).narrow(2, 0, seg.start + seg.n);
    outs.push_back(Attend(q.narrow(2, seg.offset, seg.n), keys, values, seg.bias));  // [1,n,H*Dh]
  }
  return LinearForward(outs.size() == 1 ? outs[0] : torch::cat(outs, 1), o_proj);
}

std::vector<AttentionBlock> AttentionBlocksFromMask(const uint8_t* mask, int64_t T, torch::Device device) {
  std::vector<AttentionBlock> blocks;
  int64_t begin = 0;
  auto emit = [&](int64_t end) {
    // Keys = visible set of the block's last row (a superset of every earlier row's).
    const uint8_t* last = mask + (end - 1) * T;
    std::vector<int64_t> keys;
    for (int64_t j = 0; j < T; ++j)
      if (last[j]) keys.push_back(j);
    const int64_t K = keys.size(), R = end - begin;
    auto bias = torch::empty({R, K}, torch::kFloat32);
    float* bp = bias.data_ptr<float>();
    for (int64_t r = 0; r < R; ++r) {
      const uint8_t* row = mask + (begin + r) * T;
      for (int64_t k = 0; k < K; ++k) bp[r * K + k] = row[keys[k]] ? 0.f : -std::numeric_limits<float>::infinity();
    }
    blocks.push_back({begin, end, torch::tensor(keys, torch::kLong).to(device), bias.to(device)});
  };
  for (int64_t i = 1; i < T; ++i) {
    // Row i continues the block iff V_i == V_{i-1} + {i}.
    const uint8_t* prev = mask + (i - 1) * T;
    const uint8_t* cur = mask + i * T;
    bool cont = cur[i] != 0 && prev[i] == 0;
    for (int64_t j = 0; j < T && cont; ++j) {
      if (j != i && cur[j] != prev[j]) cont = false;
    }
    if (!cont) {
      emit(i);
      begin = i;
    }
  }
  if (T > 0) emit(T);
  return blocks;
}

torch::Tensor Qwen2AttentionImpl::ForwardBlocked(const torch::Tensor& x, const torch::Tensor& cos,
                                                 const torch::Tensor& sin, const std::vector<AttentionBlock>& blocks) {
  CHECK_EQ(x.size(0), 1) << "block-sparse attention runs one sequence at a time";
  auto [q, k, v] = Project(x, cos, sin);
  std::vector<torch::Tensor> outs;
  for (const auto& b : blocks) {
    auto qb = q.narrow(2, b.q_begin, b.q_end - b.q_begin);
    auto kb = k.index_select(2, b.keys), vb = v.index_select(2, b.keys);
    outs.push_back(Attend(qb, kb, vb, b.bias.unsqueeze(0)));
  }
  return LinearForward(torch::cat(outs, 1), o_proj);
}

// ---------------------------------------------------------------- MLP / layer / backbone
Qwen2MlpImpl::Qwen2MlpImpl(const Qwen2Config& c) {
  const int64_t d = c.hidden_size, f = c.intermediate_size;
  gate_proj = register_module("gate_proj", torch::nn::Linear(torch::nn::LinearOptions(d, f).bias(false)));
  up_proj = register_module("up_proj", torch::nn::Linear(torch::nn::LinearOptions(d, f).bias(false)));
  down_proj = register_module("down_proj", torch::nn::Linear(torch::nn::LinearOptions(f, d).bias(false)));
}

torch::Tensor Qwen2MlpImpl::forward(const torch::Tensor& x) {
  return LinearForward(torch::silu(LinearForward(x, gate_proj)) * LinearForward(x, up_proj), down_proj);
}

Qwen2DecoderLayerImpl::Qwen2DecoderLayerImpl(const Qwen2Config& c) {
  self_attn = register_module("self_attn", Qwen2Attention(c));
  mlp = register_module("mlp", Qwen2Mlp(c));
  input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
}

Qwen2BackboneImpl::Qwen2BackboneImpl(const Qwen2Config& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(Qwen2DecoderLayer(c));
  norm = register_module("norm", RmsNorm(c.hidden_size, c.rms_norm_eps));
}

// ---------------------------------------------------------------- causal LM
Qwen2ForCausalLMImpl::Qwen2ForCausalLMImpl(const Qwen2Config& config) : config_(config) {
  model = register_module("model", Qwen2Backbone(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module("lm_head",
                              torch::nn::Linear(torch::nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
  }
  value_head = register_module("value_head", torch::nn::Linear(torch::nn::LinearOptions(config.hidden_size, 1).bias(true)));
}

void Qwen2ForCausalLMImpl::InitWeights(uint64_t seed, double std) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& p : named_parameters(/*recurse=*/true)) {
    const std::string& name = p.key();
    auto cpu = torch::empty(p.value().sizes(), torch::kFloat32);
    const bool is_norm = name.find("norm") != std::string::npos;
    const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (is_norm) {
      cpu.fill_(1.0);
    } else if (is_bias) {
      cpu.zero_();
    } else {
      cpu.normal_(0.0, std, gen);
    }
    p.value().copy_(cpu);
  }
}

torch::Tensor Qwen2ForCausalLMImpl::LmHeadWeight() const {
  return config_.tie_word_embeddings ? model->embed_tokens->weight : lm_head->weight;
}

std::pair<torch::Tensor, torch::Tensor> Qwen2ForCausalLMImpl::Rope(const torch::Tensor& positions,
                                                                   torch::ScalarType dtype) const {
  const int64_t dh = config_.head_dim();
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(positions.device());
  // inv_freq_i = theta^(-2i/Dh), computed in fp64 then cast, as HF computes it in fp32 from int64 arange.
  auto inv_freq = 1.0 / torch::pow(config_.rope_theta,
                                   torch::arange(0, dh, 2, torch::TensorOptions().dtype(torch::kInt64)).to(torch::kFloat32) / dh);
  inv_freq = inv_freq.to(opts);
  auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;  // [B,T,Dh/2]
  auto emb = torch::cat({freqs, freqs}, -1);                             // [B,T,Dh]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor Qwen2ForCausalLMImpl::DecoderStack(const torch::Tensor& tokens, const torch::Tensor& positions,
                                                 const LayerAttention& attend) {
  auto h = model->embed_tokens->forward(tokens);
  auto [cos, sin] = Rope(positions, h.scalar_type());
  int64_t index = 0;
  for (const auto& m : *model->layers) {
    auto* layer = m->as<Qwen2DecoderLayerImpl>();
    h = h + attend(*layer->self_attn, layer->input_layernorm->forward(h), cos, sin, index++);
    h = h + layer->mlp->forward(layer->post_attention_layernorm->forward(h));
  }
  return model->norm->forward(h);
}

ModelOutput Qwen2ForCausalLMImpl::Head(const torch::Tensor& hidden, bool compute_values) {
  ModelOutput out;
  out.logits = LinearForward(hidden, LmHeadWeight(), torch::Tensor());
  if (compute_values) {
    out.values = LinearForward(hidden.to(value_head->weight.scalar_type()), value_head).squeeze(-1).to(torch::kFloat32);
  }
  return out;
}

torch::Tensor Qwen2ForCausalLMImpl::Hidden(const torch::Tensor& tokens, const torch::Tensor& positions,
                                           const torch::Tensor& mask_in) {
  CHECK_EQ(tokens.dim(), 2) << "tokens must be [B,T]";
  CHECK(positions.sizes() == tokens.sizes()) << "positions must match tokens";
  const int64_t B = tokens.size(0), T = tokens.size(1);
  torch::Tensor mask = mask_in;
  if (!mask.defined()) {
    mask = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(tokens.device())).tril().expand({B, T, T});
  }
  CHECK(mask.dim() == 3 && mask.size(0) == B && mask.size(1) == T && mask.size(2) == T) << "mask must be [B,T,T]";
  const auto bias = MaskBias(mask);
  return DecoderStack(tokens, positions,
                      [&](Qwen2AttentionImpl& attn, const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, int64_t) { return attn.forward(x, cos, sin, bias); });
}

torch::Tensor Qwen2ForCausalLMImpl::HiddenBlocked(const torch::Tensor& tokens, const torch::Tensor& positions,
                                                  const std::vector<AttentionBlock>& blocks) {
  CHECK(tokens.dim() == 2 && tokens.size(0) == 1) << "HiddenBlocked takes one sequence [1,T]";
  return DecoderStack(tokens, positions,
                      [&](Qwen2AttentionImpl& attn, const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, int64_t) { return attn.ForwardBlocked(x, cos, sin, blocks); });
}

ModelOutput Qwen2ForCausalLMImpl::Forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                                          const torch::Tensor& mask, bool compute_values) {
  return Head(Hidden(tokens, positions, mask), compute_values);
}

ModelOutput Qwen2ForCausalLMImpl::ForwardCached(KvCache* cache, const std::vector<int64_t>& slots,
                                                const torch::Tensor& tokens, const torch::Tensor& positions,
                                                const std::vector<int64_t>& n_valid, bool compute_values,
                                                const std::vector<int64_t>* logit_rows) {
  torch::NoGradGuard no_grad;
  const int64_t B = tokens.size(0), T = tokens.size(1);
  CHECK_EQ(static_cast<int64_t>(slots.size()), B);
  CHECK_EQ(static_cast<int64_t>(n_valid.size()), B);
  std::vector<int64_t> start(B);
  int64_t max_keys = 0;
  for (int64_t b = 0; b < B; ++b) {
    CHECK(n_valid[b] >= 1 && n_valid[b] <= T) << "n_valid[" << b << "] = " << n_valid[b];
    start[b] = cache->length(slots[b]);
    CHECK_LE(start[b] + n_valid[b], cache->capacity()) << "KV cache slot " << slots[b] << " overflows";
    for (int64_t c = 0; c < b; ++c) CHECK_NE(slots[b], slots[c]) << "duplicate slot";
    max_keys = std::max(max_keys, start[b] + T);
  }
  max_keys = std::min(max_keys, cache->capacity());
  auto dev = tokens.device();
  auto start_t = torch::tensor(start, torch::kLong).to(dev).view({B, 1, 1});
  auto qi = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, T, 1});
  auto kj = torch::arange(max_keys, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, 1, max_keys});
  const auto key_bias = MaskBias(kj <= (start_t + qi));  // visible: cached tokens plus new tokens up to i

  const torch::Tensor hidden = DecoderStack(
      tokens, positions,
      [&](Qwen2AttentionImpl& attn, const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
          int64_t layer) { return attn.ForwardCached(x, cos, sin, cache, layer, slots, n_valid, key_bias, max_keys); });
  for (int64_t b = 0; b < B; ++b) cache->SetLength(slots[b], start[b] + n_valid[b]);
  if (logit_rows != nullptr) {
    for (int64_t r : *logit_rows) CHECK(r >= 0 && r < B * T) << "logit row " << r << " outside [0, " << B * T << ")";
    const auto idx = torch::tensor(*logit_rows, torch::kLong).to(dev);
    return Head(hidden.reshape({B * T, hidden.size(2)}).index_select(0, idx), compute_values);  // [N,V]
  }
  return Head(hidden, compute_values);
}

}  // namespace mem1

namespace mem1 {

ModelOutput Qwen2ForCausalLMImpl::ForwardPacked(KvCache* cache, const std::vector<int64_t>& slots,
                                                const std::vector<int64_t>& n_tokens, const torch::Tensor& tokens,
                                                const torch::Tensor& positions,
                                                const std::vector<int64_t>& logit_rows) {
  torch::NoGradGuard no_grad;
  const int64_t S = static_cast<int64_t>(slots.size());
  CHECK_EQ(static_cast<int64_t>(n_tokens.size()), S);
  CHECK(tokens.dim() == 1 && positions.sizes() == tokens.sizes()) << "packed tokens and positions must be [N]";
  std::vector<int64_t> offset(S + 1, 0), start(S);
  for (int64_t s = 0; s < S; ++s) {
    CHECK_GE(n_tokens[s], 1) << "segment " << s;
    start[s] = cache->length(slots[s]);
    CHECK_LE(start[s] + n_tokens[s], cache->capacity()) << "KV cache slot " << slots[s] << " overflows";
    for (int64_t c = 0; c < s; ++c) CHECK_NE(slots[s], slots[c]) << "duplicate slot";
    offset[s + 1] = offset[s] + n_tokens[s];
  }
  const int64_t N = offset[S];
  CHECK_EQ(tokens.size(0), N) << "packed tokens: " << tokens.size(0) << ", segments hold " << N;
  // Packed order: one-token segments first (they attend as one batch), then the rest.
  std::vector<int64_t> order, packed_offset(S);
  for (int64_t s = 0; s < S; ++s)
    if (n_tokens[s] == 1) order.push_back(s);
  const int64_t Bd = static_cast<int64_t>(order.size());
  for (int64_t s = 0; s < S; ++s)
    if (n_tokens[s] > 1) order.push_back(s);
  std::vector<int64_t> perm;  // packed position -> caller position
  perm.reserve(N);
  for (int64_t s : order) {
    packed_offset[s] = static_cast<int64_t>(perm.size());
    for (int64_t k = 0; k < n_tokens[s]; ++k) perm.push_back(offset[s] + k);
  }
  bool identity = true;
  for (int64_t j = 0; j < N && identity; ++j) identity = perm[j] == j;
  const auto dev = tokens.device();
  const auto lopt = torch::TensorOptions().dtype(torch::kLong).device(dev);
  torch::Tensor tk = tokens, ps = positions;
  if (!identity) {
    const auto p = torch::tensor(perm, torch::kLong).to(dev);
    tk = tokens.index_select(0, p);
    ps = positions.index_select(0, p);
  }
  PackedAttentionPlan plan;
  plan.decode_rows = Bd;
  if (Bd > 0) {
    std::vector<int64_t> ds(Bd), dst(Bd);
    int64_t max_len = 0;
    bool contiguous = true;
    for (int64_t r = 0; r < Bd; ++r) {
      ds[r] = slots[order[r]];
      dst[r] = start[order[r]];
      max_len = std::max(max_len, dst[r]);
      contiguous = contiguous && ds[r] == ds[0] + r;
    }
    plan.decode_first_slot = contiguous ? ds[0] : -1;
    plan.decode_slots = torch::tensor(ds, torch::kLong).to(dev);
    plan.decode_starts = torch::tensor(dst, torch::kLong).to(dev);
    plan.decode_keys = max_len + 1;
    const auto kj = torch::arange(plan.decode_keys, lopt).view({1, 1, plan.decode_keys});
    plan.decode_bias = MaskBias(kj <= plan.decode_starts.view({Bd, 1, 1}));
  }
  for (int64_t i = Bd; i < S; ++i) {
    const int64_t s = order[i];
    PackedAttentionPlan::Segment seg;
    seg.offset = packed_offset[s];
    seg.n = n_tokens[s];
    seg.slot = slots[s];
    seg.start = start[s];
    const int64_t K = seg.start + seg.n;
    const auto kj = torch::arange(K, lopt).view({1, 1, K});
    const auto qi = torch::arange(seg.n, lopt).view({1, seg.n, 1});
    seg.bias = MaskBias(kj <= qi + seg.start);
    plan.segments.push_back(std::move(seg));
  }
  const torch::Tensor hidden = DecoderStack(
      tk.unsqueeze(0), ps.unsqueeze(0),
      [&](Qwen2AttentionImpl& attn, const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
          int64_t layer) { return attn.ForwardPacked(x, cos, sin, cache, layer, plan); });
  for (int64_t s = 0; s < S; ++s) cache->SetLength(slots[s], start[s] + n_tokens[s]);
  std::vector<int64_t> inverse(N);  // caller position -> packed position
  for (int64_t j = 0; j < N; ++j) inverse[perm[j]] = j;
  std::vector<int64_t> rows;
  rows.reserve(logit_rows.size());
  for (int64_t r : logit_rows) {
    CHECK(r >= 0 && r < N) << "logit row " << r << " outside [0, " << N << ")";
    rows.push_back(inverse[r]);
  }
  const auto idx = torch::tensor(rows, torch::kLong).to(dev);
  return Head(hidden.reshape({N, hidden.size(2)}).index_select(0, idx), false);
}

}  // namespace mem1
