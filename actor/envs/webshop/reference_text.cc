// WebShop's and MEM1's texts as their Python code renders them (see reference_text.h).
#include "actor/envs/webshop/reference_text.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <cstdio>

#include "common/util/strings.h"

namespace mem1::webshop {
namespace {

// Decodes one UTF-8 code point at s[*i] (advancing *i); an invalid byte b decodes as
// U+DC00 + b (Python's surrogateescape).
char32_t DecodeUtf8(const std::string& s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  auto cont = [&](size_t k) { return *i + k < s.size() && (static_cast<unsigned char>(s[*i + k]) & 0xC0) == 0x80; };
  auto at = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[*i + k]) & 0x3F); };
  char32_t cp = 0;
  size_t n = 0;
  if (b0 < 0x80) {
    cp = b0, n = 1;
  } else if (b0 >= 0xC2 && b0 < 0xE0 && cont(1)) {
    cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | at(1), n = 2;
  } else if (b0 >= 0xE0 && b0 < 0xF0 && cont(1) && cont(2)) {
    cp = (static_cast<char32_t>(b0 & 0x0F) << 12) | (at(1) << 6) | at(2), n = 3;
    if (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000)) n = 0;
  } else if (b0 >= 0xF0 && b0 < 0xF5 && cont(1) && cont(2) && cont(3)) {
    cp = (static_cast<char32_t>(b0 & 0x07) << 18) | (at(1) << 12) | (at(2) << 6) | at(3), n = 4;
    if (cp < 0x10000 || cp > 0x10FFFF) n = 0;
  }
  if (n == 0) {
    *i += 1;
    return 0xDC00 + b0;
  }
  *i += n;
  return cp;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// str.isprintable() for one code point (Python: not Cc Cf Cs Co Cn Zl Zp Zs, except ' ').
bool PyIsPrintable(char32_t c) {
  if (c == ' ') return true;
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_SPACE_SEPARATOR:
      return false;
    default:
      return true;
  }
}

// generation_webagent.py / gen_data/data_process/webshop.py (MEM1), verbatim.
constexpr char kMem1EnvInstruction[] =
    "\nYou are browsing an online shop. Your goal is to find a product that matches the given description. You will "
    "interact with the site step-by-step. Each step gives you a <state>...</state> representing the current webpage. "
    "You must decide what action to take next until you identify the correct product.\n\n"
    "Available actions (shown in the <state> tag) depend on the page:\n"
    "- On the search page: search[<keywords>]\n"
    "- On search result pages: click[<item url>] to view a product, or click[next >] to go to the next results page\n"
    "- On product pages: click[description], click[features], click[color], click[size], click[buy now]\n"
    "- To return to search: click[back to search]\n\n"
    "Example goal: \"Find a gingko light and 20x20 pillow cover that is hand painted.\" \n"  // trailing space: verbatim
    "Example first action: <answer>search[gingko light 20x20 pillow cover hand painted]</answer>\n"
    "Only respond with valid actions formatted as: search[...], click[...], etc.\n"
    "After you navigate and find the product that best fits the user goal, you should click[buy now] to buy the "
    "product at the product page when the buy now button is available.\n";
constexpr char kMem1ResponseInstruction[] =  // followed by {user_instruction} + "\n"
    "\nAt each step, you will receive the current webpage state within <state></state>, the previous cumulative "
    "memory within <summary></summary> (except for the first step), and your last action within <answer></answer> "
    "(except for the first step). NEVER generate or modify the <state>; use it exactly as provided.\n\n"
    "Respond strictly using the following format:\n"
    "<think>...</think>\n"
    "<summary>...</summary>\n"
    "<answer>...</answer>\n\n"
    "Guidelines:\n"
    "- <think>: Clearly reason about relevant details and briefly plan your next step.\n"
    "- <summary>: Maintain and update a concise, cumulative memory of all essential information by integrating "
    "current <state> with previous <summary>. This is your only persistent memory. It should serve as a growing "
    "internal monologue that accumulates useful observations, actions taken, and insights from all previous and "
    "current steps, while removing redundant or outdated details to stay focused on finding and buying the correct "
    "product.\n"
    "- <answer>: Select your next action strictly from the Available Actions explicitly listed within the provided "
    "<state>. Use ONLY valid action formats like search[<keywords>] or click[<option>]. Click buy now when the right "
    "product is found and the buy now button is available.\n\n"
    "Task begins with:\n";

}  // namespace

void AddBs4TextNode(const std::string& node, std::vector<std::string>* out) {
  if (node.empty()) return;
  if (node.find_first_not_of(" \t\n\r\f") == std::string::npos) {
    if (node.find('\n') == std::string::npos) out->push_back("");
    return;
  }
  out->push_back(PythonStrip(node));
}

std::string JoinBs4TextNodes(const std::vector<std::string>& nodes) { return JoinStrings(nodes, " [SEP] "); }

std::string FlaskToJson(const std::map<std::string, std::string>& m) {
  auto str = [](const std::string& s) {
    std::string out = "\"";
    char buf[16];
    for (size_t i = 0; i < s.size();) {
      const char32_t c = DecodeUtf8(s, &i);
      switch (c) {
        case '"': out += "\\\""; continue;
        case '\\': out += "\\\\"; continue;
        case '\n': out += "\\n"; continue;
        case '\r': out += "\\r"; continue;
        case '\t': out += "\\t"; continue;
        case '\b': out += "\\b"; continue;
        case '\f': out += "\\f"; continue;
        default: break;
      }
      if (c >= 0x20 && c < 0x7F && c != '<' && c != '>' && c != '&' && c != '\'') {
        out.push_back(static_cast<char>(c));
      } else if (c < 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        const char32_t v = c - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                      static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
        out += buf;
      }
    }
    return out + "\"";
  };
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : m) {
    out += (first ? "" : ", ") + str(k) + ": " + str(v);
    first = false;
  }
  return out + "}";
}

std::string PythonStrRepr(const std::string& s) {
  const bool single = s.find('\'') != std::string::npos, dbl = s.find('"') != std::string::npos;
  const char quote = single && !dbl ? '"' : '\'';
  std::string out(1, quote);
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    const char32_t c = DecodeUtf8(s, &i);
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (PyIsPrintable(c)) {
      AppendUtf8(c, &out);
    } else {
      std::snprintf(buf, sizeof buf, c <= 0xFF ? "\\x%02x" : c <= 0xFFFF ? "\\u%04x" : "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    }
  }
  out.push_back(quote);
  return out;
}

std::string PythonListRepr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + PythonStrRepr(items[i]);
  return out + "]";
}

WebShopAction ParseWebShopAction(const std::string& action) {
  // '.' stops at the first newline; group 1 is greedy: the last '[' that leaves at least one
  // character before the line's last ']'; group 2 runs to that ']'.
  WebShopAction a;
  const std::string line = action.substr(0, action.find('\n'));
  const size_t close = line.rfind(']');
  if (close == std::string::npos || close < 3) return a;
  const size_t open = line.rfind('[', close - 2);
  if (open == std::string::npos || open < 1) return a;
  a.matched = true;
  a.name = line.substr(0, open);
  a.arg = line.substr(open + 1, close - open - 1);
  return a;
}

std::string Mem1TurnHint(int turns_left) {
  if (turns_left > 1) return "[HINT]You have " + std::to_string(turns_left) + " turns left.[/HINT]";
  if (turns_left == 1) return "[HINT]You have 1 turn left. You must answer the question in the next turn.[/HINT]";
  return "";
}

bool Mem1ActionIsValid(const std::string& action, const std::vector<std::string>& available) {
  // re.match(r'search\[(.*?)\]') / re.match(r'click\[(.*?)\]'): the prefix, then the first ']'
  // before any newline.
  auto match = [&](const std::string& prefix, std::string* inner) {
    if (action.rfind(prefix, 0) != 0) return false;
    const size_t close = action.find(']', prefix.size()), nl = action.find('\n', prefix.size());
    if (close == std::string::npos || (nl != std::string::npos && nl < close)) return false;
    *inner = action.substr(prefix.size(), close - prefix.size());
    return true;
  };
  auto has = [&](const std::string& a) { return std::find(available.begin(), available.end(), a) != available.end(); };
  std::string inner;
  if (match("search[", &inner) && has("search[<content>]")) return true;
  if (match("click[", &inner)) return has("click[" + PythonStrip(inner) + "]");
  return false;
}

std::string Mem1WebShopPrompt(const std::string& instruction) {
  // make_prefix(render_cache): env_instruction + "\n" + response_instruction.format(...), where
  // render_cache = the search page's instruction h4 text + "\n" + "Available actions: " +
  // ", ".join(actions) and the search page's only action is search[<content>].
  return std::string(kMem1EnvInstruction) + "\n" + kMem1ResponseInstruction + "Instruction: " + instruction +
         "\nAvailable actions: search[<content>]\n";
}

}  // namespace mem1::webshop
