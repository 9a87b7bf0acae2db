// Context policies: what the agent sees at turn t+1.
//   mem1      [task prompt][IS_t][action_t][observation_t] only (re-encoded after the prompt)
//   full      the whole history, appended (Search-R1 / ReAct-style baseline; KV grows append-only)
//   window:K  the prompt plus the most recent K tokens of history (truncation baseline; re-encoded)
// Thread safety: plain values and pure functions.
#ifndef MEM1_COMMON_MEMORY_CONTEXT_POLICY_H_
#define MEM1_COMMON_MEMORY_CONTEXT_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

struct ContextPolicy {
  enum class Kind { kMem1, kFull, kWindow };
  Kind kind = Kind::kMem1;
  int64_t window_tokens = 0;  // K for kWindow

  // "mem1", "full" or "window:K" (K: digits without a leading zero, 1 <= K < 2^63);
  // INVALID_ARGUMENT naming the value otherwise. The one grammar of the setting: config
  // validation (actor.context_policy) and the CLI flags call it.
  [[nodiscard]] static Result<ContextPolicy> Parse(const std::string& text);
  std::string Name() const;
  // True when the context after the prompt is rebuilt (re-encoded) every turn.
  bool ReEncodes() const { return kind != Kind::kFull; }
};

// One finished turn: tokens the model generated (state + action, exactly as sampled) and the
// observation tokens the environment answered with.
struct TurnTokens {
  std::vector<int32_t> generated;
  std::vector<int32_t> observation;
};

// For re-encoding policies: the tokens placed after the prompt for the next turn (the
// context copy C_{t+1}), given all finished turns. mem1: last turn's generated + observation;
// window:K: the last K tokens of the concatenated history. Precondition: ReEncodes().
std::vector<int32_t> NextContextCopy(const ContextPolicy& policy, const std::vector<TurnTokens>& history);

}  // namespace mem1

#endif  // MEM1_COMMON_MEMORY_CONTEXT_POLICY_H_
