#include <gtest/gtest.h>

#include "proto/mem1.pb.h"

namespace mem1 {
namespace {

TEST(ProtoTest, TrajectoryRoundTripsThroughBytes) {
  proto::Trajectory t;
  t.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
  t.set_actor_id("actor-3");
  t.set_episode_id(42);
  t.set_env_name("qa");
  t.set_policy_version(7);
  auto* s = t.add_segments();
  s->set_role(proto::ROLE_MODEL);
  for (int i = 0; i < 3; ++i) {
    s->add_token_ids(100 + i);
    s->add_position_ids(10 + i);
    s->add_behaviour_logprobs(-0.5f * i);
  }
  s->add_attends_to(0);
  t.set_reward(1.5);
  (*t.mutable_reward_components())["em"] = 1.0;
  t.mutable_metrics()->set_peak_tokens(640);
  std::string bytes;
  ASSERT_TRUE(t.SerializeToString(&bytes));
  proto::Trajectory back;
  ASSERT_TRUE(back.ParseFromString(bytes));
  EXPECT_EQ(back.segments(0).token_ids(2), 102);
  EXPECT_EQ(back.segments(0).position_ids(1), 11);
  EXPECT_FLOAT_EQ(back.segments(0).behaviour_logprobs(2), -1.0f);
  EXPECT_EQ(back.metrics().peak_tokens(), 640);
  EXPECT_EQ(back.reward_components().at("em"), 1.0);
  EXPECT_EQ(back.schema_version(), proto::SCHEMA_VERSION_CURRENT);
}

TEST(ProtoTest, GarbageBytesAreRejectedNotCrashing) {
  proto::Trajectory t;
  EXPECT_FALSE(t.ParseFromString(std::string("\xff\xff\xff\xff\x0f garbage", 14)));
}

}  // namespace
}  // namespace mem1
