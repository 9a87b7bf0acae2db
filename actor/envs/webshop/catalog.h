// WebShop's data: products, their simulated prices, and goals, read from WebShop's own files
// with WebShop's cleaning rules (web_agent_site/engine/engine.py `load_products`,
// engine/goal.py `get_human_goals` / `get_synthetic_goals`).
//
// Files (in one data directory, names as in WebShop's data/ folder; the first match wins):
//   products     : items_shuffle.json | items_shuffle_1000.json
//                  a JSON array of scraped products: asin, name, full_description,
//                  small_description (string or list), pricing ("$12.99" or "$10.99 - $15.99",
//                  optional), customization_options ({group: [{"value", "image"}]} or null),
//                  query, category, product_category ("A › B › C"), images, ...
//   attributes   : items_ins_v2.json | items_ins_v2_1000.json
//                  {asin: {"attributes": [...], "instruction": "...", "instruction_attributes": [...]}}
//   human goals  : items_human_ins.json
//                  {asin: [{"instruction": "...", "instruction_attributes": [...],
//                           "instruction_options": [...]}, ...]}
// Cleaning (as load_products): asin "nan" or longer than 10 characters -> skipped; repeated
// asin -> skipped; Title = name; Description = full_description; BulletPoints = small_description
// (a string becomes a one-element list); pricing -> numbers after stripping everything but
// digits and '.', first two kept, Price tag "$a" or "$a to $b", missing -> [100.0] "$100.0";
// option group names and values lower-cased, values stripped, "/" -> " | "; null groups
// dropped; Attributes from the attribute file or ["DUMMY_ATTR"]; query lower-cased + stripped;
// Rating "N.A." and no reviews (WebShop ships none).
// Simulated price per product (generate_product_prices): no pricing -> 100, one number -> it,
// a range -> uniform in it (seeded).
// Goals: human goals (default, as WebShop's text env): one per human instruction with at
// least one attribute; synthetic goals: one per product x option combination, with WebShop's
// attribute-rarity weight. Both add ", and price lower than P dollars" where P is the larger
// of two distinct picks among the first four multiples of 10 above the price (none if fewer
// than two; then price_upper = 1e6). The prices and these picks are drawn from our seeded
// generator: WebShop draws them from Python's unseeded global `random`, so no two WebShop
// runs agree on them either. Goals are then shuffled exactly as WebShop shuffles them
// (random.seed(seed); random.shuffle(goals) with CPython's generator, common/util/py_random.h),
// so goal i is WebShop's goal i. Splits are by index after the shuffle (SplitGoals): WebShop's
// test = [0, 500), dev = [500, 1500), train = [1500, end); MEM1's (gen_data/data_process/
// webshop.py) test = [0, 500), train = [500, end), no dev.
// A malformed record (missing or mistyped field, unparsable price) is reported as
// "file: product #i (asin A): reason" in the LoadReport and skipped; a missing or unreadable
// file is NOT_FOUND / DATA_LOSS. The product file is streamed (one product in memory at a time
// besides the kept fields).
// Thread safety: a loaded catalog is immutable and may be shared by threads.
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_CATALOG_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_CATALOG_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actor/envs/qa/qa_data.h"
#include "common/util/status.h"

namespace mem1::webshop {

struct Review {
  std::string title, body;
  std::string score;
};

struct Product {
  std::string asin;
  std::string name;              // raw name (goal 'name' / type reward)
  std::string title;             // Title (= name)
  std::string description;       // Description
  std::vector<std::string> bullet_points;  // BulletPoints (Features page)
  std::string query, category, product_category;
  std::vector<double> pricing;   // 1 or 2 numbers
  std::string price_tag;         // "$12.99" / "$10.0 to $15.5"
  std::string rating = "N.A.";
  std::vector<Review> reviews;
  std::vector<std::pair<std::string, std::vector<std::string>>> options;  // group -> values, file order
  std::vector<std::string> attributes;  // Attributes (["DUMMY_ATTR"] when unknown)
};

struct Goal {
  std::string asin, category, query, name, product_category;
  std::string instruction_text;
  std::vector<std::string> attributes;
  double price_upper = 1e6;
  // Human goals: the instruction's option values. Synthetic goals: the values of the chosen
  // combination, with their group names in goal_option_names (get_reward compares values).
  std::vector<std::string> goal_options;
  std::vector<std::string> goal_option_names;
  double weight = 1.0;
};

struct CatalogOptions {
  std::string data_dir;
  bool human_goals = true;      // false: synthetic goals from items_ins_v2 instructions
  int64_t max_products = -1;    // load only the first N products (WebShop's num_products)
  uint64_t seed = 233;          // prices, price limits, goal shuffle (WebShop seeds 233)
};

struct Catalog {
  std::vector<Product> products;
  std::unordered_map<std::string, size_t> by_asin;
  std::vector<double> prices;   // simulated price per product (index as products)
  std::vector<Goal> goals;      // shuffled
  const Product* Find(const std::string& asin) const {
    auto it = by_asin.find(asin);
    return it == by_asin.end() ? nullptr : &products[it->second];
  }
  double PriceOf(const std::string& asin) const {
    auto it = by_asin.find(asin);
    return it == by_asin.end() ? 0.0 : prices[it->second];
  }
};

struct CatalogReport {
  LoadReport products;   // per-product problems (file: product #i (asin): reason)
  LoadReport goals;      // attribute / instruction records that were skipped
  int64_t duplicates = 0, bad_asins = 0, goals_without_attributes = 0;
  std::string products_file, attributes_file, human_file;
};

// Loads products + attributes (+ human instructions when options.human_goals) and builds prices
// and goals. NOT_FOUND when a required file is missing (the message lists the names tried);
// DATA_LOSS for a file that is not the expected JSON shape at the top level.
[[nodiscard]] Status LoadCatalog(const CatalogOptions& options, Catalog* catalog, CatalogReport* report);

// WebShop's option-text for the search index: "group: v1, v2, and group2: ...".
std::string OptionText(const Product& p);
// The text BM25 indexes for a product (WebShop's search-engine conversion):
// lower(Title + " " + Description + " " + BulletPoints[0] + " " + OptionText).
std::string SearchText(const Product& p);
// Python float repr ("12.99", "100.0") as WebShop's price tags print prices.
std::string PyFloat(double v);

enum class Split { kTrain, kDev, kTest, kAll };
[[nodiscard]] Result<Split> ParseSplit(const std::string& s);  // train | dev | test | all
// Whose split ranges: WebShop's (web_agent_site, its baselines) or MEM1's data builder.
enum class SplitRule { kWebShop, kMem1 };
[[nodiscard]] Result<SplitRule> ParseSplitRule(const std::string& s);  // webshop | mem1
// Goal indices of a split. kWebShop: [0,500) test, [500,1500) dev, rest train for >= 2000
// goals; with fewer goals the first 10% (at least 1) test, the next 10% (at least 1) dev, the
// rest train, so small synthetic catalogs still have all three splits. kMem1: [0,500) test,
// the rest train, dev empty (with fewer than 1000 goals: the first 10%, at least 1, test).
std::vector<size_t> SplitGoals(size_t num_goals, Split split, SplitRule rule = SplitRule::kWebShop);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_CATALOG_H_
