// WebShop's and MEM1's texts exactly as their Python code renders them, for the mem1-code
// presets (and the reward's option tuples): Python's repr(), WebShop's action regex and its
// bs4 text-node rules, Flask's tojson, MEM1's WebShop prompt, turn hint and action-validity
// metric. Every function is pure.
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_REFERENCE_TEXT_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_REFERENCE_TEXT_H_

#include <map>
#include <string>
#include <vector>

namespace mem1::webshop {

// Python's repr(str) for UTF-8 text: single quotes, or double quotes when the text has a ' and
// no "; backslashes and the chosen quote escaped; \t \n \r; other characters that
// str.isprintable() rejects (Unicode categories Cc Cf Cs Co Cn Zl Zp Zs, except the space) as
// \xhh / \uhhhh / \Uhhhhhhhh (categories from ICU); everything else as is. A byte that is
// not valid UTF-8 is written as Python's surrogateescape would show it (\udcXX).
std::string PythonStrRepr(const std::string& s);
// Python's str(list_of_str): "[" + ", ".join(repr(x)) + "]" ("[]" when empty).
std::string PythonListRepr(const std::vector<std::string>& items);

// WebShop's parse_action: re.match(r'(.+)\[(.+)\]', action) -- greedy, anchored at the start,
// '.' not matching a newline. matched == false: (action, None).
struct WebShopAction {
  bool matched = false;
  std::string name, arg;  // arg as written (not lower-cased)
};
WebShopAction ParseWebShopAction(const std::string& action);

// MEM1's turn hint (generation_webagent.py) for `turns_left` turns after this one:
// "[HINT]You have N turns left.[/HINT]" (N > 1), the one-turn-left wording (N == 1), "" (N <= 0).
std::string Mem1TurnHint(int turns_left);

// MEM1's action_is_valid metric (env.py): search[...] while 'search[<content>]' is available,
// or click[x] (x stripped, case kept) with 'click[x]' in `available` (taken before the step).
bool Mem1ActionIsValid(const std::string& action, const std::vector<std::string>& available);

// One bs4 text node as WebShop's convert_html_to_text keeps it, appended to `out`: nothing for an
// empty node or a node of ASCII whitespace holding a newline; "" for other ASCII-whitespace
// nodes; else the node str.strip()ped.
void AddBs4TextNode(const std::string& node, std::vector<std::string>* out);
// ' [SEP] '.join(nodes) (empty nodes included).
std::string JoinBs4TextNodes(const std::vector<std::string>& nodes);
// Flask's tojson for {name: value}: json.dumps(sort_keys=True), ASCII only, with < > & '
// written as \u003c \u003e \u0026 \u0027.
std::string FlaskToJson(const std::map<std::string, std::string>& m);

// MEM1's WebShop prompt (generation_webagent.py make_prefix over the search page), verbatim,
// for the goal's instruction text.
std::string Mem1WebShopPrompt(const std::string& instruction);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_REFERENCE_TEXT_H_
