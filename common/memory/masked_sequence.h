// The masked trajectory: one stitched sequence whose 2-D attention mask and position ids
// reproduce exactly what the agent saw at every turn, so ONE forward gives every generated
// token the log-prob it had during rollout.
//
// Layout for mem1 (and window:K):   [prompt][G_1][C_2][G_2][C_3][G_3] …
//   G_t = IS_t + action_t (ROLE_MODEL, in the loss); C_t = re-encoded copy of
//   IS_{t-1} + action_{t-1} + observation_{t-1} (ROLE_CONTEXT). prompt -> causal;
//   C_t -> prompt + C_t (causal); G_t -> prompt + C_t + G_t (causal); positions as generated.
// Layout for full: [prompt][G_1][O_1][G_2][O_2] … every segment attends to all earlier ones.
// The general rule, from the record alone: token i of segment s may attend token j of segment
// s' iff (s' == s and j <= i) or s' is in s.attends_to.
//
// Representation: segment spans + each segment's visible segments, O(T + segments) memory.
// The learner's block-sparse scorer reads QueryBlocks directly; the dense [T,T] mask is built
// only on demand (DenseMask: tests and the dense reference path), never per step.
//
// Thread safety: pure function.
#ifndef MEM1_COMMON_MEMORY_MASKED_SEQUENCE_H_
#define MEM1_COMMON_MEMORY_MASKED_SEQUENCE_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1 {

// One segment of the stitched sequence: rows [begin, end) see themselves causally and every
// token of the segments in `attends_to` (sorted, all earlier).
struct SegmentSpan {
  int64_t begin = 0, end = 0;
  std::vector<int32_t> attends_to;
};

struct MaskedSequence {
  int64_t length = 0;                      // T
  std::vector<int32_t> tokens;             // [T]
  std::vector<int32_t> positions;          // [T] generation-time position ids
  std::vector<SegmentSpan> segments;       // the mask, as spans (one per record segment)
  std::vector<uint8_t> loss_mask;          // [T] 1 for ROLE_MODEL tokens only
  std::vector<float> behaviour_logprobs;   // [T] recorded log-prob for loss tokens, 0 elsewhere
  std::vector<int64_t> policy_versions;    // [T] version that sampled each loss token, -1 elsewhere
  // For token i with loss_mask 1, the logits that predicted it are at row i - 1 (the token
  // before every model segment is the last token of the context it was generated after).
};

// True when token i may attend token j (the mask rule above), from the spans.
bool Visible(const MaskedSequence& sequence, int64_t i, int64_t j);

// The dense mask, [T*T] row-major bytes (1 = visible). T^2 memory: tests and references only.
std::vector<uint8_t> DenseMask(const MaskedSequence& sequence);

// Query rows that see the same earlier keys: rows [q_begin, q_end) attend every key in
// `keys` (sorted, disjoint [first, last) ranges, all before q_begin) plus [q_begin, row]
// causally. Consecutive segments merge when the later one sees exactly the earlier one's
// keys plus the earlier one (a full-policy turn and its observation): the fewest blocks the
// mask allows. Empty segments are skipped.
struct QueryBlock {
  int64_t q_begin = 0, q_end = 0;
  std::vector<std::pair<int64_t, int64_t>> keys;
};
std::vector<QueryBlock> QueryBlocks(const MaskedSequence& sequence);

// Builds the sequence from a trajectory record. DATA_LOSS when the record is inconsistent:
// position/log-prob counts differ from token counts, attends_to names a later or missing
// segment, or a model segment's predecessor token is not visible to it.
[[nodiscard]] Result<MaskedSequence> BuildMaskedSequence(const proto::Trajectory& trajectory);

// The reference the masked layout must reproduce: for each model segment, the context the
// model really saw (its attends_to segments, in order, then itself) as a plain causal
// sequence with the same position ids, loss on that segment only. One sequence per model
// segment. Used by tests and the learner benchmark (the per-turn baseline).
[[nodiscard]] Result<std::vector<MaskedSequence>> BuildPerTurnSequences(const proto::Trajectory& trajectory);

}  // namespace mem1

#endif  // MEM1_COMMON_MEMORY_MASKED_SEQUENCE_H_
