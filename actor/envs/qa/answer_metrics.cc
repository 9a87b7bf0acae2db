#include "actor/envs/qa/answer_metrics.h"

#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <map>
#include <sstream>

namespace mem1 {

std::string NormalizeAnswer(const std::string& s) {
  // Lower-case (Unicode, as Python's str.lower) and drop punctuation (Python's string.punctuation
  // is ASCII; we also drop Unicode punctuation so "Paris." and "Paris。" agree).
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  u.toLower();
  icu::UnicodeString kept;
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    i += U16_LENGTH(c);
    if (u_ispunct(c)) continue;
    kept.append(u_isUWhiteSpace(c) ? UChar32(' ') : c);
  }
  std::string lowered;
  kept.toUTF8String(lowered);
  std::istringstream words(lowered);
  std::string w, out;
  while (words >> w) {
    if (w == "a" || w == "an" || w == "the") continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

double ExactMatch(const std::string& prediction, const std::vector<std::string>& golden) {
  const std::string p = NormalizeAnswer(prediction);
  for (const auto& g : golden) {
    if (p == NormalizeAnswer(g)) return 1.0;
  }
  return 0.0;
}

double TokenF1(const std::string& prediction, const std::vector<std::string>& golden) {
  auto tokens = [](const std::string& s) {
    std::vector<std::string> t;
    std::istringstream in(NormalizeAnswer(s));
    for (std::string w; in >> w;) t.push_back(w);
    return t;
  };
  const auto p = tokens(prediction);
  double best = 0;
  for (const auto& g : golden) {
    const auto gt = tokens(g);
    if (p.empty() || gt.empty()) {
      best = std::max(best, p == gt ? 1.0 : 0.0);
      continue;
    }
    std::map<std::string, int> count;
    for (const auto& w : gt) count[w]++;
    int common = 0;
    for (const auto& w : p) {
      if (count[w] > 0) { ++common; --count[w]; }
    }
    if (common == 0) continue;
    const double precision = static_cast<double>(common) / p.size(), recall = static_cast<double>(common) / gt.size();
    best = std::max(best, 2 * precision * recall / (precision + recall));
  }
  return best;
}

}  // namespace mem1
