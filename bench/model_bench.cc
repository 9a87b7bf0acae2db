// `mem1 bench model`: prefill and decode throughput of the Qwen2 decoder with the KV cache,
// for the embedded default shape and the Qwen2.5-0.5B shape (random fp32 weights), at batch
// 1, 8 and 32. Each figure is also given as achieved GFLOP/s and as a fraction of a plain
// torch::mm GFLOP/s measured in the same run (the baseline).
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "bench/bench_commands.h"
#include "common/model/qwen2.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

// Best-of-N GFLOP/s of a square fp32 matmul.
double MeasureMmGflops(int64_t n) {
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::mm(a, b);  // warm-up
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = MonotonicSeconds();
    auto c = torch::mm(a, b);
    const double dt = MonotonicSeconds() - t0;
    best = std::max(best, 2.0 * n * n * n / dt / 1e9);
  }
  return best;
}

// GFLOP/s of x[M,K] @ W[N,K]^T, the shape of one decode-step projection (skinny GEMM).
double MeasureSkinnyGflops(int64_t m, int64_t k, int64_t n) {
  auto x = torch::randn({m, k});
  std::vector<torch::Tensor> ws;
  for (int i = 0; i < 8; ++i) ws.push_back(torch::randn({n, k}));  // > cache: weights stream from memory
  for (auto& w : ws) torch::mm(x, w.t());
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const double t0 = MonotonicSeconds();
    for (auto& w : ws) torch::mm(x, w.t());
    best = std::max(best, 2.0 * m * k * n * ws.size() / (MonotonicSeconds() - t0) / 1e9);
  }
  return best;
}

// FLOPs for `tokens` new tokens attending to `ctx` keys on average.
double FlopsPerToken(const Qwen2Config& c, double ctx) {
  const double d = c.hidden_size, kv = c.num_key_value_heads * c.head_dim();
  const double per_layer = 2 * (d * d + 2 * d * kv + d * d + 3 * d * c.intermediate_size) + 4 * ctx * d;
  return c.num_hidden_layers * per_layer + 2 * d * c.vocab_size;
}

struct ShapeSpec {
  std::string name;
  Qwen2Config config;
};

void BenchShape(const ShapeSpec& spec, const std::vector<int64_t>& batches, int64_t prompt_len, int64_t decode_steps,
                double mm_gflops) {
  torch::NoGradGuard no_grad;
  Qwen2ForCausalLM model(spec.config);
  model->InitWeights(1, 0.02);
  model->eval();
  std::cout << "# shape " << spec.name << ": " << std::fixed << std::setprecision(1)
            << spec.config.ParameterCount() / 1e6 << "M params, L=" << spec.config.num_hidden_layers
            << " D=" << spec.config.hidden_size << " V=" << spec.config.vocab_size << "\n";
  for (int64_t B : batches) {
    KvCache cache(spec.config, B, prompt_len + decode_steps + 1, torch::kCPU, torch::kFloat32);
    std::vector<int64_t> slots(B), n_valid(B, prompt_len);
    for (int64_t b = 0; b < B; ++b) slots[b] = b;
    auto tokens = torch::randint(spec.config.vocab_size, {B, prompt_len}, torch::kLong);
    auto pos = torch::arange(prompt_len, torch::kLong).unsqueeze(0).expand({B, prompt_len}).contiguous();
    const double t0 = MonotonicSeconds();
    auto out = model->ForwardCached(&cache, slots, tokens, pos, n_valid);
    const double prefill_s = MonotonicSeconds() - t0;
    auto next = out.logits.select(1, prompt_len - 1).argmax(-1).view({B, 1});
    std::vector<int64_t> ones(B, 1);
    // one warm-up decode step, excluded from timing
    auto step_pos = torch::full({B, 1}, prompt_len, torch::kLong);
    next = model->ForwardCached(&cache, slots, next, step_pos, ones).logits.select(1, 0).argmax(-1).view({B, 1});
    const double t1 = MonotonicSeconds();
    for (int64_t s = 1; s < decode_steps; ++s) {
      step_pos = torch::full({B, 1}, prompt_len + s, torch::kLong);
      next = model->ForwardCached(&cache, slots, next, step_pos, ones).logits.select(1, 0).argmax(-1).view({B, 1});
    }
    const double decode_s = MonotonicSeconds() - t1;
    const double prefill_tps = B * prompt_len / prefill_s;
    const double decode_tps = B * (decode_steps - 1) / decode_s;
    const double prefill_gf = prefill_tps * FlopsPerToken(spec.config, prompt_len / 2.0) / 1e9;
    const double decode_gf = decode_tps * FlopsPerToken(spec.config, prompt_len + decode_steps / 2.0) / 1e9;
    std::cout << std::setprecision(1) << spec.name << " prefill b=" << B << " T=" << prompt_len << ": " << prefill_tps
              << " tokens/s, " << prefill_gf << " GFLOP/s (" << std::setprecision(2) << prefill_gf / mm_gflops
              << "x mm)\n";
    const double skinny = MeasureSkinnyGflops(B, spec.config.hidden_size, spec.config.intermediate_size);
    std::cout << std::setprecision(1) << spec.name << " decode  b=" << B << ": " << decode_tps << " tokens/s, "
              << decode_gf << " GFLOP/s (" << std::setprecision(2) << decode_gf / mm_gflops << "x mm; "
              << decode_gf / skinny << "x of " << std::setprecision(1) << skinny << " GFLOP/s for mm at the decode shape ["
              << B << "," << spec.config.hidden_size << "]x[" << spec.config.hidden_size << ","
              << spec.config.intermediate_size << "])\n";
  }
}

struct ModelBenchArgs {
  int32_t threads = 0;
  bool quick = false;
  bool skip_large = false;
};

int RunModelBench(const ModelBenchArgs& a) {
  const int threads = ApplyThreads(a.threads);
  PrintBenchEnvironment(threads);
  MeasureMmGflops(a.quick ? 512 : 2048);  // warm-up (clocks, allocator)
  const double mm = MeasureMmGflops(a.quick ? 512 : 2048);
  std::cout << "baseline torch::mm fp32 " << (a.quick ? 512 : 2048) << "^3: " << std::fixed << std::setprecision(1) << mm
            << " GFLOP/s\n";
  ShapeSpec embedded{"embedded", Qwen2ConfigFromInit(ModelInitOptions{})};
  Qwen2Config q05;
  q05.vocab_size = 151936;
  q05.hidden_size = 896;
  q05.intermediate_size = 4864;
  q05.num_hidden_layers = 24;
  q05.num_attention_heads = 14;
  q05.num_key_value_heads = 2;
  q05.max_position_embeddings = 32768;
  q05.rope_theta = 1000000.0;
  q05.tie_word_embeddings = true;
  const std::vector<int64_t> batches = a.quick ? std::vector<int64_t>{1, 8} : std::vector<int64_t>{1, 8, 32};
  BenchShape(embedded, batches, a.quick ? 32 : 128, a.quick ? 8 : 32, mm);
  if (!a.skip_large && !a.quick) BenchShape({"qwen2.5-0.5b", q05}, batches, 64, 8, mm);
  return 0;
}

}  // namespace

void RegisterModelBench(CLI::App* bench) {
  auto args = std::make_shared<ModelBenchArgs>();
  auto* m = bench->add_subcommand("model", "Prefill/decode tokens/s and GFLOP/s vs torch::mm");
  m->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  m->add_flag("--quick", args->quick, "Small sizes, embedded shape only (smoke test)");
  m->add_flag("--skip-large", args->skip_large, "Skip the Qwen2.5-0.5B shape");
  m->callback([args] { throw CLI::RuntimeError(RunModelBench(*args)); });
}

void RegisterRolloutBench(CLI::App* bench);  // rollout_bench.cc
void RegisterLearnerBench(CLI::App* bench);  // learner_bench.cc
void RegisterBatchBench(CLI::App* bench);    // batch_bench.cc
void RegisterRetrievalBench(CLI::App* bench);  // retrieval_bench.cc
void RegisterWebShopBench(CLI::App* bench);    // webshop_bench.cc
void RegisterFleetBench(CLI::App* bench);      // fleet_bench.cc

void RegisterBenchCommands(CLI::App* app) {
  auto* bench = app->add_subcommand("bench", "Benchmarks (print measured figures and ratios to a same-run baseline)");
  bench->require_subcommand(1);
  RegisterModelBench(bench);
  RegisterRolloutBench(bench);
  RegisterLearnerBench(bench);
  RegisterBatchBench(bench);
  RegisterRetrievalBench(bench);
  RegisterWebShopBench(bench);
  RegisterFleetBench(bench);
}

}  // namespace mem1
