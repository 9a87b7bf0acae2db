#include "common/memory/context_policy.h"

#include <glog/logging.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace mem1 {

Result<ContextPolicy> ContextPolicy::Parse(const std::string& text) {
  ContextPolicy p;
  if (text == "mem1") return p;
  if (text == "full") { p.kind = Kind::kFull; return p; }
  if (text.rfind("window:", 0) == 0) {
    // K: [1-9][0-9]* within int64 (no sign, space or leading zero).
    const std::string k = text.substr(7);
    const bool digits = !k.empty() && k[0] != '0' &&
                        std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
    errno = 0;
    const long long v = digits ? std::strtoll(k.c_str(), nullptr, 10) : 0;
    if (digits && errno == 0) {
      p.kind = Kind::kWindow;
      p.window_tokens = v;
      return p;
    }
  }
  return InvalidArgument("context policy \"" + text + "\" (expected mem1, full or window:K with K >= 1)");
}

std::string ContextPolicy::Name() const {
  switch (kind) {
    case Kind::kMem1: return "mem1";
    case Kind::kFull: return "full";
    case Kind::kWindow: return "window:" + std::to_string(window_tokens);
  }
  return "?";
}

std::vector<int32_t> NextContextCopy(const ContextPolicy& policy, const std::vector<TurnTokens>& history) {
  CHECK(policy.ReEncodes());
  std::vector<int32_t> out;
  if (history.empty()) return out;
  if (policy.kind == ContextPolicy::Kind::kMem1) {
    const TurnTokens& last = history.back();
    out = last.generated;
    out.insert(out.end(), last.observation.begin(), last.observation.end());
    return out;
  }
  // window:K — walk back from the newest token.
  std::vector<int32_t> all;
  for (const auto& t : history) {
    all.insert(all.end(), t.generated.begin(), t.generated.end());
    all.insert(all.end(), t.observation.begin(), t.observation.end());
  }
  const size_t k = static_cast<size_t>(policy.window_tokens);
  if (all.size() > k) all.erase(all.begin(), all.end() - k);
  return all;
}

}  // namespace mem1
