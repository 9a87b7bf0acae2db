// String matching exactly as WebShop's reward uses it (web_agent_site/engine/goal.py and
// normalize.py), written from the formulas:
//   - FuzzRatio: thefuzz 0.19 `fuzz.ratio` on raw strings. WebShop's requirements.txt pins
//     thefuzz==0.19.0 and does not install python-Levenshtein, so thefuzz falls back to
//     Python's difflib: round(100 * difflib.SequenceMatcher(None, a, b).ratio()), rounded half
//     to even as Python's round(). That is Ratcliff/Obershelp matching (longest common block,
//     then recursively left and right of it; ratio = 2 * matched / (len(a) + len(b))) with
//     difflib's autojunk rule: when len(b) >= 200, elements occurring more than 1 + len(b)/100
//     times in b cannot start a match (they can still extend one). Not symmetric in a and b,
//     and not the Indel/LCS ratio that python-Levenshtein or rapidfuzz would give.
//     Equal strings score 100 (even both empty), otherwise an empty side scores 0.
//   - FuzzTokenSetRatio: thefuzz `fuzz.token_set_ratio` (default processing: drop code points
//     128..255, every non-word character -> space, lower-case, strip; token sets; with
//     s = sorted intersection, c12 = s + sorted(a - b), c21 = s + sorted(b - a), the max of
//     FuzzRatio(s, c12), FuzzRatio(s, c21), FuzzRatio(c12, c21)). 0 when either side is empty
//     after processing.
//   - NormalizeColor: the first colour of WebShop's COLOR_SET (in its order) that occurs as a
//     substring, else the string unchanged.
//   - TypeNouns: stands in for spaCy's `en_core_web_sm` NOUN/PROPN filter in get_type_reward.
//     spaCy is not available to C++, so this is the ONE part of the reward that is an
//     approximation, not a port. Tokens are split like spaCy's tokenizer (alphanumeric runs);
//     closed-class words, colours and tokens with digits are never nouns; every other word is
//     looked up in WordNet (a NounLexicon loaded from Debian's wordnet-base, /usr/share/wordnet,
//     or config env.webshop.wordnet_dir, and passed in by the caller;
//     plurals via WordNet's noun exceptions and suffix rules): a noun if WordNet lists it as a
//     noun that is at least as frequent (tagged senses) as its adjective reading; a word
//     WordNet only knows as a verb / adjective / adverb is not; a word WordNet does not know
//     (brands, model names) is a proper noun. Without WordNet files (lexicon nullptr) a built-in
//     list of frequent product-title adjectives is used instead (LoadNounLexicon warns once).
// Strings are UTF-8; lengths and matching are over Unicode code points, as in Python.
// Thread safety: pure functions.
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_TEXT_MATCH_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_TEXT_MATCH_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mem1::webshop {

// Python str.lower() for UTF-8 text (simple case mapping per code point).
std::string Utf8Lower(const std::string& s);
// thefuzz utils.full_process(s, force_ascii=True).
std::string FuzzFullProcess(const std::string& s);
// thefuzz fuzz.ratio(a, b) without processing (0..100): difflib, so argument order matters.
int FuzzRatio(const std::string& a, const std::string& b);
// thefuzz fuzz.token_set_ratio(a, b) (0..100); argument order matters (see FuzzRatio).
int FuzzTokenSetRatio(const std::string& a, const std::string& b);

// WebShop's COLOR_SET, in its order (normalize.py).
const std::vector<std::string>& ColorSet();
std::string NormalizeColor(const std::string& s);

// Where Debian's wordnet-base puts WordNet's index files (the default of
// env.webshop.wordnet_dir).
inline constexpr char kDefaultWordNetDir[] = "/usr/share/wordnet";

// Noun readings from WordNet's index files. Immutable after loading; shareable by threads.
// Whoever builds WebShop environments loads one (LoadNounLexicon) and passes it in through
// WebShopEnvOptions::lexicon; there is no process-wide instance.
class NounLexicon {
 public:
  // Loads index.noun, index.adj, index.verb, index.adv and noun.exc from `dir`; nullptr when
  // index.noun cannot be read.
  static std::unique_ptr<NounLexicon> LoadWordNet(const std::string& dir);
  // `word` lower-case, one token.
  bool IsNoun(const std::string& word) const;
  size_t size() const { return noun_.size(); }

 private:
  std::string Lemma(const std::string& word) const;
  std::unordered_map<std::string, int> noun_, adj_;  // lemma -> tagged sense count
  std::unordered_set<std::string> other_;            // verb / adverb lemmas
  std::unordered_map<std::string, std::string> noun_exc_;
};

// LoadWordNet(dir), or nullptr with a WARNING that WebShop's title score falls back to the
// built-in adjective list (the documented fallback) when `dir` has no WordNet index files.
std::unique_ptr<NounLexicon> LoadNounLexicon(const std::string& dir);

// Lower-cased nouns of a product name (see the file comment: approximates spaCy POS tags).
// `lexicon` nullptr: the built-in adjective list.
std::vector<std::string> TypeNouns(const std::string& name, const NounLexicon* lexicon);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_TEXT_MATCH_H_
