#include "actor/envs/qa/answer_metrics.h"

#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <map>
#include <string>
#include <vector>
#include <sstream>

namespace mem1 {

namespace {

// Python 3 re's \w for str patterns: alphanumeric (str.isalnum) or underscore.
bool IsWordChar(UChar32 c) {
  const int8_t t = u_charType(c);
  return c == '_' || u_isalpha(c) || t == U_DECIMAL_DIGIT_NUMBER || t == U_OTHER_NUMBER || t == U_LETTER_NUMBER;
}

}  // namespace

bool IsPythonSpace(int32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

bool IsAsciiPunctuation(int32_t c) {
  return c > 32 && c < 127 && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
}

std::string NormalizeAnswer(const std::string& s, AnswerNormalization mode) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  u.toLower();
  // Code points after punctuation removal.
  std::vector<UChar32> cps;
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    i += U16_LENGTH(c);
    if (mode == AnswerNormalization::kReference ? IsAsciiPunctuation(c) : static_cast<bool>(u_ispunct(c))) continue;
    cps.push_back(c);
  }
  // Articles: re.sub(r"\b(a|an|the)\b", " ", text) (kUnicode: whole whitespace-separated words,
  // as before).
  std::vector<UChar32> out;
  const size_t n = cps.size();
  for (size_t i = 0; i < n;) {
    if (mode == AnswerNormalization::kReference && (i == 0 || !IsWordChar(cps[i - 1]))) {
      size_t len = 0;
      for (const char* art : {"the", "an", "a"}) {
        const size_t l = std::char_traits<char>::length(art);
        if (i + l > n) continue;
        bool eq = true;
        for (size_t k = 0; k < l && eq; ++k) eq = cps[i + k] == static_cast<UChar32>(art[k]);
        if (eq && (i + l == n || !IsWordChar(cps[i + l]))) { len = l; break; }
      }
      if (len > 0) {
        out.push_back(' ');
        i += len;
        continue;
      }
    }
    out.push_back(cps[i]);
    ++i;
  }
  // Whitespace: " ".join(text.split()).
  std::string result;
  std::vector<std::string> words;
  icu::UnicodeString word;
  auto flush = [&]() {
    if (word.isEmpty()) return;
    std::string w;
    word.toUTF8String(w);
    word.remove();
    if (mode == AnswerNormalization::kUnicode && (w == "a" || w == "an" || w == "the")) return;
    words.push_back(w);
  };
  for (UChar32 c : out) {
    const bool space = mode == AnswerNormalization::kReference ? IsPythonSpace(c) : static_cast<bool>(u_isUWhiteSpace(c));
    if (space) {
      flush();
    } else {
      word.append(c);
    }
  }
  flush();
  for (size_t k = 0; k < words.size(); ++k) result += (k ? " " : "") + words[k];
  return result;
}

double ExactMatch(const std::string& prediction, const std::vector<std::string>& golden, AnswerNormalization mode) {
  const std::string p = NormalizeAnswer(prediction, mode);
  for (const auto& g : golden) {
    if (p == NormalizeAnswer(g, mode)) return 1.0;
  }
  return 0.0;
}

double TokenF1(const std::string& prediction, const std::vector<std::string>& golden, AnswerNormalization mode) {
  auto tokens = [mode](const std::string& s) {
    std::vector<std::string> t;
    std::istringstream in(NormalizeAnswer(s, mode));
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
