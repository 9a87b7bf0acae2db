#include "actor/envs/webshop/text_match.h"

#include <glog/logging.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mem1::webshop {
namespace {

// UTF-8 -> code points (an invalid byte becomes U+FFFD, as Python's "replace" would).
std::u32string Decode(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    const int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    bool ok = true;
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) >> 6) != 2) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += n + 1;
  }
  return out;
}

std::string Encode(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

char32_t Lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
}

// Python's \w for str patterns: alphanumeric or underscore.
bool IsWord(char32_t c) {
  if (c < 0x80) return std::isalnum(static_cast<int>(c)) || c == '_';
  return u_isalnum(static_cast<UChar32>(c));
}

bool IsSpace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
         (c >= 0x80 && u_isUWhiteSpace(static_cast<UChar32>(c)));
}

// Ratcliff/Obershelp matching as Python's difflib.SequenceMatcher(None, a, b) computes it:
// isjunk is None (so no element of b is junk) and autojunk is on. Written from the algorithm:
//   - b2j: for every element of b, the ascending positions where it occurs. When len(b) >= 200
//     an element occurring more than 1 + len(b)/100 times is "popular" and is left out of b2j
//     (it can still be part of a match, see below).
//   - LongestMatch(alo, ahi, blo, bhi): the longest a[i:i+k] == b[j:j+k] inside the ranges that
//     b2j can see, found row by row over a with run lengths indexed by j; ties go to the match
//     found first (smallest end in a, then smallest j). The match is then grown to the left and
//     to the right over equal elements while it stays in range. difflib grows it first over
//     non-junk elements, then over junk ones; with no junk the first pass takes every equal
//     element, popular ones included, and the second never applies. A zero-length result at
//     (alo, blo) is grown to the right like any other.
//   - MatchedCount: the total length of the matching blocks: the longest match, then the same
//     on the pieces to its left and to its right (each only when both sides are non-empty).
//   - ratio = 2 * matched / (len(a) + len(b)).
class SequenceMatcher {
 public:
  SequenceMatcher(const std::u32string& a, const std::u32string& b)
      : a_(a), b_(b), run_(b.size(), 0), next_run_(b.size(), 0) {
    for (size_t j = 0; j < b.size(); ++j) b2j_[b[j]].push_back(static_cast<int>(j));
    const size_t n = b.size();
    if (n >= 200) {
      const size_t limit = n / 100 + 1;
      for (auto it = b2j_.begin(); it != b2j_.end();) {
        it = it->second.size() > limit ? b2j_.erase(it) : std::next(it);
      }
    }
  }

  size_t MatchedCount() {
    struct Range {
      int alo, ahi, blo, bhi;
    };
    std::vector<Range> todo = {{0, static_cast<int>(a_.size()), 0, static_cast<int>(b_.size())}};
    size_t matched = 0;
    while (!todo.empty()) {
      const Range r = todo.back();
      todo.pop_back();
      int i = 0, j = 0, k = 0;
      LongestMatch(r.alo, r.ahi, r.blo, r.bhi, &i, &j, &k);
      if (k == 0) continue;
      matched += static_cast<size_t>(k);
      if (r.alo < i && r.blo < j) todo.push_back({r.alo, i, r.blo, j});
      if (i + k < r.ahi && j + k < r.bhi) todo.push_back({i + k, r.ahi, j + k, r.bhi});
    }
    return matched;
  }

 private:
  void LongestMatch(int alo, int ahi, int blo, int bhi, int* bi, int* bj, int* bk) {
    int best_i = alo, best_j = blo, best_k = 0;
    // run_[j]: length of the match ending at (i - 1, j); next_run_: the same for row i. Only
    // the positions listed in touched_ / next_touched_ are non-zero.
    touched_.clear();
    for (int i = alo; i < ahi; ++i) {
      next_touched_.clear();
      auto it = b2j_.find(a_[i]);
      if (it != b2j_.end()) {
        for (int j : it->second) {
          if (j < blo) continue;
          if (j >= bhi) break;
          const int k = (j > blo ? run_[j - 1] : 0) + 1;
          next_run_[j] = k;
          next_touched_.push_back(j);
          if (k > best_k) {
            best_i = i - k + 1;
            best_j = j - k + 1;
            best_k = k;
          }
        }
      }
      for (int j : touched_) run_[j] = 0;
      std::swap(run_, next_run_);
      std::swap(touched_, next_touched_);
    }
    for (int j : touched_) run_[j] = 0;
    touched_.clear();
    while (best_i > alo && best_j > blo && a_[best_i - 1] == b_[best_j - 1]) {
      --best_i;
      --best_j;
      ++best_k;
    }
    while (best_i + best_k < ahi && best_j + best_k < bhi && a_[best_i + best_k] == b_[best_j + best_k]) {
      ++best_k;
    }
    *bi = best_i;
    *bj = best_j;
    *bk = best_k;
  }

  const std::u32string& a_;
  const std::u32string& b_;
  std::unordered_map<char32_t, std::vector<int>> b2j_;
  std::vector<int> run_, next_run_;
  std::vector<int> touched_, next_touched_;
};

// Python int(round(x)): round half to even.
int PyRound(double x) {
  const int old = std::fegetround();
  std::fesetround(FE_TONEAREST);
  const double r = std::nearbyint(x);
  std::fesetround(old);
  return static_cast<int>(r);
}

int RatioCp(const std::u32string& a, const std::u32string& b) {
  if (a == b) return 100;  // thefuzz check_for_equivalence (before the empty check)
  if (a.empty() || b.empty()) return 0;
  const double total = static_cast<double>(a.size() + b.size());
  const double matched = static_cast<double>(SequenceMatcher(a, b).MatchedCount());
  return PyRound(100.0 * (2.0 * matched / total));  // utils.intr(100 * m.ratio())
}

std::u32string Strip(const std::u32string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::vector<std::u32string> SplitWs(const std::u32string& s) {
  std::vector<std::u32string> out;
  std::u32string cur;
  for (char32_t c : s) {
    if (IsSpace(c)) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::u32string Join(const std::set<std::u32string>& parts) {
  std::u32string out;
  for (const auto& p : parts) {
    if (!out.empty()) out.push_back(U' ');
    out += p;
  }
  return out;
}

std::u32string FullProcessCp(const std::string& s) {
  std::u32string out;
  for (char32_t c : Decode(s)) {
    if (c >= 128 && c <= 255) continue;  // asciionly(): drops code points 128..255
    out.push_back(IsWord(c) ? Lower(c) : U' ');
  }
  return Strip(out);
}

}  // namespace

std::string Utf8Lower(const std::string& s) {
  bool ascii = true;
  for (unsigned char c : s) ascii &= c < 0x80;
  if (ascii) {
    std::string out = s;
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  std::u32string cp = Decode(s);
  for (char32_t& c : cp) c = Lower(c);
  return Encode(cp);
}

std::string FuzzFullProcess(const std::string& s) { return Encode(FullProcessCp(s)); }

int FuzzRatio(const std::string& a, const std::string& b) { return RatioCp(Decode(a), Decode(b)); }

int FuzzTokenSetRatio(const std::string& a, const std::string& b) {
  const std::u32string p1 = FullProcessCp(a), p2 = FullProcessCp(b);
  if (p1.empty() || p2.empty()) return 0;
  std::set<std::u32string> t1, t2;
  for (auto& t : SplitWs(p1)) t1.insert(t);
  for (auto& t : SplitWs(p2)) t2.insert(t);
  std::set<std::u32string> inter, d12, d21;
  for (const auto& t : t1) (t2.count(t) ? inter : d12).insert(t);
  for (const auto& t : t2) if (!t1.count(t)) d21.insert(t);
  const std::u32string sect = Join(inter);
  const std::u32string c12 = Strip(sect + U" " + Join(d12));
  const std::u32string c21 = Strip(sect + U" " + Join(d21));
  const std::u32string s = Strip(sect);
  return std::max({RatioCp(s, c12), RatioCp(s, c21), RatioCp(c12, c21)});
}

const std::vector<std::string>& ColorSet() {
  static const std::vector<std::string> kColors = {
      "alabaster", "apricot", "aqua", "ash", "asphalt", "azure", "banana", "beige", "black", "blue", "blush",
      "bordeaux", "bronze", "brown", "burgundy", "camel", "camo", "caramel", "champagne", "charcoal", "cheetah",
      "chestnut", "chocolate", "christmas", "coffee", "cognac", "copper", "coral", "cranberry", "cream", "crystal",
      "dark", "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite", "grape", "graphite",
      "grass", "gray", "green", "grey", "heather", "indigo", "ivory", "ivy", "khaki", "lavender", "lemon",
      "leopard", "light", "lilac", "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint", "mocha",
      "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive", "orange", "peach", "pewter", "pink",
      "plum", "purple", "rainbow", "red", "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver",
      "skull", "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal", "tiger", "turquoise",
      "violet", "walnut", "wheat", "white", "wine", "yellow"};
  return kColors;
}

std::string NormalizeColor(const std::string& s) {
  for (const auto& c : ColorSet()) {
    if (s.find(c) != std::string::npos) return c;
  }
  return s;
}

namespace {

// Words that are never nouns in titles: determiners, pronouns, prepositions, conjunctions,
// auxiliaries, particles (WordNet lists some of them as nouns: "a", "in", "it").
const std::unordered_set<std::string>& ClosedClass() {
  static const std::unordered_set<std::string> k = {
      "a", "an", "the", "this", "that", "these", "those", "each", "every", "all", "any", "some", "no", "both",
      "i", "me", "my", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "their", "his", "her",
      "of", "for", "with", "without", "in", "on", "at", "by", "from", "to", "into", "onto", "over", "under", "up",
      "down", "out", "off", "about", "above", "below", "between", "through", "during", "per", "via", "as", "like",
      "than", "and", "or", "but", "nor", "so", "yet", "plus", "is", "are", "was", "were", "be", "been", "being",
      "am", "do", "does", "did", "has", "have", "had", "can", "could", "will", "would", "should", "may", "might",
      "must", "not", "very", "too", "also", "more", "most", "less", "only", "just", "s", "t", "x"};
  return k;
}

// Fallback without WordNet: frequent product-title adjectives, adverbs, participles and units.
const std::unordered_set<std::string>& BuiltinNotNoun() {
  static const std::unordered_set<std::string> k = {
      "new", "natural", "organic", "long", "short", "soft", "hard", "large", "small", "medium", "mini", "big",
      "little", "extra", "heavy", "lightweight", "waterproof", "portable", "wireless", "compatible", "adjustable",
      "professional", "premium", "durable", "comfortable", "cute", "classic", "casual", "vintage", "modern",
      "fresh", "free", "high", "low", "best", "easy", "perfect", "super", "ultra", "anti", "non", "multi", "full",
      "pure", "sensitive", "dry", "oily", "daily", "hot", "cold", "warm", "slim", "quick", "fast", "wide",
      "thick", "thin", "strong", "gentle", "healthy", "delicious", "sweet", "salty", "spicy", "real", "great",
      "good", "fine", "smooth", "shiny", "clear", "safe", "stylish", "elegant", "fashionable", "sexy", "loose",
      "tight", "regular", "original", "authentic", "handmade", "reusable", "rechargeable", "electric",
      "digital", "smart", "mens", "womens", "men", "women", "unisex", "kids", "baby", "adult", "sturdy",
      "cleaning", "made", "use", "used", "using", "fits", "fit", "including", "includes", "included",
      "ready", "ideal", "suitable", "assorted", "mixed", "pack", "count", "ounce", "ounces", "oz",
      "inch", "inches", "lb", "lbs", "pound", "pounds", "ml", "fl", "g", "kg", "cm", "mm", "ft", "feet"};
  return k;
}

// index.* line: "lemma pos synset_cnt p_cnt [ptr x p_cnt] sense_cnt tagsense_cnt offsets..."
bool ParseIndexLine(const std::string& line, std::string* lemma, int* tagged) {
  if (line.empty() || line[0] == ' ') return false;  // license header
  std::istringstream in(line);
  std::string pos;
  int synsets = 0, pointers = 0;
  if (!(in >> *lemma >> pos >> synsets >> pointers)) return false;
  std::string skip;
  for (int i = 0; i < pointers; ++i) in >> skip;
  int senses = 0;
  if (!(in >> senses >> *tagged)) return false;
  return true;
}

}  // namespace

std::unique_ptr<NounLexicon> NounLexicon::LoadWordNet(const std::string& dir) {
  std::ifstream nouns(dir + "/index.noun");
  if (!nouns) return nullptr;
  auto lex = std::make_unique<NounLexicon>();
  std::string line, lemma;
  int tagged = 0;
  while (std::getline(nouns, line)) {
    if (ParseIndexLine(line, &lemma, &tagged)) lex->noun_[lemma] = tagged;
  }
  if (lex->noun_.empty()) return nullptr;
  std::ifstream adj(dir + "/index.adj");
  while (std::getline(adj, line)) {
    if (ParseIndexLine(line, &lemma, &tagged)) lex->adj_[lemma] = tagged;
  }
  for (const char* f : {"/index.verb", "/index.adv"}) {
    std::ifstream other(dir + f);
    while (std::getline(other, line)) {
      if (ParseIndexLine(line, &lemma, &tagged)) lex->other_.insert(lemma);
    }
  }
  std::ifstream exc(dir + "/noun.exc");
  while (std::getline(exc, line)) {
    std::istringstream in(line);
    std::string inflected, base;
    if (in >> inflected >> base) lex->noun_exc_[inflected] = base;
  }
  return lex;
}

std::unique_ptr<NounLexicon> LoadNounLexicon(const std::string& dir) {
  auto l = NounLexicon::LoadWordNet(dir);
  if (l == nullptr) {
    LOG(WARNING) << "WordNet index files not found in " << dir
                 << " (install wordnet-base or set env.webshop.wordnet_dir): WebShop's title score uses the built-in "
                    "adjective list";
  }
  return l;
}

std::string NounLexicon::Lemma(const std::string& w) const {
  auto known = [&](const std::string& x) { return noun_.count(x) || adj_.count(x) || other_.count(x); };
  if (known(w)) return w;
  if (auto it = noun_exc_.find(w); it != noun_exc_.end()) return it->second;
  // WordNet's morphy suffix rules for nouns (the -s rule also finds third-person verbs).
  static const std::pair<const char*, const char*> kRules[] = {{"ses", "s"}, {"xes", "x"},   {"zes", "z"},
                                                                {"ches", "ch"}, {"shes", "sh"}, {"men", "man"},
                                                                {"ies", "y"},  {"s", ""}};
  for (const auto& [suffix, repl] : kRules) {
    const size_t n = std::strlen(suffix);
    if (w.size() > n && w.compare(w.size() - n, n, suffix) == 0) {
      const std::string base = w.substr(0, w.size() - n) + repl;
      if (known(base)) return base;  // "boots" -> boot (noun), "contains" -> contain (verb)
    }
  }
  return w;
}

bool NounLexicon::IsNoun(const std::string& word) const {
  const std::string w = Lemma(word);
  auto n = noun_.find(w);
  auto a = adj_.find(w);
  if (n != noun_.end()) return a == adj_.end() || n->second >= a->second;
  if (a != adj_.end() || other_.count(w)) return false;
  return true;  // unknown to WordNet: a name (PROPN)
}

std::vector<std::string> TypeNouns(const std::string& name, const NounLexicon* lexicon) {
  static const std::unordered_set<std::string> colors(ColorSet().begin(), ColorSet().end());
  std::vector<std::string> out;
  std::u32string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    bool digit = false;
    for (char32_t c : cur) digit |= (c < 0x80 && std::isdigit(static_cast<int>(c))) || (c >= 0x80 && u_isdigit(c));
    const std::string w = Encode(cur);
    cur.clear();
    if (digit || w.size() < 2 || ClosedClass().count(w) || colors.count(w)) return;
    if (lexicon != nullptr ? !lexicon->IsNoun(w) : BuiltinNotNoun().count(w) > 0) return;
    out.push_back(w);
  };
  for (char32_t c : Decode(name)) {
    if (c == '_' || !IsWord(c)) {
      flush();
    } else {
      cur.push_back(Lower(c));
    }
  }
  flush();
  return out;
}

}  // namespace mem1::webshop
