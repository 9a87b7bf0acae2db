#include "learner/losses.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mem1 {
namespace {

TEST(LossesTest, GaeWithGammaLambdaOneIsRewardMinusValue) {
  std::vector<float> adv, ret;
  ComputeGae({0.5f, 0.2f, 0.1f}, 1.0, 1.0, 1.0, &adv, &ret);
  EXPECT_NEAR(adv[0], 0.5, 1e-6);
  EXPECT_NEAR(adv[1], 0.8, 1e-6);
  EXPECT_NEAR(adv[2], 0.9, 1e-6);
  for (float r : ret) EXPECT_NEAR(r, 1.0, 1e-6);
}

TEST(LossesTest, GaeHandComputed) {
  // gamma 0.9, lambda 0.8; deltas: d2 = 1 - 0.1 = 0.9; d1 = 0.9*0.1 - 0.2 = -0.11;
  // d0 = 0.9*0.2 - 0.5 = -0.32. A2 = 0.9; A1 = -0.11 + 0.72*0.9 = 0.538;
  // A0 = -0.32 + 0.72*0.538 = 0.06736.
  std::vector<float> adv, ret;
  ComputeGae({0.5f, 0.2f, 0.1f}, 1.0, 0.9, 0.8, &adv, &ret);
  EXPECT_NEAR(adv[2], 0.9, 1e-6);
  EXPECT_NEAR(adv[1], 0.538, 1e-6);
  EXPECT_NEAR(adv[0], 0.06736, 1e-6);
  EXPECT_NEAR(ret[0], 0.56736, 1e-6);
  EXPECT_NEAR(ret[1], 0.738, 1e-6);
}

TEST(LossesTest, GroupNormalizedAdvantages) {
  auto a = GroupNormalizedAdvantages({1, 0, 1, 1, 0.5}, {7, 7, 9, 9, 11});
  EXPECT_NEAR(a[0], 1.0, 1e-5);   // mean 0.5, std 0.5
  EXPECT_NEAR(a[1], -1.0, 1e-5);
  EXPECT_NEAR(a[2], 0.0, 1e-6);   // identical rewards
  EXPECT_NEAR(a[4], 0.0, 1e-6);   // group of one
}

TEST(LossesTest, PpoClippedSurrogate) {
  auto logp = torch::tensor({std::log(1.5f), std::log(1.5f), std::log(0.5f)});
  auto prox = torch::zeros({3});
  auto adv = torch::tensor({2.0f, -2.0f, 1.0f});
  auto w = torch::ones({3});
  auto t = PpoPolicyTerms(logp, prox, adv, w, 0.2);
  EXPECT_NEAR(t[0].item<float>(), -2.4, 1e-5);  // min(3, 1.2*2)
  EXPECT_NEAR(t[1].item<float>(), 3.0, 1e-5);   // min(-3, -2.4) = -3
  EXPECT_NEAR(t[2].item<float>(), -0.5, 1e-5);  // min(0.5, 0.8) = 0.5
  auto half = PpoPolicyTerms(logp, prox, adv, torch::full({3}, 0.5f), 0.2);
  EXPECT_NEAR(half[0].item<float>(), -1.2, 1e-5);
}

TEST(LossesTest, ClippedValueLoss) {
  auto t = ValueTerms(torch::tensor({1.0f, 0.6f}), torch::tensor({0.5f, 0.5f}), torch::tensor({0.0f, 1.0f}), 0.2);
  EXPECT_NEAR(t[0].item<float>(), 0.5, 1e-6);   // max(1, 0.49) / 2
  EXPECT_NEAR(t[1].item<float>(), 0.08, 1e-6);  // inside the clip range: 0.16 / 2
}

TEST(LossesTest, EntropyKlAndImportanceWeights) {
  EXPECT_NEAR(EntropyTerms(torch::zeros({1, 4}))[0].item<float>(), std::log(4.0), 1e-6);
  EXPECT_NEAR(KlTerms(torch::tensor({-1.0f}), torch::tensor({-1.0f}))[0].item<float>(), 0.0, 1e-7);
  EXPECT_NEAR(KlTerms(torch::tensor({-1.0f}), torch::tensor({-0.5f}))[0].item<float>(), std::exp(0.5) - 1.5, 1e-6);
  auto w = TruncatedIsWeight(torch::tensor({0.0f, -1.0f}), torch::tensor({-10.0f, 0.0f}), 5.0);
  EXPECT_NEAR(w[0].item<float>(), 5.0, 1e-6);
  EXPECT_NEAR(w[1].item<float>(), std::exp(-1.0), 1e-6);
}

}  // namespace
}  // namespace mem1
