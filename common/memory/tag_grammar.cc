#include "common/memory/tag_grammar.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

size_t CountOccurrences(const std::string& text, const std::string& needle, size_t from) {
  size_t n = 0;
  for (size_t p = text.find(needle, from); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
  return n;
}

}  // namespace

TagPair TagPreset::ActionTags(const std::string& action) const {
  if (action == "search") return search;
  if (action == "webshop") return {"<action>", "</action>"};
  return {"<" + action + ">", "</" + action + ">"};
}

Result<TagPreset> GetTagPreset(const std::string& name) {
  if (name == "paper") return TagPreset{};
  if (name == "mem1-code") {
    return TagPreset{"mem1-code", {"<think>", "</think>"}, {"<information>", "</information>"}, {"<search>", "</search>"}};
  }
  return InvalidArgument("unknown tag preset \"" + name + "\" (expected paper or mem1-code)");
}

const char* TurnErrorFlag(TurnError e) {
  switch (e) {
    case TurnError::kNone: return "ok";
    case TurnError::kNoState: return "no_state";
    case TurnError::kNoAction: return "no_action";
    case TurnError::kMultipleActions: return "multiple_actions";
    case TurnError::kUnclosedTag: return "unclosed_tag";
    case TurnError::kTokenLimit: return "token_limit";
    case TurnError::kUnknownAction: return "unknown_action";
  }
  return "?";
}

std::string WrapObservation(const TagPreset& preset, const std::string& content) {
  std::string c = content;
  while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
  return "\n\n" + preset.observation.open + c + preset.observation.close + "\n\n";
}

std::string DescribeActions(const TagPreset& preset, const std::vector<ActionSpec>& actions) {
  std::string out;
  for (size_t i = 0; i < actions.size(); ++i) {
    const TagPair t = preset.ActionTags(actions[i].name);
    if (i > 0) out += i + 1 == actions.size() ? " or " : ", ";
    out += t.open + "..." + t.close;
  }
  return out;
}

ParsedTurn ParseTurn(const std::string& text, const TagPreset& preset, const std::vector<ActionSpec>& actions,
                     bool hit_token_limit) {
  ParsedTurn r;
  const std::string how = "Write your updated internal state inside " + preset.state.open + " and " +
                          preset.state.close + ", then exactly one action: " + DescribeActions(preset, actions) + ".";
  auto fail = [&](TurnError e, const std::string& what) {
    r.error = e;
    r.feedback = "Your previous output was invalid: " + what + " " + how;
    return r;
  };
  const size_t s_open = text.find(preset.state.open);
  if (s_open == std::string::npos) {
    if (hit_token_limit) return fail(TurnError::kTokenLimit, "it reached the per-turn token limit without an internal state.");
    return fail(TurnError::kNoState, "it has no " + preset.state.open + "..." + preset.state.close + " internal state.");
  }
  const size_t s_body = s_open + preset.state.open.size();
  const size_t s_close = text.find(preset.state.close, s_body);
  if (s_close == std::string::npos) {
    if (hit_token_limit) return fail(TurnError::kTokenLimit, "it reached the per-turn token limit inside the internal state.");
    return fail(TurnError::kUnclosedTag, "the internal state " + preset.state.open + " is never closed with " +
                                             preset.state.close + ".");
  }
  r.state = TrimWhitespace(text.substr(s_body, s_close - s_body));
  const size_t after = s_close + preset.state.close.size();
  // An action tag inside the state does not count: only text after </IS> is the action.
  size_t total = 0;
  const ActionSpec* found = nullptr;
  size_t found_at = std::string::npos;
  for (const auto& a : actions) {
    const TagPair t = preset.ActionTags(a.name);
    const size_t n = CountOccurrences(text, t.open, after);
    total += n;
    if (n > 0) {
      const size_t at = text.find(t.open, after);
      if (at < found_at) { found_at = at; found = &a; }
    }
  }
  if (total == 0) {
    if (hit_token_limit) return fail(TurnError::kTokenLimit, "it reached the per-turn token limit before an action.");
    return fail(TurnError::kNoAction, "it has an internal state but no action.");
  }
  if (total > 1) return fail(TurnError::kMultipleActions, "it has more than one action; give exactly one per turn.");
  const TagPair t = preset.ActionTags(found->name);
  const size_t body = found_at + t.open.size();
  const size_t close = text.find(t.close, body);
  if (close == std::string::npos) {
    if (hit_token_limit) return fail(TurnError::kTokenLimit, "it reached the per-turn token limit inside the action.");
    return fail(TurnError::kUnclosedTag, "the action " + t.open + " is never closed with " + t.close + ".");
  }
  r.action = found->name;
  r.terminal = found->terminal;
  r.action_content = TrimWhitespace(text.substr(body, close - body));
  return r;
}

}  // namespace mem1
