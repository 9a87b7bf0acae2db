#include "actor/envs/qa/reference_eval.h"

#include <unicode/unistr.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "actor/envs/qa/answer_metrics.h"
#include "common/memory/context_policy.h"
#include "common/util/strings.h"

namespace mem1 {

namespace {

// Python's str.lower() (Unicode full case mapping).
std::string PyLower(const std::string& s) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  u.toLower();
  std::string out;
  u.toUTF8String(out);
  return out;
}

// re.findall(open + "(.*?)" + close, s, re.DOTALL): the inner texts of non-overlapping pairs.
std::vector<std::string> FindAllPairs(const std::string& s, const TagPair& tag) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t o = s.find(tag.open, pos);
    if (o == std::string::npos) break;
    const size_t body = o + tag.open.size();
    const size_t c = s.find(tag.close, body);
    if (c == std::string::npos) break;  // no later close: no match at any later open either
    out.push_back(s.substr(body, c - body));
    pos = c + tag.close.size();
  }
  return out;
}

bool Contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// Python's str.count (non-overlapping).
int64_t CountOf(const std::string& s, const std::string& sub) {
  if (sub.empty()) return static_cast<int64_t>(s.size()) + 1;
  int64_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  while (true) {
    const size_t e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

std::set<std::string> WordSet(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);  // s is preprocessed: single ASCII spaces between words
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// Turns eval.py reads (range(10)).
size_t TurnsRead(const std::vector<ReferenceTurn>& turns) {
  return std::min<size_t>(turns.size(), kReferenceTurnsRead);
}

bool NoKey(const ReferenceTurn& t) { return !t.think && !t.response && !t.info; }

// The value of turn i's key, or nullopt past the end (an absent turn has no keys).
const ReferenceTurn& TurnAt(const std::vector<ReferenceTurn>& turns, size_t i) {
  static const ReferenceTurn kAbsent;
  return i < turns.size() ? turns[i] : kAbsent;
}

}  // namespace

std::string ReferencePreprocessText(const std::string& text) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
  u.toLower();
  std::vector<UChar32> cps;
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    i += U16_LENGTH(c);
    cps.push_back(IsAsciiPunctuation(c) ? UChar32{' '} : c);
  }
  // re.sub(r'\s+', ' ', text).strip()
  icu::UnicodeString out;
  bool pending_space = false;
  for (UChar32 c : cps) {
    if (IsPythonSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.isEmpty()) out.append(UChar32{' '});
    pending_space = false;
    out.append(c);
  }
  std::string s;
  out.toUTF8String(s);
  return s;
}

bool ReferenceCheckTagsBalance(const std::string& s, const TagPair& tag) {
  if (CountOf(s, tag.open) != CountOf(s, tag.close)) return false;
  int64_t last_pos = -1;
  while (true) {
    const size_t start = s.find(tag.open, static_cast<size_t>(last_pos + 1));
    if (start == std::string::npos) break;
    const size_t end = s.find(tag.close, start);
    if (end == std::string::npos) return false;
    last_pos = static_cast<int64_t>(end);
  }
  return true;
}

std::string ReferenceSolutionString(const std::vector<ReferenceTurn>& turns) {
  std::string s;
  for (size_t i = 0; i < kReferenceTurnsRead; ++i) {
    const ReferenceTurn& t = TurnAt(turns, i);
    if (t.think) s += *t.think;
    if (t.response) s += *t.response;
    if (t.info) s += *t.info;
    if (NoKey(t)) break;
  }
  return s;
}

double ReferenceComputeScore(const std::string& solution, const std::vector<std::vector<std::string>>& golden,
                             ReferenceScore type, const TagPair& answer) {
  const TagPair tag{PyLower(answer.open), PyLower(answer.close)};
  std::string s = PyLower(solution);
  const std::string marker = "<|im_start|>assistant";
  if (const size_t p = s.rfind(marker); p != std::string::npos) s = s.substr(p + marker.size());
  if (!ReferenceCheckTagsBalance(s, tag)) return -0.0;
  const std::vector<std::string> m = FindAllPairs(s, tag);
  if (m.empty()) return -0.0;
  std::vector<std::string> answers = SplitOn(PythonStrip(m.back()), ';');
  for (auto& a : answers) a = ReferencePreprocessText(a);
  double score = 0.0;
  if (answers.size() != golden.size()) return score;
  for (size_t idx = 0; idx < answers.size(); ++idx) {
    const std::string& a = answers[idx];
    double cur = 0.0;
    std::vector<std::string> gts;
    for (const auto& g : golden[idx]) gts.push_back(ReferencePreprocessText(g));
    if (type == ReferenceScore::kEm) {
      if (std::find(gts.begin(), gts.end(), a) != gts.end()) cur = 1.0;
    } else {
      const std::set<std::string> pred = WordSet(a);
      for (const auto& g : gts) {
        const std::set<std::string> gt = WordSet(g);
        if (gt.empty() || pred.empty()) continue;
        size_t common = 0;
        for (const auto& w : pred) common += gt.count(w);
        const double precision = static_cast<double>(common) / pred.size();
        const double recall = static_cast<double>(common) / gt.size();
        if (precision + recall > 0) cur = std::max(cur, 2 * (precision * recall) / (precision + recall));
      }
    }
    score += cur;
  }
  return score;
}

int64_t ReferenceLenientExactMatch(const std::optional<std::string>& answer,
                                   const std::vector<std::vector<std::string>>& golden) {
  const std::vector<std::string> answers = SplitOn(answer ? *answer : std::string("None"), ';');
  int64_t exact = 0;
  for (size_t idx = 0; idx < golden.size(); ++idx) {
    // gt[0] on an empty alias list raises outside the try: the reference writes an error row
    // with Exact_match False.
    if (golden[idx].empty()) return 0;
    if (idx >= answers.size()) return 0;  // IndexError inside the try: exact_match = 0; break
    const std::string a = PythonStrip(PyLower(answers[idx]));
    const std::string g = PythonStrip(PyLower(golden[idx][0]));
    if (Contains(g, a) || Contains(a, g)) ++exact;
  }
  return exact;
}

std::optional<int64_t> ReferencePeakTokensCompressed(const std::vector<ReferenceTurn>& turns, int64_t exact_match,
                                                     const TokenCounter& tok) {
  if (exact_match == 0) return std::nullopt;
  int64_t peak = 0;
  std::string s;
  for (size_t i = 0; i < kReferenceTurnsRead; ++i) {  // no break
    const ReferenceTurn& t = TurnAt(turns, i);
    std::string next;
    if (t.think) { s += *t.think; next += *t.think; }
    if (t.response) { s += *t.response; next += *t.response; }
    peak = std::max(peak, tok(s));
    s = next;
    if (t.info) s += *t.info;
  }
  if (peak == 0) return std::nullopt;
  return peak;  // (+ the largest A-MEM memory, which our rows never have)
}

std::optional<int64_t> ReferencePeakTokensNonCompressed(const std::vector<ReferenceTurn>& turns, int64_t exact_match,
                                                        const TokenCounter& tok) {
  if (exact_match == 0) return std::nullopt;
  return tok(ReferenceSolutionString(turns));
}

std::optional<int64_t> ReferenceDependencyCompressed(const std::vector<ReferenceTurn>& turns, const TokenCounter& tok) {
  int64_t dependency = 0, total = 0;
  std::string s;
  for (size_t i = 0; i < kReferenceTurnsRead; ++i) {
    const ReferenceTurn& t = TurnAt(turns, i);
    std::string next;
    if (t.think) {
      const int64_t lt = tok(*t.think);
      dependency += (tok(s) + lt / 2) * lt;
      total += lt;
      s += *t.think;
      next += *t.think;
    }
    if (t.response) {
      const int64_t lr = tok(*t.response);
      dependency += (tok(s) + lr / 2) * lr;
      total += lr;
      s += *t.response;
      next += *t.response;
    }
    s = next;
    if (t.info) s += *t.info;  // context only: its own term is commented out in eval.py
    if (NoKey(t)) break;
  }
  if (total == 0) return std::nullopt;
  return dependency;
}

std::optional<int64_t> ReferenceDependencyNonCompressed(const std::vector<ReferenceTurn>& turns,
                                                        const TokenCounter& tok) {
  int64_t dependency = 0, total = 0;
  std::string s;
  for (size_t i = 0; i < kReferenceTurnsRead; ++i) {
    const ReferenceTurn& t = TurnAt(turns, i);
    if (t.think) {
      const int64_t lt = tok(*t.think);
      dependency += (tok(s) + lt / 2) * lt;
      total += lt;
      s += *t.think;
    }
    if (t.response) {
      const int64_t lr = tok(*t.response);
      dependency += (tok(s) + lr / 2) * lr;
      total += lr;
      s += *t.response;
    }
    if (t.info) s += *t.info;
    if (NoKey(t)) break;
  }
  if (total == 0) return std::nullopt;
  return dependency;
}

std::optional<double> ReferenceCompressionRatio(const std::vector<ReferenceTurn>& turns, const TokenCounter& tok) {
  int64_t total = 0, length = 0;
  std::string s;
  for (size_t i = 0; i < kReferenceTurnsRead; ++i) {
    const ReferenceTurn& t = TurnAt(turns, i);
    std::string cur;
    if (t.think) {
      total += tok(*t.think);
      cur += *t.think;
      s += *t.think;
    }
    if (t.response) {
      total += tok(*t.response);
      cur += *t.response;
      s += *t.response;
      length = tok(s);
    }
    s = cur;
    if (t.info) {
      total += tok(*t.info);
      s += *t.info;
    }
    if (NoKey(t)) break;
  }
  if (total == 0) return std::nullopt;
  return static_cast<double>(length) / static_cast<double>(total);
}

ReferenceMetrics ComputeReferenceMetrics(const ReferenceRow& row, const TokenCounter& tok, const TagPair& answer) {
  std::map<std::string, int64_t> memo;
  const TokenCounter count = [&](const std::string& s) -> int64_t {
    if (s.empty()) return 0;
    auto it = memo.find(s);
    if (it != memo.end()) return it->second;
    const int64_t n = tok(s);
    memo.emplace(s, n);
    return n;
  };
  ReferenceMetrics m;
  const std::string solution = ReferenceSolutionString(row.turns);
  m.f1 = ReferenceComputeScore(solution, row.golden, ReferenceScore::kF1, answer);
  m.em = ReferenceComputeScore(solution, row.golden, ReferenceScore::kEm, answer);
  m.exact_match = ReferenceLenientExactMatch(row.answer, row.golden);
  m.compression_ratio = ReferenceCompressionRatio(row.turns, count);
  m.peak_tokens_compressed = ReferencePeakTokensCompressed(row.turns, m.exact_match, count);
  m.dependency_compressed = ReferenceDependencyCompressed(row.turns, count);
  m.peak_tokens_non_compressed = ReferencePeakTokensNonCompressed(row.turns, m.exact_match, count);
  m.dependency_non_compressed = ReferenceDependencyNonCompressed(row.turns, count);
  return m;
}

std::optional<std::string> ReferenceExtractState(const std::string& response, const TagPair& state) {
  if (!Contains(response, state.open) || !Contains(response, state.close)) return std::nullopt;
  const std::vector<std::string> m = FindAllPairs(response, state);
  if (m.empty()) return std::nullopt;  // the reference raises (IndexError) here
  return state.open + PythonStrip(m.front()) + state.close;
}

ReferenceAction ReferenceAct(const std::string& response, const TagPreset& preset) {
  ReferenceAction a;
  const TagPair search = preset.ActionTags("search"), answer = preset.ActionTags("answer");
  if (Contains(response, search.open) && Contains(response, search.close)) {
    a.kind = ReferenceAction::Kind::kSearch;
    const auto m = FindAllPairs(response, search);
    if (!m.empty()) a.content = PythonStrip(m.front());
  } else if (Contains(response, answer.open) && Contains(response, answer.close)) {
    const auto m = FindAllPairs(response, answer);
    if (!m.empty()) {
      a.kind = ReferenceAction::Kind::kAnswer;
      a.content = PythonStrip(m.front());
    }
  }
  return a;
}

ReferenceRow BuildReferenceRow(const std::vector<EpisodeTurnText>& turns, std::vector<std::vector<std::string>> golden,
                               const TagPreset& preset) {
  ReferenceRow row;
  row.golden = std::move(golden);
  for (size_t i = 0; i < turns.size(); ++i) {
    const EpisodeTurnText& in = turns[i];
    const bool last = i + 1 == turns.size();
    const ReferenceAction act = ReferenceAct(in.response, preset);
    ReferenceTurn t;
    t.think = ReferenceExtractState(in.response, preset.state).value_or("");
    if (!(last && act.kind == ReferenceAction::Kind::kNone)) t.response = in.response;
    if (in.observation) {
      t.info = *in.observation;
    } else if (act.kind == ReferenceAction::Kind::kSearch) {
      t.info = "";
    }
    if (last && act.kind == ReferenceAction::Kind::kAnswer) row.answer = act.content;
    row.turns.push_back(std::move(t));
  }
  return row;
}

std::vector<TurnTokenIds> TrajectoryTurnTokens(const proto::Trajectory& t) {
  std::map<int, std::vector<int32_t>> gen, obs, ctx;
  for (const auto& s : t.segments()) {
    std::vector<int32_t>* dst = nullptr;
    switch (s.role()) {
      case proto::ROLE_MODEL:
      case proto::ROLE_FORCED: dst = &gen[s.turn()]; break;
      case proto::ROLE_OBSERVATION: dst = &obs[s.turn()]; break;  // turn = the NEXT turn's index
      case proto::ROLE_CONTEXT: dst = &ctx[s.turn()]; break;      // the copy the turn `turn` starts from
      default: break;
    }
    if (dst != nullptr) dst->insert(dst->end(), s.token_ids().begin(), s.token_ids().end());
  }
  auto policy = ContextPolicy::Parse(t.context_policy());
  const bool full = policy.ok() ? policy->kind == ContextPolicy::Kind::kFull : !obs.empty();
  const bool mem1 = policy.ok() && policy->kind == ContextPolicy::Kind::kMem1;
  std::vector<TurnTokenIds> out;
  if (gen.empty()) return out;
  const int last_turn = gen.rbegin()->first;
  std::vector<int32_t> history;  // window:K: every generated and observation token so far
  for (int k = 0; k <= last_turn; ++k) {
    TurnTokenIds turn;
    if (auto it = gen.find(k); it != gen.end()) turn.generated = it->second;
    const std::vector<int32_t>& g = turn.generated;
    if (full) {
      if (auto it = obs.find(k + 1); it != obs.end()) turn.observation = it->second;
    } else if (auto it = ctx.find(k + 1); it != ctx.end()) {
      const std::vector<int32_t>& c = it->second;
      if (c.size() >= g.size() && std::equal(g.begin(), g.end(), c.begin())) {
        turn.observation = std::vector<int32_t>(c.begin() + g.size(), c.end());  // mem1: C = G + O
      } else {
        // The copy is the last K tokens of (history + G + O): O is what follows the longest
        // prefix of the copy that ends the known history + G.
        std::vector<int32_t> x = mem1 ? std::vector<int32_t>{} : history;
        x.insert(x.end(), g.begin(), g.end());
        const size_t n = c.size();
        for (size_t l = n > x.size() ? n - x.size() : 0; l <= n; ++l) {
          const size_t m = n - l;
          if (std::equal(c.begin(), c.begin() + m, x.end() - m)) {
            turn.observation = std::vector<int32_t>(c.begin() + m, c.end());
            // Nothing of the turn's own tokens left in the copy: the observation filled the
            // window and may have been longer.
            turn.observation_clipped = m == 0 && !g.empty();
            break;
          }
        }
      }
    }
    history.insert(history.end(), g.begin(), g.end());
    if (turn.observation) history.insert(history.end(), turn.observation->begin(), turn.observation->end());
    out.push_back(std::move(turn));
  }
  return out;
}

void ReferenceAggregate::Add(const ReferenceMetrics& m) {
  ++rows;
  em.push_back(m.em);
  f1.push_back(m.f1);
  exact_match.push_back(static_cast<double>(m.exact_match));
  if (m.compression_ratio) compression_ratio.push_back(*m.compression_ratio);
  if (m.peak_tokens_compressed) peak_compressed.push_back(static_cast<double>(*m.peak_tokens_compressed));
  if (m.dependency_compressed) dependency_compressed.push_back(static_cast<double>(*m.dependency_compressed));
  if (m.peak_tokens_non_compressed) peak_non_compressed.push_back(static_cast<double>(*m.peak_tokens_non_compressed));
  if (m.dependency_non_compressed) dependency_non_compressed.push_back(static_cast<double>(*m.dependency_non_compressed));
}

std::optional<double> ReferenceAggregate::Mean(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace mem1
