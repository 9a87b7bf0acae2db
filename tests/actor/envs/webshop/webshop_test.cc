// WebShop environment: reward port, text matching, data loading, pages, actions, players.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "actor/envs/webshop/catalog.h"
#include "actor/envs/webshop/expert.h"
#include "actor/envs/webshop/reward.h"
#include "actor/envs/webshop/synthetic_catalog.h"
#include "actor/envs/webshop/text_match.h"
#include "actor/envs/webshop/webshop_env.h"
#include "common/memory/tag_grammar.h"

namespace mem1::webshop {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = MEM1_SOURCE_DIR "/tests/fixtures/webshop";

fs::path TempDir(const std::string& tag) {
  const fs::path p = fs::temp_directory_path() / ("mem1_webshop_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// --- text matching (values from thefuzz's formulas, worked by hand) -----------------------

TEST(WebShopTextMatchTest, TokenSetRatioTable) {
  struct Case {
    const char* a;
    const char* b;
    int expected;
  };
  const Case cases[] = {
      {"black", "Black!", 100},            // processing: punctuation -> space, lower case
      {"navy blue", "blue navy", 100},     // token sets ignore order
      {"16 fl oz", "16 fl oz (pack of 2)", 100},  // a subset scores 100
      {"natural looking", "natural-looking", 100},
      {"medium", "x-large", 15},           // 2*LCS("medium","x large")/13 = 2/13
      {"x-large", "xx-large", 93},         // "large x" vs "large xx": 14/15 -> above the threshold
      {"grey", "gray", 75},                // 6/8 -> below
      {"colombian", "columbian", 89},      // 16/18
      {"lavender", "lavendar", 88},        // 87.5 rounds half to even -> 88
      {"abcdefgh", "abcdexyz", 62},        // 62.5 rounds half to even -> 62 (not 63)
      {"abcdefghijklmnopqrst", "abcdefghijklmnopqxyz", 85},  // exactly 85: NOT a match (> 85)
      {"abc", "abcd", 86},                 // 85.7 -> 86: a match
      {"paraben free", "sulfate free", 58},
      {"Caf\xC3\xA9 au lait", "cafe au lait", 96},  // code points 128..255 are dropped (asciionly)
      {"", "", 0},
      {"!!", "a", 0},                      // empty after processing
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FuzzTokenSetRatio(c.a, c.b), c.expected) << c.a << " | " << c.b;
    EXPECT_EQ(FuzzTokenSetRatio(c.b, c.a), c.expected) << "symmetric: " << c.a << " | " << c.b;
  }
  EXPECT_EQ(FuzzRatio("kitten", "sitting"), 62);  // LCS 4 ("ittn"): 8/13 = 61.5 -> 62
  EXPECT_EQ(FuzzFullProcess("  Hello, World_1! "), "hello  world_1");
}

TEST(WebShopTextMatchTest, NormalizeColorTakesTheFirstColorOfTheSetInItsOrder) {
  EXPECT_EQ(NormalizeColor("dark brown"), "brown");   // "brown" precedes "dark" in COLOR_SET
  EXPECT_EQ(NormalizeColor("navy blue"), "blue");     // "blue" precedes "navy"
  EXPECT_EQ(NormalizeColor("natural black"), "black");
  EXPECT_EQ(NormalizeColor("24 inch"), "24 inch");    // no colour: unchanged
  EXPECT_EQ(NormalizeColor("washed"), "ash");         // substring semantics, as the original
  EXPECT_EQ(ColorSet().size(), 102u);
  EXPECT_EQ(ColorSet().front(), "alabaster");
  EXPECT_EQ(ColorSet().back(), "yellow");
}

TEST(WebShopTextMatchTest, NounLexiconReadsWordNetIndexFiles) {
  // A miniature WordNet in the real file format: "lemma pos synsets pointers [ptrs] senses tagged offsets".
  const fs::path d = TempDir("wordnet");
  std::ofstream(d / "index.noun") << "  1 This software and database is being provided to you, the LICENSEE\n"
                                  << "black n 7 6 ! @ ~ #m + ; 7 1 04960277 13983807 10852130 10851987 09636339 02846260 02846141  \n"
                                  << "boot n 7 4 @ ~ #p %p 7 2 03 04 05 06 07 08 09  \n"
                                  << "set n 13 2 @ ~ 13 7 01 02 03 04 05 06 07 08 09 10 11 12 13  \n"
                                  << "woman n 4 2 @ ~ 4 4 01 02 03 04  \n"
                                  << "zest n 1 0 1 0 01  \n";
  std::ofstream(d / "index.adj") << "black a 14 5 ! & ^ = + 14 8 00392812 00241952  \n"
                                 << "set a 7 1 & 7 4 01931204  \n"
                                 << "zest a 1 0 1 0 02  \n"
                                 << "wavy a 1 1 & 1 0 01  \n";
  std::ofstream(d / "index.verb") << "contain v 6 2 @ ~ 6 6 01 02 03 04 05 06  \n";
  std::ofstream(d / "index.adv") << "quickly r 2 0 2 2 01 02  \n";
  std::ofstream(d / "noun.exc") << "women woman\n";
  auto lex = NounLexicon::LoadWordNet(d.string());
  ASSERT_NE(lex, nullptr);
  EXPECT_EQ(lex->size(), 5u);
  EXPECT_FALSE(lex->IsNoun("black"));   // adjective reading tagged more often (8 > 1)
  EXPECT_TRUE(lex->IsNoun("set"));      // noun 7 >= adjective 4
  EXPECT_TRUE(lex->IsNoun("zest"));     // tie (0 = 0): noun
  EXPECT_TRUE(lex->IsNoun("boots"));    // -s rule -> boot
  EXPECT_TRUE(lex->IsNoun("women"));    // noun.exc -> woman
  EXPECT_FALSE(lex->IsNoun("wavy"));    // adjective only
  EXPECT_FALSE(lex->IsNoun("contains"));  // -s rule -> contain, a verb
  EXPECT_FALSE(lex->IsNoun("quickly"));   // adverb only
  EXPECT_TRUE(lex->IsNoun("lumora"));     // unknown to WordNet: a name
  EXPECT_EQ(TypeNouns("Women's Black Wavy Boots, Set of 3", lex.get()),
            (std::vector<std::string>{"women", "boots", "set"}));  // "black" is also a colour
  EXPECT_EQ(NounLexicon::LoadWordNet((d / "missing").string()), nullptr);
  fs::remove_all(d);
}

TEST(WebShopTextMatchTest, TypeNounsDropClosedClassAdjectivesAndNumbers) {
  // Built-in fallback (no WordNet).
  EXPECT_EQ(TypeNouns("Lumora Natural Shampoo for Dry Hair, 16 Fl Oz", nullptr),
            (std::vector<std::string>{"lumora", "shampoo", "hair"}));
  EXPECT_EQ(TypeNouns("Women's Black Leather Boots", nullptr), (std::vector<std::string>{"leather", "boots"}));
  EXPECT_TRUE(TypeNouns("for the and 3 x 24", nullptr).empty());
  // Debian's WordNet (installed by scripts/install-deps.sh).
  if (NounLexicon::Default() == nullptr) GTEST_SKIP() << "WordNet (wordnet-base) not installed";
  EXPECT_EQ(TypeNouns("Lumora Natural Shampoo for Dry Hair, 16 Fl Oz"),
            (std::vector<std::string>{"lumora", "shampoo", "hair", "fl", "oz"}));
  EXPECT_EQ(TypeNouns("Women's Black Leather Boots"), (std::vector<std::string>{"women", "leather", "boots"}));
  EXPECT_EQ(TypeNouns("Kestrel Clip In Hair Extension 3 Pieces, Straight Hair"),
            (std::vector<std::string>{"kestrel", "clip", "hair", "extension", "pieces", "hair"}));
  EXPECT_TRUE(TypeNouns("for the and 3 x 24").empty());
}

// --- reward (goal.py formulas) ------------------------------------------------------------

Product Shampoo() {
  Product p;
  p.asin = "B08XYZ1234";
  p.name = p.title = "Lumora Natural Shampoo for Dry Hair";
  p.query = "shampoo";
  p.category = "beauty";
  p.product_category = "Beauty & Personal Care \xE2\x80\xBA Hair Care \xE2\x80\xBA Shampoo & Conditioner \xE2\x80\xBA Shampoos";
  p.description = "A gentle shampoo.";
  p.bullet_points = {"Moisturizes", "Smells great"};
  p.attributes = {"sulfate free", "dry hair"};
  p.options = {{"scent", {"lavender", "coconut"}}, {"size", {"16 fl oz", "32 fl oz"}}};
  return p;
}

Goal ShampooGoal() {
  Goal g;
  g.asin = "B08XYZ1234";
  g.name = "Lumora Natural Shampoo for Dry Hair";
  g.query = "shampoo";
  g.category = "beauty";
  g.product_category = Shampoo().product_category;
  g.attributes = {"sulfate free", "paraben free"};
  g.goal_options = {"lavender", "16 fl oz"};
  g.price_upper = 20;
  return g;
}

TEST(WebShopRewardTest, ComponentsAndTotalMatchTheFormula) {
  const Product p = Shampoo();
  const Goal g = ShampooGoal();
  // 1 of 2 attributes ("paraben free" vs "sulfate free" scores 58; not in title/bullets/description),
  // 2 of 2 options, price ok: (1 + 2 + 1) / (2 + 2 + 1) = 0.8, r_type 1 (same query and name).
  auto r = GetReward(p, g, 15.0, {{"scent", "lavender"}, {"size", "16 fl oz"}});
  EXPECT_DOUBLE_EQ(r.total, 0.8);
  EXPECT_EQ(r.num_attr_matches, 1);
  EXPECT_DOUBLE_EQ(r.r_att, 0.5);
  EXPECT_EQ(r.num_option_matches, 2);
  ASSERT_TRUE(r.r_option.has_value());
  EXPECT_DOUBLE_EQ(*r.r_option, 1.0);
  EXPECT_DOUBLE_EQ(r.r_price, 1.0);
  EXPECT_DOUBLE_EQ(r.type.r_type, 1.0);
  EXPECT_DOUBLE_EQ(r.w_att, 0.4);
  EXPECT_DOUBLE_EQ(r.w_option, 0.4);
  EXPECT_DOUBLE_EQ(r.w_price, 0.2);
  // Price above the limit: (1 + 2 + 0) / 5; exactly at the limit counts (<=).
  EXPECT_DOUBLE_EQ(GetReward(p, g, 20.01, {{"scent", "lavender"}, {"size", "16 fl oz"}}).total, 0.6);
  EXPECT_DOUBLE_EQ(GetReward(p, g, 20.0, {{"scent", "lavender"}, {"size", "16 fl oz"}}).total, 0.8);
  // No options chosen: (1 + 0 + 1) / 5.
  EXPECT_DOUBLE_EQ(GetReward(p, g, 15.0, {}).total, 0.4);
  // A goal without options: r_option is none and the denominator drops them: (1 + 1) / 3.
  Goal no_opt = g;
  no_opt.goal_options.clear();
  auto r2 = GetReward(p, no_opt, 15.0, {{"scent", "coconut"}});
  EXPECT_FALSE(r2.r_option.has_value());
  EXPECT_DOUBLE_EQ(r2.total, 2.0 / 3.0);
  // The missing attribute found as a substring of the description (or bullets, or title) counts.
  Product with_desc = p;
  with_desc.description = "A gentle, Paraben Free shampoo.";
  EXPECT_DOUBLE_EQ(GetReward(with_desc, g, 15.0, {{"scent", "lavender"}, {"size", "16 fl oz"}}).total, 1.0);
  Product with_bullet = p;
  with_bullet.bullet_points = {"Moisturizes", "paraben free formula"};
  EXPECT_EQ(GetReward(with_bullet, g, 15.0, {}).num_attr_matches, 2);
}

TEST(WebShopRewardTest, OptionMatchingIsFuzzyWithColorNormalisation) {
  int m = 0;
  // Near misses on both sides of the threshold (85).
  EXPECT_EQ(GetOptionReward({"xx-large"}, {"x-large"}, &m).value(), 1.0);  // 93
  EXPECT_EQ(GetOptionReward({"grey"}, {"gray"}, &m).value(), 0.0);         // 75
  EXPECT_EQ(GetOptionReward({"lavendar"}, {"lavender"}, &m).value(), 1.0); // 88
  EXPECT_EQ(GetOptionReward({"abcdefghijklmnopqxyz"}, {"abcdefghijklmnopqrst"}, &m).value(), 0.0);  // 85: not > 85
  // Colours normalise first: "dark brown" and "brown" both become "brown"; "navy blue" becomes
  // "blue", which does not match "navy" (a quirk of the original, kept).
  EXPECT_EQ(GetOptionReward({"dark brown"}, {"brown"}, &m).value(), 1.0);
  EXPECT_EQ(GetOptionReward({"navy blue"}, {"navy"}, &m).value(), 0.0);
  // Each goal option counts once; fraction of goal options hit.
  EXPECT_DOUBLE_EQ(GetOptionReward({"black", "24 inch"}, {"natural black", "18 inch", "black"}, &m).value(), 2.0 / 3.0);
  EXPECT_EQ(m, 2);
  EXPECT_FALSE(GetOptionReward({"black"}, {}, &m).has_value());
}

TEST(WebShopRewardTest, TypeRewardThresholds) {
  const Goal g = ShampooGoal();  // goal name nouns: lumora, shampoo, hair
  Product p = Shampoo();
  // Same query: 1.0 even with a low (but > 0.1) title score... title 1/3 here anyway.
  p.name = "Kestrel Conditioner for Curly Hair";
  auto t = GetTypeReward(p, g);
  EXPECT_TRUE(t.query_match);
  EXPECT_NEAR(t.title_score, 1.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(t.r_type, 1.0);
  // No query match, >= 2 shared category levels: category match keeps 1.0.
  p.query = "conditioner";
  p.product_category = "Beauty & Personal Care \xE2\x80\xBA Hair Care \xE2\x80\xBA Conditioners";
  t = GetTypeReward(p, g);
  EXPECT_TRUE(t.category_match);
  EXPECT_DOUBLE_EQ(t.r_type, 1.0);
  // Only one shared level, title score 1/3 > 0.2: still 1.0.
  p.product_category = "Beauty & Personal Care \xE2\x80\xBA Makeup";
  EXPECT_FALSE(GetTypeReward(p, g).category_match);
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g).r_type, 1.0);
  // Goal name with 8 nouns, one shared: title 0.125 (in [0.1, 0.2]) and nothing else: 0.5.
  Goal g8 = g;
  g8.name = "alpha bravo charlie delta echo foxtrot golf hotel";
  p.name = "alpha zulu";
  t = GetTypeReward(p, g8);
  EXPECT_DOUBLE_EQ(t.title_score, 0.125);
  EXPECT_DOUBLE_EQ(t.r_type, 0.5);
  // 1 of 11 nouns (0.0909 < 0.1): 0.1, even with a query match.
  Goal g11 = g;
  g11.name = "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo";
  p.query = g.query;
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g11).r_type, 0.1);
  // No shared noun: 0 (the whole reward becomes 0).
  p.name = "zulu yankee";
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g).r_type, 0.0);
  EXPECT_DOUBLE_EQ(GetReward(p, g, 1.0, {{"scent", "lavender"}}).total, 0.0);
  // A goal name without nouns scores 0.2 (not > 0.2): 0.5 without query/category match.
  Goal g0 = g;
  g0.name = "soft and wavy for you";
  p.query = "other";
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g0).title_score, 0.2);
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g0).r_type, 0.5);
}

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

// --- pages and actions --------------------------------------------------------------------

class WebShopPagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    catalog_ = new Catalog();
    CatalogReport r;
    CatalogOptions o;
    o.data_dir = kFixtures;
    ASSERT_TRUE(LoadCatalog(o, catalog_, &r).ok());
    index_dir_ = new std::string((TempDir("pages") / "index").string());
    IndexBuildReport ir;
    ASSERT_TRUE(BuildProductIndex(*catalog_, *index_dir_, false, &ir).ok());
    EXPECT_EQ(ir.passages, 14);
  }
  static void TearDownTestSuite() {
    fs::remove_all(fs::path(*index_dir_).parent_path());
    delete catalog_;
    delete index_dir_;
  }
  void SetUp() override {
    auto s = OpenProductIndex(*catalog_, *index_dir_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    search_ = std::move(s).value();
    for (const auto& g : catalog_->goals) {
      if (g.asin == "B09QQLDJ93") goal_ = g;
    }
    goal_.instruction_text = "i need a long clip-in hair extension which is natural looking, and price lower than 40.00 dollars";
    goal_.price_upper = 40;
  }
  // Compares with tests/fixtures/webshop/golden/<name>.txt (MEM1_UPDATE_GOLDEN=1 rewrites it).
  void ExpectGolden(const std::string& name, const std::string& text) {
    const std::string path = kFixtures + "/golden/" + name + ".txt";
    if (std::getenv("MEM1_UPDATE_GOLDEN") != nullptr) {
      fs::create_directories(kFixtures + "/golden");
      std::ofstream(path) << text;
    }
    std::ifstream in(path);
    ASSERT_TRUE(in.good()) << path;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(text, ss.str()) << "golden " << path;
  }
  std::string Page(const WebShopEnv& env) { return env.session().PageText() + "\n" + env.session().ActionList() + "\n"; }
  static Catalog* catalog_;
  static std::string* index_dir_;
  std::unique_ptr<Retriever> search_;
  Goal goal_;
};
Catalog* WebShopPagesTest::catalog_ = nullptr;
std::string* WebShopPagesTest::index_dir_ = nullptr;

TEST_F(WebShopPagesTest, EveryPageTypeRendersAsGolden) {
  WebShopEnvOptions o;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  ExpectGolden("search", Page(env));
  auto r = env.Step("webshop", "search[Hair Extensions clip in]", 10);
  EXPECT_FALSE(r.done);
  ExpectGolden("results_page1", Page(env));
  EXPECT_EQ(r.observation + "\n", Page(env));
  EXPECT_EQ(env.session().state().results.size(), 14u);  // OR query: every product mentions "hair"
  env.Step("webshop", "click[Next >]", 10);
  ExpectGolden("results_page2", Page(env));
  env.Step("webshop", "click[< prev]", 10);
  EXPECT_EQ(env.session().state().page, 1);
  env.Step("webshop", "click[next >]", 10);
  env.Step("webshop", "click[b09qqldj93]", 10);
  ExpectGolden("item", Page(env));
  env.Step("webshop", "click[< prev]", 10);  // back to the results page it came from
  EXPECT_EQ(env.session().state().kind, PageKind::kResults);
  EXPECT_EQ(env.session().state().page, 2);
  env.Step("webshop", "click[b09qqldj93]", 10);
  env.Step("webshop", "click[natural black]", 10);
  env.Step("webshop", "click[24 inch]", 10);
  EXPECT_EQ(env.session().state().options.at("color"), "natural black");
  EXPECT_EQ(env.session().state().options.at("size"), "24 inch");
  for (const char* sub : {"description", "features", "reviews", "attributes"}) {
    env.Step("webshop", std::string("click[") + sub + "]", 10);
    ExpectGolden(sub, Page(env));
    env.Step("webshop", "click[< prev]", 10);
    EXPECT_EQ(env.session().state().kind, PageKind::kItem);
    EXPECT_EQ(env.session().state().options.size(), 2u) << "options survive a sub-page visit";
  }
  r = env.Step("webshop", "click[buy now]", 10);
  EXPECT_TRUE(r.done);
  // The goal's product with its options, within budget: (2 attrs + 2 options + price) / 5 = 1.
  EXPECT_DOUBLE_EQ(r.reward, 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("webshop_success"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("steps"), 18.0);
  ExpectGolden("done", r.observation + "\n");
}

TEST_F(WebShopPagesTest, InvalidActionsLeaveThePageAndSayWhy) {
  WebShopEnvOptions o;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  const std::string start = env.session().PageText();
  struct Case {
    const char* action;
    const char* why;
  };
  const Case on_search[] = {
      {"click[search]", "\"search\" is not clickable on this page"},
      {"click[buy now]", "\"buy now\" is not clickable on this page"},
      {"buy the thing", "expected search[keywords] or click[element], got \"buy the thing\""},
      {"search[]", "empty argument in \"search[]\""},
      {"purchase[b09qqldj93]", "unknown action \"purchase\""},
  };
  for (const auto& c : on_search) {
    auto r = env.Step("webshop", c.action, 10);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.observation.rfind("Invalid action: ", 0), 0u) << r.observation;
    EXPECT_NE(r.observation.find(c.why), std::string::npos) << r.observation;
    EXPECT_EQ(env.session().PageText(), start);
  }
  env.Step("webshop", "search[wavy synthetic hair extensions]", 10);
  EXPECT_EQ(env.session().state().results.front(), "B09QQLDJ93");
  env.Step("webshop", "click[b09qqldj93]", 10);
  EXPECT_EQ(env.session().state().kind, PageKind::kItem);
  const std::string item = env.session().PageText();
  auto r = env.Step("webshop", "search[shampoo]", 10);
  EXPECT_NE(r.observation.find("search is only available on the search page"), std::string::npos);
  EXPECT_EQ(env.session().PageText(), item);
  r = env.Step("webshop", "click[b08xyz1234]", 10);  // a product link of the results page, not here
  EXPECT_NE(r.observation.find("not clickable"), std::string::npos);
  EXPECT_EQ(env.session().PageText(), item);
  // Back to Search clears the search and the options.
  env.Step("webshop", "click[dark brown]", 10);
  env.Step("webshop", "click[back to search]", 10);
  EXPECT_EQ(env.session().state().kind, PageKind::kSearch);
  EXPECT_TRUE(env.session().state().options.empty());
  EXPECT_EQ(env.steps(), 11);
  // search_anywhere: search works from an item page (WebShop's step()).
  o.search_anywhere = true;
  WebShopEnv any(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  any.Step("webshop", "search[wavy]", 10);
  any.Step("webshop", "click[b09qqldj93]", 10);
  any.Step("webshop", "search[shampoo]", 10);
  EXPECT_EQ(any.session().state().kind, PageKind::kResults);
  EXPECT_EQ(any.session().state().results.front(), "B08XYZ1234");
}

TEST_F(WebShopPagesTest, ArbitraryModelOutputNeverBreaksTheSession) {
  // Random strings over an alphabet rich in brackets, spaces and UTF-8, mixed with valid actions.
  const std::vector<std::string> atoms = {"search", "click", "[", "]", " ", "next >", "< prev", "b09qqldj93", "buy now",
                                          "hair", "\xC3\xA9", "\xE2\x80\xBA", "\xFF", "[[", "]]", "description", "24 inch"};
  std::mt19937_64 rng(11);
  WebShopEnvOptions o;
  o.max_steps = 1 << 20;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  int invalid = 0, valid = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string a;
    const int n = std::uniform_int_distribution<int>(0, 6)(rng);
    for (int k = 0; k < n; ++k) a += atoms[std::uniform_int_distribution<size_t>(0, atoms.size() - 1)(rng)];
    if (i % 3 == 0) a = RandomAction(env.session(), rng);
    StepResult r = env.Step("webshop", a, 10);
    (r.observation.rfind("Invalid action: ", 0) == 0 ? invalid : valid)++;
    EXPECT_FALSE(env.session().PageText().empty());
    if (r.done) {
      EXPECT_GE(r.reward, 0.0);
      EXPECT_LE(r.reward, 1.0);
      env = WebShopEnv(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
    }
  }
  EXPECT_GT(invalid, 500);
  EXPECT_GT(valid, 500);
}

TEST_F(WebShopPagesTest, EpisodeEndsUnboughtAtMaxSteps) {
  WebShopEnvOptions o;
  o.max_steps = 3;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  EXPECT_FALSE(env.Step("webshop", "search[hair]", 10).done);
  EXPECT_FALSE(env.Step("webshop", "click[next >]", 10).done);
  auto r = env.Step("webshop", "click[< prev]", 10);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_EQ(r.metrics.at("bought"), 0.0);
  EXPECT_NE(r.observation.find("Page 1 (Total results: 14)"), std::string::npos);
}

TEST_F(WebShopPagesTest, PromptCarriesInstructionFirstPageAndTags) {
  WebShopEnvOptions o;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  const std::string p = env.Prompt();
  EXPECT_NE(p.find("<IS> ... </IS>"), std::string::npos);
  EXPECT_NE(p.find("<action>search[keywords]</action>"), std::string::npos);
  EXPECT_NE(p.find("Instruction: " + goal_.instruction_text), std::string::npos);
  EXPECT_NE(p.find("Current page: WebShop [SEP] Instruction: [SEP] "), std::string::npos);
  // The turn grammar parses an expert turn against this env's actions.
  const TagPreset preset = GetTagPreset("paper").value();
  const std::string turn = "<IS>" + ExpertState(env.session()) + "</IS><action>" + ExpertAction(env.session()) + "</action>";
  ParsedTurn t = ParseTurn(turn, preset, env.Actions(), false);
  EXPECT_EQ(t.error, TurnError::kNone);
  EXPECT_EQ(t.action, "webshop");
  EXPECT_EQ(t.action_content.rfind("search[", 0), 0u);
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
