// The MEM1 turn grammar: a model turn is `<IS>…</IS>` (the internal state) followed by exactly
// one action `<tag>…</tag>`; observations come back wrapped in `<info>…</info>`.
//
// Tag names are configuration (presets), as in the MEM1 reference code:
//   paper          : state <IS>,    search <query>,  answer <answer>, observation <info>
//   mem1-code      : state <think>, search <search>, answer <answer>, observation <information>
//   mem1-code-eval : the tags of mem1-code
// The presets are protocols, not only tag names:
//   paper          ours (documented in README): the state is required; a malformed turn gets
//                  feedback text and, by default, the episode goes on.
//   mem1-code      MEM1's training rollout (train/rollout/llm_agent/generation_think.py): the
//                  state is optional; the action is the earliest complete action tag pair (text
//                  after it is ignored); a turn without one ends the episode (reward 0) with no
//                  feedback; observations "\n\n<information>" + content + "</information>\n\n".
//                  WebShop under mem1-code (generation_webagent.py): <think>, <summary> and
//                  <answer> exactly once each, the action (search[...] / click[...]) inside
//                  <answer>; the summary is the state.
//   mem1-code-eval MEM1's inference pipeline (inference/data_pipelines.py): as mem1-code, but a
//                  complete <search> pair wins over <answer>, and observations are
//                  "<information>\n" + content + "\n</information>" with no blank lines around.
// Environments declare their actions by semantic name ("search", "answer", "webshop"); the
// preset maps a name to its tags (unknown names map to <name>…</name>).
//
// Malformed output never throws: ParseTurn returns a TurnError with feedback text that the
// rollout engine sends back as the observation, and a flag for the episode record.
// Thread safety: plain values and pure functions.
#ifndef MEM1_COMMON_MEMORY_TAG_GRAMMAR_H_
#define MEM1_COMMON_MEMORY_TAG_GRAMMAR_H_

#include <string>
#include <vector>

#include "common/util/status.h"

namespace mem1 {

struct TagPair {
  std::string open;
  std::string close;
};

// An action an environment accepts. `terminal` actions end the episode when well formed.
struct ActionSpec {
  std::string name;       // semantic name: "search", "answer", "webshop", ...
  bool terminal = false;
};

// A parsed preset (GetTagPreset). Default-constructed = the "paper" preset, so option structs
// that hold one default to it without naming it again.
struct TagPreset {
  enum class Protocol { kPaper, kMem1Code, kMem1CodeEval };
  std::string name = "paper";                  // the preset's config name (recorded, printed)
  Protocol protocol = Protocol::kPaper;
  TagPair state{"<IS>", "</IS>"};              // paper <IS>, mem1-code <think>
  TagPair observation{"<info>", "</info>"};    // paper <info>, mem1-code <information>
  TagPair search{"<query>", "</query>"};       // the "search" action: paper <query>, mem1-code <search>
  // Tags of the action with semantic `name`.
  TagPair ActionTags(const std::string& name) const;
  // The MEM1 reference protocols (mem1-code, mem1-code-eval): state optional, a malformed turn
  // ends the episode with reward 0.
  bool reference() const { return protocol != Protocol::kPaper; }
};

// "paper", "mem1-code" or "mem1-code-eval"; INVALID_ARGUMENT naming the value otherwise
// (`unknown tag preset "x" (expected paper, mem1-code or mem1-code-eval)`). The one parser of preset names:
// config validation calls it, so components take the parsed TagPreset, never a name.
[[nodiscard]] Result<TagPreset> GetTagPreset(const std::string& name);

enum class TurnError {
  kNone = 0,
  kNoState,          // no <IS> … </IS> before the action
  kNoAction,         // state present, no action tag
  kMultipleActions,  // more than one action tag
  kUnclosedTag,      // an opened state or action tag is never closed
  kTokenLimit,       // the per-turn token limit was hit before the action closed
  kUnknownAction,    // reserved: an action the environment does not accept
};

// Short stable flag for records and logs: "no_state", "no_action", ...
const char* TurnErrorFlag(TurnError e);

struct ParsedTurn {
  TurnError error = TurnError::kNone;
  std::string state;           // text inside the state tags (trimmed)
  std::string action;          // semantic action name
  std::string action_content;  // text inside the action tags (trimmed)
  bool terminal = false;
  std::string feedback;        // for errors: what the agent is told (observation content)
};

// Parses one turn of model output. `hit_token_limit` = generation stopped at the per-turn
// limit (not at a closing action tag). Under the reference presets (mem1-code*) an error has
// no feedback: the engine ends the episode.
ParsedTurn ParseTurn(const std::string& text, const TagPreset& preset, const std::vector<ActionSpec>& actions,
                     bool hit_token_limit);

// The observation block the agent sees, as in Search-R1 / MEM1:
// paper, mem1-code: "\n\n<info>" + content (trailing newlines and spaces trimmed) + "</info>\n\n";
// mem1-code-eval: "<information>\n" + content + "\n</information>" (content as is).
std::string WrapObservation(const TagPreset& preset, const std::string& content);

// The part of a finished turn's text that the next turn's context keeps (mem1 policy):
// paper and mem1-code-eval: all of it; mem1-code QA: from the first <think> on (up to a second
// <think>), as generation_think.py keeps it; mem1-code WebShop: what follows the first
// </think> (the summary and the answer), as generation_webagent.py keeps it.
std::string KeptTurnText(const TagPreset& preset, const std::vector<ActionSpec>& actions, const std::string& text);

// MEM1's training rollout samples each turn to EOS (or the token limit) and then cuts the
// decoded text (generation_think.py / generation_webagent.py `_postprocess_responses`): up to
// and including the first close tag of a terminal action when there is one (QA: </answer>,
// WebShop: </answer>), else the first close tag of another action (QA: </search>), else all
// of it. Note the order: a turn with "</search> … </answer>" keeps both.
std::string ReferenceResponseCut(const TagPreset& preset, const std::vector<ActionSpec>& actions,
                                 const std::string& text);

// "<query>…</query> or <answer>…</answer>" style list for prompts and feedback.
std::string DescribeActions(const TagPreset& preset, const std::vector<ActionSpec>& actions);

}  // namespace mem1

#endif  // MEM1_COMMON_MEMORY_TAG_GRAMMAR_H_
