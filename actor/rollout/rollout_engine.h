// Multi-turn batched rollouts under a context policy (mem1 / full / window:K).
//
// One model drives `batch_size` environment slots with batched KV-cache decoding. Each slot
// runs an episode: prefill prompt, then per turn generate until a closing action tag, EOS or
// the per-turn token limit; parse the turn (tag grammar); step the environment or feed back
// the format error; build the next turn's context per the policy. When an episode ends its
// slot is refilled with the next task (continuous batching).
//
// KV use: under mem1 and window:K the prompt's KV is computed once per episode and kept
// (Truncate to the prompt each turn), and the context copy C_t is re-encoded after it; under
// full the cache grows append-only. With reuse_prompt_kv = false the prompt is re-prefilled
// every turn (a baseline for the benchmark; results are identical).
//
// Every finished episode becomes a proto::Trajectory whose segments, positions, attends_to
// and behaviour log-probs reproduce exactly what the model computed (see masked_sequence.h).
//
// Thread safety: an engine is used by one thread; the model must not be used concurrently.
#ifndef MEM1_ACTOR_ROLLOUT_ROLLOUT_ENGINE_H_
#define MEM1_ACTOR_ROLLOUT_ROLLOUT_ENGINE_H_

#include <functional>
#include <optional>
#include <string>

#include "actor/envs/environment.h"
#include "common/memory/context_policy.h"
#include "common/memory/tag_grammar.h"
#include "common/model/qwen2.h"
#include "common/model/sampler.h"
#include "common/tokenizer/tokenizer.h"
#include "proto/mem1.pb.h"

namespace mem1 {

struct RolloutOptions {
  ContextPolicy policy;                 // default mem1
  std::string preset = "paper";         // tag preset
  int64_t batch_size = 8;               // concurrent episodes (KV slots)
  int32_t max_turns = 6;                // MEM1: 6 (QA), 10 (WebShop)
  int64_t max_new_tokens_per_turn = 128;
  int64_t max_state_tokens = 0;         // cap on <IS> body tokens; 0 = off (then the close tag is forced)
  int64_t slot_capacity = 8192;         // KV tokens per slot; an episode that would exceed it is truncated
  bool reuse_prompt_kv = true;          // false: re-prefill the prompt every turn (benchmark baseline)
  bool end_on_format_error = false;     // MEM1 reference code: true (reward 0); ours: keep going
  SamplingOptions sampling;             // greedy / temperature / top-k / top-p / seed
  std::string actor_id = "actor-0";
  int64_t policy_version = 0;
};

// Optional teacher: when it returns text for a turn, the engine feeds that text's tokens
// instead of sampling (recorded as model tokens with the model's log-probs, so the record is
// the same as a sampled one). Used by scripted experts (SFT data) and tests.
struct ScriptedTurn {
  std::string text;      // fed as the start of the turn's output
  bool complete = true;  // true: the turn ends after `text`; false: the model continues sampling
};

class ScriptedPolicy {
 public:
  virtual ~ScriptedPolicy() = default;
  // `turn` is 0-based; `last_observation` is the previous observation text ("" on turn 0).
  // std::nullopt: the model samples the whole turn.
  virtual std::optional<ScriptedTurn> Respond(const Environment& env, int turn, const std::string& last_observation) = 0;
};

struct RolloutStats {
  int64_t episodes = 0;
  int64_t generated_tokens = 0;
  int64_t prefill_tokens = 0;
  double wall_seconds = 0;
};

class RolloutEngine {
 public:
  // `tokenizer` must outlive the engine. CHECK-fails on invalid options (validate configs first).
  RolloutEngine(Qwen2ForCausalLM model, const Tokenizer* tokenizer, const RolloutOptions& options);
  ~RolloutEngine();

  // Runs episodes from `tasks` until it is exhausted and every slot has finished, calling
  // `sink` with each finished trajectory (in completion order). `teacher` may be null.
  // INVALID_ARGUMENT when a prompt does not fit a slot.
  [[nodiscard]] Status Run(TaskSource* tasks, const std::function<void(proto::Trajectory&&)>& sink,
                           ScriptedPolicy* teacher = nullptr);

  const RolloutStats& stats() const { return stats_; }
  // Version recorded in trajectories started from now on (the weights were updated in place).
  void set_policy_version(int64_t version);

 private:
  struct Slot;
  struct Impl;
  Impl* impl_;
  RolloutStats stats_;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ROLLOUT_ROLLOUT_ENGINE_H_
