// The decode-shape projection kernel against torch: every row count it takes, K and N around
// the vector widths, both ISAs this CPU has, bias, threads; and a model's greedy decoding with
// the kernel on and off.
#include "common/model/skinny_gemm.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/model/kv_cache.h"
#include "common/model/qwen2.h"
#include "tests/common/model/test_util.h"

namespace mem1 {
namespace {

std::vector<SkinnyIsa> IsasHere() {
  std::vector<SkinnyIsa> out;
  if (DetectSkinnyIsa() == SkinnyIsa::kAvx512) out.push_back(SkinnyIsa::kAvx512);
  if (DetectSkinnyIsa() != SkinnyIsa::kNone) out.push_back(SkinnyIsa::kAvx2);  // AVX-512 CPUs have AVX2 + FMA
  return out;
}

TEST(SkinnyGemmTest, MatchesTorchForEveryRowCountAndShape) {
  if (IsasHere().empty()) GTEST_SKIP() << "skipped: this CPU has neither AVX-512F nor AVX2+FMA";
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  int64_t cases = 0;
  for (SkinnyIsa isa : IsasHere()) {
    for (int64_t M = 1; M <= 32; ++M) {
      // K chunks are 512 floats: 1024 is two whole chunks, 1100 two and a tail.
      for (int64_t K : {1, 7, 8, 15, 16, 17, 33, 100, 256, 1024, 1100}) {
        for (int64_t N : {1, 3, 4, 5, 63, 64, 65, 130}) {
          auto x = torch::randn({M, K});
          auto w = torch::randn({N, K});
          auto b = torch::randn({N});
          auto ref = torch::matmul(x, w.t()) + b;
          auto got = SkinnyLinear(x, w, b, isa);
          ASSERT_EQ(got.sizes(), ref.sizes());
          const double err = (got - ref).abs().max().item<double>();
          const double scale = ref.abs().max().item<double>() + 1.0;
          ASSERT_LE(err / scale, 1e-5) << SkinnyIsaName(isa) << " M=" << M << " K=" << K << " N=" << N;
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, static_cast<int64_t>(IsasHere().size()) * 32 * 11 * 8);
}

TEST(SkinnyGemmTest, KeepsLeadingShapeIgnoresThreadsAndDeclinesWhatItCannotTake) {
  if (IsasHere().empty()) GTEST_SKIP() << "skipped: this CPU has neither AVX-512F nor AVX2+FMA";
  torch::manual_seed(4);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4, 1, 896});
  auto w = torch::randn({1000, 896});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  auto one = SkinnyLinear(x, w, torch::Tensor());
  torch::set_num_threads(2);
  auto two = SkinnyLinear(x, w, torch::Tensor());
  // 20 rows (passes of 7, 7, 6 on AVX-512) over K = 1100 (three K chunks).
  auto x20 = torch::randn({20, 1100});
  auto w20 = torch::randn({301, 1100});
  torch::set_num_threads(1);
  auto one20 = SkinnyLinear(x20, w20, torch::Tensor());
  torch::set_num_threads(2);
  auto two20 = SkinnyLinear(x20, w20, torch::Tensor());
  torch::set_num_threads(threads);
  EXPECT_EQ(one.sizes(), (std::vector<int64_t>{4, 1, 1000}));
  EXPECT_TRUE(torch::equal(one, two)) << "the sum order does not depend on the thread count";
  EXPECT_TRUE(torch::equal(one20, two20));
  EXPECT_TRUE(SkinnyLinearApplies(x, w));
  EXPECT_TRUE(SkinnyLinearApplies(torch::randn({32, 896}), w));
  EXPECT_FALSE(SkinnyLinearApplies(torch::randn({33, 896}), w));                       // too many rows
  EXPECT_TRUE(SkinnyLinearApplies(torch::randn({1, 896}), w));                         // a GEMV too
  EXPECT_FALSE(SkinnyLinearApplies(torch::randn({2, 895}), w));                        // K mismatch
  EXPECT_FALSE(SkinnyLinearApplies(x.to(torch::kFloat64), w.to(torch::kFloat64)));     // fp32 only
  EXPECT_FALSE(SkinnyLinearApplies(x, w.t().contiguous().t()));                         // a strided weight
  {
    torch::GradMode::set_enabled(true);
    auto wg = w.clone().requires_grad_(true);
    EXPECT_FALSE(SkinnyLinearApplies(x, wg));  // the learner's autograd never takes it
    torch::GradMode::set_enabled(false);
  }
  SetSkinnyGemmEnabled(false);
  EXPECT_FALSE(SkinnyLinearApplies(x, w));
  SetSkinnyGemmEnabled(true);
}

// The opt-in bf16-weight mode computes exactly x · bf16(W)^T in fp32: against torch on the
// rounded weights, every pass shape, K across chunks and tails, both ISAs; and it is not the fp32
// result (the copy is really read).
TEST(SkinnyGemmTest, Bf16WeightsComputeWithTheRoundedWeights) {
  if (IsasHere().empty()) GTEST_SKIP() << "skipped: this CPU has neither AVX-512F nor AVX2+FMA";
  torch::manual_seed(6);
  torch::NoGradGuard no_grad;
  SetDecodeWeights(DecodeWeightFormat::kBf16);
  int64_t cases = 0, differ = 0;
  for (SkinnyIsa isa : IsasHere()) {
    for (int64_t M : {1, 2, 3, 5, 8, 9, 16, 17, 32}) {
      for (int64_t K : {1, 7, 16, 17, 100, 1100}) {
        for (int64_t N : {1, 5, 65}) {
          auto x = torch::randn({M, K});
          auto w = torch::randn({N, K});
          auto b = torch::randn({N});
          // Up to 8 rows read the bf16 copy; more rows the fp32 weights.
          auto wr = M <= 8 ? w.to(torch::kBFloat16).to(torch::kFloat32) : w;
          auto ref = torch::matmul(x, wr.t()) + b;
          auto got = SkinnyLinear(x, w, b, isa);
          const double scale = ref.abs().max().item<double>() + 1.0;
          ASSERT_LE((got - ref).abs().max().item<double>() / scale, 1e-5)
              << SkinnyIsaName(isa) << " M=" << M << " K=" << K << " N=" << N;
          if (M <= 8) differ += torch::equal(got, torch::matmul(x, w.t()) + b) ? 0 : 1;
          ++cases;
        }
      }
    }
  }
  SetDecodeWeights(DecodeWeightFormat::kFp32);
  EXPECT_EQ(cases, static_cast<int64_t>(IsasHere().size()) * 9 * 6 * 3);
  EXPECT_GT(differ, cases / 4) << "the bf16 path reads the rounded weights";
}

// The bf16 copy follows the weight: an in-place write (as loading new weights does) and a new
// tensor are both seen on the next call.
TEST(SkinnyGemmTest, Bf16CopyFollowsWeightUpdates) {
  if (IsasHere().empty()) GTEST_SKIP() << "skipped: this CPU has neither AVX-512F nor AVX2+FMA";
  torch::manual_seed(7);
  torch::NoGradGuard no_grad;
  SetDecodeWeights(DecodeWeightFormat::kBf16);
  auto x = torch::randn({4, 300});
  auto w = torch::randn({50, 300});
  auto y1 = SkinnyLinear(x, w, torch::Tensor());
  EXPECT_TRUE(torch::equal(SkinnyLinear(x, w, torch::Tensor()), y1)) << "the cached copy gives the same result";
  w.mul_(2);  // bf16(2w) = 2 bf16(w) and every sum doubles exactly
  auto y2 = SkinnyLinear(x, w, torch::Tensor());
  EXPECT_TRUE(torch::equal(y2, y1 * 2));
  w.copy_(torch::randn({50, 300}));
  auto y3 = SkinnyLinear(x, w, torch::Tensor());
  EXPECT_LE((y3 - torch::matmul(x, w.to(torch::kBFloat16).to(torch::kFloat32).t())).abs().max().item<double>(), 1e-3);
  auto other = torch::randn({50, 300});
  EXPECT_LE((SkinnyLinear(x, other, torch::Tensor()) - torch::matmul(x, other.to(torch::kBFloat16).to(torch::kFloat32).t()))
                .abs()
                .max()
                .item<double>(),
            1e-3);
  SetDecodeWeights(DecodeWeightFormat::kFp32);
  EXPECT_LE((SkinnyLinear(x, w, torch::Tensor()) - torch::matmul(x, w.t())).abs().max().item<double>(), 1e-3);
}

// B rows decoded greedily with the KV cache (the decode steps are [B, 1]: the kernel's shape).
struct Decoded {
  torch::Tensor ids;          // [B, steps]
  torch::Tensor last_logits;  // [B, V]
};
Decoded GreedyDecode(Qwen2ForCausalLM& m, const Qwen2Config& c, const torch::Tensor& prompts, int64_t steps) {
  const int64_t B = prompts.size(0), T = prompts.size(1);
  KvCache cache(c, B, T + steps + 1, torch::kCPU, torch::kFloat32);
  std::vector<int64_t> slots(B), n_valid(B, T), ones(B, 1);
  for (int64_t b = 0; b < B; ++b) slots[b] = b;
  auto pos = torch::arange(T, torch::kLong).unsqueeze(0).expand({B, T}).contiguous();
  auto logits = m->ForwardCached(&cache, slots, prompts, pos, n_valid).logits.select(1, T - 1);
  std::vector<torch::Tensor> ids;
  for (int64_t s = 0; s < steps; ++s) {
    auto next = logits.argmax(-1).view({B, 1});
    ids.push_back(next);
    logits = m->ForwardCached(&cache, slots, next, torch::full({B, 1}, T + s, torch::kLong), ones).logits.select(1, 0);
  }
  return {torch::cat(ids, 1), logits};
}

TEST(SkinnyGemmTest, BatchedGreedyDecodingPicksTheSameIdsWithAndWithoutTheKernel) {
  if (IsasHere().empty()) GTEST_SKIP() << "skipped: this CPU has neither AVX-512F nor AVX2+FMA";
  Qwen2Config c = testing::TinyConfig();
  c.hidden_size = 64;
  c.intermediate_size = 176;
  Qwen2ForCausalLM m(c);
  m->InitWeights(11, 0.3);
  m->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  auto prompts = torch::randint(0, c.vocab_size, {8, 12}, torch::TensorOptions().dtype(torch::kLong));
  auto run = [&](bool skinny) {
    SetSkinnyGemmEnabled(skinny);
    auto out = GreedyDecode(m, c, prompts, /*steps=*/24);
    SetSkinnyGemmEnabled(true);
    return out;
  };
  const Decoded with = run(true), without = run(false);
  EXPECT_TRUE(torch::equal(with.ids, without.ids));
  EXPECT_LE((with.last_logits - without.last_logits).abs().max().item<float>(), 1e-4);
}

}  // namespace
}  // namespace mem1
