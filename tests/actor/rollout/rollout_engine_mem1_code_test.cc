// The rollout engine under the mem1-code presets (MEM1's training protocol): the chat
// template, the reference's context copy and information block, the observation cut, and
// sampling to EOS with MEM1's cut.
#include "actor/rollout/rollout_engine.h"

#include <gtest/gtest.h>

#include "actor/envs/scripted_env.h"
#include "common/memory/masked_sequence.h"
#include "tests/actor/rollout/rollout_engine_test_util.h"
#include "tests/common/model/test_util.h"

namespace mem1 {
namespace {

using rollout_testing::RolloutEngineTest;

// mem1-code: the chat template wraps the prompt (its tokens are prompt tokens: the prompt
// segment, which every turn attends to), the next context is the turn plus the reference's
// information block, and a turn without a complete action pair ends the episode with reward 0
// and no feedback turn.
TEST_F(RolloutEngineTest, Mem1CodeWrapsThePromptAndEndsOnAMalformedTurn) {
  class ThinkSearchThenSample : public ScriptedPolicy {
   public:
    std::optional<ScriptedTurn> Respond(const Environment&, int turn, const std::string&) override {
      if (turn == 0) return ScriptedTurn{"<think>n</think><search>word</search>", true};
      if (turn == 1) return ScriptedTurn{"<think>nothing to do</think>", true};
      return std::nullopt;
    }
  } teacher;
  RolloutOptions o;
  o.batch_size = 1;
  o.max_turns = 4;
  o.max_new_tokens_per_turn = 16;
  o.sampling.greedy = true;
  o.tag_preset = GetTagPreset("mem1-code").value();
  o.chat_template.kind = ChatTemplate::Kind::kChatMl;
  o.chat_template.system = "S";
  ScriptedEnvOptions env;
  env.observation_words = 3;
  auto trajs = Run(Model(8), o, 1, env, &teacher);
  ASSERT_EQ(trajs.size(), 1u);
  const auto& t = trajs[0];
  ScriptedEnv probe(0, env, o.tag_preset);
  const std::string prompt = probe.Prompt();
  auto decode = [&](const proto::Segment& s) {
    return tok_->Decode(std::vector<int32_t>(s.token_ids().begin(), s.token_ids().end()));
  };
  ASSERT_GE(t.segments_size(), 1);
  EXPECT_EQ(t.segments(0).role(), proto::ROLE_PROMPT);
  EXPECT_EQ(decode(t.segments(0)), "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n" + prompt +
                                       "<|im_end|>\n<|im_start|>assistant\n");
  std::string context;
  for (const auto& s : t.segments()) {
    if (s.role() == proto::ROLE_CONTEXT) { context = decode(s); break; }
  }
  EXPECT_EQ(context, "<think>n</think><search>word</search>\n\n<information>word word word</information>\n\n");
  EXPECT_EQ(t.metrics().turns(), 2);
  ASSERT_EQ(t.format_errors_size(), 1);
  EXPECT_EQ(t.format_errors(0), "no_action");
  EXPECT_TRUE(t.truncated());
  EXPECT_EQ(t.reward(), 0.0);
  // The template's tokens count in the peak (the prompt is in every turn's context).
  EXPECT_GE(t.metrics().peak_tokens(), static_cast<int64_t>(t.segments(0).token_ids_size()));
}

// MEM1's training rollout keeps an observation's first max_obs_length tokens: the context copy
// holds the turn and exactly that many observation tokens, and the cut is counted.
TEST_F(RolloutEngineTest, ObservationsAreCutToMaxObservationTokens) {
  class SearchOnce : public ScriptedPolicy {
   public:
    std::optional<ScriptedTurn> Respond(const Environment&, int turn, const std::string&) override {
      if (turn == 0) return ScriptedTurn{"<think>n</think><search>word</search>", true};
      return ScriptedTurn{"<think>n</think><answer>42</answer>", true};
    }
  } teacher;
  auto run = [&](int64_t cap, RolloutStats* stats) {
    RolloutOptions o;
    o.batch_size = 1;
    o.max_turns = 3;
    o.max_new_tokens_per_turn = 16;
    o.sampling.greedy = true;
    o.tag_preset = GetTagPreset("mem1-code").value();
    o.max_observation_tokens = cap;
    ScriptedEnvOptions env;
    env.observation_words = 40;
    RolloutEngine engine(Model(8), tok_, o);
    ScriptedTaskSource tasks(1, env, o.tag_preset);
    std::vector<proto::Trajectory> out;
    EXPECT_TRUE(engine.Run(&tasks, [&](proto::Trajectory&& t) { out.push_back(std::move(t)); }, &teacher).ok());
    *stats = engine.stats();
    EXPECT_EQ(out.size(), 1u);
    std::vector<int32_t> context;
    for (const auto& seg : out.at(0).segments()) {
      if (seg.role() == proto::ROLE_CONTEXT) {
        context.assign(seg.token_ids().begin(), seg.token_ids().end());
        break;
      }
    }
    return context;
  };
  RolloutStats full_stats, cut_stats;
  const std::vector<int32_t> full = run(0, &full_stats);
  const std::vector<int32_t> turn = tok_->Encode("<think>n</think><search>word</search>");
  ASSERT_GT(full.size(), turn.size() + 12);
  EXPECT_EQ(full_stats.observations_cut, 0);
  const int64_t observation = static_cast<int64_t>(full.size() - turn.size());
  // The boundary: a cap equal to the observation's length keeps all of it.
  RolloutStats boundary_stats;
  EXPECT_EQ(run(observation, &boundary_stats), full);
  EXPECT_EQ(boundary_stats.observations_cut, 0);
  const std::vector<int32_t> cut = run(12, &cut_stats);
  EXPECT_EQ(cut_stats.observations_cut, 1);
  ASSERT_EQ(cut.size(), turn.size() + 12);
  EXPECT_EQ(cut, std::vector<int32_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut.size())));
}

// MEM1's training rollout samples each turn to EOS and then cuts the text at the first
// </answer>, else the first </search> (sample_to_eos): the turn keeps its tokens up to the cut,
// the sampled rest is dropped (counted), and the kept tokens' behaviour log-probs still
// reproduce under the learner's masked re-scoring. Greedy turns stop at the tags as before.
TEST_F(RolloutEngineTest, SampledTurnsRunToEosAndAreCutAsMem1Cuts) {
  class SearchPrefixThenAnswer : public ScriptedPolicy {
   public:
    std::optional<ScriptedTurn> Respond(const Environment&, int turn, const std::string&) override {
      // Turn 0: an incomplete scripted prefix the model continues (sampled) after </search>.
      if (turn == 0) return ScriptedTurn{"<think>n</think><search>word</search>", false};
      return ScriptedTurn{"<think>n</think><answer>42</answer>", true};
    }
  } teacher;
  const std::string search_turn = "<think>n</think><search>word</search>";
  for (const bool greedy : {false, true}) {
    for (const bool to_eos : {true, false}) {
      RolloutOptions o = SampledOptions("mem1", /*batch=*/2, /*max_turns=*/3, /*max_new=*/48, /*seed=*/5);
      o.tag_preset = GetTagPreset("mem1-code").value();
      o.sampling.greedy = greedy;
      o.sample_to_eos = to_eos;
      ScriptedEnvOptions env;
      env.observation_words = 3;
      auto m = Model(3);
      RolloutEngine engine(m, tok_, o);
      ScriptedTaskSource tasks(4, env, o.tag_preset);
      std::vector<proto::Trajectory> trajs;
      ASSERT_TRUE(engine.Run(&tasks, [&](proto::Trajectory&& t) { trajs.push_back(std::move(t)); }, &teacher).ok());
      ASSERT_EQ(trajs.size(), 4u);
      const std::string what = std::string(greedy ? "greedy" : "sampled") + (to_eos ? " to_eos" : " tags");
      // Only sampled turns run on past the tag.
      if (to_eos && !greedy) {
        EXPECT_GT(engine.stats().tokens_after_cut, 0) << what;
      } else {
        EXPECT_EQ(engine.stats().tokens_after_cut, 0) << what;
      }
      int64_t scored = 0;
      for (const auto& t : trajs) {
        ASSERT_GE(t.segments_size(), 3) << what;
        const auto& first = t.segments(1);
        ASSERT_EQ(first.role(), proto::ROLE_MODEL) << what;
        EXPECT_EQ(tok_->Decode(std::vector<int32_t>(first.token_ids().begin(), first.token_ids().end())), search_turn)
            << what;
        std::string context;
        for (const auto& s : t.segments()) {
          if (s.role() == proto::ROLE_CONTEXT) {
            context = tok_->Decode(std::vector<int32_t>(s.token_ids().begin(), s.token_ids().end()));
            break;
          }
        }
        EXPECT_EQ(context, search_turn + "\n\n<information>word word word</information>\n\n") << what;
        EXPECT_EQ(t.metrics().turns(), 2) << what;
        EXPECT_EQ(t.format_errors_size(), 0) << what;
        EXPECT_LE(MaxLogprobError(m, t, &scored), 1e-4) << what;
      }
      EXPECT_GT(scored, 0) << what;
    }
  }
}

}  // namespace
}  // namespace mem1
