// Scoring stitched MEM1 sequences for the learner: one forward gives every loss token the
// log-prob (and value, entropy) it had under the mask the agent saw. The block-sparse path
// reads the sequence's segment spans (QueryBlocks) directly; no [T,T] mask is ever built
// there. The dense path builds the mask on demand and is the reference.
//
// Thread safety: pure functions of their arguments (the model is only read).
#ifndef MEM1_LEARNER_SCORING_H_
#define MEM1_LEARNER_SCORING_H_

#include <vector>

#include "common/memory/masked_sequence.h"
#include "common/model/qwen2.h"

namespace mem1 {

// Per-token outputs of scoring sequences (N loss tokens, in sequence order, sequence by sequence).
struct TokenScores {
  torch::Tensor logp;     // [N] log-prob of each loss token at its trajectory's temperature
  torch::Tensor values;   // [N] value head at the predicting position
  torch::Tensor entropy;  // [N] entropy of the predicting distribution (undefined unless requested)
  std::vector<int64_t> counts;  // loss tokens per sequence
};

enum class AttentionMode {
  kBlockSparse,  // per sequence, attention only over each block's visible keys (default)
  kDense,        // padded batch with the dense [B,T,T] mask
};

// Scores the loss tokens of masked sequences in one forward (each its own mask and positions).
// Both modes compute the same values up to fp32 summation order.
TokenScores ScoreSequences(Qwen2ForCausalLM& model, const std::vector<const MaskedSequence*>& sequences,
                           const std::vector<float>& temperatures, bool with_entropy,
                           AttentionMode mode = AttentionMode::kBlockSparse);

// Groups sequence indices, sorted by length, into micro-batches of at most `budget` padded
// tokens (rows x longest row); a sequence longer than the budget gets a batch of its own.
std::vector<std::vector<size_t>> PackByLength(const std::vector<const MaskedSequence*>& seqs, int64_t budget);

// The block-sparse attention plan of one sequence from its spans: per QueryBlock, the keys
// (earlier visible ranges, then the block's own rows) and a bias that is 0 on earlier keys and
// causal on the block's own rows. Equal to AttentionBlocksFromMask(DenseMask(s)) up to how
// blocks are cut; memory O(sum over blocks of rows x keys), never O(T^2) for a MEM1 layout.
// `offset` shifts every row and key: the plan of a sequence packed at that position of a longer
// row (ScoreSequences packs a micro-batch that way).
std::vector<AttentionBlock> AttentionBlocksFromSpans(const MaskedSequence& sequence, torch::Device device,
                                                     int64_t offset = 0);

}  // namespace mem1

#endif  // MEM1_LEARNER_SCORING_H_
