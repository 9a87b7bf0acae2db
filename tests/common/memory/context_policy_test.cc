#include "common/memory/context_policy.h"

#include <gtest/gtest.h>

#include "common/memory/episode_metrics.h"

namespace mem1 {
namespace {

TEST(ContextPolicyTest, ParsesNamesAndRejectsBadOnes) {
  EXPECT_EQ(ContextPolicy::Parse("mem1")->kind, ContextPolicy::Kind::kMem1);
  EXPECT_EQ(ContextPolicy::Parse("full")->kind, ContextPolicy::Kind::kFull);
  auto w = ContextPolicy::Parse("window:256");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->window_tokens, 256);
  EXPECT_EQ(w->Name(), "window:256");
  // One grammar (config validation calls Parse): K is [1-9][0-9]* and fits in int64.
  for (const char* bad : {"window:", "window:0", "window:x", "mem2", "", "window:+5", "window: 5", "window:05",
                          "window:-3", "window:5x", "window:99999999999999999999"}) {
    auto r = ContextPolicy::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

TEST(ContextPolicyTest, Mem1KeepsOnlyTheLastTurn) {
  std::vector<TurnTokens> h = {{{1, 2}, {3}}, {{4, 5, 6}, {7, 8}}};
  EXPECT_EQ(NextContextCopy(ContextPolicy::Parse("mem1").value(), h), (std::vector<int32_t>{4, 5, 6, 7, 8}));
}

TEST(ContextPolicyTest, WindowKeepsTheLastKTokensOfHistory) {
  std::vector<TurnTokens> h = {{{1, 2}, {3}}, {{4, 5, 6}, {7, 8}}};
  EXPECT_EQ(NextContextCopy(ContextPolicy::Parse("window:4").value(), h), (std::vector<int32_t>{5, 6, 7, 8}));
  EXPECT_EQ(NextContextCopy(ContextPolicy::Parse("window:100").value(), h),
            (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(EpisodeMetricsTest, PeakAndDependencyFollowTheDefinitions) {
  TurnAccounting a;
  a.AddTurn(100, 10);  // peak 110, dep 100*10 + 55
  a.AddTurn(80, 20);   // peak 100, dep 80*20 + 210
  EXPECT_EQ(a.peak_tokens, 110);
  EXPECT_EQ(a.dependency, 1000 + 55 + 1600 + 210);
  EXPECT_EQ(a.generated_tokens, 30);
  EXPECT_EQ(a.turns, 2);
}

TEST(EpisodeMetricsTest, SummaryPercentiles) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  auto s = Summarize(v);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.p50, 50);
  EXPECT_DOUBLE_EQ(s.p95, 95);
  EXPECT_EQ(Summarize({}).count, 0);
}

}  // namespace
}  // namespace mem1
