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
