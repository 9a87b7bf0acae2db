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

// --- text matching -------------------------------------------------------------------------
// Every expected score below was computed with CPython 3.11.7's difflib
// (SequenceMatcher(None, a, b).ratio(), autojunk on, as thefuzz 0.19 uses it without
// python-Levenshtein), int(round(100 * ratio)), and for token_set_ratio the fuzzywuzzy / thefuzz
// 0.19 algorithm (full_process with force_ascii, token sets, sorted intersection, the three
// pairwise ratios, max) applied in Python. "Indel" is the 2*LCS/(len1+len2) score that
// python-Levenshtein / rapidfuzz would give (and this port gave before).

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
      {"medium", "x-large", 15},           // "medium" vs "x large": 1 matched, 2/13
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
      {"same words", "same words", 100},
      {"\xCE\x95\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC",  // Ελληνικά: kept (> 255),
       "\xCE\xB5\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xB1", 88},  // lower-cased
      {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88",  // 日本語 テキスト
       "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88", 53},
      {"cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e", "creme brulee", 86},  // "crme brle" vs "creme brulee"
      // difflib's greedy longest-block matching scores below Indel (Indel in the comment):
      {"vanilla", "vanlala", 71},          // Indel 86: a match under Indel, not under difflib
      {"pack vanilla", "pack vanlala", 83},          // Indel 92
      {"xx-large cotton cotton", "xx-large tton ctton", 82},  // Indel 88
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FuzzTokenSetRatio(c.a, c.b), c.expected) << c.a << " | " << c.b;
    EXPECT_EQ(FuzzTokenSetRatio(c.b, c.a), c.expected) << "symmetric: " << c.a << " | " << c.b;
  }
  EXPECT_EQ(FuzzFullProcess("  Hello, World_1! "), "hello  world_1");
}

// difflib's ratio is not symmetric, and neither is token_set_ratio (its third ratio compares the
// two combined strings in argument order).
TEST(WebShopTextMatchTest, TokenSetRatioIsDifflibAndOrderDependent) {
  struct Case {
    const char* a;
    const char* b;
    int ab, ba;  // token_set_ratio(a, b), token_set_ratio(b, a); Indel gives the larger of them
  };
  const Case cases[] = {
      {"rose sleeve", "rose slevze", 82, 91},
      {"pack white cotton", "pack w hie cottoni", 74, 86},   // crosses the threshold
      {"black silver vanilla", "b ak silver vanilla", 85, 87},  // 85 is not a match, 87 is
      {"rose", "polyester", 15, 31},                          // Indel 46
      {"silver lavender", "gold sleeve", 23, 54},
      {"chocolate", "coclate", 88, 75},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FuzzTokenSetRatio(c.a, c.b), c.ab) << c.a << " | " << c.b;
    EXPECT_EQ(FuzzTokenSetRatio(c.b, c.a), c.ba) << c.b << " | " << c.a;
  }
}

TEST(WebShopTextMatchTest, TokenSetRatioOnLongStringsUsesAutojunk) {
  // Processed strings of >= 200 code points: the space (and other frequent letters) are
  // "popular" in the second argument.
  std::string a, b;
  for (char c = 'a'; c <= 'z'; ++c) {
    a += std::string(" size") + c;
    b += std::string(" size") + c + c;
  }
  a = "organic cotton t-shirt" + a;  // 178 code points
  b = "organic cotton tshirt" + b;   // 203 code points
  EXPECT_EQ(FuzzTokenSetRatio(a, b), 48);  // without autojunk (and Indel): 90
  EXPECT_EQ(FuzzTokenSetRatio(b, a), 90);
  std::string c, d;
  for (int i = 0; i < 60; ++i) {
    c += (i ? " k" : "k") + std::to_string(i) + "x";
    d += (i ? " k" : "k") + std::to_string(i) + "y";
  }
  EXPECT_EQ(FuzzTokenSetRatio(c, d), 1);  // without autojunk (and Indel): 79
  std::string e, f;
  for (int i = 0; i < 40; ++i) e += (i ? " item" : "item") + std::to_string(i);
  for (int i = 5; i < 45; ++i) f += (i > 5 ? " item" : "item") + std::to_string(i);
  EXPECT_EQ(FuzzTokenSetRatio(e, f), 94);  // without autojunk (and Indel): 99
  EXPECT_EQ(FuzzTokenSetRatio(f, e), 94);
}

TEST(WebShopTextMatchTest, RatioIsDifflibSequenceMatcher) {
  struct Case {
    std::string a, b;
    int expected;
  };
  const std::string cjk200 = [] {  // 196 distinct CJK code points U+4E00.., each once
    std::string s;
    for (char32_t c = 0x4E00; c < 0x4E00 + 196; ++c) {
      s += static_cast<char>(0xE0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
    return s;
  }();
  const std::string u4e00 = "\xE4\xB8\x80";
  std::string lorem_a, lorem_b;
  for (int i = 0; i < 8; ++i) lorem_a += "lorem ipsum dolor sit amet ";
  for (int i = 0; i < 6; ++i) lorem_b += "lorem ipsum dolor sit amet, consectetur ";
  std::string abab, baba;
  for (int i = 0; i < 120; ++i) abab += "ab", baba += "ba";
  const Case cases[] = {
      {"kitten", "sitting", 62},         // 8/13 = 61.5 -> 62 (Indel agrees)
      {"sitting", "kitten", 62},
      // Short pairs where Indel (in the comment) differs, some across the 85 threshold:
      {"coclate", "chocolate", 75},      // Indel 88
      {"chocolate", "coclate", 88},      // ... and order matters
      {"vanilla", "vanlala", 71},        // Indel 86
      {"x-laregae", "x-large", 75},      // Indel 88
      {"rose", "polyester", 15},         // Indel 46
      {"polyester", "rose", 31},         // Indel 46
      {"   ", " e  ", 57},               // Indel 86: the first longest block "  " blocks the rest
      {" e  ", "   ", 57},
      {"abcd", "bcda", 75},
      {"sleeve gray ounce", "gray ounce sleeve", 59},
      {"navy blue", "blue navy", 44},
      // thefuzz's decorators: equal -> 100 (even both empty), else an empty side -> 0.
      {"", "", 100},
      {"", "a", 0},
      {"a", "", 0},
      {"same", "same", 100},
      // Code points, not bytes:
      {"cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e", "creme brulee", 75},
      {"Cr\xC3\xA8me", "cr\xC3\xA8me", 80},
      {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88",
       "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88", 93},  // 14/15
      {"\xF0\x9F\x98\x80 smile \xF0\x9F\x98\x80", "smile \xF0\x9F\x98\x80", 88},  // 4-byte UTF-8: 14/16
      // Autojunk: len(b) >= 200 makes elements seen more than 1 + len(b)/100 times in b popular.
      {lorem_a, lorem_b, 11},            // 216 vs 240; without autojunk 73, Indel 76
      {abab, baba, 0},                   // everything popular, no block can start; Indel 100
      {"abc" + std::string(250, ' '), std::string(250, ' ') + "abc", 1},  // Indel 99
      {"xxxxxabc", "abc" + std::string(197, 'x'), 3},  // len(b) 200: 'x' popular; Indel 5
      {"xxxxxabc", "abc" + std::string(196, 'x'), 5},  // len(b) 199: no autojunk
      {std::string(250, ' '), std::string(240, ' '), 98},  // no block can start at all, but the
                                                           // empty match at (0, 0) still grows
      // len(b) == 200, so popular means more than 3 occurrences:
      {"zzzz", u4e00 + "zzzz" + cjk200.substr(3), 0},   // 'z' x4 popular: no match (else 4)
      {"zzz", u4e00 + "zzz" + cjk200.substr(3, 196 * 3 - 3) + "\xE4\xBB\x84", 3},  // 'z' x3: kept
      {"zzzz" + u4e00, "zzzz" + cjk200, 5},  // a block found on U+4E00 grows over popular 'z's
      {"zz", "zzzz" + cjk200, 2},            // the empty match at (0, 0) grows over them too
  };
  for (const auto& c : cases) EXPECT_EQ(FuzzRatio(c.a, c.b), c.expected) << c.a << " | " << c.b;
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
