// Multi-objective retrieval QA (MEM1): N questions from one dataset in one task prompt; the
// agent searches (`<query>`), keeps what it found in its internal state, and finally answers
// all N in one `<answer>a1; a2; ...</answer>`, in order.
//
// Prompt: paper = ours (numbered questions, README); mem1-code* = MEM1's data builders'
// prompt verbatim (multi-objective template for N >= 2, the one-objective one for N = 1).
//
// Reward (MEM1 / Search-R1): per question exact match after SQuAD normalisation against any
// golden answer; task reward = sum of EM over the N questions (or their mean, by option), no
// format bonus. F1 is reported too. A missing answer block (episode cut) or a wrong answer
// count subtracts `format_penalty` (default 0, as the reference code).
#ifndef MEM1_ACTOR_ENVS_QA_QA_ENV_H_
#define MEM1_ACTOR_ENVS_QA_QA_ENV_H_

#include <cstdint>
#include <random>

#include "actor/envs/environment.h"
#include "actor/envs/qa/answer_metrics.h"
#include "actor/envs/qa/qa_data.h"
#include "actor/envs/qa/retriever.h"

namespace mem1 {

struct QaEnvOptions {
  int32_t top_k = 3;               // passages per search (MEM1: 3)
  bool mean_reward = false;        // false: sum of EM over objectives (paper); true: mean
  double format_penalty = 0.0;     // subtracted for a missing answer or a wrong answer count
  TagPreset preset;                // tag preset of prompts and observations (default paper)
  // SQuAD normalisation of answers: the reference's (ASCII string.punctuation) under the
  // mem1-code presets, ours (Unicode punctuation too) under paper. MakeEnvironments sets it
  // from the preset.
  AnswerNormalization normalization = AnswerNormalization::kUnicode;
};

// One multi-objective task: its questions in order.
struct QaTask {
  std::string id;
  std::vector<QaItem> questions;
};

class QaEnv : public Environment {
 public:
  // `retriever` must outlive the env (one retriever per rollout thread).
  QaEnv(QaTask task, Retriever* retriever, const QaEnvOptions& options, const TagPreset& preset);
  std::string name() const override { return "qa"; }
  std::string task_id() const override { return task_.id; }
  std::string Prompt() const override;
  std::vector<ActionSpec> Actions() const override { return {{"search", false}, {"answer", true}}; }
  StepResult Step(const std::string& action, const std::string& content, int turns_left) override;
  StepResult Truncate() override;
  std::unique_ptr<Environment> Clone() const override {
    return std::make_unique<QaEnv>(task_, retriever_, options_, preset_);
  }
  const QaTask& task() const { return task_; }
  // The clause of a retrieved passage that states question k's answer: the question is searched
  // as asked and the first hit whose text holds the gold answer gives its clause (from the last
  // ". " or "; " before the answer) up to and including the answer ("The capital of Gule is
  // Sazuheith"). Empty when no hit holds it.
  std::string Evidence(size_t k) const;
  int searches() const { return searches_; }

 private:
  QaTask task_;
  Retriever* retriever_;
  QaEnvOptions options_;
  TagPreset preset_;
  int searches_ = 0;
};

// The turn budget of an N-objective task (documented in README): 2N + 2 turns, enough for one
// query per hop of N bridge questions (two hops each) plus the final answer, with none to
// spare for N bridge questions and N + 1 to spare for one-hop ones. Training configs set
// actor.max_turns for the N they train on; `mem1 eval` uses this budget for every N, and the
// observation's "[HINT]You have K turns left" counts down from it.
inline int QaTurnBudget(int objectives) { return 2 * objectives + 2; }

// Scores an answer block "a1; a2; ..." against the task (exposed for tests and evaluation).
StepResult ScoreAnswers(const QaTask& task, const std::string& answer_block, const QaEnvOptions& options);

// Composes tasks of `objectives` questions sampled (seeded, without replacement within a task)
// from `items`; `count` tasks in total (-1 = endless). Deterministic per seed.
class QaTaskSource : public TaskSource {
 public:
  QaTaskSource(std::vector<QaItem> items, int objectives, uint64_t seed, int64_t count, Retriever* retriever,
               const QaEnvOptions& options);
  std::unique_ptr<Environment> Next() override;
  QaTask NextTask();
  int64_t produced() const { return produced_; }

 private:
  std::vector<QaItem> items_;
  int objectives_;
  std::mt19937_64 rng_;
  int64_t count_, produced_ = 0;
  Retriever* retriever_;
  QaEnvOptions options_;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_QA_ENV_H_
