#include "actor/envs/qa/qa_env.h"

#include <algorithm>

#include "actor/envs/qa/answer_metrics.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

// MEM1's multi-objective QA prompt (gen_data/data_process/qa_search_{train,test}_merge_multi.py),
// verbatim: the questions follow, joined by "; ", each with "?" appended when its last
// character is not "?" (no strip). Two U+2014 em dashes are in it.
constexpr char kMem1MultiPrompt[] =
    "You will answer multiple complex questions using iterative reasoning, summarization, and web search.\n"
    "\n"
    "At each step, you will see the questions, a cumulative summary of relevant information, the current search query, and search results (except in the first step, where only the questions are provided). Your task is to:\n"
    "\n"
    "1. Perform reasoning and update a cumulative, concise summary within <think> ... </think>. This acts as persistent memory and must include all essential information from previous <think> and <information> tags.\n"
    "\n"
    "2. Then choose one of the following actions:\n"
    "   - If any question remains unanswered, issue a single query for one question inside <search> ... </search>. The query should consist of keywords or a short phrase. Only search one question at a time.\n"
    "   - If all questions are answered, provide the final answers—separated by semicolons—within <answer> answer1; answer2; ... </answer>. The answers must be concise, contain only essential words, and avoid any explanations.\n"
    "\n"
    "Important:\n"
    "- Always follow this structure after <information> or the initial questions: <think> ... </think><search> ... </search> or <think> ... </think><answer> ... </answer>.\n"
    "- Do not search multiple queries or questions simultaneously.\n"
    "\n"
    "Answer the following questions: ";
// MEM1's one-objective prompt (qa_search_{train,test}_merge.py), verbatim: the question is
// stripped first, then the same "?" rule.
constexpr char kMem1SinglePrompt[] =
    "You will answer a complex question through iterative reasoning, summarization, and web searches.\n"
    "\n"
    "At each step, you can see the question, previous summary in <think> ... </think>, search query in <search> ... </search>, and the returned information in <information> ... </information> (except the first step where you will be given only the question). Then, you should:\n"
    "\n"
    "1. Conduct reasoning, and then update a concise, cumulative summary with essential information inside <think> </think>. This is your persistent memory and should include all important information from previous <think> </think> and <information> </information> (i.e. information and answers already found for questions).\n"
    "2. Then choose one:\n"
    "   - Issue a query (i.e., key words / phrases for search) inside <search> </search> (you may search repeatedly until the answer is clear). This query will be used to conduct search and return the results in <information> results </information>\n"
    "   - Provide the final concise answer (no explanations) if no additional information is needed inside <answer> </answer>. The answer should be concise and only contain the words necessary to answer the question.\n"
    "\n"
    "After <information> </information> (or question at the beginning), you should always follow the order: <think> ... </think><search> ... </search> or <think> ... </think><answer> ... </answer>.\n"
    "   \n"
    "Question: ";

// Python's `q if q[-1] == '?' else q + '?'` (an empty question gets "?").
std::string WithQuestionMark(const std::string& q) { return !q.empty() && q.back() == '?' ? q : q + "?"; }

}  // namespace

QaEnv::QaEnv(QaTask task, Retriever* retriever, const QaEnvOptions& options, const TagPreset& preset)
    : task_(std::move(task)), retriever_(retriever), options_(options), preset_(preset) {}

std::string QaEnv::Prompt() const {
  if (preset_.reference()) {
    if (task_.questions.size() == 1) return kMem1SinglePrompt + WithQuestionMark(PythonStrip(task_.questions[0].question)) + "\n";
    std::vector<std::string> qs;
    for (const auto& q : task_.questions) qs.push_back(WithQuestionMark(q.question));
    return kMem1MultiPrompt + JoinStrings(qs, "; ") + "\n";
  }
  const auto search = preset_.ActionTags("search"), answer = preset_.ActionTags("answer");
  const size_t n = task_.questions.size();
  std::string questions;
  // Numbered, so a state can name them ("Q2 = ?") and the agent can find the one to search.
  for (size_t i = 0; i < n; ++i) questions += " Q" + std::to_string(i + 1) + ": " + task_.questions[i].question;
  return "You will answer " + std::to_string(n) + (n == 1 ? " question" : " questions") +
         " by searching a knowledge base. You only see the questions, your latest internal state, your latest "
         "action and its result: everything older is removed. Each turn, first write " + preset_.state.open + " ... " +
         preset_.state.close + " with everything you need to keep: the answers found so far and what is still "
         "missing. Then either search with " + search.open + " query " + search.close +
         " (one query per turn; results come back inside " + preset_.observation.open + " ... " +
         preset_.observation.close + "), or, when you know every answer, reply " + answer.open +
         "answer 1; answer 2; ..." + answer.close + " with the answers in the order of the questions, separated by "
         "semicolons.\nQuestions:" + questions + "\n";
}

StepResult ScoreAnswers(const QaTask& task, const std::string& block, const QaEnvOptions& options) {
  std::vector<std::string> answers;
  size_t start = 0;
  while (true) {
    const size_t semi = block.find(';', start);
    answers.push_back(PythonStrip(block.substr(start, semi == std::string::npos ? std::string::npos : semi - start)));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  const size_t n = task.questions.size();
  StepResult r;
  r.done = true;
  double em = 0, f1 = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string a = i < answers.size() ? answers[i] : "";
    em += ExactMatch(a, task.questions[i].golden_answers, options.normalization);
    f1 += TokenF1(a, task.questions[i].golden_answers, options.normalization);
  }
  const bool count_ok = answers.size() == n;
  r.reward = options.mean_reward ? em / n : em;
  if (!count_ok) r.reward -= options.format_penalty;
  r.metrics = {{"exact_match", em}, {"f1", f1}, {"em_mean", em / n}, {"objectives", static_cast<double>(n)},
               {"answer_count_ok", count_ok ? 1.0 : 0.0}};
  return r;
}

StepResult QaEnv::Step(const std::string& action, const std::string& content, int turns_left) {
  if (action == "answer") {
    StepResult r = ScoreAnswers(task_, content, options_);
    r.metrics["searches"] = searches_;
    return r;
  }
  ++searches_;
  StepResult r;
  r.observation = RenderSearchObservation(retriever_->Search(content, options_.top_k), turns_left, preset_);
  return r;
}

std::string QaEnv::Evidence(size_t k) const {
  if (k >= task_.questions.size() || task_.questions[k].golden_answers.empty()) return "";
  const QaItem& q = task_.questions[k];
  const std::string& gold = q.golden_answers.front();
  for (const auto& hit : retriever_->Search(q.question, options_.top_k)) {
    // contents: "\"Title\"\ntext"; the clause comes from the text.
    const size_t nl = hit.contents.find('\n');
    const std::string text = nl == std::string::npos ? hit.contents : hit.contents.substr(nl + 1);
    const size_t at = text.find(gold);
    if (at == std::string::npos) continue;
    // The clause starts after the last ". " or "; " before the answer (the state separates
    // questions with ";").
    size_t begin = 0;
    for (const char* sep : {". ", "; "}) {
      const size_t p = at >= 2 ? text.rfind(sep, at - 2) : std::string::npos;
      if (p != std::string::npos) begin = std::max(begin, p + 2);
    }
    return text.substr(begin, at + gold.size() - begin);
  }
  return "";
}

StepResult QaEnv::Truncate() {
  StepResult r;
  r.done = true;
  r.reward = -options_.format_penalty;
  r.metrics = {{"exact_match", 0.0}, {"f1", 0.0}, {"em_mean", 0.0},
               {"objectives", static_cast<double>(task_.questions.size())}, {"answer_count_ok", 0.0},
               {"searches", static_cast<double>(searches_)}};
  return r;
}

QaTaskSource::QaTaskSource(std::vector<QaItem> items, int objectives, uint64_t seed, int64_t count,
                           Retriever* retriever, const QaEnvOptions& options)
    : items_(std::move(items)), objectives_(objectives), rng_(seed), count_(count), retriever_(retriever),
      options_(options) {
  CHECK_GE(objectives_, 1);
  CHECK_GE(static_cast<int64_t>(items_.size()), objectives_) << "fewer questions than objectives per task";
}

QaTask QaTaskSource::NextTask() {
  QaTask t;
  std::vector<size_t> picked;
  while (static_cast<int>(picked.size()) < objectives_) {
    const size_t i = std::uniform_int_distribution<size_t>(0, items_.size() - 1)(rng_);
    if (std::find(picked.begin(), picked.end(), i) == picked.end()) picked.push_back(i);
  }
  for (size_t i : picked) {
    t.questions.push_back(items_[i]);
    t.id += (t.id.empty() ? "" : "+") + items_[i].id;
  }
  ++produced_;
  return t;
}

std::unique_ptr<Environment> QaTaskSource::Next() {
  if (count_ >= 0 && produced_ >= count_) return nullptr;
  return std::make_unique<QaEnv>(NextTask(), retriever_, options_, options_.preset);
}

}  // namespace mem1
