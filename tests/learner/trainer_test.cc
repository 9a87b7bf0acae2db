#include "learner/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <unistd.h>

#include "common/memory/trajectory_layout.h"
#include "common/storage/trajectory_store.h"
#include "learner/losses.h"
#include "learner/scoring.h"
#include "learner/trajectory_source.h"
#include "tests/common/model/test_util.h"
#include "learner/synthetic_trajectories.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;
using mem1::testing::TinyModel;

LearnerOptions Options(const std::string& algorithm) {
  LearnerOptions o;
  o.ppo.algorithm = ParseAlgorithm(algorithm).value();
  o.micro_batch_tokens = 96;  // several micro-batches: exercises gradient accumulation
  o.optim.actor_lr = 1e-3;
  o.optim.critic_lr = 1e-2;
  o.total_steps = 10;
  return o;
}

TEST(TrainerTest, MaskedSinglePassLossEqualsSumOfPerTurnLosses) {
  auto m = TinyModel(31);
  const auto t = SyntheticMem1Trajectory(5, 97, 4, 0);
  auto seq = BuildMaskedSequence(t).value();
  torch::NoGradGuard g;
  auto single = ScoreSequences(m, {&seq}, {1.0f}, true);
  // Per-turn passes on each turn's real context.
  std::vector<torch::Tensor> logp, values, entropy;
  auto turns = BuildPerTurnSequences(t).value();
  ASSERT_EQ(turns.size(), 4u);
  for (const auto& turn : turns) {
    auto sc = ScoreSequences(m, {&turn}, {1.0f}, true);
    logp.push_back(sc.logp);
    values.push_back(sc.values);
    entropy.push_back(sc.entropy);
  }
  auto lp = torch::cat(logp), v = torch::cat(values), e = torch::cat(entropy);
  ASSERT_EQ(lp.numel(), single.logp.numel());
  // The same PPO objective evaluated both ways.
  const int64_t n = lp.numel();
  auto adv = torch::linspace(-1.0, 1.0, n), prox = single.logp - 0.05, w = torch::ones({n});
  auto ret = torch::linspace(0.0, 1.0, n), old_v = single.values + 0.1;
  auto loss = [&](const torch::Tensor& l, const torch::Tensor& val, const torch::Tensor& ent) {
    return (PpoPolicyTerms(l, prox, adv, w, 0.2) + 0.5 * ValueTerms(val, old_v, ret, 0.2) - 0.001 * ent +
            0.001 * KlTerms(l, prox))
        .sum()
        .item<double>();
  };
  const double a = loss(single.logp, single.values, single.entropy), b = loss(lp, v, e);
  EXPECT_LE(std::abs(a - b), 1e-5 * std::abs(b)) << a << " vs " << b;
  EXPECT_LE((single.logp - lp).abs().max().item<float>(), 1e-5);
}

TEST(TrainerTest, BlockSparseAttentionEqualsDenseMaskedAttention) {
  auto m = TinyModel(33);
  std::vector<MaskedSequence> seqs;
  for (int i = 0; i < 3; ++i) seqs.push_back(BuildMaskedSequence(SyntheticMem1Trajectory(40 + i, 97, 2 + 2 * i, 0)).value());
  {
    // A full-policy episode (with an engine-forced run) and a window:4 one, laid out by the
    // engine's layout builder: blocks merge across a turn and its observation there.
    for (const char* policy : {"full", "window:4"}) {
      proto::Trajectory t;
      TrajectoryLayout layout(ContextPolicy::Parse(policy).value(), {1, 2, 3, 4}, &t);
      layout.AddTurn({5, 6, 7}, {-1.f, -2.f, -3.f}, {0, 0, 1}, 0, 0);
      layout.Observe({8, 9}, 1);
      layout.AddTurn({10, 11}, {-1.f, -1.5f}, {0, 0}, 0, 1);
      layout.Observe({12}, 2);
      layout.AddTurn({13}, {-0.5f}, {0}, 0, 2);
      t.set_sampling_temperature(1.0f);
      seqs.push_back(BuildMaskedSequence(t).value());
    }
  }
  std::vector<const MaskedSequence*> ptrs = {&seqs[0], &seqs[1], &seqs[2], &seqs[3], &seqs[4]};
  const std::vector<float> temps = {1.0f, 0.7f, 1.0f, 1.0f, 0.9f};
  // Blocks really skip keys: a 6-turn mem1 sequence needs far fewer scores than T^2.
  const auto blocks = AttentionBlocksFromSpans(seqs[2], torch::kCPU);
  int64_t scored = 0;
  for (const auto& b : blocks) scored += (b.q_end - b.q_begin) * b.keys.numel();
  EXPECT_LT(scored, seqs[2].length * seqs[2].length / 2);
  // The span plan and the plan read from the dense mask give the same attention output.
  for (const auto& s : seqs) {
    const auto dense_mask = DenseMask(s);
    const auto from_mask = AttentionBlocksFromMask(dense_mask.data(), s.length, torch::kCPU);
    const auto from_spans = AttentionBlocksFromSpans(s, torch::kCPU);
    std::vector<int64_t> tok(s.tokens.begin(), s.tokens.end()), pos(s.positions.begin(), s.positions.end());
    auto x = torch::tensor(tok).view({1, -1}), p = torch::tensor(pos).view({1, -1});
    torch::NoGradGuard ng;
    auto a = m->HiddenBlocked(x, p, from_mask), b = m->HiddenBlocked(x, p, from_spans);
    EXPECT_LE((a - b).abs().max().item<float>(), 1e-5);
    EXPECT_LE(from_spans.size(), from_mask.size());
  }
  auto dense = ScoreSequences(m, ptrs, temps, true, AttentionMode::kDense);
  auto sparse = ScoreSequences(m, ptrs, temps, true, AttentionMode::kBlockSparse);
  EXPECT_EQ(dense.counts, sparse.counts);
  EXPECT_LE((dense.logp - sparse.logp).abs().max().item<float>(), 1e-5);
  EXPECT_LE((dense.values - sparse.values).abs().max().item<float>(), 1e-5);
  EXPECT_LE((dense.entropy - sparse.entropy).abs().max().item<float>(), 1e-5);
  // Gradients agree too.
  auto grads = [&](AttentionMode mode) {
    m->zero_grad();
    auto sc = ScoreSequences(m, ptrs, temps, false, mode);
    (sc.logp.sum() + sc.values.sum()).backward();
    std::vector<torch::Tensor> g;
    for (auto& p : m->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  auto gd = grads(AttentionMode::kDense), gs = grads(AttentionMode::kBlockSparse);
  for (size_t i = 0; i < gd.size(); ++i) {
    EXPECT_LE((gd[i] - gs[i]).abs().max().item<float>(), 1e-4 * (1 + gd[i].abs().max().item<float>())) << i;
  }
}

std::vector<torch::Tensor> Params(Trainer& t) {
  std::vector<torch::Tensor> out;
  for (auto& p : t.policy()->parameters()) out.push_back(p.detach().clone());
  return out;
}

TEST(TrainerTest, ResumeFromCheckpointIsBitExact) {
  for (const char* algorithm : {"ppo", "grpo", "sft"}) {
    const fs::path dir = fs::temp_directory_path() / ("mem1_resume_" + std::to_string(::getpid()) + algorithm);
    auto comm = MakeLocalCommunicator();
    auto batch_for = [](int64_t step, int64_t version) { return SyntheticBatch(100 + step * 8, 8, 97, version); };
    torch::manual_seed(1);
    Trainer straight(TinyModel(41), Options(algorithm), comm.get());
    for (int s = 0; s < 6; ++s) {
      ASSERT_TRUE(straight.Step(batch_for(straight.data_cursor(), straight.policy_version())).ok());
      straight.set_data_cursor(straight.data_cursor() + 1);
    }
    torch::manual_seed(1);
    {
      Trainer first(TinyModel(41), Options(algorithm), comm.get());
      for (int s = 0; s < 3; ++s) {
        ASSERT_TRUE(first.Step(batch_for(first.data_cursor(), first.policy_version())).ok());
        first.set_data_cursor(first.data_cursor() + 1);
      }
      ASSERT_TRUE(first.Save(CheckpointPath(dir.string(), first.step()), "run: {}").ok());
    }  // "killed"
    torch::manual_seed(999);  // resume restores the RNG itself
    Trainer resumed(TinyModel(77), Options(algorithm), comm.get());  // different init: everything comes from the file
    auto latest = LatestCheckpoint(dir.string());
    ASSERT_TRUE(latest.ok());
    ASSERT_TRUE(resumed.Load(*latest).ok());
    EXPECT_EQ(resumed.step(), 3);
    EXPECT_EQ(resumed.data_cursor(), 3);  // no task replayed or skipped
    // The schedule continues where it stopped: steps 3, 4, 5 of the cosine over total_steps
    // 10 (no warm-up, floor 0.1), not steps 0, 1, 2 again.
    for (int s = 3; s < 6; ++s) {
      auto st = resumed.Step(batch_for(resumed.data_cursor(), resumed.policy_version()));
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      EXPECT_NEAR(st->lr, 1e-3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * s / 10.0))), 1e-15) << algorithm << " step " << s;
      EXPECT_EQ(st->step, s + 1);
      resumed.set_data_cursor(resumed.data_cursor() + 1);
    }
    EXPECT_EQ(resumed.policy_version(), straight.policy_version());
    auto a = Params(straight), b = Params(resumed);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << algorithm << " param " << i;
    fs::remove_all(dir);
  }
}

TEST(TrainerTest, CorruptOrMismatchedCheckpointsAreClearErrors) {
  const fs::path dir = fs::temp_directory_path() / ("mem1_badckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto comm = MakeLocalCommunicator();
  Trainer t(TinyModel(1), Options("ppo"), comm.get());
  const std::string path = (dir / "x.h5").string();
  ASSERT_TRUE(t.Save(path, "").ok());
  fs::resize_file(path, fs::file_size(path) / 2);
  auto st = t.Load(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path), std::string::npos);
  auto missing = t.Load((dir / "none.h5").string());
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_FALSE(LatestCheckpoint(dir.string()).ok());
  fs::remove_all(dir);
}

Qwen2ForCausalLM ModelOf(const Qwen2Config& c, uint64_t seed) {
  Qwen2ForCausalLM m(c);
  m->InitWeights(seed, 0.2);
  return m;
}

// A checkpoint only loads into the model shape it was written from. Any other shape is a
// clear error naming the file (and the tensor or config field that differs), never a crash,
// and the trainer keeps its own weights and step.
TEST(TrainerTest, CheckpointOfAnotherModelShapeIsAClearErrorAndLoadsNothing) {
  const fs::path dir = fs::temp_directory_path() / ("mem1_shape_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto comm = MakeLocalCommunicator();
  const auto base = mem1::testing::TinyConfig();
  auto edited = [&](auto edit) {
    Qwen2Config c = base;
    edit(c);
    return c;
  };
  const Qwen2Config deeper = edited([](Qwen2Config& c) { c.num_hidden_layers = 3; });
  const std::string small_ckpt = (dir / "small.h5").string(), deep_ckpt = (dir / "deep.h5").string();
  {
    Trainer small(TinyModel(1), Options("ppo"), comm.get());
    ASSERT_TRUE(small.Step(SyntheticBatch(1, 4, 97, 0)).ok());
    ASSERT_TRUE(small.Save(small_ckpt, "").ok());
    Trainer deep(ModelOf(deeper, 2), Options("ppo"), comm.get());
    ASSERT_TRUE(deep.Save(deep_ckpt, "").ok());
  }
  struct Case {
    std::string what, checkpoint;
    Qwen2Config model;
    std::string names;  // a tensor or field the message must name
  };
  const std::vector<Case> cases = {
      {"wider MLP", small_ckpt, edited([](Qwen2Config& c) { c.intermediate_size = 64; }), "intermediate_size"},
      {"larger vocabulary", small_ckpt, edited([](Qwen2Config& c) { c.vocab_size = 101; }), "vocab_size"},
      {"one layer more", small_ckpt, deeper, "num_hidden_layers"},
      {"untied lm_head", small_ckpt, edited([](Qwen2Config& c) { c.tie_word_embeddings = false; }), "tie_word_embeddings"},
      // Every tensor of the smaller model exists in the deeper checkpoint with the same shape:
      // loading it would silently drop a layer.
      {"one layer fewer", deep_ckpt, base, "num_hidden_layers"},
  };
  for (const auto& c : cases) {
    Trainer other(ModelOf(c.model, 3), Options("ppo"), comm.get());
    const auto before = Params(other);
    Status st;
    ASSERT_NO_THROW(st = other.Load(c.checkpoint)) << c.what;
    ASSERT_FALSE(st.ok()) << c.what;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.what << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.checkpoint), std::string::npos) << c.what << ": " << st.message();
    EXPECT_NE(st.message().find(c.names), std::string::npos) << c.what << ": " << st.message();
    EXPECT_EQ(other.step(), 0) << c.what;
    const auto after = Params(other);
    for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << c.what << " param " << i;
  }
  // The same shape loads (the check is not too strict).
  Trainer same(TinyModel(5), Options("ppo"), comm.get());
  ASSERT_TRUE(same.Load(small_ckpt).ok());
  EXPECT_EQ(same.step(), 1);
  fs::remove_all(dir);
}

// A checkpoint without the reference policy (written by SFT) loaded into a PPO trainer, which
// keeps one: an error naming the missing tensor, and nothing of the file is applied.
TEST(TrainerTest, CheckpointMissingTheReferencePolicyLoadsNothing) {
  const fs::path dir = fs::temp_directory_path() / ("mem1_ref_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto comm = MakeLocalCommunicator();
  const std::string path = (dir / "sft.h5").string();
  {
    Trainer sft(TinyModel(1), Options("sft"), comm.get());
    ASSERT_TRUE(sft.Step(SyntheticBatch(1, 4, 97, 0)).ok());
    ASSERT_TRUE(sft.Save(path, "").ok());
  }
  Trainer ppo(TinyModel(2), Options("ppo"), comm.get());
  const auto before = Params(ppo);
  auto st = ppo.Load(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("reference/"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_EQ(ppo.step(), 0);
  const auto after = Params(ppo);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << "param " << i;
  fs::remove_all(dir);
}

// Resume takes the newest checkpoint (LatestCheckpoint, then Load: what `--resume` does).
// A half-written save never counts (it is a .tmp until renamed). A newest checkpoint that is
// damaged afterwards (truncated; a stretch of the file overwritten; or only the bytes of one
// weight tensor flipped, no HDF5 structure touched) fails the resume with an error naming it,
// before anything is applied (never wrong weights); the older good checkpoint still restores
// its step exactly.
TEST(TrainerTest, CorruptNewestCheckpointFailsTheResumeClearlyAndTheOlderOneStillLoads) {
  auto comm = MakeLocalCommunicator();
  for (const char* damage : {"truncated", "overwritten", "tensor bytes flipped"}) {
    const fs::path dir = fs::temp_directory_path() / ("mem1_corrupt_ckpt_" + std::to_string(::getpid()) + damage);
    fs::remove_all(dir);
    std::vector<torch::Tensor> at_step2;
    std::string embed_bytes;  // the first 256 bytes of the step-4 embedding weights
    {
      Trainer t(TinyModel(11), Options("ppo"), comm.get());
      for (int s = 0; s < 2; ++s) ASSERT_TRUE(t.Step(SyntheticBatch(10 + 4 * s, 4, 97, t.policy_version())).ok());
      ASSERT_TRUE(t.Save(CheckpointPath(dir.string(), 2), "").ok());
      at_step2 = Params(t);
      for (int s = 2; s < 4; ++s) ASSERT_TRUE(t.Step(SyntheticBatch(10 + 4 * s, 4, 97, t.policy_version())).ok());
      ASSERT_TRUE(t.Save(CheckpointPath(dir.string(), 4), "").ok());
      auto w = t.policy()->model->embed_tokens->weight.detach().contiguous();
      embed_bytes.assign(reinterpret_cast<const char*>(w.data_ptr<float>()), 256);
    }
    // A save that died before its rename: ignored.
    std::ofstream(CheckpointPath(dir.string(), 6) + ".tmp") << "half a checkpoint";
    const std::string newest = CheckpointPath(dir.string(), 4);
    const auto size = fs::file_size(newest);
    if (std::string(damage) == "truncated") {
      fs::resize_file(newest, size / 3);
    } else if (std::string(damage) == "tensor bytes flipped") {
      std::string bytes;
      {
        std::ifstream in(newest, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      const size_t at = bytes.find(embed_bytes);
      ASSERT_NE(at, std::string::npos) << "params/model.embed_tokens.weight is not stored as raw floats";
      for (size_t i = at; i < at + embed_bytes.size(); ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x40);
      std::ofstream(newest, std::ios::binary | std::ios::trunc) << bytes;
    } else {
      // Overwrite a stretch in the middle, where the tensors are (HDF5 keeps metadata at both ends).
      std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size / 2));
      const std::string junk(4096, '\x5a');
      f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    auto latest = LatestCheckpoint(dir.string());
    ASSERT_TRUE(latest.ok()) << latest.status().ToString();
    EXPECT_EQ(*latest, newest) << damage;
    Trainer resumed(TinyModel(77), Options("ppo"), comm.get());
    const auto before = Params(resumed);
    Status st;
    ASSERT_NO_THROW(st = resumed.Load(*latest)) << damage;
    EXPECT_FALSE(st.ok()) << damage << ": a damaged checkpoint loaded";
    EXPECT_NE(st.message().find(newest), std::string::npos) << damage << ": " << st.message();
    EXPECT_EQ(resumed.step(), 0) << damage;
    const auto after = Params(resumed);
    for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << damage << " param " << i;
    // The older checkpoint is intact and restores step 2 exactly.
    ASSERT_TRUE(resumed.Load(CheckpointPath(dir.string(), 2)).ok()) << damage;
    EXPECT_EQ(resumed.step(), 2);
    const auto restored = Params(resumed);
    for (size_t i = 0; i < at_step2.size(); ++i) EXPECT_TRUE(torch::equal(at_step2[i], restored[i])) << damage << " param " << i;
    fs::remove_all(dir);
  }
}

TEST(TrainerTest, StaleTrajectoriesAreDroppedAndCountedWithinLagUseBehaviourLogprobs) {
  auto comm = MakeLocalCommunicator();
  auto opts = Options("ppo");
  opts.ppo.max_policy_lag = 1;
  opts.ppo.kl_coef = 0;
  Trainer t(TinyModel(51), opts, comm.get());
  // Advance to version 2.
  ASSERT_TRUE(t.Step(SyntheticBatch(1, 4, 97, 0)).ok());
  ASSERT_TRUE(t.Step(SyntheticBatch(5, 4, 97, 1)).ok());
  ASSERT_EQ(t.policy_version(), 2);
  // One trajectory 2 versions old (dropped), three 1 version old (admitted) whose behaviour
  // log-probs are the current policy's minus 0.5: importance weight exp(0.5) each.
  auto batch = SyntheticBatch(20, 4, 97, 1);
  batch[0].set_policy_version(0);
  for (size_t i = 1; i < batch.size(); ++i) {
    auto seq = BuildMaskedSequence(batch[i]).value();
    TokenScores sc;
    {
      torch::NoGradGuard g;
      sc = ScoreSequences(t.policy(), {&seq}, {1.0f}, false);
    }
    int64_t k = 0;
    for (auto& seg : *batch[i].mutable_segments()) {
      for (auto& lp : *seg.mutable_behaviour_logprobs()) lp = sc.logp[k++].item<float>() - 0.5f;
    }
  }
  auto st = t.Step(batch).value();
  EXPECT_EQ(st.stale_dropped, 1);
  EXPECT_EQ(st.trajectories, 3);
  EXPECT_NEAR(st.is_weight_mean, std::exp(0.5), 1e-4);
  // With the cap below exp(0.5), the weight is truncated.
  auto capped = opts;
  capped.ppo.is_weight_cap = 1.2;
  Trainer t2(TinyModel(51), capped, comm.get());
  batch[0].set_policy_version(0);
  for (auto& b : batch) b.set_policy_version(0);
  auto st2 = t2.Step(std::vector<proto::Trajectory>(batch.begin() + 1, batch.end())).value();
  EXPECT_LE(st2.is_weight_mean, 1.2 + 1e-6);
}

TEST(TrainerTest, SftReducesTokenNll) {
  auto comm = MakeLocalCommunicator();
  auto opts = Options("sft");
  opts.optim.actor_lr = 3e-3;
  opts.optim.min_lr_ratio = 1.0;
  Trainer t(TinyModel(61), opts, comm.get());
  auto batch = SyntheticBatch(200, 6, 97, 0);
  const double first = t.Step(batch).value().loss;
  double last = first;
  for (int i = 0; i < 30; ++i) last = t.Step(batch).value().loss;
  EXPECT_LT(last, 0.5 * first) << first << " -> " << last;
}

// SFT's auxiliary LM loss scores every non-model token except the first of its segment (each
// predicted from inside its own segment); the model-token NLL is still reported on its own.
TEST(TrainerTest, SftLmLossScoresTheInSegmentNonModelTokensAndKeepsTheModelNllApart) {
  auto comm = MakeLocalCommunicator();
  auto batch = SyntheticBatch(270, 4, 97, 0);
  // Hand count and reference NLL of the LM tokens, from the segments.
  int64_t lm_tokens = 0;
  double lm_nll = 0;
  auto reference = TinyModel(65);
  {
    torch::NoGradGuard g;
    for (const auto& tr : batch) {
      auto seq = BuildMaskedSequence(tr).value();
      MaskedSequence only_lm = seq;
      std::fill(only_lm.loss_mask.begin(), only_lm.loss_mask.end(), 0);
      for (int s = 0; s < tr.segments_size(); ++s) {
        if (tr.segments(s).role() == proto::ROLE_MODEL) continue;
        const auto& span = seq.segments[s];
        for (int64_t i = std::max<int64_t>(span.begin + 1, 1); i < span.end; ++i) only_lm.loss_mask[i] = 1;
        lm_tokens += std::max<int64_t>(0, span.end - span.begin - 1);
      }
      auto sc = ScoreSequences(reference, {&only_lm}, {tr.sampling_temperature() > 0 ? tr.sampling_temperature() : 1.f}, false);
      lm_nll += -sc.logp.sum().item<double>();
    }
  }
  ASSERT_GT(lm_tokens, 0);
  auto opts = Options("sft");
  opts.ppo.sft_lm_weight = 0.5;
  Trainer plain(TinyModel(65), Options("sft"), comm.get());
  const double model_nll = plain.HeldOutNll(batch).value();
  const auto base = plain.Step(batch).value();
  EXPECT_EQ(base.lm_tokens, 0);
  EXPECT_EQ(base.lm_loss, 0);
  Trainer t(TinyModel(65), opts, comm.get());
  const auto st = t.Step(batch).value();
  EXPECT_EQ(st.lm_tokens, lm_tokens);
  EXPECT_EQ(st.tokens, base.tokens);  // model tokens only
  EXPECT_NEAR(st.policy_loss, model_nll, 1e-5 * model_nll);
  EXPECT_NEAR(st.lm_loss, lm_nll / lm_tokens, 1e-5 * st.lm_loss);
  const double expected = (model_nll * st.tokens + 0.5 * lm_nll) / (st.tokens + 0.5 * lm_tokens);
  EXPECT_NEAR(st.loss, expected, 1e-5 * expected);
  // The LM term changes the update: the two policies differ after one step.
  EXPECT_NE(t.HeldOutNll(batch).value(), plain.HeldOutNll(batch).value());
}

// A NaN/Inf gradient norm skips the update (weights and AdamW state unchanged) and, three
// steps in a row, fails the step with DATA_LOSS instead of training on garbage.
TEST(TrainerTest, NonFiniteGradientSkipsTheUpdateAndFailsAfterThreeInARow) {
  auto comm = MakeLocalCommunicator();
  auto model = TinyModel(67);
  auto batch = SyntheticBatch(280, 3, 97, 0);
  Trainer t(model, Options("sft"), comm.get());
  {
    torch::NoGradGuard g;
    model->named_parameters(true)["model.norm.weight"][0] = std::numeric_limits<float>::infinity();
  }
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : model->named_parameters(true)) before[p.key()] = p.value().clone();
  for (int i = 1; i <= kMaxNonFiniteSteps; ++i) {
    auto st = t.Step(batch);
    if (i < kMaxNonFiniteSteps) {
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      EXPECT_TRUE(st->skipped_nonfinite);
      EXPECT_FALSE(std::isfinite(st->grad_norm));
    } else {
      ASSERT_FALSE(st.ok());
      EXPECT_EQ(st.status().code(), StatusCode::kDataLoss);
      EXPECT_NE(st.status().message().find("3 steps in a row"), std::string::npos) << st.status().message();
    }
  }
  for (const auto& p : model->named_parameters(true)) EXPECT_TRUE(torch::equal(p.value(), before[p.key()])) << p.key();
}

TEST(TrainerTest, HeldOutNllIsTheSftLossBeforeTheStepAndChangesNothing) {
  auto comm = MakeLocalCommunicator();
  auto opts = Options("sft");
  Trainer t(TinyModel(63), opts, comm.get());
  auto batch = SyntheticBatch(250, 5, 97, 0);
  const double nll = t.HeldOutNll(batch).value();
  EXPECT_EQ(t.HeldOutNll(batch).value(), nll);  // no weight or state change
  EXPECT_EQ(t.step(), 0);
  const double loss = t.Step(batch).value().loss;  // SFT loss = mean NLL per token before the update
  EXPECT_NEAR(nll, loss, 1e-6 * std::abs(loss));
  EXPECT_LT(t.HeldOutNll(batch).value(), nll);
  EXPECT_FALSE(t.HeldOutNll({}).ok());  // no tokens: an error, not NaN
}

TEST(TrainerTest, SftFromAStoreEqualsSftFromTheSameTrajectoriesInMemory) {
  const fs::path dir = fs::temp_directory_path() / ("mem1_sft_store_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto batch = SyntheticBatch(300, 12, 97, 0);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].set_actor_id("expert");
    batch[i].set_episode_id(i);
  }
  {
    TrajectoryStoreOptions so;
    so.shard_records = 5;  // records in sealed shards and in the journal
    auto store = TrajectoryStore::Open(dir.string(), so, "").value();
    for (const auto& t : batch) ASSERT_TRUE(store->Append(t).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  // One shuffled epoch yields every record once, byte-identical, then reports exhaustion.
  auto src = OfflineStoreSource::Open(dir.string(), 0, 1, 1, /*seed=*/5, 0).value();
  std::vector<proto::Trajectory> read;
  for (size_t i = 0; i < batch.size(); ++i) read.push_back(*src->Next(0).value());
  EXPECT_EQ(src->Next(0).status().code(), StatusCode::kUnavailable);
  std::vector<proto::Trajectory> memory;
  std::set<uint64_t> seen;
  bool shuffled = false;
  for (size_t i = 0; i < read.size(); ++i) {
    const uint64_t id = read[i].episode_id();
    ASSERT_LT(id, batch.size());
    EXPECT_TRUE(seen.insert(id).second) << "record " << id << " twice in one epoch";
    EXPECT_EQ(read[i].SerializeAsString(), batch[id].SerializeAsString());
    memory.push_back(batch[id]);
    shuffled |= id != i;
  }
  EXPECT_TRUE(shuffled);
  // K = 3 steps of 4: the same losses, bit for bit, and the same weights after.
  auto comm = MakeLocalCommunicator();
  Trainer a(TinyModel(64), Options("sft"), comm.get()), b(TinyModel(64), Options("sft"), comm.get());
  for (int k = 0; k < 3; ++k) {
    std::vector<proto::Trajectory> sa(read.begin() + 4 * k, read.begin() + 4 * k + 4);
    std::vector<proto::Trajectory> sb(memory.begin() + 4 * k, memory.begin() + 4 * k + 4);
    EXPECT_EQ(a.Step(sa).value().loss, b.Step(sb).value().loss) << "step " << k;
  }
  EXPECT_EQ(a.HeldOutNll(batch).value(), b.HeldOutNll(batch).value());
  fs::remove_all(dir);
}

TEST(TrainerTest, OfflineStoreListMixesTheStoresInOneShuffle) {
  const fs::path root = fs::temp_directory_path() / ("mem1_sft_mix_" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto write = [&](const std::string& name, uint64_t first, int n) {
    auto store = TrajectoryStore::Open((root / name).string(), TrajectoryStoreOptions{}, "").value();
    auto batch = SyntheticBatch(first, n, 97, 0);
    for (int i = 0; i < n; ++i) {
      batch[i].set_actor_id(name);
      batch[i].set_episode_id(first + i);
      EXPECT_TRUE(store->Append(batch[i]).ok());
    }
    EXPECT_TRUE(store->Close().ok());
  };
  write("expert", 0, 6);
  write("copy", 100, 10);
  auto src = OfflineStoreSource::Open((root / "expert").string() + "," + (root / "copy").string(), 0, 1, 1, 3, 0).value();
  EXPECT_EQ(src->records_per_epoch(), 16);
  std::set<uint64_t> seen;
  int expert_in_first_half = 0;
  for (int i = 0; i < 16; ++i) {
    const auto t = *src->Next(0).value();
    EXPECT_TRUE(seen.insert(t.episode_id()).second);
    EXPECT_EQ(t.actor_id(), t.episode_id() < 100 ? "expert" : "copy");
    if (i < 8 && t.actor_id() == "expert") ++expert_in_first_half;
  }
  EXPECT_EQ(seen.size(), 16u);
  EXPECT_GT(expert_in_first_half, 0);  // interleaved, not one store after the other
  EXPECT_LT(expert_in_first_half, 6);
  EXPECT_EQ(src->Next(0).status().code(), StatusCode::kUnavailable);
  // A missing store or an empty entry is a clear error, not a silently smaller mix.
  EXPECT_EQ(OfflineStoreSource::Open((root / "expert").string() + "," + (root / "nope").string(), 0, 1, 1, 3, 0)
                .status().code(), StatusCode::kNotFound);
  EXPECT_EQ(OfflineStoreSource::Open((root / "expert").string() + ",", 0, 1, 1, 3, 0).status().code(),
            StatusCode::kInvalidArgument);
  fs::remove_all(root);
}

TEST(TrainerTest, PpoRaisesTheLogprobOfPositiveAdvantageTokens) {
  auto comm = MakeLocalCommunicator();
  auto opts = Options("grpo");
  opts.ppo.kl_coef = 0;
  opts.ppo.entropy_coef = 0;
  opts.ppo.max_policy_lag = 1000;
  opts.optim.min_lr_ratio = 1.0;
  Trainer t(TinyModel(71), opts, comm.get());
  // Two trajectories in one group: the rewarded one should become more likely.
  auto good = SyntheticMem1Trajectory(300, 97, 2, 0), bad = SyntheticMem1Trajectory(301, 97, 2, 0);
  good.set_group_id(1);
  bad.set_group_id(1);
  good.set_reward(1);
  bad.set_reward(0);
  auto seq = BuildMaskedSequence(good).value();
  auto score = [&] {
    torch::NoGradGuard g;
    return ScoreSequences(t.policy(), {&seq}, {1.0f}, false).logp.sum().item<double>();
  };
  const double before = score();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(t.Step({good, bad}).ok());
  EXPECT_GT(score(), before + 0.5);
}

}  // namespace
}  // namespace mem1
