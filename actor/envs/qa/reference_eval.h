// The MEM1 reference evaluation metrics (`Mem1/inference/eval.py` of MIT-MI/MEM1, with the
// `Exact_match` field its input rows get from `inference/generate_rollout.py`), ported so
// `mem1 eval` can print them beside our own metrics and a user can put our numbers next to
// the paper's. Everything here follows the reference line by line, quirks included:
//
//  * A row is, per turn i, t_i (the extracted state "<think>{inner stripped}</think>", or "" —
//    the key is always present), r_i (the FULL response, so the state text is counted twice in
//    every metric that uses both) and i_i (the observation block). The prompt is never counted.
//    eval.py reads turns 0..9 only (`range(10)`); later turns are ignored.
//  * ref EM / F1 (`compute_score`): the lower-cased concatenation t0 r0 i0 t1 …, the LAST
//    <answer> block, a tag-balance check, answers split on ";" and cleaned by `preprocess_text`
//    (punctuation -> space, no article removal); a wrong answer count scores 0; the per-question
//    scores are SUMMED (0..N per episode). F1 uses token SETS.
//  * Exact_match (generate_rollout, "multi" files): lenient, the FIRST golden alias only, a
//    substring test either way, counted over the questions (0..N). It gates only the peak-token
//    metrics (None when 0).
//  * Peak tokens compressed: max over turns of tokens(t_{i-1} r_{i-1} i_{i-1} t_i r_i); non-
//    compressed: tokens of the whole row. Dependency: per generated segment of L tokens,
//    (context tokens + L // 2) * L; compressed context = previous turn's t r i (+ current t for
//    r), non-compressed = everything so far. Compression ratio: tokens(previous t r i + last
//    t r) / sum of the segments' separate token counts.
// Counts use a caller-given token counter: eval.py uses tiktoken o200k_base ("gpt-4o-mini"),
// which we do not have offline, so `mem1 eval` passes the model's own tokenizer and says so.
//
// Thread safety: pure functions; ReferenceAggregate is a plain value.
#ifndef MEM1_ACTOR_ENVS_QA_REFERENCE_EVAL_H_
#define MEM1_ACTOR_ENVS_QA_REFERENCE_EVAL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/memory/tag_grammar.h"
#include "proto/mem1.pb.h"

namespace mem1 {

// eval.py's `for i in range(10)`: turns read per row.
inline constexpr int kReferenceTurnsRead = 10;

// One turn of a generate_rollout row; std::nullopt = the key (t{i}, r{i}, i{i}) is absent.
struct ReferenceTurn {
  std::optional<std::string> think;     // t_i
  std::optional<std::string> response;  // r_i
  std::optional<std::string> info;      // i_i
};

// One generate_rollout row: the turns, `Golden_answer` (one alias list per question) and the
// answer the pipeline returned (the act() answer of the final turn; nullopt = Python None).
struct ReferenceRow {
  std::vector<ReferenceTurn> turns;
  std::vector<std::vector<std::string>> golden;
  std::optional<std::string> answer;
};

// Token count of one string (eval.py: len(tiktoken o200k_base.encode(s))).
using TokenCounter = std::function<int64_t(const std::string&)>;

// One row's metrics; nullopt = eval.py's None (excluded from that metric's mean).
struct ReferenceMetrics {
  double em = 0;                   // compute_score(val_type="em"), summed over questions
  double f1 = 0;                   // compute_score(val_type="f1"), summed over questions
  int64_t exact_match = 0;         // generate_rollout's lenient Exact_match, 0..N
  std::optional<double> compression_ratio;
  std::optional<int64_t> peak_tokens_compressed;      // None when exact_match == 0
  std::optional<int64_t> dependency_compressed;
  std::optional<int64_t> peak_tokens_non_compressed;  // None when exact_match == 0
  std::optional<int64_t> dependency_non_compressed;
};

// --- the reference's pieces (exposed for tests) ---

// eval.py preprocess_text: lower-case (Python str.lower), every ASCII string.punctuation
// character -> " ", runs of whitespace -> " ", strip.
std::string ReferencePreprocessText(const std::string& text);
// eval.py check_tags_balance for one tag pair (the reference checks "answer" only).
bool ReferenceCheckTagsBalance(const std::string& s, const TagPair& tag);
// The string eval.py scores: t_i + r_i + i_i for i = 0.. (present keys), stopping at the first
// turn with none of the three, at most kReferenceTurnsRead turns.
std::string ReferenceSolutionString(const std::vector<ReferenceTurn>& turns);
enum class ReferenceScore { kEm, kF1 };
// eval.py compute_score. `answer` = the answer tags (the reference's <answer>; compared after
// lower-casing). Failures return -0.0 (tags unbalanced, no answer block) or 0.0 (answer count).
double ReferenceComputeScore(const std::string& solution, const std::vector<std::vector<std::string>>& golden,
                             ReferenceScore type, const TagPair& answer = {"<answer>", "</answer>"});
// generate_rollout's Exact_match for multi-objective files.
int64_t ReferenceLenientExactMatch(const std::optional<std::string>& answer,
                                   const std::vector<std::vector<std::string>>& golden);
// eval.py's token metrics (`exact_match` is the row's Exact_match field).
std::optional<int64_t> ReferencePeakTokensCompressed(const std::vector<ReferenceTurn>& turns, int64_t exact_match,
                                                     const TokenCounter& tok);
std::optional<int64_t> ReferencePeakTokensNonCompressed(const std::vector<ReferenceTurn>& turns, int64_t exact_match,
                                                        const TokenCounter& tok);
std::optional<int64_t> ReferenceDependencyCompressed(const std::vector<ReferenceTurn>& turns, const TokenCounter& tok);
std::optional<int64_t> ReferenceDependencyNonCompressed(const std::vector<ReferenceTurn>& turns, const TokenCounter& tok);
std::optional<double> ReferenceCompressionRatio(const std::vector<ReferenceTurn>& turns, const TokenCounter& tok);

// All of the above for one row (token counts memoised within the call).
ReferenceMetrics ComputeReferenceMetrics(const ReferenceRow& row, const TokenCounter& tok,
                                         const TagPair& answer = {"<answer>", "</answer>"});

// --- from our episodes to reference rows ---

// generate_rollout's extract_internal_state with the preset's state tags: the first
// "<s>(.*?)</s>" (inner text stripped) as "<s>{inner}</s>", or nullopt.
std::optional<std::string> ReferenceExtractState(const std::string& response, const TagPair& state);
// data_pipelines.py act(): a complete search pair first (preset's search tags), then an answer
// pair; the content is the first match, stripped.
struct ReferenceAction {
  enum class Kind { kNone, kSearch, kAnswer };
  Kind kind = Kind::kNone;
  std::string content;
};
ReferenceAction ReferenceAct(const std::string& response, const TagPreset& preset);

// One of our turns as text: the response exactly as generated (stripped, as vLLM's
// `text.strip()`), and the observation block the agent saw after it (nullopt: none).
struct EpisodeTurnText {
  std::string response;
  std::optional<std::string> observation;
};

// The row generate_rollout would have written for our episode: t_i for every turn; r_i for
// every turn except a final turn without a search or answer pair (the reference returns
// before storing it); i_i = the observation, or "" after a final search (as the reference's
// last-turn i); the answer = act() answer of the final turn. Our episode's turns are kept as
// they happened even where the reference loop would have stopped earlier.
ReferenceRow BuildReferenceRow(const std::vector<EpisodeTurnText>& turns, std::vector<std::vector<std::string>> golden,
                               const TagPreset& preset);

// Per turn of a recorded trajectory: the generated token ids (ROLE_MODEL + ROLE_FORCED runs in
// order) and the observation ids that followed (nullopt: none). `full`: the ROLE_OBSERVATION
// segments; mem1: the next turn's ROLE_CONTEXT copy minus the generated prefix; window:K: the
// part of the copy after the longest overlap with the known history (exact while the window
// holds the last turn and its observation; an observation of K tokens or more comes back as
// its last K tokens and is flagged `observation_clipped`: the record holds no more of it).
struct TurnTokenIds {
  std::vector<int32_t> generated;
  std::optional<std::vector<int32_t>> observation;
  bool observation_clipped = false;
};
std::vector<TurnTokenIds> TrajectoryTurnTokens(const proto::Trajectory& t);

// Means as eval.py prints them: EM / F1 / Exact_match over all rows, every other metric over
// its non-None values (nullopt when there are none; eval.py would divide by zero).
struct ReferenceAggregate {
  std::vector<double> em, f1, exact_match, compression_ratio, peak_compressed, dependency_compressed,
      peak_non_compressed, dependency_non_compressed;
  int64_t rows = 0;
  void Add(const ReferenceMetrics& m);
  static std::optional<double> Mean(const std::vector<double>& v);
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_REFERENCE_EVAL_H_
