// Small shared helpers: whitespace trimming, joining and a monotonic clock in seconds.
// Thread safety: pure functions.
#ifndef MEM1_COMMON_UTIL_STRINGS_H_
#define MEM1_COMMON_UTIL_STRINGS_H_

#include <chrono>
#include <string>
#include <vector>

namespace mem1 {

// `s` without leading/trailing spaces, tabs, CR and LF.
inline std::string TrimWhitespace(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Python's str.strip() on UTF-8 text: removes leading and trailing code points that Python
// counts as whitespace (ASCII \t\n\v\f\r, \x1c-\x1f, space; U+0085, U+00A0, U+1680,
// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
inline std::string PythonStrip(const std::string& s) {
  // Length of the whitespace code point starting (forward) or ending (backward) at `i`, or 0.
  auto ws_at = [&](size_t i) -> size_t {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0xc2 && i + 1 < s.size()) {
      const auto d = static_cast<unsigned char>(s[i + 1]);
      return (d == 0x85 || d == 0xa0) ? 2 : 0;
    }
    if (i + 2 < s.size()) {
      const auto d = static_cast<unsigned char>(s[i + 1]), e = static_cast<unsigned char>(s[i + 2]);
      if (c == 0xe1 && d == 0x9a && e == 0x80) return 3;                                    // U+1680
      if (c == 0xe2 && d == 0x80 && (e <= 0x8a || e == 0xa8 || e == 0xa9 || e == 0xaf)) return 3;  // U+2000-200A, 2028, 2029, 202F
      if (c == 0xe2 && d == 0x81 && e == 0x9f) return 3;                                    // U+205F
      if (c == 0xe3 && d == 0x80 && e == 0x80) return 3;                                    // U+3000
    }
    return 0;
  };
  size_t b = 0;
  while (b < s.size()) {
    const size_t n = ws_at(b);
    if (n == 0) break;
    b += n;
  }
  size_t e = s.size();
  while (e > b) {
    size_t n = 0;
    for (size_t k = 1; k <= 3 && k <= e - b; ++k) {
      const size_t m = ws_at(e - k);
      if (m == k) { n = k; break; }
    }
    if (n == 0) break;
    e -= n;
  }
  return s.substr(b, e - b);
}

// The parts joined with `sep` between them.
inline std::string JoinStrings(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// Seconds on the steady (monotonic) clock; for measuring durations only.
inline double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace mem1

#endif  // MEM1_COMMON_UTIL_STRINGS_H_
