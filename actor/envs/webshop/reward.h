// WebShop's purchase reward, ported from web_agent_site/engine/goal.py `get_reward` and its
// helpers. Constants and where they come from:
//   - attribute match: fuzz.token_set_ratio(product attribute, goal attribute) > 85
//     (kFuzzyThreshold), else the goal attribute as a substring of the lower-cased Title,
//     the joined BulletPoints or the Description;
//   - option match: NormalizeColor on both sides, then token_set_ratio > 85 against any
//     purchased option value;
//   - price: 1 if price <= price_upper;
//   - total = (attribute matches + option matches + price) / (#attributes + #options + 1),
//     times r_type;
//   - r_type (get_type_reward): 1.0, lowered to 0.5 when neither the query, >= 2 shared
//     product-category levels ("A › B › C", split on "›" and stripped), nor a title score above
//     0.2 match; to 0.1 when title score < 0.1; to 0.0 when title score == 0. Title score =
//     |nouns(purchased name) ∩ nouns(goal name)| / |nouns(goal name)| (0.2 when the goal name
//     has no nouns). Nouns come from TypeNouns (text_match.h: an approximation of spaCy) with
//     the caller's `lexicon` (WordNet; nullptr = the built-in adjective list).
// Synthetic goals compare option values only (the names are not part of the match), unless
// `option_tuples` (the reference presets): then, as WebShop does with a synthetic goal's dict
// (get_reward passes goal_options.items()), each goal option is the tuple (name, value):
// normalize_color(tuple) is the first COLOR_SET entry EQUAL to the name or the value, else the
// tuple, which token_set_ratio reads as str(tuple) = "('name', 'value')" (SyntheticGoalOption).
// A purchased value whose tokens are within the name's and value's tokens then scores 100
// (e.g. "size" against ('size', 'x-large')). Human goals (value lists) are the same either way.
// Thread safety: pure functions.
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_REWARD_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_REWARD_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actor/envs/webshop/catalog.h"
#include "actor/envs/webshop/text_match.h"

namespace mem1::webshop {

inline constexpr int kFuzzyThreshold = 85;

struct TypeReward {
  double r_type = 1.0;
  bool query_match = false;
  bool category_match = false;
  double title_score = 0;
};

struct RewardBreakdown {
  double total = 0;
  TypeReward type;
  double r_att = 0, w_att = 0;
  int num_attr_matches = 0;
  std::optional<double> r_option;  // none when the goal has no options
  double w_option = 0;
  int num_option_matches = 0;
  double r_price = 0, w_price = 0;
};

TypeReward GetTypeReward(const Product& purchased, const Goal& goal, const NounLexicon* lexicon);
// Returns r_att; the number of matches in *matches.
double GetAttributeReward(const Product& purchased, const Goal& goal, int* matches);
// Fraction of goal options hit (none without goal options); matches in *matches.
std::optional<double> GetOptionReward(const std::vector<std::string>& purchased_options,
                                      const std::vector<std::string>& goal_options, int* matches);
// A synthetic goal option as WebShop's get_option_reward compares it (already normalized):
// the first COLOR_SET entry equal to `name` or `value`, else str((name, value)).
std::string SyntheticGoalOption(const std::string& name, const std::string& value);
// `options`: the selected option per group (group -> value) at purchase time.
// `lexicon` as for GetTypeReward (not owned; may be nullptr). `option_tuples`: see above.
RewardBreakdown GetReward(const Product& purchased, const Goal& goal, double price,
                          const std::map<std::string, std::string>& options, const NounLexicon* lexicon,
                          bool option_tuples = false);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_REWARD_H_
