#include "common/transport/wire.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace mem1 {
namespace {

constexpr int64_t kVocab = 8192;

// A valid 3-segment MEM1 trajectory: prompt, model turn, observation.
proto::Trajectory ValidTrajectory() {
  proto::Trajectory t;
  t.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
  t.set_actor_id("actor-3");
  t.set_episode_id(17);
  t.set_env_name("qa");
  t.set_task_id("hotpot-42");
  t.set_policy_version(5);
  t.set_context_policy("mem1");
  t.set_sampling_temperature(1.0f);
  t.set_reward(1.0);
  (*t.mutable_reward_components())["em"] = 1.0;
  (*t.mutable_reward_components())["format"] = -0.5;
  t.mutable_metrics()->set_wall_seconds(2.5);
  t.mutable_metrics()->set_f1(0.5);
  auto* prompt = t.add_segments();
  prompt->set_role(proto::ROLE_PROMPT);
  for (int i = 0; i < 4; ++i) {
    prompt->add_token_ids(10 + i);
    prompt->add_position_ids(i);
  }
  auto* model = t.add_segments();
  model->set_role(proto::ROLE_MODEL);
  model->set_policy_version(5);
  for (int i = 0; i < 3; ++i) {
    model->add_token_ids(kVocab - 1 - i);
    model->add_position_ids(4 + i);
    model->add_behaviour_logprobs(-0.25f * i);  // includes exactly 0
  }
  model->add_attends_to(0);
  auto* obs = t.add_segments();
  obs->set_role(proto::ROLE_OBSERVATION);
  obs->add_token_ids(0);
  obs->add_position_ids(7);
  obs->add_attends_to(0);
  obs->add_attends_to(1);
  return t;
}

std::string Validate(const proto::Trajectory& t, const WireLimits& limits = {}) {
  return ValidateTrajectory(t, limits, kVocab).ToString();
}

TEST(WireTest, ValidTrajectoryRoundTripsByteIdentically) {
  const proto::Trajectory t = ValidTrajectory();
  const std::string bytes = EncodeTrajectory(t);
  Result<proto::Trajectory> back = DecodeTrajectory(bytes.data(), bytes.size(), WireLimits{}, kVocab);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeTrajectory(back.value()), bytes);
  EXPECT_EQ(back->actor_id(), "actor-3");
  EXPECT_EQ(back->segments(1).token_ids(0), kVocab - 1);
  EXPECT_EQ(back->reward_components().at("format"), -0.5);
}

TEST(WireTest, EncodingIsDeterministicWhateverTheMapInsertionOrder) {
  proto::Trajectory a = ValidTrajectory();
  proto::Trajectory b = ValidTrajectory();
  a.mutable_reward_components()->clear();
  b.mutable_reward_components()->clear();
  const std::vector<std::string> names = {"z", "a", "m", "obj_0", "obj_1", "b"};
  for (size_t i = 0; i < names.size(); ++i) {
    (*a.mutable_reward_components())[names[i]] = static_cast<double>(i);
    (*b.mutable_reward_components())[names[names.size() - 1 - i]] = static_cast<double>(names.size() - 1 - i);
  }
  EXPECT_EQ(EncodeTrajectory(a), EncodeTrajectory(b));
}

TEST(WireTest, OversizedMessageIsRejectedBeforeParsing) {
  // Garbage would be DATA_LOSS if it were parsed; the size check must come first.
  const std::string garbage(1025, '\xff');
  WireLimits limits;
  limits.max_message_bytes = 1024;
  Result<proto::Trajectory> r = DecodeTrajectory(garbage.data(), garbage.size(), limits, kVocab);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("1025 bytes exceeds max_message_bytes 1024"), std::string::npos)
      << r.status().ToString();
}

TEST(WireTest, UnparseableBytesAreDataLoss) {
  const std::string garbage("\xff\xff\xff\xff\x0f garbage", 14);
  Result<proto::Trajectory> r = DecodeTrajectory(garbage.data(), garbage.size(), WireLimits{}, kVocab);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  // A truncated valid message too.
  const std::string bytes = EncodeTrajectory(ValidTrajectory());
  r = DecodeTrajectory(bytes.data(), bytes.size() - 3, WireLimits{}, kVocab);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
}

TEST(WireTest, ParsedButInvalidIsInvalidArgumentFromDecode) {
  proto::Trajectory t = ValidTrajectory();
  t.mutable_segments(1)->set_token_ids(0, kVocab);
  const std::string bytes = EncodeTrajectory(t);
  Result<proto::Trajectory> r = DecodeTrajectory(bytes.data(), bytes.size(), WireLimits{}, kVocab);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(WireTest, MessageNamesActorEpisodeSegmentAndValue) {
  proto::Trajectory t = ValidTrajectory();
  for (int i = 0; i < 2; ++i) {
    auto* s = t.add_segments();
    s->set_role(proto::ROLE_CONTEXT);
    s->add_token_ids(i == 1 ? 9001 : 1);
    s->add_position_ids(8 + i);
  }
  EXPECT_EQ(Validate(t),
            "INVALID_ARGUMENT: trajectory actor-3/17: segment 4: token id 9001 outside the vocabulary [0, 8192)");
}

TEST(WireTest, SchemaVersionMismatchSaysGotAndExpected) {
  proto::Trajectory t = ValidTrajectory();
  t.set_schema_version(static_cast<proto::SchemaVersion>(2));
  const std::string s = Validate(t);
  EXPECT_NE(s.find("schema_version 2, expected 1"), std::string::npos) << s;
  t.set_schema_version(proto::SCHEMA_VERSION_UNSPECIFIED);
  EXPECT_NE(Validate(t).find("schema_version 0, expected 1"), std::string::npos);
}

TEST(WireTest, UnknownActorIsNamedAsSuch) {
  proto::Trajectory t = ValidTrajectory();
  t.clear_actor_id();
  EXPECT_EQ(Validate(t), "INVALID_ARGUMENT: trajectory (no actor_id)/17: actor_id is empty");
}

struct BadCase {
  const char* name;
  std::function<void(proto::Trajectory*)> mutate;
  const char* expected;  // substring of the status message
};

TEST(WireTest, EveryRuleRejectsItsViolation) {
  const float kNan = std::numeric_limits<float>::quiet_NaN();
  const double kInf = std::numeric_limits<double>::infinity();
  const std::vector<BadCase> cases = {
      {"long actor id",  // named by its first 64 bytes
       [](auto* t) { t->set_actor_id(std::string(4097, 'a')); },
       "trajectory aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.../17: actor_id is 4097 bytes"},
      {"long env", [](auto* t) { t->set_env_name(std::string(4097, 'e')); }, "env_name is 4097 bytes"},
      {"long task", [](auto* t) { t->set_task_id(std::string(5000, 't')); }, "task_id is 5000 bytes"},
      {"long policy", [](auto* t) { t->set_context_policy(std::string(4097, 'p')); }, "context_policy is 4097"},
      {"long flag", [](auto* t) { t->add_format_errors(std::string(4097, 'f')); }, "format_errors flag is 4097"},
      {"long component", [](auto* t) { (*t->mutable_reward_components())[std::string(4097, 'c')] = 1; },
       "reward_components name is 4097"},
      {"nan component", [](auto* t) { (*t->mutable_reward_components())["em"] = NAN; }, "reward_components[\"em\"]"},
      {"negative policy version", [](auto* t) { t->set_policy_version(-1); }, "policy_version -1 is negative"},
      {"inf reward", [=](auto* t) { t->set_reward(kInf); }, "reward is not finite: inf"},
      {"nan wall seconds", [](auto* t) { t->mutable_metrics()->set_wall_seconds(NAN); }, "metrics.wall_seconds"},
      {"inf exact match", [=](auto* t) { t->mutable_metrics()->set_exact_match(-kInf); }, "metrics.exact_match"},
      {"nan f1", [](auto* t) { t->mutable_metrics()->set_f1(NAN); }, "metrics.f1"},
      {"negative temperature", [](auto* t) { t->set_sampling_temperature(-0.5f); }, "sampling_temperature -0.5"},
      {"nan temperature", [=](auto* t) { t->set_sampling_temperature(kNan); }, "sampling_temperature nan"},
      {"no segments", [](auto* t) { t->clear_segments(); }, "has no segments"},
      {"unspecified role", [](auto* t) { t->mutable_segments(0)->set_role(proto::ROLE_UNSPECIFIED); },
       "segment 0: role 0 is unspecified or unknown"},
      {"unknown role", [](auto* t) { t->mutable_segments(2)->set_role(static_cast<proto::SegmentRole>(99)); },
       "segment 2: role 99"},
      {"empty segment",
       [](auto* t) {
         t->mutable_segments(2)->clear_token_ids();
         t->mutable_segments(2)->clear_position_ids();
       },
       "segment 2: has no tokens"},
      {"short positions", [](auto* t) { t->mutable_segments(0)->mutable_position_ids()->RemoveLast(); },
       "segment 0: 3 position ids for 4 tokens"},
      {"negative position", [](auto* t) { t->mutable_segments(0)->set_position_ids(2, -1); },
       "segment 0: position id -1 at token 2 is negative"},
      {"negative token", [](auto* t) { t->mutable_segments(0)->set_token_ids(1, -5); },
       "segment 0: token id -5 outside the vocabulary [0, 8192)"},
      {"token == vocab", [](auto* t) { t->mutable_segments(1)->set_token_ids(2, 8192); },
       "segment 1: token id 8192 outside"},
      {"missing logprobs", [](auto* t) { t->mutable_segments(1)->mutable_behaviour_logprobs()->RemoveLast(); },
       "segment 1: 2 behaviour log-probs for 3 model tokens"},
      {"positive logprob", [](auto* t) { t->mutable_segments(1)->set_behaviour_logprobs(1, 0.5f); },
       "segment 1: behaviour log-prob 0.5 at token 1"},
      {"nan logprob", [=](auto* t) { t->mutable_segments(1)->set_behaviour_logprobs(0, kNan); },
       "segment 1: behaviour log-prob nan at token 0"},
      {"inf logprob", [=](auto* t) { t->mutable_segments(1)->set_behaviour_logprobs(2, -static_cast<float>(kInf)); },
       "behaviour log-prob -inf at token 2"},
      {"logprobs on observation", [](auto* t) { t->mutable_segments(2)->add_behaviour_logprobs(-1.0f); },
       "segment 2: 1 behaviour log-probs on a segment that is not ROLE_MODEL (role ROLE_OBSERVATION)"},
      {"attends to itself", [](auto* t) { t->mutable_segments(1)->add_attends_to(1); },
       "segment 1: attends_to 1 is not an earlier segment [0, 1)"},
      {"attends forward", [](auto* t) { t->mutable_segments(1)->set_attends_to(0, 2); },
       "segment 1: attends_to 2 is not an earlier segment"},
      {"attends negative", [](auto* t) { t->mutable_segments(2)->set_attends_to(0, -1); }, "segment 2: attends_to -1"},
      {"attends duplicate", [](auto* t) { t->mutable_segments(2)->set_attends_to(1, 0); },
       "segment 2: attends_to is not strictly increasing (0 then 0)"},
      {"attends decreasing",
       [](auto* t) {
         t->mutable_segments(2)->set_attends_to(0, 1);
         t->mutable_segments(2)->set_attends_to(1, 0);
       },
       "segment 2: attends_to is not strictly increasing (1 then 0)"},
      {"negative segment policy version", [](auto* t) { t->mutable_segments(1)->set_policy_version(-3); },
       "segment 1: policy_version -3 is negative"},
  };
  for (const BadCase& c : cases) {
    proto::Trajectory t = ValidTrajectory();
    c.mutate(&t);
    const Status s = ValidateTrajectory(t, WireLimits{}, kVocab);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << c.name << ": " << s.ToString();
    if (t.actor_id() == "actor-3") {
      EXPECT_EQ(s.message().rfind("trajectory actor-3/17: ", 0), 0u) << c.name << ": " << s.ToString();
    }
  }
}

TEST(WireTest, LimitsAreInclusive) {
  WireLimits limits;
  limits.max_segments = 3;
  limits.max_trajectory_tokens = 8;  // 4 + 3 + 1
  limits.max_string_bytes = 7;       // "actor-3"
  proto::Trajectory t = ValidTrajectory();
  t.set_env_name("1234567");
  t.set_task_id("1234567");
  EXPECT_EQ(Validate(t, limits), "OK");

  proto::Trajectory more_segments = t;
  auto* s = more_segments.add_segments();
  s->set_role(proto::ROLE_FORCED);
  s->add_token_ids(1);
  s->add_position_ids(8);
  EXPECT_NE(Validate(more_segments, limits).find("4 segments, over max_segments 3"), std::string::npos);

  proto::Trajectory more_tokens = t;
  more_tokens.mutable_segments(2)->add_token_ids(1);
  more_tokens.mutable_segments(2)->add_position_ids(8);
  EXPECT_NE(Validate(more_tokens, limits).find("more than max_trajectory_tokens 8 tokens (9 by segment 2)"),
            std::string::npos)
      << Validate(more_tokens, limits);

  proto::Trajectory long_string = t;
  long_string.set_task_id("12345678");
  EXPECT_NE(Validate(long_string, limits).find("task_id is 8 bytes, over max_string_bytes 7"), std::string::npos);
}

TEST(WireTest, TinyPositiveLogprobFromRoundingIsAccepted) {
  proto::Trajectory t = ValidTrajectory();
  t.mutable_segments(1)->set_behaviour_logprobs(0, 1e-4f);
  EXPECT_EQ(Validate(t), "OK");
  t.mutable_segments(1)->set_behaviour_logprobs(0, 2e-3f);
  EXPECT_NE(Validate(t), "OK");
}

TEST(WireTest, LargeTrajectoryValidatesInOnePass) {
  // 64 model segments of 4096 tokens each (2^18 tokens), each attending to every earlier one.
  proto::Trajectory t = ValidTrajectory();
  t.clear_segments();
  for (int i = 0; i < 64; ++i) {
    auto* s = t.add_segments();
    s->set_role(i == 0 ? proto::ROLE_PROMPT : proto::ROLE_MODEL);
    for (int k = 0; k < 4096; ++k) {
      s->add_token_ids((i * 4096 + k) % kVocab);
      s->add_position_ids(i * 4096 + k);
      if (i > 0) s->add_behaviour_logprobs(-1.0f);
    }
    for (int j = 0; j < i; ++j) s->add_attends_to(j);
  }
  const std::string bytes = EncodeTrajectory(t);
  Result<proto::Trajectory> r = DecodeTrajectory(bytes.data(), bytes.size(), WireLimits{}, kVocab);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->segments_size(), 64);
}

}  // namespace
}  // namespace mem1
