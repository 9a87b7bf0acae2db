#include "actor/envs/qa/qa_expert.h"

namespace mem1 {
namespace {

std::vector<std::string> Hops(const QaItem& q) { return q.hops.empty() ? std::vector<std::string>{q.question} : q.hops; }

}  // namespace

QaExpert::QaExpert(const TagPreset& preset) : preset_(preset) {}

int QaExpert::TurnsNeeded(const QaTask& task) {
  int n = 1;
  for (const auto& q : task.questions) n += static_cast<int>(Hops(q).size());
  return n;
}

std::optional<ScriptedTurn> QaExpert::Respond(const Environment& env, int turn, const std::string&) {
  const auto* qa = dynamic_cast<const QaEnv*>(&env);
  if (qa == nullptr) return std::nullopt;
  const auto& qs = qa->task().questions;
  // Which (question, hop) this turn searches for.
  int t = 0;
  size_t current = qs.size(), hop = 0;
  for (size_t i = 0; i < qs.size() && current == qs.size(); ++i) {
    const auto hops = Hops(qs[i]);
    if (turn < t + static_cast<int>(hops.size())) {
      current = i;
      hop = turn - t;
    }
    t += static_cast<int>(hops.size());
  }
  // The state names every question once, in order: its answer, or "?" while it is missing
  // ("Q1 = Gyreixme; Q2 = ?"). The next query is for the first "?"; the final answer copies the
  // state. Every tag body starts with a space so a name is tokenized the same way in the
  // question, the passage, the state and the action (SentencePiece marks word starts).
  std::string state;
  for (size_t i = 0; i < qs.size(); ++i) {
    std::string found = i < current ? qs[i].golden_answers.front() : std::string("?");
    if (i < current && wording_ == StateWording::kEvidence) {
      const std::string clause = qa->Evidence(i);
      if (!clause.empty()) found = clause;
    }
    state += std::string(i ? ";" : "") + " Q" + std::to_string(i + 1) + " = " + found;
  }
  const TagPair search = preset_.ActionTags("search"), answer = preset_.ActionTags("answer");
  std::string text = preset_.state.open + state + preset_.state.close;
  if (current < qs.size()) {
    // A one-hop question is searched as asked; a bridge question hop by hop.
    const auto hops = Hops(qs[current]);
    text += search.open + " " + (hops.size() == 1 ? qs[current].question : hops[hop]) + search.close;
  } else {
    std::string all;
    for (size_t i = 0; i < qs.size(); ++i) all += (i ? "; " : " ") + qs[i].golden_answers.front();
    text += answer.open + all + answer.close;
  }
  return ScriptedTurn{text, true};
}

}  // namespace mem1
