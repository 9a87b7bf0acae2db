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
#include <memory>
#include <optional>
#include <string>

#include "actor/envs/environment.h"
#include "common/config/config.h"
#include "common/memory/context_policy.h"
#include "common/memory/tag_grammar.h"
#include "common/model/qwen2.h"
#include "common/model/sampler.h"
#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/tokenizer.h"
#include "proto/mem1.pb.h"

namespace mem1 {

// Defaults of the fields that mirror actor.* are ActorOptions' (config.h), written once there.
struct RolloutOptions {
  ContextPolicy policy = ActorOptions{}.policy;                    // default mem1
  TagPreset tag_preset = ActorOptions{}.tag_preset;                // default paper
  int64_t batch_size = ActorOptions{}.num_envs;                    // concurrent episodes (KV slots); default 8
  int32_t max_turns = ActorOptions{}.max_turns;                    // MEM1: 6 (QA), 10 (WebShop); default 6
  int64_t max_new_tokens_per_turn = ActorOptions{}.max_new_tokens_per_turn;  // default 128
  // A complete scripted (teacher) turn is written into the KV cache in the same prefill as its
  // context and scored there, instead of one decode step per token (same log-probs).
  bool prefill_scripted_turns = ActorOptions{}.prefill_scripted_turns;
  int64_t max_state_tokens = ActorOptions{}.max_state_tokens;      // cap on <IS> body tokens; 0 (default) = off (then the close tag is forced)
  // Observation tokens kept (the wrapped observation's first N tokens; the rest is cut, counted
  // in RolloutStats::observations_cut); 0 = all. RolloutOptionsFromConfig resolves the config's
  // -1 (the preset's: MEM1's max_obs_length 1000 under mem1-code, all otherwise).
  int64_t max_observation_tokens = 0;
  int64_t slot_capacity = ActorOptions{}.slot_capacity;            // KV tokens per slot (default 4096); an episode that would exceed it is truncated
  bool reuse_prompt_kv = true;          // false: re-prefill the prompt every turn (benchmark baseline)
  // true: one packed forward per step writes every pending context (prompt, C_t, observation)
  // and decodes every generating slot beside it (Qwen2ForCausalLM::ForwardPacked). false: the
  // two-phase reference (pending contexts in a padded prefill forward of their own, decoding
  // waits); same tokens and log-probs up to float summation order.
  bool mixed_steps = ActorOptions{}.mixed_steps;
  // Sampled (not greedy) model turns ignore the action close tags and run to EOS or the
  // per-turn limit; the turn is then cut as MEM1's training rollout cuts it
  // (ReferenceResponseCut in tag_grammar.h) and the tokens after the cut are dropped (the one
  // that crosses the cut, if any, is kept: its text past the cut is not parsed and not in the
  // next context). RolloutOptionsFromConfig: actor.sample_to_eos (auto = under mem1-code).
  bool sample_to_eos = false;
  bool end_on_format_error = ActorOptions{}.end_on_format_error;   // MEM1 reference code: true (reward 0); ours (default): keep going
  ChatTemplate chat_template;           // around the task prompt (its tokens are prompt tokens); default none
  SamplingOptions sampling;             // greedy / temperature / top-k / top-p / seed
  std::string actor_id = "actor-0";
  uint64_t first_episode_id = 0;        // episode ids count up from here (an actor starts at its start time in µs, unique across restarts)
  int64_t policy_version = 0;
};

// The teacher interface (ScriptedPolicy) lives beside Environment (actor/envs/environment.h).

// The rollout options a config describes (actor.* + the seed): the one place actor options
// become engine options; tokenizer.chat_template is resolved here (auto reads the checkpoint's
// tokenizer_config.json). INVALID_ARGUMENT for an unparsable context policy, preset or template.
[[nodiscard]] Result<RolloutOptions> RolloutOptionsFromConfig(const Mem1Config& config);

struct RolloutStats {
  int64_t episodes = 0;
  int64_t generated_tokens = 0;
  int64_t prefill_tokens = 0;
  double wall_seconds = 0;
  // Where the time goes (the rollout bench compares them with a raw decode loop).
  double prefill_seconds = 0;   // inside the model's cached forward (logits included): forwards with a prefill
  double decode_seconds = 0;    // ... and decode-only forwards
  int64_t prefill_steps = 0;    // forwards that wrote pending context (mixed: with decode rows beside it)
  int64_t decode_steps = 0;     // forwards that decoded only
  int64_t observations_cut = 0; // observations longer than max_observation_tokens (cut to it)
  int64_t tokens_after_cut = 0; // sample_to_eos: tokens sampled past the reference cut (dropped)
  int64_t decode_rows = 0;      // one-token rows in all forwards
  int64_t decode_keys = 0;      // cached tokens attended over all decode rows (mean context = / decode_rows)
};

class RolloutEngine {
 public:
  // `tokenizer` must outlive the engine. CHECK-fails on invalid options (validate configs first).
  RolloutEngine(Qwen2ForCausalLM model, const Tokenizer* tokenizer, const RolloutOptions& options);
  ~RolloutEngine();
  RolloutEngine(const RolloutEngine&) = delete;
  RolloutEngine& operator=(const RolloutEngine&) = delete;

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
  std::unique_ptr<Impl> impl_;
  RolloutStats stats_;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ROLLOUT_ROLLOUT_ENGINE_H_
