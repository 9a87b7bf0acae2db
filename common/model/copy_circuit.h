// An analytic copy (induction) circuit written into a freshly initialised Qwen2 decoder, so a
// small policy trained from scratch starts able to copy what it has seen: after a token that
// occurred earlier in its context, it predicts the token that followed it there ("Where was"
// -> the name after "was" in the question). Copying names from the question into the query and
// from the passages into the state is what the MEM1 agent must do every turn; learned from
// scratch it needs far more examples than a CPU budget gives (README, "Why the defaults").
//
// The circuit (D = hidden_size, Dh = head_dim, G = query heads per KV group; y = a layer's
// normalised input):
//   layer 0, KV group g in {0, 1}: heads that attend g + 1 tokens back. Query and key come from
//     the biases only (weights 0); RoPE makes the score sum_f |a_f|^2 cos((j - i + g + 1) theta_f)
//     over the six fastest frequency pairs, which peaks at key j = i - g - 1. The value is a
//     Dh-dim sketch P0 of the token; the group's first head writes it into the residual
//     subspace B1 (one back) or B2 (two back); the other heads of the group write nothing.
//   layer 1, KV group 0: bigram induction heads. query_i = lambda (P0 y_i + M B1^T y_i) (token i,
//     token i-1), key_j = B1^T y_j + M B2^T y_j (token j-1, token j-2), M a random Dh x Dh
//     rotation: key j wins when tokens j-1, j-2 equal tokens i, i-1. Value = a sketch P2 of token
//     j; the group's first head writes P2^T back, so the tied embedding reads it as token j's logit.
//   P0, B1, B2, P2 are orthogonal Dh-column blocks of one random orthonormal D x D basis (seeded),
//     so the parts do not interfere.
//   The final norm's gain starts at 8 (not 1): with tied embeddings of std 0.02 the logits of a
//     fresh model span only a few nats, and the copied token would be the argmax yet carry
//     little probability; at 8 it carries most of it.
//   Every other residual write starts at zero (the other heads' output columns, every MLP's
//     down projection); all other weights keep their random init, and everything stays trainable.
// RoPE makes content matching position-dependent in the fast frequency pairs: head_dim 64 and
// rope_theta 1e6 (Qwen2.5's) keep most pairs slow. A fresh model of the embedded shape (D 256, 4
// heads of 64, 2 KV heads) continues a repeated 30-token random segment greedily at 90% / 70% of
// the positions 20 / 150 tokens later, 62% when every token also occurs elsewhere before another
// token; 0% without the circuit (CopyCircuitTest).
// Training keeps it only if what it reads and writes is frozen: the layer-0 block, layer 1's
// attention and input norm, and the final norm (learner.optim.freeze, as launch/quickstart.sh
// sets with COPY_CIRCUIT=true). Freezing the two attention blocks alone is not enough: in 30
// SFT steps the learned layer-0 MLP and norms write over the subspaces the circuit uses and the
// copy loss climbs back (2.1 -> 3.1 nats in 40 copy-only steps, ~7 after 140 mixed SFT steps).
#ifndef MEM1_COMMON_MODEL_COPY_CIRCUIT_H_
#define MEM1_COMMON_MODEL_COPY_CIRCUIT_H_

#include <cstdint>

#include "common/model/qwen2.h"
#include "common/util/status.h"

namespace mem1 {

// Overwrites the attention weights of layers 0 and 1 and zeroes the other residual writes, as
// described above. INVALID_ARGUMENT (model unchanged) when the model has fewer than 2 layers or
// fewer than 2 KV heads, 4 * head_dim > hidden_size, or head_dim < 12 (six RoPE pairs). `init_std` is the std the other
// weights were drawn with (it sets the scale of what the circuit writes: about one embedding).
[[nodiscard]] Status InitCopyCircuit(Qwen2ForCausalLM& model, uint64_t seed, double init_std);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_COPY_CIRCUIT_H_
