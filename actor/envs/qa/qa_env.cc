#include "actor/envs/qa/qa_env.h"

#include <algorithm>

#include "actor/envs/qa/answer_metrics.h"
#include "common/util/strings.h"

namespace mem1 {

QaEnv::QaEnv(QaTask task, Retriever* retriever, const QaEnvOptions& options, const TagPreset& preset)
    : task_(std::move(task)), retriever_(retriever), options_(options), preset_(preset) {}

std::string QaEnv::Prompt() const {
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
    answers.push_back(TrimWhitespace(block.substr(start, semi == std::string::npos ? std::string::npos : semi - start)));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  const size_t n = task.questions.size();
  StepResult r;
  r.done = true;
  double em = 0, f1 = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string a = i < answers.size() ? answers[i] : "";
    em += ExactMatch(a, task.questions[i].golden_answers);
    f1 += TokenF1(a, task.questions[i].golden_answers);
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
  r.observation = RenderSearchObservation(retriever_->Search(content, options_.top_k), turns_left);
  return r;
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
