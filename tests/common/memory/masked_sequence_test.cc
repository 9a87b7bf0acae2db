#include "common/memory/masked_sequence.h"

#include <gtest/gtest.h>

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
  auto at = [&](int i, int j) { return m->mask[i * T + j]; };
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
