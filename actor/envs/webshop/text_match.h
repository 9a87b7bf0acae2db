// String matching exactly as WebShop's reward uses it (web_agent_site/engine/goal.py and
// normalize.py), written from the formulas:
//   - FuzzTokenSetRatio: thefuzz `fuzz.token_set_ratio` (default processing: drop code points
//     128..255, every non-word character -> space, lower-case, strip; token sets; three
//     Indel ratios over "sorted intersection" / "+ sorted differences"; max; rounded half to
//     even as Python's round()). 0 when either side is empty after processing.
//   - FuzzRatio: thefuzz `fuzz.ratio` on raw strings = round(100 * 2*LCS / (len1 + len2)),
//     the normalised Indel similarity that python-Levenshtein and rapidfuzz compute.
//   - NormalizeColor: the first colour of WebShop's COLOR_SET (in its order) that occurs as a
//     substring, else the string unchanged.
//   - TypeNouns: stands in for spaCy's `en_core_web_sm` NOUN/PROPN filter in get_type_reward.
//     spaCy is not available to C++; this lexicon tagger (tokens split like spaCy's tokenizer;
//     closed-class words, colours, frequent product adjectives and tokens with digits are not
//     nouns) is the ONE part of the reward that is an approximation, not a port.
// Strings are UTF-8; lengths and LCS are over Unicode code points, as in Python.
// Thread safety: pure functions.
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_TEXT_MATCH_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_TEXT_MATCH_H_

#include <string>
#include <vector>

namespace mem1::webshop {

// Python str.lower() for UTF-8 text (simple case mapping per code point).
std::string Utf8Lower(const std::string& s);
// thefuzz utils.full_process(s, force_ascii=True).
std::string FuzzFullProcess(const std::string& s);
// thefuzz fuzz.ratio(a, b) without processing (0..100).
int FuzzRatio(const std::string& a, const std::string& b);
// thefuzz fuzz.token_set_ratio(a, b) (0..100).
int FuzzTokenSetRatio(const std::string& a, const std::string& b);

// WebShop's COLOR_SET, in its order (normalize.py).
const std::vector<std::string>& ColorSet();
std::string NormalizeColor(const std::string& s);

// Lower-cased nouns of a product name (see the file comment: approximates spaCy POS tags).
std::vector<std::string> TypeNouns(const std::string& name);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_TEXT_MATCH_H_
