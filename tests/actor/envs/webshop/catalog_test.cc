// WebShop data: real-format loading and cleaning, goals, splits, errors, the synthetic catalog and players.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "actor/envs/webshop/catalog.h"
#include "actor/envs/webshop/expert.h"
#include "actor/envs/webshop/synthetic_catalog.h"
#include "actor/envs/webshop/webshop_env.h"
#include "common/memory/tag_grammar.h"
#include "tests/actor/envs/webshop/webshop_test_util.h"

namespace mem1::webshop {
namespace {

namespace fs = std::filesystem;
using testing::kFixtures;
using testing::SystemLexicon;
using testing::TempDir;

// --- data loading -------------------------------------------------------------------------

TEST(WebShopCatalogTest, LoadsWebShopFilesWithItsCleaningRulesAndReportsBadRecords) {
  Catalog c;
  CatalogReport r;
  CatalogOptions o;
  o.data_dir = kFixtures;
  ASSERT_TRUE(LoadCatalog(o, &c, &r).ok());
  EXPECT_EQ(r.products_file, kFixtures + "/items_shuffle_1000.json");
  EXPECT_EQ(c.products.size(), 14u);
  EXPECT_EQ(r.products.skipped, 6);
  EXPECT_EQ(r.bad_asins, 2);
  EXPECT_EQ(r.duplicates, 1);
  ASSERT_GE(r.products.first_errors.size(), 6u);
  const std::string f = kFixtures + "/items_shuffle_1000.json: product #";
  EXPECT_EQ(r.products.first_errors[0], f + "13 (asin nan): asin is \"nan\" or longer than 10 characters");
  EXPECT_EQ(r.products.first_errors[2], f + "15 (asin B09QQLDJ93): repeated asin");
  EXPECT_EQ(r.products.first_errors[3], f + "16 (asin B01NONAME1): missing field 'name'");
  EXPECT_EQ(r.products.first_errors[4], f + "17 (asin B01BADPRC1): pricing \"$abc\" has an unparsable amount");
  EXPECT_EQ(r.products.first_errors[5],
            f + "18 (asin B01BADOPT1): option group 'Color' has an entry without a string 'value'");
  const Product* p = c.Find("B09QQLDJ93");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->title, p->name);
  EXPECT_EQ(p->query, "hair extensions");  // lower-cased and stripped
  EXPECT_EQ(p->price_tag, "$29.99");
  ASSERT_EQ(p->options.size(), 2u);
  EXPECT_EQ(p->options[0].first, "color");  // group names lower-cased, file order kept
  EXPECT_EQ(p->options[0].second, (std::vector<std::string>{"natural black", "dark brown", "ash blonde | light blonde"}));
  EXPECT_EQ(p->options[1].first, "size");
  EXPECT_EQ(p->attributes, (std::vector<std::string>{"natural looking", "long lasting", "heat resistant"}));
  EXPECT_EQ(p->rating, "N.A.");
  EXPECT_DOUBLE_EQ(c.PriceOf("B09QQLDJ93"), 29.99);
  const Product* range = c.Find("B08XYZ1234");
  EXPECT_EQ(range->price_tag, "$12.99 to $18.99");
  EXPECT_EQ(range->bullet_points, (std::vector<std::string>{"Moisturizes dry hair"}));  // a string -> one bullet
  EXPECT_GE(c.PriceOf("B08XYZ1234"), 12.99);
  EXPECT_LE(c.PriceOf("B08XYZ1234"), 18.99);
  const Product* none = c.Find("B01NOPRICE");
  EXPECT_EQ(none->price_tag, "$100.0");
  EXPECT_DOUBLE_EQ(c.PriceOf("B01NOPRICE"), 100.0);
  EXPECT_TRUE(none->options.empty());       // a null group is dropped
  EXPECT_TRUE(none->attributes.empty());    // an empty attribute list stays empty
  EXPECT_EQ(c.Find("B07HAIR001")->attributes, (std::vector<std::string>{"DUMMY_ATTR"}));  // not in the file
  EXPECT_EQ(c.Find("B07HAIR000")->attributes, (std::vector<std::string>{"DUMMY_ATTR"}));  // malformed record
  EXPECT_EQ(r.goals.skipped, 2);  // B07HAIR000's attributes; an instruction without instruction_options
  // Human goals: 3 usable (one without attributes skipped); the trailing '.' stripped; the
  // price clause uses a limit above the price.
  EXPECT_EQ(r.goals_without_attributes, 1);
  ASSERT_EQ(c.goals.size(), 3u);
  for (const auto& g : c.goals) {
    const double price = c.PriceOf(g.asin);
    EXPECT_GT(g.price_upper, price);
    EXPECT_LE(g.price_upper, 10.0 * (static_cast<int>(price / 10) + 4));
    char tail[64];
    std::snprintf(tail, sizeof tail, ", and price lower than %.2f dollars", g.price_upper);
    EXPECT_NE(g.instruction_text.find(tail), std::string::npos) << g.instruction_text;
    if (g.asin == "B09QQLDJ93") {
      EXPECT_EQ(g.instruction_text.substr(0, 62), "i need a long clip-in hair extension which is natural looking,");
      EXPECT_EQ(g.goal_options, (std::vector<std::string>{"natural black", "24 inch"}));
      EXPECT_EQ(g.query, "hair extensions");
    }
  }
}

TEST(WebShopCatalogTest, SyntheticGoalsEnumerateOptionCombinations) {
  Catalog c;
  CatalogReport r;
  CatalogOptions o;
  o.data_dir = kFixtures;
  o.human_goals = false;
  ASSERT_TRUE(LoadCatalog(o, &c, &r).ok());
  // B09QQLDJ93: 3 colours x 2 sizes; B08XYZ1234: 2 scents x 2 sizes.
  ASSERT_EQ(c.goals.size(), 10u);
  int found = 0;
  for (const auto& g : c.goals) {
    if (g.asin != "B09QQLDJ93") continue;
    EXPECT_EQ(g.goal_option_names, (std::vector<std::string>{"color", "size"}));  // sorted names
    if (g.goal_options == std::vector<std::string>{"dark brown", "24 inch"}) {
      ++found;
      EXPECT_EQ(g.instruction_text.rfind(
                    "i need long lasting natural looking hair extensions with color: dark brown, and size: 24 inch, and "
                    "price lower than ", 0), 0u) << g.instruction_text;
    }
    // Weight: mean over the goal's attributes of 1 / (goals using it): each attribute here is
    // used by the 6 goals of this product only.
    EXPECT_DOUBLE_EQ(g.weight, 1.0 / 6.0);
  }
  EXPECT_EQ(found, 1);
}

TEST(WebShopCatalogTest, MissingAndMalformedFilesAreClearErrors) {
  Catalog c;
  CatalogReport r;
  CatalogOptions o;
  o.data_dir = TempDir("missing").string();
  auto st = LoadCatalog(o, &c, &r);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("items_shuffle.json or items_shuffle_1000.json"), std::string::npos) << st.message();
  std::ofstream(o.data_dir + "/items_shuffle.json") << R"({"not": "an array"})";
  std::ofstream(o.data_dir + "/items_ins_v2.json") << "{}";
  std::ofstream(o.data_dir + "/items_human_ins.json") << "{}";
  st = LoadCatalog(o, &c, &r);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("expected a JSON array at the top level"), std::string::npos) << st.message();
  std::ofstream(o.data_dir + "/items_shuffle.json") << R"([{"asin": "B1", "name": )";
  st = LoadCatalog(o, &c, &r);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("invalid JSON"), std::string::npos) << st.message();
  fs::remove(o.data_dir + "/items_human_ins.json");
  std::ofstream(o.data_dir + "/items_shuffle.json") << "[]";
  st = LoadCatalog(o, &c, &r);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("human_goals: false"), std::string::npos) << st.message();
  fs::remove_all(o.data_dir);
}

TEST(WebShopCatalogTest, PriceTagsPrintLikePythonFloats) {
  EXPECT_EQ(PyFloat(100.0), "100.0");
  EXPECT_EQ(PyFloat(12.99), "12.99");
  EXPECT_EQ(PyFloat(5.5), "5.5");
  EXPECT_EQ(PyFloat(0.1 + 0.2), "0.30000000000000004");
}

TEST(WebShopCatalogTest, SplitsFollowWebShopIndices) {
  EXPECT_EQ(SplitGoals(12087, Split::kTest).size(), 500u);
  EXPECT_EQ(SplitGoals(12087, Split::kDev).front(), 500u);
  EXPECT_EQ(SplitGoals(12087, Split::kDev).size(), 1000u);
  EXPECT_EQ(SplitGoals(12087, Split::kTrain).front(), 1500u);
  EXPECT_EQ(SplitGoals(12087, Split::kAll).size(), 12087u);
  EXPECT_EQ(SplitGoals(100, Split::kTest).size(), 10u);
  EXPECT_EQ(SplitGoals(100, Split::kDev).size(), 10u);
  EXPECT_EQ(SplitGoals(100, Split::kTrain).size(), 80u);
  EXPECT_EQ(SplitGoals(3, Split::kTrain).size(), 1u);
  EXPECT_FALSE(ParseSplit("validation").ok());
}

TEST(WebShopCatalogTest, Mem1SplitsHaveNoDevGoals) {
  // MEM1 gen_data/data_process/webshop.py: index < 500 -> test, the rest -> train.
  EXPECT_EQ(SplitGoals(12087, Split::kTest, SplitRule::kMem1).size(), 500u);
  EXPECT_EQ(SplitGoals(12087, Split::kTrain, SplitRule::kMem1).front(), 500u);
  EXPECT_EQ(SplitGoals(12087, Split::kTrain, SplitRule::kMem1).size(), 11587u);
  EXPECT_TRUE(SplitGoals(12087, Split::kDev, SplitRule::kMem1).empty());
  EXPECT_EQ(SplitGoals(100, Split::kTest, SplitRule::kMem1).size(), 10u);
  EXPECT_EQ(SplitGoals(100, Split::kTrain, SplitRule::kMem1).size(), 90u);
  EXPECT_TRUE(ParseSplitRule("mem1").ok());
  EXPECT_FALSE(ParseSplitRule("verl").ok());
}

TEST(WebShopCatalogTest, GoalsAreInWebShopsPythonShuffleOrder) {
  // Before the shuffle (get_synthetic_goals): B09QQLDJ93's 3 colours x 2 sizes, then
  // B08XYZ1234's 2 scents x 2 sizes, the last group varying fastest. CPython 3.11:
  // random.seed(233); l = list(range(10)); random.shuffle(l) -> [5, 9, 0, 1, 4, 7, 6, 3, 8, 2].
  Catalog c;
  CatalogReport r;
  CatalogOptions o;
  o.data_dir = kFixtures;
  o.human_goals = false;
  ASSERT_TRUE(LoadCatalog(o, &c, &r).ok());
  using V = std::vector<std::string>;
  const std::vector<V> expected = {
      {"ash blonde | light blonde", "24 inch"}, {"coconut", "32 fl oz (pack of 2)"}, {"natural black", "18 inch"},
      {"natural black", "24 inch"},           {"ash blonde | light blonde", "18 inch"}, {"lavender", "32 fl oz (pack of 2)"},
      {"lavender", "16.9 fl oz"},             {"dark brown", "24 inch"},               {"coconut", "16.9 fl oz"},
      {"dark brown", "18 inch"}};
  ASSERT_EQ(c.goals.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(c.goals[i].goal_options, expected[i]) << "goal " << i;
}

// --- synthetic data and players -----------------------------------------------------------

TEST(WebShopSyntheticTest, DatagenIsDeterministicLoadsCleanlyAndTheExpertBeatsRandom) {
  const fs::path a = TempDir("synth_a"), b = TempDir("synth_b");
  SyntheticCatalogReport ra, rb;
  ASSERT_TRUE(WriteSyntheticCatalog({600, 5}, a.string(), &ra).ok());
  ASSERT_TRUE(WriteSyntheticCatalog({600, 5}, b.string(), &rb).ok());
  for (const char* f : {"items_shuffle.json", "items_ins_v2.json", "items_human_ins.json"}) {
    std::ifstream fa(a / f), fb(b / f);
    std::stringstream sa, sb;
    sa << fa.rdbuf();
    sb << fb.rdbuf();
    EXPECT_EQ(sa.str(), sb.str()) << f << " differs between two runs with the same seed";
  }
  Catalog c;
  CatalogReport r;
  CatalogOptions o;
  o.data_dir = a.string();
  ASSERT_TRUE(LoadCatalog(o, &c, &r).ok());
  EXPECT_EQ(c.products.size(), 600u);
  EXPECT_EQ(r.products.skipped, 0) << (r.products.first_errors.empty() ? "" : r.products.first_errors[0]);
  EXPECT_EQ(r.goals.skipped, 0);
  EXPECT_GT(r.goals_without_attributes, 0);  // a few, as in the real data
  EXPECT_GT(c.goals.size(), 550u);
  std::set<std::string> categories;
  for (const auto& p : c.products) {
    categories.insert(p.category);
    EXPECT_FALSE(p.options.empty());
    EXPECT_NE(p.attributes.front(), "DUMMY_ATTR");
  }
  EXPECT_EQ(categories.size(), 5u);
  IndexBuildReport ir;
  ASSERT_TRUE(BuildProductIndex(c, (a / "index").string(), false, &ir).ok());
  auto search = OpenProductIndex(c, (a / "index").string());
  ASSERT_TRUE(search.ok());
  WebShopEnvOptions eo;
  eo.lexicon = SystemLexicon();
  const auto test_goals = SplitGoals(c.goals.size(), Split::kAll);
  std::mt19937_64 rng(3);
  double expert = 0, random = 0;
  int n = 0, expert_bought = 0;
  for (size_t i = 0; i < test_goals.size() && n < 200; ++i, ++n) {
    const Goal& g = c.goals[test_goals[i]];
    WebShopEnv e1(&c, search->get(), g, "x", eo, GetTagPreset("paper").value());
    const double r1 = PlayEpisode(&e1, true, &rng, eo.max_steps);
    expert += r1;
    expert_bought += e1.session().state().kind == PageKind::kDone;
    WebShopEnv e2(&c, search->get(), g, "x", eo, GetTagPreset("paper").value());
    random += PlayEpisode(&e2, false, &rng, eo.max_steps);
  }
  expert /= n;
  random /= n;
  std::printf("synthetic WebShop, %d goals: expert mean reward %.3f (bought %d), random %.3f\n", n, expert,
              expert_bought, random);
  EXPECT_GE(expert, 0.8);
  EXPECT_LE(random, 0.35);
  EXPECT_GE(expert - random, 0.5);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(WebShopSyntheticTest, TaskSourceSequentialAndSampled) {
  Catalog c;
  CatalogReport r;
  CatalogOptions o;
  o.data_dir = kFixtures;
  ASSERT_TRUE(LoadCatalog(o, &c, &r).ok());
  WebShopTaskSource seq(&c, nullptr, {2, 0}, true, 1, 3, WebShopEnvOptions{});
  EXPECT_EQ(seq.Next()->task_id(), "webshop-goal-2");
  EXPECT_EQ(seq.Next()->task_id(), "webshop-goal-0");
  EXPECT_EQ(seq.Next()->task_id(), "webshop-goal-2");
  EXPECT_EQ(seq.Next(), nullptr);
  WebShopTaskSource s1(&c, nullptr, {0, 1, 2}, false, 9, -1, WebShopEnvOptions{});
  WebShopTaskSource s2(&c, nullptr, {0, 1, 2}, false, 9, -1, WebShopEnvOptions{});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s1.Next()->task_id(), s2.Next()->task_id());
}

}  // namespace
}  // namespace mem1::webshop
