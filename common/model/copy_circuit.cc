#include "common/model/copy_circuit.h"

#include <cmath>
#include <string>

namespace mem1 {
namespace {

constexpr double kPrevTokenScale = 8.0;  // |a_f| per fast RoPE pair: ~0.999 of the attention on j = i-1
constexpr int64_t kPrevTokenPairs = 6;   // the fastest pairs tell i-1 from i and i-2 best
constexpr double kMatchGain = 16.0;      // lambda: sharpness of the induction match
constexpr double kCopyGain = 128.0;      // what layer 1 writes: ~3x an embedding's own logit
// The final norm's gain. With tied embeddings of std init_std the logits at init span only a few
// nats, so even a correct copy is one token among 16k of nearly equal probability (a copy
// sample's NLL stays ~7.6 nats at gain 1); at 8 the copied token takes most of the mass
// (~2.1 nats on the same samples) and SFT starts from a circuit that pays off in the loss.
constexpr double kLogitGain = 8.0;

}  // namespace

Status InitCopyCircuit(Qwen2ForCausalLM& model, uint64_t seed, double init_std) {
  const Qwen2Config& c = model->config();
  const int64_t D = c.hidden_size, Dh = c.head_dim(), H = c.num_attention_heads, Hkv = c.num_key_value_heads;
  const int64_t G = H / Hkv;
  if (c.num_hidden_layers < 2) {
    return InvalidArgument("model.init.copy_circuit needs num_hidden_layers >= 2 (got " +
                           std::to_string(c.num_hidden_layers) + ")");
  }
  if (Hkv < 2) {
    return InvalidArgument("model.init.copy_circuit needs num_key_value_heads >= 2 (got " + std::to_string(Hkv) + ")");
  }
  if (4 * Dh > D) {
    return InvalidArgument("model.init.copy_circuit needs 4 * head_dim <= hidden_size (got 4 * " + std::to_string(Dh) +
                           " > " + std::to_string(D) + "): use more attention heads or a larger hidden_size");
  }
  if (Dh < 2 * kPrevTokenPairs) {
    return InvalidArgument("model.init.copy_circuit needs head_dim >= " + std::to_string(2 * kPrevTokenPairs) +
                           " (got " + std::to_string(Dh) + ")");
  }
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed ^ 0x9e3779b97f4a7c15ULL);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  // One random orthonormal basis [D,D]; its column blocks are the sketches and the subspaces.
  auto basis = std::get<0>(torch::linalg_qr(torch::randn({D, D}, gen, f32)));
  const auto block = [&](int64_t k) { return basis.slice(1, k * Dh, (k + 1) * Dh).contiguous(); };  // [D,Dh]
  const torch::Tensor P0 = block(0).t().contiguous();  // [Dh,D] sketch of a token
  const torch::Tensor B1 = block(1);                   // [D,Dh] where the token before sits
  const torch::Tensor B2 = block(2);                   // [D,Dh] where the token two back sits
  const torch::Tensor P2 = block(3).t().contiguous();  // [Dh,D] what layer 1 copies
  // A random rotation keeps the two halves of the bigram match apart inside one head.
  const torch::Tensor M = std::get<0>(torch::linalg_qr(torch::randn({Dh, Dh}, gen, f32)));

  // A query a on the fast pairs and the key c = R(offset) a (rotate_half pairing f, f+Dh/2):
  // the score sum_f |a_f|^2 cos((j - i + offset) theta_f) peaks at key j = i - offset.
  auto offset_head = [&](int64_t offset) {
    auto a = torch::zeros({Dh}, f32), k = torch::zeros({Dh}, f32);
    for (int64_t f = 0; f < kPrevTokenPairs; ++f) {
      const double theta_f = std::pow(c.rope_theta, -2.0 * static_cast<double>(f) / static_cast<double>(Dh));
      a[f] = kPrevTokenScale;
      k[f] = kPrevTokenScale * std::cos(offset * theta_f);
      k[f + Dh / 2] = kPrevTokenScale * std::sin(offset * theta_f);
    }
    return std::make_pair(a, k);
  };
  // What layer 0 writes has about an embedding's norm: |P0 x| ~ sqrt(Dh) for a unit-RMS x.
  const double write0 = init_std * std::sqrt(static_cast<double>(D) / static_cast<double>(Dh));
  const double write1 = init_std * kCopyGain / std::sqrt(static_cast<double>(Dh));

  auto& layers = *model->model->layers;
  auto set = [](torch::Tensor dst, const torch::Tensor& src) { dst.copy_(src.to(dst.device(), dst.scalar_type())); };
  {
    // Layer 0: KV group g in {0, 1} attends g + 1 tokens back and writes that token's sketch
    // into B1 (one back) or B2 (two back), from the group's first head.
    auto& at = *layers[0]->as<Qwen2DecoderLayer>()->self_attn;
    for (int64_t g = 0; g < 2; ++g) {
      const auto [a, k] = offset_head(g + 1);
      for (int64_t h = g * G; h < (g + 1) * G; ++h) {
        set(at.q_proj->weight.slice(0, h * Dh, (h + 1) * Dh), torch::zeros({Dh, D}, f32));
        set(at.q_proj->bias.slice(0, h * Dh, (h + 1) * Dh), a);
        set(at.o_proj->weight.slice(1, h * Dh, (h + 1) * Dh),
            h == g * G ? (g == 0 ? B1 : B2) * write0 : torch::zeros({D, Dh}, f32));
      }
      set(at.k_proj->weight.slice(0, g * Dh, (g + 1) * Dh), torch::zeros({Dh, D}, f32));
      set(at.k_proj->bias.slice(0, g * Dh, (g + 1) * Dh), k);
      set(at.v_proj->weight.slice(0, g * Dh, (g + 1) * Dh), P0);
      set(at.v_proj->bias.slice(0, g * Dh, (g + 1) * Dh), torch::zeros({Dh}, f32));
    }
  }
  {
    // Layer 1, KV group 0: bigram induction. query_i = lambda (P0 y_i + M B1^T y_i) = (token i,
    // token i-1); key_j = B1^T y_j + M B2^T y_j = (token j-1, token j-2): the score adds the
    // match of token i with j-1 and of i-1 with j-2 (the cross terms meet through the random M).
    auto& at = *layers[1]->as<Qwen2DecoderLayer>()->self_attn;
    const torch::Tensor Wq = (P0 + torch::matmul(M, B1.t())) * kMatchGain;  // [Dh,D]
    const torch::Tensor Wk = B1.t() + torch::matmul(M, B2.t());              // [Dh,D]
    set(at.k_proj->weight.slice(0, 0, Dh), Wk);
    set(at.k_proj->bias.slice(0, 0, Dh), torch::zeros({Dh}, f32));
    set(at.v_proj->weight.slice(0, 0, Dh), P2);
    set(at.v_proj->bias.slice(0, 0, Dh), torch::zeros({Dh}, f32));
    for (int64_t h = 0; h < G; ++h) {
      set(at.q_proj->weight.slice(0, h * Dh, (h + 1) * Dh), Wq);
      set(at.q_proj->bias.slice(0, h * Dh, (h + 1) * Dh), torch::zeros({Dh}, f32));
      set(at.o_proj->weight.slice(1, h * Dh, (h + 1) * Dh), h == 0 ? P2.t() * write1 : torch::zeros({D, Dh}, f32));
    }
  }
  // Every other residual write starts at zero: the output columns of the heads outside the
  // circuit and every MLP's down projection (the usual zero-init of residual branches). With
  // N(0, init_std) weights they would add ~5x an embedding's norm of noise per layer and drown
  // both the circuit and the embeddings; their other weights keep the random init and they learn
  // from the first step on (their output projections get gradients at once).
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    auto& layer = *layers[l]->as<Qwen2DecoderLayer>();
    layer.mlp->down_proj->weight.zero_();
    for (int64_t h = 0; h < H; ++h) {
      const bool writes = (l == 0 && (h == 0 || h == G)) || (l == 1 && h == 0);
      if (!writes) layer.self_attn->o_proj->weight.slice(1, h * Dh, (h + 1) * Dh).zero_();
    }
  }
  model->model->norm->weight.fill_(kLogitGain);
  return Status::Ok();
}

}  // namespace mem1
