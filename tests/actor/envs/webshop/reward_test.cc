// WebShop reward port: thefuzz matching, colour normalisation, WordNet nouns, get_reward components.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "actor/envs/webshop/reward.h"
#include "actor/envs/webshop/text_match.h"
#include "tests/actor/envs/webshop/webshop_test_util.h"

namespace mem1::webshop {
namespace {

namespace fs = std::filesystem;
using testing::kFixtures;
using testing::SystemLexicon;
using testing::TempDir;

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
  const NounLexicon* wordnet = SystemLexicon();
  if (wordnet == nullptr) GTEST_SKIP() << "WordNet (wordnet-base) not installed";
  EXPECT_EQ(TypeNouns("Lumora Natural Shampoo for Dry Hair, 16 Fl Oz", wordnet),
            (std::vector<std::string>{"lumora", "shampoo", "hair", "fl", "oz"}));
  EXPECT_EQ(TypeNouns("Women's Black Leather Boots", wordnet), (std::vector<std::string>{"women", "leather", "boots"}));
  EXPECT_EQ(TypeNouns("Kestrel Clip In Hair Extension 3 Pieces, Straight Hair", wordnet),
            (std::vector<std::string>{"kestrel", "clip", "hair", "extension", "pieces", "hair"}));
  EXPECT_TRUE(TypeNouns("for the and 3 x 24", wordnet).empty());
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
  auto r = GetReward(p, g, 15.0, {{"scent", "lavender"}, {"size", "16 fl oz"}}, SystemLexicon());
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
  EXPECT_DOUBLE_EQ(GetReward(p, g, 20.01, {{"scent", "lavender"}, {"size", "16 fl oz"}}, SystemLexicon()).total, 0.6);
  EXPECT_DOUBLE_EQ(GetReward(p, g, 20.0, {{"scent", "lavender"}, {"size", "16 fl oz"}}, SystemLexicon()).total, 0.8);
  // No options chosen: (1 + 0 + 1) / 5.
  EXPECT_DOUBLE_EQ(GetReward(p, g, 15.0, {}, SystemLexicon()).total, 0.4);
  // A goal without options: r_option is none and the denominator drops them: (1 + 1) / 3.
  Goal no_opt = g;
  no_opt.goal_options.clear();
  auto r2 = GetReward(p, no_opt, 15.0, {{"scent", "coconut"}}, SystemLexicon());
  EXPECT_FALSE(r2.r_option.has_value());
  EXPECT_DOUBLE_EQ(r2.total, 2.0 / 3.0);
  // The missing attribute found as a substring of the description (or bullets, or title) counts.
  Product with_desc = p;
  with_desc.description = "A gentle, Paraben Free shampoo.";
  EXPECT_DOUBLE_EQ(GetReward(with_desc, g, 15.0, {{"scent", "lavender"}, {"size", "16 fl oz"}}, SystemLexicon()).total, 1.0);
  Product with_bullet = p;
  with_bullet.bullet_points = {"Moisturizes", "paraben free formula"};
  EXPECT_EQ(GetReward(with_bullet, g, 15.0, {}, SystemLexicon()).num_attr_matches, 2);
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
  auto t = GetTypeReward(p, g, SystemLexicon());
  EXPECT_TRUE(t.query_match);
  EXPECT_NEAR(t.title_score, 1.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(t.r_type, 1.0);
  // No query match, >= 2 shared category levels: category match keeps 1.0.
  p.query = "conditioner";
  p.product_category = "Beauty & Personal Care \xE2\x80\xBA Hair Care \xE2\x80\xBA Conditioners";
  t = GetTypeReward(p, g, SystemLexicon());
  EXPECT_TRUE(t.category_match);
  EXPECT_DOUBLE_EQ(t.r_type, 1.0);
  // Only one shared level, title score 1/3 > 0.2: still 1.0.
  p.product_category = "Beauty & Personal Care \xE2\x80\xBA Makeup";
  EXPECT_FALSE(GetTypeReward(p, g, SystemLexicon()).category_match);
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g, SystemLexicon()).r_type, 1.0);
  // Goal name with 8 nouns, one shared: title 0.125 (in [0.1, 0.2]) and nothing else: 0.5.
  Goal g8 = g;
  g8.name = "alpha bravo charlie delta echo foxtrot golf hotel";
  p.name = "alpha zulu";
  t = GetTypeReward(p, g8, SystemLexicon());
  EXPECT_DOUBLE_EQ(t.title_score, 0.125);
  EXPECT_DOUBLE_EQ(t.r_type, 0.5);
  // 1 of 11 nouns (0.0909 < 0.1): 0.1, even with a query match.
  Goal g11 = g;
  g11.name = "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo";
  p.query = g.query;
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g11, SystemLexicon()).r_type, 0.1);
  // No shared noun: 0 (the whole reward becomes 0).
  p.name = "zulu yankee";
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g, SystemLexicon()).r_type, 0.0);
  EXPECT_DOUBLE_EQ(GetReward(p, g, 1.0, {{"scent", "lavender"}}, SystemLexicon()).total, 0.0);
  // A goal name without nouns scores 0.2 (not > 0.2): 0.5 without query/category match.
  Goal g0 = g;
  g0.name = "soft and wavy for you";
  p.query = "other";
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g0, SystemLexicon()).title_score, 0.2);
  EXPECT_DOUBLE_EQ(GetTypeReward(p, g0, SystemLexicon()).r_type, 0.5);
}

}  // namespace
}  // namespace mem1::webshop
