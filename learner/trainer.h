// The learner's optimisation core: one Step() = one optimizer update from a global batch of
// trajectories, data parallel over a Communicator. Each rank passes its own shard (what its
// intake received); the global parts are collectives.
//
// Per step: admission on the shard (trajectories more than max_policy_lag versions behind are
// dropped; malformed records are skipped; both counted over ranks) -> masked sequences -> token-budget micro-batches -> a no-grad pass for the
// proximal log-probs (current weights), old values and reference log-probs -> advantages
// (PPO: GAE over model tokens with the outcome reward at the last model token; GRPO: group-
// normalised outcome; whitening over the global batch) -> gradient accumulation over
// micro-batches of sum(per-token terms) / global token count -> one flat all-reduce -> global
// grad-norm clip -> AdamW with warm-up + cosine.
//
// Off-policy correction (decoupled PPO, as AReaL): ratio = pi_theta / pi_prox, weighted by
// min(pi_prox / pi_behaviour, is_weight_cap) where pi_behaviour is the recorded behaviour
// log-prob of each token (token ids travel as generated; never re-tokenised).
//
// Thread safety: one thread; Step is collective across ranks.
#ifndef MEM1_LEARNER_TRAINER_H_
#define MEM1_LEARNER_TRAINER_H_

#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/memory/masked_sequence.h"
#include "common/model/qwen2.h"
#include "learner/communicator.h"
#include "learner/scoring.h"
#include "proto/mem1.pb.h"

namespace mem1 {

struct StepStats {
  int64_t step = 0;            // optimizer steps done after this one
  int64_t policy_version = 0;  // version of the weights after this step
  int64_t trajectories = 0;    // admitted, global
  int64_t stale_dropped = 0;   // beyond max_policy_lag, global
  int64_t malformed = 0;       // records BuildMaskedSequence rejected
  int64_t tokens = 0;          // loss tokens, global
  int64_t micro_batches = 0;   // on this rank
  double loss = 0, policy_loss = 0, value_loss = 0, entropy = 0, kl = 0;  // token means
  double clip_fraction = 0, is_weight_mean = 0, grad_norm = 0, lr = 0, reward_mean = 0;
  double seconds = 0, allreduce_seconds = 0;
  // SFT with ppo.sft_lm_weight > 0: NLL per auxiliary LM token (prompt / observation tokens
  // predicted inside their segment) and their global count; policy_loss stays the NLL per
  // model token.
  double lm_loss = 0;
  int64_t lm_tokens = 0;
  // The global gradient norm was NaN/Inf: the update was skipped (weights and AdamW state
  // unchanged). kMaxNonFiniteSteps such steps in a row fail the step with DATA_LOSS.
  bool skipped_nonfinite = false;
  // |behaviour - learner| log-prob over loss tokens sampled by the current weights (global):
  // ~0 with the exact masked layout; any drift is a bug or a numerics problem.
  double logprob_gap_mean = 0, logprob_gap_max = 0;
  int64_t logprob_gap_tokens = 0;
};

class Trainer {
 public:
  // `comm` must outlive the trainer. For PPO/GRPO with kl_coef > 0 a frozen copy of the
  // initial weights is kept as the reference policy.
  Trainer(Qwen2ForCausalLM policy, const LearnerOptions& options, Communicator* comm);

  // One optimizer update from THIS RANK'S SHARD of the global batch (collective: every rank
  // calls it once per step, possibly with an empty shard). Global quantities (admission
  // counts, token count, advantage whitening, reward mean, loss means) are reduced over ranks.
  // GRPO groups must be whole within a shard. libtorch failures come back as a status:
  // RESOURCE_EXHAUSTED for out-of-memory (retry with a smaller micro_batch_tokens), INTERNAL
  // otherwise; after an error the trainer's state is unspecified (reload a checkpoint).
  [[nodiscard]] Result<StepStats> Step(const std::vector<proto::Trajectory>& shard);

  // Mean negative log-likelihood per loss token of `shard` under the current policy, reduced
  // over ranks (collective; no gradient, weights untouched). Malformed trajectories are skipped.
  // A failure on one rank is returned there only: callers agree on it (AgreeOnStatus).
  [[nodiscard]] Result<double> HeldOutNll(const std::vector<proto::Trajectory>& shard);

  int64_t step() const { return step_; }
  int64_t policy_version() const { return policy_version_; }
  // Opaque position of the task/trajectory source, saved with checkpoints.
  void set_data_cursor(int64_t cursor) { data_cursor_ = cursor; }
  int64_t data_cursor() const { return data_cursor_; }
  // Per-rank positions in the learner's trajectory stores (records consumed), saved with
  // checkpoints so a resume retrains nothing and skips nothing.
  void set_rank_cursors(std::vector<int64_t> cursors) { rank_cursors_ = std::move(cursors); }
  const std::vector<int64_t>& rank_cursors() const { return rank_cursors_; }
  Qwen2ForCausalLM& policy() { return policy_; }
  // Learning rate at optimizer step `step` (0-based) for the given peak.
  double LearningRate(int64_t step, double peak) const;

  // Learner checkpoint (HDF5): weights, AdamW moments, step, policy version, data cursor,
  // RNG state, format version and the run's config. Written to `path`.tmp, fsynced, renamed.
  [[nodiscard]] Status Save(const std::string& path, const std::string& config_yaml) const;
  // Restores everything Save wrote, or nothing (all of it is read and checked first).
  // DATA_LOSS on a corrupt file or tensor shape mismatch (names the tensor); INVALID_ARGUMENT
  // on a format version mismatch (says which versions) or a checkpoint of another model shape
  // (names the config field).
  [[nodiscard]] Status Load(const std::string& path);

 private:
  struct Param {
    std::string name;
    torch::Tensor tensor;
    torch::Tensor m, v;  // AdamW moments
    bool critic = false;
    bool frozen = false;  // matches optim.freeze: no update while step < freeze_steps (or always)
  };
  StepStats StepImpl(const std::vector<proto::Trajectory>& shard);
  void AllReduceGradients(StepStats* stats);
  void OptimizerStep(StepStats* stats);  // skips the update (stats->skipped_nonfinite) on a NaN/Inf grad norm

  Qwen2ForCausalLM policy_;
  Qwen2ForCausalLM reference_{nullptr};
  LearnerOptions options_;
  Communicator* comm_;
  std::vector<Param> params_;
  int64_t step_ = 0;
  int64_t policy_version_ = 0;
  int64_t data_cursor_ = 0;
  std::vector<int64_t> rank_cursors_;
  int nonfinite_streak_ = 0;  // consecutive skipped updates
};

inline constexpr int kMaxNonFiniteSteps = 3;

// Writes the policy of a learner checkpoint as an HF checkpoint (config.json +
// model.safetensors + value_head.safetensors) in `dtype` ("float32", "bfloat16", "float16").
[[nodiscard]] Status ExportCheckpointToHf(const std::string& checkpoint, const std::string& out_dir, const std::string& dtype);

// Checkpoint files in a run directory: <dir>/checkpoints/step_00000042.h5.
std::string CheckpointPath(const std::string& run_dir, int64_t step);
// Newest checkpoint in <dir>/checkpoints (or `dir` itself if it is a file); NOT_FOUND if none.
[[nodiscard]] Result<std::string> LatestCheckpoint(const std::string& dir);
// Deletes all but the newest `keep` checkpoints.
void PruneCheckpoints(const std::string& run_dir, int keep);

}  // namespace mem1

#endif  // MEM1_LEARNER_TRAINER_H_
