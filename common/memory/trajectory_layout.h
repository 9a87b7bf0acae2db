// The MEM1 layout of one episode, built turn by turn. This is the ONE place that decides
// which segments each turn sees and at which position ids, for every context policy:
//
//   mem1      [prompt][G_1][C_2][G_2][C_3][G_3] …   C_{t+1} = IS_t + action_t + observation_t,
//   window:K  same shape, C_{t+1} = the last K tokens of the history (both re-encoded after
//             the prompt at positions P.., so G_t attends prompt + C_t + G_t, never G_{t-1})
//   full      [prompt][G_1][O_1][G_2][O_2] …        every segment attends to all earlier ones,
//             positions continue (the KV cache only grows).
//
// G_t is split into runs: sampled or teacher tokens (ROLE_MODEL, in the loss, with their
// behaviour log-probs) and engine-forced tokens (ROLE_FORCED, e.g. a closing tag the engine
// inserted); a run attends to what its turn sees plus the earlier runs of the turn.
// The rollout engine records episodes with it, the learner's synthetic trajectories are made
// with it, and the tests check it; BuildMaskedSequence turns the record into the masks.
//
// Thread safety: one episode, one thread.
#ifndef MEM1_COMMON_MEMORY_TRAJECTORY_LAYOUT_H_
#define MEM1_COMMON_MEMORY_TRAJECTORY_LAYOUT_H_

#include <cstdint>
#include <vector>

#include "common/memory/context_policy.h"
#include "proto/mem1.pb.h"

namespace mem1 {

class TrajectoryLayout {
 public:
  // Appends the prompt to `out` as segment 0 (positions 0..P-1). `out` must outlive the
  // layout and gets every later segment.
  TrajectoryLayout(const ContextPolicy& policy, const std::vector<int32_t>& prompt, proto::Trajectory* out);

  // What the next turn's KV cache must hold: the first `keep` tokens of the current cache
  // stay valid (the prompt for re-encoding policies, everything fed so far for full), then
  // `feed` is written at `feed_positions`.
  struct NextContext {
    int64_t keep = 0;
    std::vector<int32_t> feed;
    std::vector<int32_t> feed_positions;
  };

  // Records the current turn's generated tokens. `logprobs` has one entry per token; a
  // non-zero `engine_forced[i]` marks a token the engine inserted (ROLE_FORCED, no log-prob
  // kept). ROLE_MODEL runs carry `policy_version`. Call once per turn, before Observe.
  void AddTurn(const std::vector<int32_t>& generated, const std::vector<float>& logprobs,
               const std::vector<uint8_t>& engine_forced, int64_t policy_version, int turn);

  // Records the environment's answer to the turn just added (the wrapped observation's
  // tokens) and plans the next turn's context. `turn` is the index of the NEXT turn.
  // `kept` (re-encoding policies only): the tokens of the turn the next context keeps instead
  // of all it generated (the mem1-code presets keep part of the text, re-tokenized; see
  // KeptTurnText in tag_grammar.h); nullptr = all of it.
  NextContext Observe(const std::vector<int32_t>& observation, int turn, const std::vector<int32_t>* kept = nullptr);

  // Segments the next generated tokens attend to.
  const std::vector<int32_t>& visible() const { return visible_; }
  // Position id of the next turn's first generated token.
  int64_t turn_start_position() const { return turn_start_; }
  // Tokens the next turn's first generated token attends to (c_t in the paper's accounting).
  int64_t context_tokens() const { return context_tokens_; }
  int64_t prompt_tokens() const { return prompt_tokens_; }

 private:
  int32_t Add(proto::SegmentRole role, const std::vector<int32_t>& ids, int64_t first_pos,
              const std::vector<int32_t>& attends, const float* logprobs, int64_t version, int turn);

  ContextPolicy policy_;
  proto::Trajectory* out_;
  int64_t prompt_tokens_ = 0;
  int64_t turn_start_ = 0;
  int64_t context_tokens_ = 0;
  std::vector<int32_t> visible_;
  std::vector<int32_t> last_generated_;
  std::vector<TurnTokens> history_;
};

}  // namespace mem1

#endif  // MEM1_COMMON_MEMORY_TRAJECTORY_LAYOUT_H_
