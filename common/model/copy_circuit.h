// An analytic copy (induction) circuit written into a freshly initialised Qwen2 decoder, so a
// small policy trained from scratch starts able to copy what it has seen: after a token that
// occurred earlier in its context, it predicts the token that followed it there ("Where was"
// -> the name after "was" in the question). Copying names from the question into the query and
// from the passages into the state is what the MEM1 agent must do every turn; learned from
// scratch it needs far more examples than a CPU budget gives (README, "Why the defaults").
//
// The circuit (B: batch, T: tokens, D = hidden_size, Dh = head_dim, G = heads per KV group):
//   layer 0, KV group 0: previous-token heads. Query and key come from the biases only
//     (weights 0); RoPE makes the score sum_f |a_f|^2 cos((j - i + 1) theta_f) over the six
//     fastest frequency pairs, which peaks at key j = i - 1. The value is a Dh-dim sketch P0 of
//     the (normalised) token; the first head of the group writes it into a subspace B1 of the
//     residual stream (the other heads of the group write nothing).
//   layer 1, every KV group g: induction heads. Query = lambda * P0 (this token's sketch), key =
//     B1^T (the previous token's sketch, as layer 0 wrote it): key j wins when token j-1 equals
//     token i. Value = a sketch P2_g of token j; the group's first head writes P2_g^T back, so the
//     tied embedding reads it as token j's logit.
//   P0, B1, P2_0..P2_{Hkv-1} are orthogonal Dh-column blocks of one random orthonormal D x D
//     basis (seeded), so the parts do not interfere: (2 + Hkv) * Dh <= D is required.
// Every other weight keeps its random init, and everything stays trainable. RoPE makes content
// matching position-dependent in the fast frequency pairs: head_dim 64 and rope_theta 1e6
// (Qwen2.5's) keep most pairs slow, and a numpy model of the circuit then attends to the right
// key for 76-85% of the positions of a 30-token segment repeated 300 tokens later (99% at 20).
#ifndef MEM1_COMMON_MODEL_COPY_CIRCUIT_H_
#define MEM1_COMMON_MODEL_COPY_CIRCUIT_H_

#include <cstdint>

#include "common/model/qwen2.h"
#include "common/util/status.h"

namespace mem1 {

// Overwrites the attention weights of layers 0 and 1 as described above. INVALID_ARGUMENT
// (model unchanged) when the model has fewer than 2 layers, (2 + num_key_value_heads) *
// head_dim > hidden_size, or head_dim < 12 (six RoPE pairs). `init_std` is the std the other
// weights were drawn with (it sets the scale of what the circuit writes: about one embedding).
[[nodiscard]] Status InitCopyCircuit(Qwen2ForCausalLM& model, uint64_t seed, double init_std);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_COPY_CIRCUIT_H_
