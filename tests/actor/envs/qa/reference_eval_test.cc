// The MEM1 inference/eval.py metrics (actor/envs/qa/reference_eval.h) against values worked
// out by hand from the reference's formulas. Token counts use a whitespace word counter (or a
// byte counter where tags touch), so every number can be checked on paper.
#include "actor/envs/qa/reference_eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "common/memory/trajectory_layout.h"

namespace mem1 {
namespace {

// Whitespace-separated words. Segments in the rows below end with a space so that a
// concatenation counts the sum of its parts ("a b " + "c " = 3 words).
int64_t Words(const std::string& s) {
  std::istringstream in(s);
  int64_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

// n words "w w ... " (n tokens under Words).
std::string W(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "w ";
  return s;
}

ReferenceTurn Turn(std::optional<int> t, std::optional<int> r, std::optional<int> i) {
  ReferenceTurn x;
  if (t) x.think = W(*t);
  if (r) x.response = W(*r);
  if (i) x.info = W(*i);
  return x;
}

const std::vector<std::vector<std::string>> kGold2 = {{"Paris", "paris city"}, {"1990"}};

TEST(ReferenceEvalTest, PreprocessTextReplacesPunctuationBySpaceAndKeepsArticles) {
  EXPECT_EQ(ReferencePreprocessText("U.S."), "u s");                  // SQuAD normalisation gives "us"
  EXPECT_EQ(ReferencePreprocessText("The Beatles"), "the beatles");   // no article removal
  EXPECT_EQ(ReferencePreprocessText("  Hello,\t  World!! "), "hello world");
  EXPECT_EQ(ReferencePreprocessText("rock'n'roll"), "rock n roll");
  EXPECT_EQ(ReferencePreprocessText("ÉCOLE\u00a0Normale"), "école normale");  // Unicode lower, NBSP is \s
  EXPECT_EQ(ReferencePreprocessText("..."), "");
}

TEST(ReferenceEvalTest, TagBalanceIsTheReferenceCheck) {
  const TagPair a{"<answer>", "</answer>"};
  EXPECT_TRUE(ReferenceCheckTagsBalance("x <answer>a</answer> y", a));
  EXPECT_TRUE(ReferenceCheckTagsBalance("no tags at all", a));
  EXPECT_FALSE(ReferenceCheckTagsBalance("<answer>a", a));               // counts 1 != 0
  EXPECT_FALSE(ReferenceCheckTagsBalance("</answer><answer>", a));       // counts equal, open has no later close
  // Nested: counts 2 == 2; open at 0 -> close at 16, the next open is searched from 17: none.
  EXPECT_TRUE(ReferenceCheckTagsBalance("<answer><answer></answer></answer>", a));
}

TEST(ReferenceEvalTest, ComputeScoreEmAndF1AreSumsOverQuestions) {
  auto em = [](const std::string& s, const std::vector<std::vector<std::string>>& g = kGold2) {
    return ReferenceComputeScore(s, g, ReferenceScore::kEm);
  };
  auto f1 = [](const std::string& s, const std::vector<std::vector<std::string>>& g = kGold2) {
    return ReferenceComputeScore(s, g, ReferenceScore::kF1);
  };
  EXPECT_EQ(em("<think>x</think><answer>Paris; 1990</answer>"), 2.0);
  EXPECT_EQ(f1("<think>x</think><answer>Paris; 1990</answer>"), 2.0);
  // EM: "paris city" is an alias -> 1, "1991" -> 0. F1 q1 = max(F1 vs "paris" = 2*(1/2*1)/(1/2+1) = 2/3,
  // F1 vs "paris city" = 1) = 1; q2: {1991} vs {1990} = 0. Sum 1.
  EXPECT_EQ(em("<answer>Paris City; 1991</answer>"), 1.0);
  EXPECT_DOUBLE_EQ(f1("<answer>Paris City; 1991</answer>"), 1.0);
  // No article removal: "the paris" != "paris" (EM 0); F1 q1 {the, paris} vs {paris}: P = 1/2, R = 1 -> 2/3;
  // q2 {nineteen, 1990} vs {1990}: 2/3. Sum 4/3.
  const std::vector<std::vector<std::string>> g = {{"paris"}, {"1990"}};
  EXPECT_EQ(em("<answer>the Paris; nineteen 1990</answer>", g), 0.0);
  EXPECT_DOUBLE_EQ(f1("<answer>the Paris; nineteen 1990</answer>", g), 4.0 / 3.0);
  // Token SETS: "paris paris" is {paris}: P = R = 1.
  EXPECT_DOUBLE_EQ(f1("<answer>paris paris; 1990</answer>", g), 2.0);
  // The LAST answer block counts; tags are matched after lower-casing.
  EXPECT_EQ(em("<answer>wrong; x</answer> more <answer>paris; 1990</answer>"), 2.0);
  EXPECT_EQ(em("<ANSWER>Paris; 1990</ANSWER>"), 2.0);
  // Wrong answer count: +0.0. Unbalanced tags or no block: -0.0.
  EXPECT_EQ(em("<answer>paris</answer>"), 0.0);
  EXPECT_FALSE(std::signbit(em("<answer>paris</answer>")));
  EXPECT_TRUE(std::signbit(em("<answer>paris; 1990</answer><answer>")));
  EXPECT_TRUE(std::signbit(em("no answer")));
  EXPECT_TRUE(std::signbit(f1("no answer")));
  // Only the text after the last "<|im_start|>assistant" is scored.
  EXPECT_EQ(em("<answer>paris; 1990</answer><|im_start|>assistant<answer>x; y</answer>"), 0.0);
}

TEST(ReferenceEvalTest, LenientExactMatchUsesTheFirstAliasAndSubstrings) {
  const std::vector<std::vector<std::string>> g = {{"Paris", "City of Light"}, {"1990"}};
  EXPECT_EQ(ReferenceLenientExactMatch("paris; 1990 (approx)", g), 2);  // "1990" in "1990 (approx)"
  EXPECT_EQ(ReferenceLenientExactMatch("Par; 19", g), 2);               // "par" in "paris", "19" in "1990"
  EXPECT_EQ(ReferenceLenientExactMatch("City of Light; 1990", g), 1);   // first alias only
  EXPECT_EQ(ReferenceLenientExactMatch("paris", g), 0);                 // answers[1] -> IndexError -> 0
  EXPECT_EQ(ReferenceLenientExactMatch("paris; ; extra", g), 2);        // "" is in every string; extras ignored
  EXPECT_EQ(ReferenceLenientExactMatch(std::nullopt, g), 0);            // str(None) = "None", one answer
  EXPECT_EQ(ReferenceLenientExactMatch(std::nullopt, {{"None of them"}}), 1);  // "none" in "none of them"
}

// Three turns: search, search, answer. Tokens: t0 2, r0 3, i0 4 | t1 1, r1 3, i1 5 | t2 2, r2 4.
TEST(ReferenceEvalTest, TokenMetricsOfAThreeTurnRow) {
  const std::vector<ReferenceTurn> row = {Turn(2, 3, 4), Turn(1, 3, 5), Turn(2, 4, std::nullopt)};
  // Peak compressed: i0: t0 r0 = 5; then s = t0 r0 i0 = 9. i1: 9 + t1 r1 = 13; s = t1 r1 i1 = 9.
  // i2: 9 + t2 r2 = 15; s = t2 r2 = 6. i3..9: 6, then 0. max = 15.
  EXPECT_EQ(ReferencePeakTokensCompressed(row, 1, Words), 15);
  // Non-compressed: the whole row 2+3+4+1+3+5+2+4 = 24.
  EXPECT_EQ(ReferencePeakTokensNonCompressed(row, 1, Words), 24);
  // Exact_match 0: both peaks are None.
  EXPECT_EQ(ReferencePeakTokensCompressed(row, 0, Words), std::nullopt);
  EXPECT_EQ(ReferencePeakTokensNonCompressed(row, 0, Words), std::nullopt);
  // Dependency compressed, (context + L // 2) * L per segment:
  //   t0 (0 + 1) * 2 = 2, r0 (2 + 1) * 3 = 9; context -> t0 r0 i0 = 9
  //   t1 (9 + 0) * 1 = 9, r1 (10 + 1) * 3 = 33; context -> t1 r1 i1 = 9
  //   t2 (9 + 1) * 2 = 20, r2 (11 + 2) * 4 = 52            total 125
  EXPECT_EQ(ReferenceDependencyCompressed(row, Words), 125);
  // Non-compressed, the context never resets:
  //   t0 2, r0 9; context 9 | t1 (9 + 0) * 1 = 9, r1 (10 + 1) * 3 = 33; context 18
  //   t2 (18 + 1) * 2 = 38, r2 (20 + 2) * 4 = 88           total 179
  EXPECT_EQ(ReferenceDependencyNonCompressed(row, Words), 179);
  // Compression ratio: length after the last r = tokens(t1 r1 i1 t2 r2) = 15; total = 24 -> 0.625.
  EXPECT_DOUBLE_EQ(*ReferenceCompressionRatio(row, Words), 15.0 / 24.0);
}

// A final turn that has no action: the reference stores t2 but not r2.
TEST(ReferenceEvalTest, AFinalTurnWithoutResponseCountsOnlyItsThink) {
  const std::vector<ReferenceTurn> row = {Turn(2, 3, 4), Turn(1, 3, 5), Turn(2, std::nullopt, std::nullopt)};
  // Dependency compressed: 2 + 9 + 9 + 33 as above, then t2 (9 + 1) * 2 = 20 -> 73.
  EXPECT_EQ(ReferenceDependencyCompressed(row, Words), 73);
  // Ratio: length stays tokens(t0 r0 i0 t1 r1) = 13 (set only at turns with r); total 2+3+4+1+3+5+2 = 20.
  EXPECT_DOUBLE_EQ(*ReferenceCompressionRatio(row, Words), 13.0 / 20.0);
  // Peak compressed: i2 s = t1 r1 i1 + t2 = 11 < 13 -> 13.
  EXPECT_EQ(ReferencePeakTokensCompressed(row, 2, Words), 13);
}

TEST(ReferenceEvalTest, BreakRulesAndTheTenTurnLimit) {
  // A turn without keys ends the solution string, the non-compressed metrics and the
  // dependency, but not the compressed peak (its loop has no break).
  const std::vector<ReferenceTurn> gap = {Turn(2, 3, 4), ReferenceTurn{}, Turn(1, 1, std::nullopt)};
  // Compressed peak: i0 5, s = 9; i1 (no keys) tokens(s) = 9, s = ""; i2 t2 r2 = 2. max 9.
  EXPECT_EQ(ReferencePeakTokensCompressed(gap, 1, Words), 9);
  EXPECT_EQ(ReferencePeakTokensNonCompressed(gap, 1, Words), 9);   // 2+3+4, stops at turn 1
  EXPECT_EQ(ReferenceDependencyCompressed(gap, Words), 11);        // t0 2 + r0 9, break at turn 1
  EXPECT_EQ(ReferenceSolutionString(gap), W(9));
  // Empty strings are keys too: no break, they count 0.
  const std::vector<ReferenceTurn> empty_think = {Turn(0, 3, 0), Turn(0, 2, std::nullopt)};
  // r0 (0 + 1) * 3 = 3; context r0 = 3; r1 (3 + 1) * 2 = 8 -> 11.
  EXPECT_EQ(ReferenceDependencyCompressed(empty_think, Words), 11);
  // eval.py reads t0..t9 only: 12 turns of 1 + 1 + 1 tokens -> the row is 30 tokens, not 36.
  const std::vector<ReferenceTurn> long_row(12, Turn(1, 1, 1));
  EXPECT_EQ(ReferencePeakTokensNonCompressed(long_row, 1, Words), 30);
  // No generated segment at all: the dependencies and the ratio are None, the compressed peak too.
  const std::vector<ReferenceTurn> none = {};
  EXPECT_EQ(ReferenceDependencyCompressed(none, Words), std::nullopt);
  EXPECT_EQ(ReferenceDependencyNonCompressed(none, Words), std::nullopt);
  EXPECT_EQ(ReferenceCompressionRatio(none, Words), std::nullopt);
  EXPECT_EQ(ReferencePeakTokensCompressed(none, 1, Words), std::nullopt);
}

TEST(ReferenceEvalTest, RowsAreBuiltAsGenerateRolloutRecordsThem) {
  const TagPreset paper;  // state <IS>, search <query>, answer <answer>
  const std::vector<EpisodeTurnText> turns = {
      {"<IS>  q1 unknown </IS><query>who</query>", std::string("\n\n<info>doc</info>\n\n")},
      {"<IS>found</IS><answer> Paris; 1990 </answer>", std::nullopt}};
  const ReferenceRow row = BuildReferenceRow(turns, kGold2, paper);
  ASSERT_EQ(row.turns.size(), 2u);
  EXPECT_EQ(row.turns[0].think, "<IS>q1 unknown</IS>");  // inner text stripped
  EXPECT_EQ(row.turns[0].response, turns[0].response);   // the full response (state included)
  EXPECT_EQ(row.turns[0].info, "\n\n<info>doc</info>\n\n");
  EXPECT_EQ(row.turns[1].think, "<IS>found</IS>");
  EXPECT_EQ(row.turns[1].response, turns[1].response);
  EXPECT_EQ(row.turns[1].info, std::nullopt);
  EXPECT_EQ(row.answer, "Paris; 1990");
  EXPECT_EQ(row.golden, kGold2);

  // A final turn without an action pair: t stored (here ""), r not, answer None.
  auto r2 = BuildReferenceRow({{"no tags", std::nullopt}}, kGold2, paper);
  EXPECT_EQ(r2.turns[0].think, "");
  EXPECT_EQ(r2.turns[0].response, std::nullopt);
  EXPECT_EQ(r2.answer, std::nullopt);
  // A final search with no observation after it: i = "" (the reference's last-turn i).
  auto r3 = BuildReferenceRow({{"<IS>s</IS><query>q</query>", std::nullopt}}, kGold2, paper);
  EXPECT_EQ(r3.turns[0].info, "");
  EXPECT_EQ(r3.answer, std::nullopt);
  // act(): a complete search pair wins over an answer pair.
  auto r4 = BuildReferenceRow({{"<IS>x</IS><answer>a; b</answer><query>q</query>", std::nullopt}}, kGold2, paper);
  EXPECT_EQ(r4.answer, std::nullopt);
  // Under mem1-code the state tag is <think> and the search tag <search>.
  auto code = GetTagPreset("mem1-code");
  ASSERT_TRUE(code.ok());
  auto r5 = BuildReferenceRow({{"<think> k </think>\n<search>q</search>", std::string("<information>d</information>")},
                               {"<think>k2</think><answer>paris; 1990</answer>", std::nullopt}},
                              kGold2, *code);
  EXPECT_EQ(r5.turns[0].think, "<think>k</think>");
  EXPECT_EQ(r5.answer, "paris; 1990");
}

// Byte counts as tokens: the state text counts twice (t_i and inside r_i), the prompt never.
TEST(ReferenceEvalTest, AllMetricsOfABuiltRow) {
  const TagPreset paper;
  // r0 = "<IS>a</IS><query>b</query>": 4+1+5+7+1+8 = 26 bytes; t0 = "<IS>a</IS>" 10; i0 "<info>c</info>" 14;
  // r1 = "<IS>d</IS><answer>Paris; 1990</answer>": 10+8+11+9 = 38; t1 = 10.
  const std::vector<EpisodeTurnText> turns = {{"<IS>a</IS><query>b</query>", std::string("<info>c</info>")},
                                              {"<IS>d</IS><answer>Paris; 1990</answer>", std::nullopt}};
  const auto bytes = [](const std::string& s) { return static_cast<int64_t>(s.size()); };
  const ReferenceMetrics m = ComputeReferenceMetrics(BuildReferenceRow(turns, {{"Paris"}, {"1990"}}, paper), bytes);
  EXPECT_EQ(m.em, 2.0);
  EXPECT_EQ(m.f1, 2.0);
  EXPECT_EQ(m.exact_match, 2);
  // Peak compressed: i0 t0 r0 = 36, s = 50; i1 50 + 10 + 38 = 98. Non-compressed: the row, 98.
  EXPECT_EQ(m.peak_tokens_compressed, 98);
  EXPECT_EQ(m.peak_tokens_non_compressed, 98);
  // Dependency: t0 (0 + 5) * 10 = 50, r0 (10 + 13) * 26 = 598; context 50; t1 (50 + 5) * 10 = 550,
  // r1 (60 + 19) * 38 = 3002 -> 4200 (two turns: compressed = non-compressed).
  EXPECT_EQ(m.dependency_compressed, 4200);
  EXPECT_EQ(m.dependency_non_compressed, 4200);
  // Ratio 98 / (10 + 26 + 14 + 10 + 38) = 1.
  EXPECT_DOUBLE_EQ(*m.compression_ratio, 1.0);

  // A wrong answer: EM/F1 0, Exact_match 0 -> no peaks; dependency and ratio unchanged.
  const ReferenceMetrics w = ComputeReferenceMetrics(BuildReferenceRow(turns, {{"Rome"}, {"1900"}}, paper), bytes);
  EXPECT_EQ(w.em, 0.0);
  EXPECT_EQ(w.exact_match, 0);
  EXPECT_EQ(w.peak_tokens_compressed, std::nullopt);
  EXPECT_EQ(w.peak_tokens_non_compressed, std::nullopt);
  EXPECT_EQ(w.dependency_compressed, 4200);

  // Aggregation: EM / Exact_match over every row, peaks over the non-None ones.
  ReferenceAggregate agg;
  agg.Add(m);
  agg.Add(w);
  EXPECT_EQ(agg.rows, 2);
  EXPECT_DOUBLE_EQ(*ReferenceAggregate::Mean(agg.em), 1.0);           // (2 + 0) / 2
  EXPECT_DOUBLE_EQ(*ReferenceAggregate::Mean(agg.exact_match), 1.0);  // (2 + 0) / 2
  EXPECT_DOUBLE_EQ(*ReferenceAggregate::Mean(agg.peak_compressed), 98.0);  // one value
  EXPECT_EQ(agg.peak_compressed.size(), 1u);
  EXPECT_EQ(ReferenceAggregate::Mean({}), std::nullopt);
}

// Turn texts come back from a recorded trajectory for every context policy.
TEST(ReferenceEvalTest, TrajectoryTurnTokensRecoversObservations) {
  auto record = [](const std::string& policy_name) {
    auto policy = ContextPolicy::Parse(policy_name);
    EXPECT_TRUE(policy.ok());
    proto::Trajectory t;
    t.set_context_policy(policy->Name());
    TrajectoryLayout layout(*policy, {1, 2, 3}, &t);
    layout.AddTurn({10, 11, 12}, {0, 0, 0}, {0, 0, 0}, 0, 0);
    layout.Observe({20, 21}, 1);
    layout.AddTurn({13, 14}, {0, 0}, {0, 1}, 0, 1);  // a sampled run and an engine-forced run
    layout.Observe({22, 23, 24}, 2);
    layout.AddTurn({15}, {0}, {0}, 0, 2);
    return TrajectoryTurnTokens(t);
  };
  using V = std::vector<int32_t>;
  for (const std::string p : {"mem1", "full", "window:100", "window:4"}) {
    SCOPED_TRACE(p);
    const auto turns = record(p);
    ASSERT_EQ(turns.size(), 3u);
    EXPECT_EQ(turns[0].generated, (V{10, 11, 12}));
    EXPECT_EQ(turns[0].observation, (V{20, 21}));
    EXPECT_EQ(turns[1].generated, (V{13, 14}));
    // window:4: the copy is [14, 22, 23, 24]; its longest prefix ending the history
    // 10 11 12 20 21 13 14 is [14], so the observation is 22 23 24.
    EXPECT_EQ(turns[1].observation, (V{22, 23, 24}));
    EXPECT_EQ(turns[2].generated, (V{15}));
    EXPECT_EQ(turns[2].observation, std::nullopt);
    EXPECT_FALSE(turns[0].observation_clipped || turns[1].observation_clipped);
  }
  // window:2 keeps only the last 2 tokens of a 3-token observation: that is what comes back.
  const auto w2 = record("window:2");
  EXPECT_EQ(w2[0].observation, (V{20, 21}));
  EXPECT_EQ(w2[1].observation, (V{23, 24}));
  EXPECT_TRUE(w2[0].observation_clipped);  // exactly K tokens: cannot tell, flagged
  EXPECT_TRUE(w2[1].observation_clipped);
}

}  // namespace
}  // namespace mem1
