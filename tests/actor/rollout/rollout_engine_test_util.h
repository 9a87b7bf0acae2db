// Shared by the rollout engine test files: the fixture (a SentencePiece tokenizer with the MEM1
// tags, trained once per suite; tiny models; sampled-run options; trajectory comparison and the
// one-forward behaviour log-prob check).
#ifndef MEM1_TESTS_ACTOR_ROLLOUT_ROLLOUT_ENGINE_TEST_UTIL_H_
#define MEM1_TESTS_ACTOR_ROLLOUT_ROLLOUT_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "actor/envs/scripted_env.h"
#include "actor/rollout/rollout_engine.h"
#include "common/memory/masked_sequence.h"
#include "tests/common/model/test_util.h"

namespace mem1::rollout_testing {

namespace fs = std::filesystem;

// A SentencePiece tokenizer with the MEM1 tags, trained once for the suite.
class RolloutEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("mem1_rollout_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    {
      std::ofstream c(*dir_ / "corpus.txt");
      const char* lines[] = {"Task 1: find the number. Keep your notes in <IS></IS> and act.",
                             "<IS>note about the number</IS><query>word word</query>",
                             "<info>word word word word</info>", "<IS>done</IS><answer>42</answer>",
                             "Your previous output was invalid: it has no internal state."};
      for (int i = 0; i < 400; ++i) c << lines[i % 5] << " " << i << "\n";
    }
    SentencePieceTrainOptions o;
    o.corpus = (*dir_ / "corpus.txt").string();
    o.model_prefix = (*dir_ / "sp").string();
    o.vocab_size = 400;
    ASSERT_TRUE(TrainSentencePiece(o).ok());
    tok_ = LoadTokenizer((*dir_ / "sp.model").string()).value().release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static Qwen2ForCausalLM Model(uint64_t seed) {
    Qwen2Config c = mem1::testing::TinyConfig();
    c.vocab_size = tok_->vocab_size();
    Qwen2ForCausalLM m(c);
    m->InitWeights(seed, 0.3);
    m->eval();
    return m;
  }

  static std::vector<proto::Trajectory> Run(Qwen2ForCausalLM m, RolloutOptions o, int episodes,
                                            const ScriptedEnvOptions& env, ScriptedPolicy* teacher = nullptr) {
    RolloutEngine engine(m, tok_, o);
    ScriptedTaskSource tasks(episodes, env, o.tag_preset);
    std::vector<proto::Trajectory> out;
    auto st = engine.Run(&tasks, [&](proto::Trajectory&& t) { out.push_back(std::move(t)); }, teacher);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // Max |recomputed - recorded| log-prob over all model tokens, from ONE forward over the
  // masked sequence.
  // Sampled rollouts (temperature 1) of `policy` in 1024-token KV slots.
  static RolloutOptions SampledOptions(const char* policy, int64_t batch, int max_turns, int64_t max_new, uint64_t seed) {
    RolloutOptions o;
    o.policy = ContextPolicy::Parse(policy).value();
    o.batch_size = batch;
    o.max_turns = max_turns;
    o.max_new_tokens_per_turn = max_new;
    o.slot_capacity = 1024;
    o.sampling.temperature = 1.0;
    o.sampling.seed = seed;
    return o;
  }

  // Expects the same episodes (by task id) with the same segments, tokens, positions, rewards,
  // peaks and behaviour log-probs (within 1e-4); returns how many log-probs were compared.
  static int64_t ExpectSameTrajectories(const std::map<std::string, proto::Trajectory>& a,
                                        const std::map<std::string, proto::Trajectory>& b) {
    int64_t compared_logprobs = 0;
    for (const auto& [task, ta] : a) {
      EXPECT_EQ(b.count(task), 1u) << task;
      if (b.count(task) != 1) continue;
      const auto& tb = b.at(task);
      EXPECT_EQ(ta.segments_size(), tb.segments_size()) << task;
      for (int s = 0; s < std::min(ta.segments_size(), tb.segments_size()); ++s) {
        const auto& sa = ta.segments(s);
        const auto& sb = tb.segments(s);
        EXPECT_EQ(sa.role(), sb.role()) << task << " segment " << s;
        EXPECT_EQ(std::vector<int>(sa.token_ids().begin(), sa.token_ids().end()),
                  std::vector<int>(sb.token_ids().begin(), sb.token_ids().end()))
            << task << " segment " << s;
        EXPECT_EQ(std::vector<int>(sa.position_ids().begin(), sa.position_ids().end()),
                  std::vector<int>(sb.position_ids().begin(), sb.position_ids().end()))
            << task << " segment " << s;
        EXPECT_EQ(sa.behaviour_logprobs_size(), sb.behaviour_logprobs_size()) << task << " segment " << s;
        for (int i = 0; i < std::min(sa.behaviour_logprobs_size(), sb.behaviour_logprobs_size()); ++i) {
          EXPECT_NEAR(sa.behaviour_logprobs(i), sb.behaviour_logprobs(i), 1e-4) << task << " segment " << s << " token " << i;
          ++compared_logprobs;
        }
      }
      EXPECT_EQ(ta.reward(), tb.reward()) << task;
      EXPECT_EQ(ta.metrics().peak_tokens(), tb.metrics().peak_tokens()) << task;
    }
    return compared_logprobs;
  }

  static float MaxLogprobError(Qwen2ForCausalLM& m, const proto::Trajectory& t, int64_t* scored) {
    auto seq = BuildMaskedSequence(t);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    const int64_t T = seq->length;
    auto tokens = torch::tensor(std::vector<int64_t>(seq->tokens.begin(), seq->tokens.end())).view({1, T});
    auto pos = torch::tensor(std::vector<int64_t>(seq->positions.begin(), seq->positions.end())).view({1, T});
    auto dense = DenseMask(*seq);
    auto mask = torch::from_blob(dense.data(), {1, T, T}, torch::kUInt8).to(torch::kBool);
    torch::NoGradGuard g;
    auto logp = torch::log_softmax(m->Forward(tokens, pos, mask, false).logits[0] / t.sampling_temperature(), -1);
    float worst = 0;
    for (int64_t i = 0; i < T; ++i) {
      if (!seq->loss_mask[i]) continue;
      ++*scored;
      worst = std::max(worst, std::abs(logp[i - 1][seq->tokens[i]].item<float>() - seq->behaviour_logprobs[i]));
    }
    return worst;
  }

  inline static fs::path* dir_ = nullptr;
  inline static Tokenizer* tok_ = nullptr;
};

}  // namespace mem1::rollout_testing

#endif  // MEM1_TESTS_ACTOR_ROLLOUT_ROLLOUT_ENGINE_TEST_UTIL_H_
