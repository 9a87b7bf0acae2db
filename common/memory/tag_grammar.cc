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
  if (action == "webshop") return reference() ? TagPair{"<answer>", "</answer>"} : TagPair{"<action>", "</action>"};
  return {"<" + action + ">", "</" + action + ">"};
}

Result<TagPreset> GetTagPreset(const std::string& name) {
  if (name == "paper") return TagPreset{};
  if (name == "mem1-code" || name == "mem1-code-eval") {
    return TagPreset{name,
                     name == "mem1-code" ? TagPreset::Protocol::kMem1Code : TagPreset::Protocol::kMem1CodeEval,
                     {"<think>", "</think>"},
                     {"<information>", "</information>"},
                     {"<search>", "</search>"}};
  }
  return InvalidArgument("unknown tag preset \"" + name + "\" (expected paper, mem1-code or mem1-code-eval)");
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
  if (preset.protocol == TagPreset::Protocol::kMem1CodeEval) {
    return preset.observation.open + "\n" + content + "\n" + preset.observation.close;
  }
  std::string c = content;
  while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
  return "\n\n" + preset.observation.open + c + preset.observation.close + "\n\n";
}

std::string KeptTurnText(const TagPreset& preset, const std::vector<ActionSpec>& actions, const std::string& text) {
  if (!preset.reference()) return text;
  if (actions.size() == 1 && actions[0].name == "webshop") {
    // generation_webagent.py: s.split('</think>')[1] -- between the first and a second </think>.
    const size_t a = text.find("</think>");
    if (a == std::string::npos) return text;
    const size_t b = a + 8, c = text.find("</think>", b);
    return text.substr(b, c == std::string::npos ? std::string::npos : c - b);
  }
  if (preset.protocol == TagPreset::Protocol::kMem1CodeEval) return text;  // the whole response
  // generation_think.py: "<think>" + s.split('<think>')[1] -- from the first <think> up to a second.
  const size_t a = text.find(preset.state.open);
  if (a == std::string::npos) return text;
  const size_t b = a + preset.state.open.size(), c = text.find(preset.state.open, b);
  return text.substr(a, c == std::string::npos ? std::string::npos : c - a);
}

std::string ReferenceResponseCut(const TagPreset& preset, const std::vector<ActionSpec>& actions,
                                 const std::string& text) {
  for (const bool terminal : {true, false}) {
    size_t best = std::string::npos, best_len = 0;
    for (const ActionSpec& a : actions) {
      if (a.terminal != terminal) continue;
      const std::string close = preset.ActionTags(a.name).close;
      const size_t at = text.find(close);
      if (at != std::string::npos && (best == std::string::npos || at < best)) {
        best = at;
        best_len = close.size();
      }
    }
    if (best != std::string::npos) return text.substr(0, best + best_len);
  }
  return text;
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

namespace {

// The MEM1 reference parse (see the file comment of tag_grammar.h): the earliest action open
// tag whose close tag follows it (mem1-code-eval: a complete search pair first); the state is
// the first complete state pair, optional. No feedback text: the engine ends the episode.
// Non-overlapping `open ... close` pairs (re.findall(r"<t>.*?</t>", DOTALL) semantics).
size_t CountPairs(const std::string& text, const std::string& open, const std::string& close) {
  size_t n = 0;
  for (size_t at = text.find(open); at != std::string::npos;) {
    const size_t c = text.find(close, at + open.size());
    if (c == std::string::npos) break;
    ++n;
    at = text.find(open, c + close.size());
  }
  return n;
}

// Occurrences of <name> and </name> as matched by re.findall(r"</?(\w+)>") (ASCII word chars).
size_t CountTagMentions(const std::string& text, const std::string& name) {
  return CountOccurrences(text, "<" + name + ">", 0) + CountOccurrences(text, "</" + name + ">", 0);
}

// MEM1 WebShop (generation_webagent.py): valid iff <think>, <summary> and <answer> each appear
// exactly once as a pair and each tag name is mentioned 0 or 2 times; the state is the summary,
// the action the first answer's content (stripped, "&gt;" -> ">").
ParsedTurn ParseReferenceWebShopTurn(const std::string& text, const ActionSpec& action, bool hit_token_limit) {
  ParsedTurn r;
  if (text.empty()) {  // MEM1 steps the env with '' (a no-op): an empty response is not malformed
    r.action = action.name;
    r.terminal = action.terminal;
    return r;
  }
  bool valid = true;
  for (const char* tag : {"think", "summary", "answer"}) {
    const std::string t = tag;
    const size_t mentions = CountTagMentions(text, t);
    valid = valid && (mentions == 0 || mentions == 2) && CountPairs(text, "<" + t + ">", "</" + t + ">") == 1;
  }
  if (!valid) {
    r.error = hit_token_limit ? TurnError::kTokenLimit
              : CountPairs(text, "<answer>", "</answer>") == 0 ? TurnError::kNoAction
                                                                : TurnError::kMultipleActions;
    return r;
  }
  auto inner = [&](const std::string& open, const std::string& close) {
    const size_t a = text.find(open) + open.size();
    return PythonStrip(text.substr(a, text.find(close, a) - a));
  };
  r.state = inner("<summary>", "</summary>");
  std::string content = inner("<answer>", "</answer>");
  for (size_t at = content.find("&gt;"); at != std::string::npos; at = content.find("&gt;", at + 1)) {
    content.replace(at, 4, ">");
  }
  r.action = action.name;
  r.terminal = action.terminal;
  r.action_content = content;
  return r;
}

ParsedTurn ParseReferenceTurn(const std::string& text, const TagPreset& preset, const std::vector<ActionSpec>& actions,
                              bool hit_token_limit) {
  if (actions.size() == 1 && actions[0].name == "webshop") return ParseReferenceWebShopTurn(text, actions[0], hit_token_limit);
  ParsedTurn r;
  const size_t s_open = text.find(preset.state.open);
  if (s_open != std::string::npos) {
    const size_t body = s_open + preset.state.open.size();
    const size_t close = text.find(preset.state.close, body);
    if (close != std::string::npos) r.state = PythonStrip(text.substr(body, close - body));
  }
  auto take = [&](const ActionSpec& a, size_t open_at) {
    const TagPair t = preset.ActionTags(a.name);
    const size_t body = open_at + t.open.size();
    const size_t close = text.find(t.close, body);
    if (close == std::string::npos) return false;
    r.action = a.name;
    r.terminal = a.terminal;
    r.action_content = PythonStrip(text.substr(body, close - body));
    return true;
  };
  if (preset.protocol == TagPreset::Protocol::kMem1CodeEval) {
    for (const auto& a : actions) {
      if (a.name != "search") continue;
      const size_t at = text.find(preset.ActionTags(a.name).open);
      if (at != std::string::npos && take(a, at)) return r;
    }
  }
  // Earliest start among complete pairs (regex <(answer|search)>(.*?)</\1> semantics).
  size_t best = std::string::npos;
  const ActionSpec* best_action = nullptr;
  for (const auto& a : actions) {
    const TagPair t = preset.ActionTags(a.name);
    for (size_t at = text.find(t.open); at != std::string::npos && at < best; at = text.find(t.open, at + 1)) {
      if (text.find(t.close, at + t.open.size()) != std::string::npos) {
        best = at;
        best_action = &a;
        break;
      }
    }
  }
  if (best_action != nullptr && take(*best_action, best)) return r;
  r.error = hit_token_limit ? TurnError::kTokenLimit : TurnError::kNoAction;
  bool any_open = false;
  for (const auto& a : actions) any_open |= text.find(preset.ActionTags(a.name).open) != std::string::npos;
  if (!hit_token_limit && any_open) r.error = TurnError::kUnclosedTag;
  return r;
}

}  // namespace

ParsedTurn ParseTurn(const std::string& text, const TagPreset& preset, const std::vector<ActionSpec>& actions,
                     bool hit_token_limit) {
  if (preset.reference()) return ParseReferenceTurn(text, preset, actions, hit_token_limit);
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
