#include "actor/envs/webshop/expert.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_set>

#include "actor/envs/webshop/text_match.h"
#include "common/util/strings.h"

namespace mem1::webshop {
namespace {

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : Utf8Lower(s)) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '%') {
      cur.push_back(c);
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

const std::unordered_set<std::string>& Filler() {
  static const std::unordered_set<std::string> k = {
      "i", "am", "looking", "for", "need", "want", "to", "buy", "find", "me", "would", "like", "please", "get", "a",
      "an", "the", "that", "is", "with", "and", "in", "of", "it", "some", "which", "are", "be", "my", "size", "color",
      "price", "lower", "than", "dollars"};
  return k;
}

// The instruction without ", and price lower than X dollars".
std::string StripPrice(const std::string& ins) {
  const size_t p = ins.find(", and price lower than");
  return p == std::string::npos ? ins : ins.substr(0, p);
}

// Option values the goal asks for that this product offers, as (group, value) of best match.
std::vector<std::pair<std::string, std::string>> WantedOptions(const WebShopSession& s, const Product& p) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& want : s.goal().goal_options) {
    int best = -1;
    std::pair<std::string, std::string> pick;
    for (const auto& [group, values] : p.options) {
      for (const auto& v : values) {
        const int score = v == want ? 101 : FuzzTokenSetRatio(NormalizeColor(v), NormalizeColor(want));
        if (score > best) best = score, pick = {group, v};
      }
    }
    if (best > kFuzzyThreshold) out.push_back(pick);
  }
  return out;
}

double TitleScore(const std::string& title, const std::set<std::string>& want) {
  const auto words = Words(title);
  std::set<std::string> have(words.begin(), words.end());
  double score = 0;
  for (const auto& w : want) score += have.count(w) ? 1 : 0;
  return score;
}

}  // namespace

std::string ExpertQuery(const std::string& instruction) {
  std::string q;
  for (const auto& w : Words(StripPrice(instruction))) {
    if (Filler().count(w)) continue;
    q += (q.empty() ? "" : " ") + w;
  }
  return q;
}

std::string ExpertAction(const WebShopSession& s) {
  const PageState& st = s.state();
  const Catalog& c = s.catalog();
  switch (st.kind) {
    case PageKind::kSearch:
      return "search[" + ExpertQuery(s.goal().instruction_text) + "]";
    case PageKind::kResults: {
      const auto words = Words(ExpertQuery(s.goal().instruction_text));
      const std::set<std::string> want(words.begin(), words.end());
      double best = -1e9;
      std::string pick;
      const size_t b = static_cast<size_t>(st.page - 1) * kProductWindow;
      for (size_t i = b; i < std::min(st.results.size(), b + kProductWindow); ++i) {
        const Product* p = c.Find(st.results[i]);
        double score = TitleScore(p->title, want);
        if (c.PriceOf(p->asin) > s.goal().price_upper) score -= 100;
        score += 0.5 * WantedOptions(s, *p).size();
        score -= 0.01 * static_cast<double>(i - b);  // ties: the higher-ranked result
        if (score > best) best = score, pick = p->asin;
      }
      if (pick.empty()) return "click[back to search]";
      return "click[" + Utf8Lower(pick) + "]";
    }
    case PageKind::kItem: {
      const Product* p = c.Find(st.asin);
      for (const auto& [group, value] : WantedOptions(s, *p)) {
        auto it = st.options.find(group);
        if (it == st.options.end() || it->second != value) return "click[" + value + "]";
      }
      return "click[buy now]";
    }
    case PageKind::kSubPage:
      return "click[< prev]";
    case PageKind::kDone:
      return "";
  }
  return "";
}

std::string ExpertState(const WebShopSession& s, const std::string& next_action) {
  const PageState& st = s.state();
  std::ostringstream o;
  o << "Task: " << StripPrice(s.goal().instruction_text);
  if (s.goal().price_upper < 1e6) o << "; budget under $" << PyFloat(s.goal().price_upper);
  o << ".";
  if (!st.keywords.empty()) o << " Searched: " << st.keywords << ".";
  switch (st.kind) {
    case PageKind::kSearch:
      o << " Next: search for the product.";
      break;
    case PageKind::kResults:
      o << " On results page " << st.page << " of " << st.results.size() << " results. Next: open the best match.";
      break;
    case PageKind::kItem:
    case PageKind::kSubPage: {
      o << " Viewing " << st.asin << ".";
      if (!st.options.empty()) {
        o << " Selected:";
        for (const auto& [g, v] : st.options) o << " " << g << " = " << v << ";";
      }
      o << (next_action == "click[buy now]" ? " All requested options chosen. Next: buy." : " Next: choose the requested options.");
      break;
    }
    case PageKind::kDone:
      o << " Bought.";
      break;
  }
  return o.str();
}

std::string RandomAction(const WebShopSession& s, std::mt19937_64& rng) {
  if (s.HasSearchBar()) {
    const auto words = Words(StripPrice(s.goal().instruction_text));
    std::string q;
    const size_t n = std::uniform_int_distribution<size_t>(1, 3)(rng);
    for (size_t i = 0; i < n && !words.empty(); ++i) {
      q += (q.empty() ? "" : " ") + words[std::uniform_int_distribution<size_t>(0, words.size() - 1)(rng)];
    }
    return "search[" + q + "]";
  }
  std::vector<std::string> c = s.Clickables();
  if (c.empty()) return "";
  return "click[" + c[std::uniform_int_distribution<size_t>(0, c.size() - 1)(rng)] + "]";
}

std::string ExpertTurn(const WebShopSession& s, const TagPreset& preset) {
  const std::string action = ExpertAction(s);
  const std::string state = ExpertState(s, action);
  if (preset.reference()) {
    // MEM1's WebShop turn: <think>, <summary> (the memory) and <answer>, once each.
    return "<think>Next: " + action + ".</think>\n<summary>" + state + "</summary>\n<answer>" + action + "</answer>";
  }
  const TagPair act = preset.ActionTags("webshop");
  return preset.state.open + state + preset.state.close + act.open + action + act.close;
}

double PlayEpisode(WebShopEnv* env, bool expert, std::mt19937_64* rng, int max_actions,
                   const std::function<void(const std::string&, const StepResult&)>& on_step) {
  for (int t = 0; t < max_actions; ++t) {
    const std::string a = expert ? ExpertAction(env->session()) : RandomAction(env->session(), *rng);
    if (a.empty()) break;
    StepResult r = env->Step("webshop", a, max_actions - t - 1);
    if (on_step) on_step(a, r);
    if (r.done) return r.reward;
  }
  return env->Truncate().reward;
}

}  // namespace mem1::webshop
