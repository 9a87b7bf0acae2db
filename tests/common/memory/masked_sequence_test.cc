#include "common/memory/masked_sequence.h"

#include <gtest/gtest.h>

#include <string>

#include "common/memory/trajectory_layout.h"

namespace mem1 {
namespace {

proto::Segment* Add(proto::Trajectory* t, proto::SegmentRole role, std::vector<int> ids, int first_pos,
                    std::vector<int> attends) {
  auto* s = t->add_segments();
  s->set_role(role);
  for (size_t i = 0; i < ids.size(); ++i) {
    s->add_token_ids(ids[i]);
    s->add_position_ids(first_pos + static_cast<int>(i));
    if (role == proto::ROLE_MODEL) s->add_behaviour_logprobs(-0.1f * (i + 1));
  }
  for (int a : attends) s->add_attends_to(a);
  return s;
}

TEST(MaskedSequenceTest, Mem1LayoutMaskPositionsAndLossMask) {
  proto::Trajectory t;
  Add(&t, proto::ROLE_PROMPT, {1, 2, 3}, 0, {});            // 0: prompt, P = 3
  Add(&t, proto::ROLE_MODEL, {4, 5}, 3, {0});               // 1: G1
  Add(&t, proto::ROLE_CONTEXT, {4, 5, 6}, 3, {0});          // 2: C2 = G1 + obs
  Add(&t, proto::ROLE_MODEL, {7, 8}, 6, {0, 2});            // 3: G2
  auto m = BuildMaskedSequence(t);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const int64_t T = 10;
  ASSERT_EQ(m->length, T);
  EXPECT_EQ(m->positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 3, 4, 5, 6, 7}));
  EXPECT_EQ(m->loss_mask, (std::vector<uint8_t>{0, 0, 0, 1, 1, 0, 0, 0, 1, 1}));
  EXPECT_FLOAT_EQ(m->behaviour_logprobs[9], -0.2f);
  const auto dense = DenseMask(*m);
  auto at = [&](int i, int j) { return dense[i * T + j]; };
  // G1 row 4 sees prompt and G1 causally.
  EXPECT_EQ(at(4, 0) + at(4, 1) + at(4, 2) + at(4, 3) + at(4, 4), 5);
  // C2 (rows 5-7) sees the prompt and itself, not G1.
  EXPECT_EQ(at(5, 3), 0);
  EXPECT_EQ(at(5, 4), 0);
  EXPECT_EQ(at(7, 5) + at(7, 6) + at(7, 7), 3);
  EXPECT_EQ(at(5, 6), 0);  // causal inside C2
  // G2 sees prompt + C2 + itself, never G1.
  EXPECT_EQ(at(9, 3) + at(9, 4), 0);
  EXPECT_EQ(at(9, 0) + at(9, 5) + at(9, 7) + at(9, 8) + at(9, 9), 5);
  // Prompt is causal.
  EXPECT_EQ(at(0, 1), 0);
}

// The rows each token may attend, written out by hand: "1" = visible.
std::vector<std::string> Rows(const MaskedSequence& m) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < m.length; ++i) {
    std::string r;
    for (int64_t j = 0; j < m.length; ++j) r += Visible(m, i, j) ? '1' : '.';
    out.push_back(r);
  }
  return out;
}

TEST(TrajectoryLayoutTest, Mem1RecordsPromptTurnsAndContextCopiesAtTheirPositions) {
  proto::Trajectory t;
  TrajectoryLayout layout(ContextPolicy(), {1, 2, 3}, &t);  // P = 3
  EXPECT_EQ(layout.turn_start_position(), 3);
  EXPECT_EQ(layout.context_tokens(), 3);
  // Turn 0: two sampled tokens and one engine-forced closing token.
  layout.AddTurn({4, 5, 6}, {-0.1f, -0.2f, -0.3f}, {0, 0, 1}, 7, 0);
  const auto next = layout.Observe({8, 9}, 1);
  // Next context: keep the prompt's KV, feed IS+action (all three tokens) + observation at P..
  EXPECT_EQ(next.keep, 3);
  EXPECT_EQ(next.feed, (std::vector<int32_t>{4, 5, 6, 8, 9}));
  EXPECT_EQ(next.feed_positions, (std::vector<int32_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(layout.context_tokens(), 8);
  EXPECT_EQ(layout.turn_start_position(), 8);
  layout.AddTurn({10, 11}, {-0.4f, -0.5f}, {0, 0}, 8, 1);
  ASSERT_EQ(t.segments_size(), 5);  // prompt, G1 model, G1 forced, C2, G2
  EXPECT_EQ(t.segments(1).role(), proto::ROLE_MODEL);
  EXPECT_EQ(t.segments(1).policy_version(), 7);
  EXPECT_EQ(t.segments(2).role(), proto::ROLE_FORCED);
  EXPECT_EQ(t.segments(2).behaviour_logprobs_size(), 0);
  EXPECT_EQ(t.segments(3).role(), proto::ROLE_CONTEXT);
  EXPECT_EQ(t.segments(3).turn(), 1);
  auto m = BuildMaskedSequence(t);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->tokens, (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 4, 5, 6, 8, 9, 10, 11}));
  EXPECT_EQ(m->positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(m->loss_mask, (std::vector<uint8_t>{0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(Rows(*m), (std::vector<std::string>{
                          "1............",  // prompt, causal
                          "11...........",
                          "111..........",
                          "1111.........",  // G1 sees the prompt and itself
                          "11111........",
                          "111111.......",  // the forced run sees G1's model run too
                          "111...1......",  // C2 sees the prompt and itself, never G1
                          "111...11.....",
                          "111...111....",
                          "111...1111...",
                          "111...11111..",
                          "111...111111.",  // G2 sees prompt + C2 + itself
                          "111...1111111",
                      }));
  // The dense mask on demand says the same.
  const auto dense = DenseMask(*m);
  for (int64_t i = 0; i < m->length; ++i)
    for (int64_t j = 0; j < m->length; ++j) EXPECT_EQ(dense[i * m->length + j] != 0, Visible(*m, i, j));
  // Query blocks: the prompt + G1 (each run sees exactly what came before it: one causal
  // block), then C2 + G2 over the prompt's keys; G1 is never a key of the second block.
  const auto blocks = QueryBlocks(*m);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].q_begin, 0);
  EXPECT_EQ(blocks[0].q_end, 6);
  EXPECT_TRUE(blocks[0].keys.empty());
  EXPECT_EQ(blocks[1].q_begin, 6);
  EXPECT_EQ(blocks[1].q_end, 13);
  EXPECT_EQ(blocks[1].keys, (std::vector<std::pair<int64_t, int64_t>>{{0, 3}}));
}

TEST(TrajectoryLayoutTest, FullAppendsObservationsAndKeepsTheWholeCache) {
  proto::Trajectory t;
  TrajectoryLayout layout(ContextPolicy::Parse("full").value(), {1, 2}, &t);
  layout.AddTurn({3, 4}, {-0.1f, -0.2f}, {0, 0}, 0, 0);
  const auto next = layout.Observe({5}, 1);
  // The cache holds prompt + every generated token but the last (sampled, never fed).
  EXPECT_EQ(next.keep, 3);
  EXPECT_EQ(next.feed, (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(next.feed_positions, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(layout.turn_start_position(), 5);
  layout.AddTurn({6}, {-0.3f}, {0}, 0, 1);
  auto m = BuildMaskedSequence(t);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(Rows(*m), (std::vector<std::string>{"1.....", "11....", "111...", "1111..", "11111.", "111111"}));
  // One causal block: every segment continues the one before it.
  const auto blocks = QueryBlocks(*m);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].q_end, 6);
}

TEST(TrajectoryLayoutTest, WindowKeepsTheLastKTokensOfTheHistory) {
  proto::Trajectory t;
  TrajectoryLayout layout(ContextPolicy::Parse("window:3").value(), {1}, &t);
  layout.AddTurn({2, 3}, {-0.1f, -0.2f}, {0, 0}, 0, 0);
  auto next = layout.Observe({4}, 1);
  EXPECT_EQ(next.feed, (std::vector<int32_t>{2, 3, 4}));
  layout.AddTurn({5}, {-0.3f}, {0}, 0, 1);
  next = layout.Observe({6}, 2);
  EXPECT_EQ(next.keep, 1);
  EXPECT_EQ(next.feed, (std::vector<int32_t>{4, 5, 6}));  // history 2 3 4 5 6, last 3
  EXPECT_EQ(next.feed_positions, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(layout.visible(), (std::vector<int32_t>{0, 4}));
}

TEST(MaskedSequenceTest, InconsistentRecordsAreDataLoss) {
  {
    proto::Trajectory t;
    Add(&t, proto::ROLE_PROMPT, {1, 2}, 0, {});
    Add(&t, proto::ROLE_MODEL, {3}, 2, {5});  // attends to a later segment
    auto m = BuildMaskedSequence(t);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(m.status().message().find("attends to segment 5"), std::string::npos);
  }
  {
    proto::Trajectory t;
    Add(&t, proto::ROLE_PROMPT, {1, 2}, 0, {});
    Add(&t, proto::ROLE_MODEL, {3, 4}, 2, {0})->add_behaviour_logprobs(0.f);  // 3 log-probs for 2 tokens
    EXPECT_FALSE(BuildMaskedSequence(t).ok());
  }
  {
    proto::Trajectory t;
    Add(&t, proto::ROLE_PROMPT, {1, 2}, 0, {});
    Add(&t, proto::ROLE_CONTEXT, {3}, 2, {0});
    Add(&t, proto::ROLE_MODEL, {4}, 3, {0});  // does not see its predecessor (C)
    auto m = BuildMaskedSequence(t);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find("not preceded"), std::string::npos);
  }
  {
    proto::Trajectory t;
    Add(&t, proto::ROLE_PROMPT, {1, 2}, 0, {})->add_position_ids(9);
    EXPECT_FALSE(BuildMaskedSequence(t).ok());
  }
}

}  // namespace
}  // namespace mem1
