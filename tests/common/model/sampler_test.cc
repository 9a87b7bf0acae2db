#include "common/model/sampler.h"

#include <gtest/gtest.h>

#include <limits>

#include "common/model/generate.h"
#include "tests/common/model/test_util.h"

namespace mem1 {
namespace {

TEST(SamplerTest, GreedyIsArgmaxWithFullSoftmaxLogprob) {
  auto logits = torch::tensor({{0.1f, 2.0f, -1.0f}, {3.0f, 0.0f, 2.9f}});
  Sampler s({/*greedy=*/true});
  auto r = s.Sample(logits).value();
  EXPECT_EQ(r.tokens[0].item<int64_t>(), 1);
  EXPECT_EQ(r.tokens[1].item<int64_t>(), 0);
  auto expect = torch::log_softmax(logits, -1);
  EXPECT_NEAR(r.logprobs[0].item<float>(), expect[0][1].item<float>(), 1e-6);
  EXPECT_NEAR(r.logprobs[1].item<float>(), expect[1][0].item<float>(), 1e-6);
}

TEST(SamplerTest, SeededSamplingIsReproducible) {
  auto logits = torch::randn({4, 50}, torch::TensorOptions().dtype(torch::kFloat32));
  SamplingOptions o;
  o.temperature = 0.7;
  o.top_p = 0.9;
  o.seed = 123;
  Sampler a(o), b(o);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(torch::equal(a.Sample(logits).value().tokens, b.Sample(logits).value().tokens));
  o.seed = 124;
  Sampler c(o);
  bool any_diff = false;
  Sampler d({false, 0.7, 0, 0.9, 123});
  for (int i = 0; i < 5; ++i) any_diff |= !torch::equal(c.Sample(logits).value().tokens, d.Sample(logits).value().tokens);
  EXPECT_TRUE(any_diff);
}

TEST(SamplerTest, TopKOneAndTinyTopPAreGreedy) {
  auto logits = torch::randn({3, 40});
  auto argmax = logits.argmax(-1);
  Sampler k1({false, 1.5, /*top_k=*/1, 1.0, 9});
  Sampler p0({false, 1.5, 0, /*top_p=*/1e-6, 9});
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(torch::equal(k1.Sample(logits).value().tokens, argmax));
    EXPECT_TRUE(torch::equal(p0.Sample(logits).value().tokens, argmax));
  }
}

TEST(SamplerTest, TopKOnlyDrawsFromTopK) {
  auto logits = torch::randn({1, 100});
  auto top = std::get<1>(logits.topk(5, -1));
  Sampler s({false, 2.0, 5, 1.0, 3});
  for (int i = 0; i < 50; ++i) {
    const int64_t t = s.Sample(logits).value().tokens[0].item<int64_t>();
    EXPECT_TRUE((top == t).any().item<bool>());
  }
}

TEST(SamplerTest, SampledFrequenciesFollowTemperatureScaledSoftmax) {
  auto logits = torch::tensor({{1.0f, 0.0f, -1.0f}});
  Sampler s({false, 2.0, 0, 1.0, 77});
  std::vector<int> counts(3, 0);
  const int n = 6000;
  for (int i = 0; i < n; ++i) counts[s.Sample(logits).value().tokens[0].item<int64_t>()]++;
  auto p = torch::softmax(logits / 2.0, -1)[0];
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(counts[k] / double(n), p[k].item<double>(), 0.03) << k;
}

TEST(GenerateTest, GreedyGenerationMatchesStepwiseFullForward) {
  auto m = mem1::testing::TinyModel(21);
  Sampler s({true});
  auto r = Generate(m, {3, 1, 4, 1, 5}, 6, &s, -1).value();
  ASSERT_EQ(r.tokens.size(), 6u);
  torch::NoGradGuard g;
  std::vector<int64_t> seq = {3, 1, 4, 1, 5};
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const int64_t T = seq.size();
    auto logits = m->Forward(torch::tensor(seq, torch::kLong).view({1, T}), torch::arange(T, torch::kLong).view({1, T}),
                             torch::Tensor()).logits[0][T - 1];
    EXPECT_EQ(logits.argmax().item<int64_t>(), r.tokens[i]);
    EXPECT_NEAR(torch::log_softmax(logits, -1)[r.tokens[i]].item<float>(), r.logprobs[i], 1e-4);
    seq.push_back(r.tokens[i]);
  }
}

TEST(SamplerTest, NonFiniteLogitsAreADataLossNamingTheRowNotADraw) {
  auto logits = torch::zeros({3, 8});
  logits[1][5] = std::numeric_limits<float>::quiet_NaN();
  for (bool greedy : {false, true}) {
    SamplingOptions o;
    o.greedy = greedy;
    Sampler s(o);
    auto r = s.Sample(logits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(r.status().message().find("row 1 of 3"), std::string::npos) << r.status().message();
  }
  logits[1][5] = std::numeric_limits<float>::infinity();
  Sampler s({});
  EXPECT_FALSE(s.Sample(logits).ok());
  logits[1][5] = 0;
  EXPECT_TRUE(s.Sample(logits).ok());
}

TEST(GenerateTest, NaNWeightsAreAnErrorNotAnAbort) {
  auto m = mem1::testing::TinyModel(22);
  {
    torch::NoGradGuard g;
    m->model->embed_tokens->weight[3].fill_(std::numeric_limits<float>::quiet_NaN());
  }
  Sampler s({});
  auto r = Generate(m, {3, 1, 4}, 4, &s, -1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace mem1
