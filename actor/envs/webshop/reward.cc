#include "actor/envs/webshop/reward.h"

#include <set>

#include "actor/envs/webshop/text_match.h"
#include "actor/envs/webshop/webshop_env.h"  // PythonStrRepr
#include "common/util/strings.h"

namespace mem1::webshop {
namespace {

std::set<std::string> CategoryLevels(const std::string& s) {
  static const std::string kSep = "\xE2\x80\xBA";  // U+203A '›'
  std::set<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(kSep, start);
    out.insert(TrimWhitespace(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start)));
    if (pos == std::string::npos) break;
    start = pos + kSep.size();
  }
  return out;
}

}  // namespace

TypeReward GetTypeReward(const Product& purchased, const Goal& goal, const NounLexicon* lexicon) {
  TypeReward t;
  t.query_match = purchased.query == goal.query;
  const auto a = CategoryLevels(purchased.product_category), b = CategoryLevels(goal.product_category);
  int shared = 0;
  for (const auto& x : a) shared += b.count(x) ? 1 : 0;
  t.category_match = shared >= 2;
  const auto p_nouns = TypeNouns(purchased.name, lexicon), g_nouns = TypeNouns(goal.name, lexicon);
  const std::set<std::string> ps(p_nouns.begin(), p_nouns.end()), gs(g_nouns.begin(), g_nouns.end());
  int inter = 0;
  for (const auto& x : gs) inter += ps.count(x) ? 1 : 0;
  // len(desired_type_parse) counts tokens (with repeats); the intersection is over sets.
  t.title_score = g_nouns.empty() ? 0.2 : static_cast<double>(inter) / static_cast<double>(g_nouns.size());
  t.r_type = 1.0;
  const bool match = t.query_match || t.category_match || t.title_score > 0.2;
  if (!match) t.r_type = 0.5;
  if (t.title_score < 0.1) t.r_type = 0.1;
  if (t.title_score == 0.0) t.r_type = 0.0;
  return t;
}

double GetAttributeReward(const Product& p, const Goal& goal, int* matches) {
  *matches = 0;
  const std::string title = Utf8Lower(p.title), desc = Utf8Lower(p.description);
  std::string bullets;
  for (size_t i = 0; i < p.bullet_points.size(); ++i) bullets += (i ? " " : "") + p.bullet_points[i];
  bullets = Utf8Lower(bullets);
  for (const auto& g : goal.attributes) {
    bool matched = false;
    for (const auto& pa : p.attributes) {
      if (FuzzTokenSetRatio(pa, g) > kFuzzyThreshold) {
        ++*matches;
        matched = true;
        break;
      }
    }
    if (!matched && (title.find(g) != std::string::npos || bullets.find(g) != std::string::npos ||
                     desc.find(g) != std::string::npos)) {
      ++*matches;
    }
  }
  return goal.attributes.empty() ? 0.0 : static_cast<double>(*matches) / static_cast<double>(goal.attributes.size());
}

namespace {

// get_option_reward after normalize_color: `g` already normalized.
std::optional<double> OptionReward(const std::vector<std::string>& purchased_options, const std::vector<std::string>& g,
                                   int* matches) {
  *matches = 0;
  std::vector<std::string> p;
  for (const auto& o : purchased_options) p.push_back(NormalizeColor(o));
  for (const auto& go : g) {
    for (const auto& po : p) {
      if (FuzzTokenSetRatio(po, go) > kFuzzyThreshold) {
        ++*matches;
        break;
      }
    }
  }
  if (g.empty()) return std::nullopt;
  return static_cast<double>(*matches) / static_cast<double>(g.size());
}

}  // namespace

std::optional<double> GetOptionReward(const std::vector<std::string>& purchased_options,
                                      const std::vector<std::string>& goal_options, int* matches) {
  std::vector<std::string> g;
  for (const auto& o : goal_options) g.push_back(NormalizeColor(o));
  return OptionReward(purchased_options, g, matches);
}

std::string SyntheticGoalOption(const std::string& name, const std::string& value) {
  for (const auto& c : ColorSet()) {
    if (c == name || c == value) return c;  // `color in tuple`: element equality
  }
  return "(" + PythonStrRepr(name) + ", " + PythonStrRepr(value) + ")";
}

RewardBreakdown GetReward(const Product& purchased, const Goal& goal, double price,
                          const std::map<std::string, std::string>& options, const NounLexicon* lexicon,
                          bool option_tuples) {
  RewardBreakdown r;
  r.type = GetTypeReward(purchased, goal, lexicon);
  r.r_price = price <= goal.price_upper ? 1.0 : 0.0;
  r.r_att = GetAttributeReward(purchased, goal, &r.num_attr_matches);
  std::vector<std::string> chosen;
  for (const auto& [group, value] : options) chosen.push_back(value);
  if (option_tuples && !goal.goal_option_names.empty() && goal.goal_option_names.size() == goal.goal_options.size()) {
    std::vector<std::string> g;
    for (size_t i = 0; i < goal.goal_options.size(); ++i) {
      g.push_back(SyntheticGoalOption(goal.goal_option_names[i], goal.goal_options[i]));
    }
    r.r_option = OptionReward(chosen, g, &r.num_option_matches);
  } else {
    r.r_option = GetOptionReward(chosen, goal.goal_options, &r.num_option_matches);
  }
  const double denom = static_cast<double>(goal.attributes.size() + goal.goal_options.size() + 1);
  r.total = (r.num_attr_matches + r.num_option_matches + r.r_price) / denom * r.type.r_type;
  r.w_att = goal.attributes.size() / denom;
  r.w_option = goal.goal_options.size() / denom;
  r.w_price = 1.0 / denom;
  return r;
}

}  // namespace mem1::webshop
