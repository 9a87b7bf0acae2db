// `mem1 bench model`: prefill and decode throughput of the Qwen2 decoder with the KV cache,
// for the embedded default shape and the Qwen2.5-0.5B shape (random fp32 weights), at batch
// 1, 8 and 32. Each figure is also given as achieved GFLOP/s and as a fraction of a plain
// torch::mm GFLOP/s measured in the same run (the baseline).
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "bench/bench_commands.h"
#include "common/model/model_io.h"
#include "common/model/qwen2.h"
#include "common/model/skinny_gemm.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

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

// Read bandwidth: the best of 5 sums over `mib` MiB of fp32 (torch's threads), in GB/s.
// Memory read bandwidth over `mib` MiB of fp32 (far beyond the caches): the best of torch's sum
// and a plain read by `threads` threads, each reading its slice as 8 interleaved streams with
// 64-bit integer sums (vectorised by the compiler). One stream per thread reads ~10 GB/s here,
// 8 streams ~26 GB/s: the hardware prefetchers need several streams to fill the memory system.
// GB/s.
double MeasureReadGBs(int64_t mib, int threads) {
  auto buf = torch::ones({mib * 1024 * 256});
  const double bytes = 4.0 * static_cast<double>(buf.numel());
  double best = 0, sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = MonotonicSeconds();
    sink += buf.sum().item<double>();
    best = std::max(best, bytes / (MonotonicSeconds() - t0) / 1e9);
  }
  constexpr int kStreams = 8;
  const auto* words = reinterpret_cast<const uint64_t*>(buf.data_ptr<float>());
  const int64_t n = buf.numel() / 2;
  std::vector<uint64_t> sums(threads);
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = MonotonicSeconds();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const int64_t b = n * t / threads, len = (n * (t + 1) / threads - b) / kStreams;
        uint64_t s[kStreams] = {};
        for (int64_t i = 0; i < len; ++i) {
          for (int k = 0; k < kStreams; ++k) s[k] += words[b + k * len + i];
        }
        for (uint64_t v : s) sums[t] += v;
      });
    }
    for (auto& th : pool) th.join();
    best = std::max(best, bytes / (MonotonicSeconds() - t0) / 1e9);
  }
  for (uint64_t s : sums) sink += static_cast<double>(s & 1);
  return sink > 0 ? best : 0;
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

// The plain-PyTorch peer (bench/peer_qwen2.py): same weights (an HF checkpoint written here),
// same prompt ids, same thread count, same prefill + greedy decode loop.
struct PeerOptions {
  bool enabled = false;
  std::string script;  // path of peer_qwen2.py
  std::string python;  // interpreter found by FindTorchPython
  std::string dir;     // scratch: checkpoints and prompt files
  int threads = 1;
};

struct PeerResult {
  bool ok = false;
  std::string error;
  double prefill_tps = 0, decode_tps = 0;
  std::vector<std::vector<int64_t>> ids;
  std::string torch_version;
};

PeerResult RunPeer(const PeerOptions& p, const std::string& checkpoint, const torch::Tensor& prompt, int64_t steps) {
  PeerResult r;
  const std::string prompt_file = p.dir + "/prompt.txt";
  {
    std::ofstream f(prompt_file);
    auto acc = prompt.accessor<int64_t, 2>();
    for (int64_t b = 0; b < prompt.size(0); ++b) {
      for (int64_t t = 0; t < prompt.size(1); ++t) f << (t ? " " : "") << acc[b][t];
      f << "\n";
    }
  }
  const std::string cmd = p.python + " '" + p.script + "' '" + checkpoint + "' '" + prompt_file + "' " +
                          std::to_string(steps) + " " + std::to_string(p.threads);
  std::string last;
  const int status = RunForLastLine(cmd, &last);
  auto j = nlohmann::json::parse(last, nullptr, false);
  if (status != 0 || j.is_discarded() || !j.is_object() || !j.contains("greedy_ids")) {
    r.error = "peer failed (exit " + std::to_string(status) + "): " + last;
    return r;
  }
  try {
    r.prefill_tps = j.at("prefill_tokens_per_s").get<double>();
    r.decode_tps = j.at("decode_tokens_per_s").get<double>();
    r.ids = j.at("greedy_ids").get<std::vector<std::vector<int64_t>>>();
    r.torch_version = j.at("torch").get<std::string>();
    r.ok = true;
  } catch (const std::exception& e) {
    r.error = std::string("peer output malformed: ") + e.what();
  }
  return r;
}

void BenchShape(const ShapeSpec& spec, const std::vector<int64_t>& batches, int64_t prompt_len, int64_t decode_steps,
                double mm_gflops, double mem_gbs, int64_t read_mib, const PeerOptions& peer) {
  torch::NoGradGuard no_grad;
  Qwen2ForCausalLM model(spec.config);
  model->InitWeights(1, 0.02);
  model->eval();
  std::string checkpoint;
  if (peer.enabled) {
    checkpoint = peer.dir + "/" + spec.name;
    const Status st = SaveHfModel(model, checkpoint, "float32");
    if (!st.ok()) {
      std::cout << spec.name << " peer: skipped: cannot write the checkpoint: " << st.ToString() << "\n";
      checkpoint.clear();
    }
  }
  std::cout << "# shape " << spec.name << ": " << std::fixed << std::setprecision(1)
            << spec.config.ParameterCount() / 1e6 << "M params, L=" << spec.config.num_hidden_layers
            << " D=" << spec.config.hidden_size << " V=" << spec.config.vocab_size << "\n";
  for (int64_t B : batches) {
    torch::manual_seed(static_cast<uint64_t>(B));
    auto tokens = torch::randint(spec.config.vocab_size, {B, prompt_len}, torch::kLong);
    // One prefill + greedy decode; `skinny` = the decode-shape kernel (skinny_gemm.h) on.
    struct Timed {
      double prefill_s = 0, decode_s = 0;
      torch::Tensor greedy;  // [B, decode_steps + 1]
    };
    // `bf16`: the kernel reads bf16 copies of the weights. `forced` [B, decode_steps + 1]: feed
    // these ids instead of the argmax; `logp` (if set) gets log p(fed id) at each step [B, steps+1].
    auto measure = [&](bool skinny, bool bf16 = false, const torch::Tensor* forced = nullptr,
                       torch::Tensor* logp = nullptr) {
      SetSkinnyGemmEnabled(skinny);
      SetDecodeWeights(bf16 ? DecodeWeightFormat::kBf16 : DecodeWeightFormat::kFp32);
      KvCache cache(spec.config, B, prompt_len + decode_steps + 1, torch::kCPU, torch::kFloat32);
      std::vector<int64_t> slots(B), n_valid(B, prompt_len);
      for (int64_t b = 0; b < B; ++b) slots[b] = b;
      std::vector<torch::Tensor> greedy, logps;  // every step's [B, 1] ids (and log-probs), read after the timing
      auto pos = torch::arange(prompt_len, torch::kLong).unsqueeze(0).expand({B, prompt_len}).contiguous();
      // A prefill needs the next-token logits of each row's last position only (as generation and
      // the peer compute them): the LM head runs on B rows, not B x T.
      std::vector<int64_t> last_rows(B);
      for (int64_t b = 0; b < B; ++b) last_rows[b] = b * prompt_len + prompt_len - 1;
      auto pick = [&](const torch::Tensor& logits) {  // logits [B, V]
        auto next = forced != nullptr ? forced->select(1, static_cast<int64_t>(greedy.size())).view({B, 1})
                                      : logits.argmax(-1).view({B, 1});
        if (logp != nullptr) logps.push_back(torch::log_softmax(logits, -1).gather(1, next));
        greedy.push_back(next);
        return next;
      };
      Timed t;
      const double t0 = MonotonicSeconds();
      auto out = model->ForwardCached(&cache, slots, tokens, pos, n_valid, false, &last_rows);
      t.prefill_s = MonotonicSeconds() - t0;
      auto next = pick(out.logits.view({B, -1}));
      std::vector<int64_t> ones(B, 1);
      // one warm-up decode step, excluded from timing
      auto step_pos = torch::full({B, 1}, prompt_len, torch::kLong);
      next = pick(model->ForwardCached(&cache, slots, next, step_pos, ones).logits.select(1, 0));
      const double t1 = MonotonicSeconds();
      for (int64_t s = 1; s < decode_steps; ++s) {
        step_pos = torch::full({B, 1}, prompt_len + s, torch::kLong);
        next = pick(model->ForwardCached(&cache, slots, next, step_pos, ones).logits.select(1, 0));
      }
      t.decode_s = MonotonicSeconds() - t1;
      t.greedy = torch::cat(greedy, 1);
      if (logp != nullptr) *logp = torch::cat(logps, 1);
      SetSkinnyGemmEnabled(true);
      SetDecodeWeights(DecodeWeightFormat::kFp32);
      return t;
    };
    const Timed timed = measure(true);
    const double prefill_s = timed.prefill_s, decode_s = timed.decode_s;
    const double prefill_tps = B * prompt_len / prefill_s;
    const double decode_tps = B * (decode_steps - 1) / decode_s;
    const double head = 2.0 * spec.config.hidden_size * spec.config.vocab_size;  // LM head: last position only
    const double prefill_gf =
        prefill_tps * (FlopsPerToken(spec.config, prompt_len / 2.0) - head + head / prompt_len) / 1e9;
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
    if (B == 1 && mem_gbs > 0) {
      // Decode at b = 1 reads every weight once per token: the memory roofline. The machine's
      // speed drifts, so the read is measured again right after this decode and the higher of the
      // two readings is the bandwidth (the stricter fraction).
      const double bytes = 4.0 * static_cast<double>(spec.config.ParameterCount());
      const double gbs = bytes * decode_tps / 1e9;
      const double now_gbs = MeasureReadGBs(read_mib, at::get_num_threads());
      const double bw = std::max(mem_gbs, now_gbs);
      std::cout << std::setprecision(1) << spec.name << " decode  b=1 roofline: " << bytes / 1e6 << " MB of weights x "
                << decode_tps << " tokens/s = " << gbs << " GB/s = " << std::setprecision(2) << gbs / bw
                << " of the measured " << std::setprecision(1) << bw << " GB/s (read " << mem_gbs << " at the start, "
                << now_gbs << " now)\n";
    }
    const bool kernel_takes_b = B <= kSkinnyMaxRows && DetectSkinnyIsa() != SkinnyIsa::kNone;
    if (kernel_takes_b) {
      const Timed plain = measure(false);
      const double plain_tps = B * (decode_steps - 1) / plain.decode_s;
      std::cout << std::setprecision(1) << spec.name << " decode  b=" << B << " with torch's linear instead of the "
                << SkinnyIsaName(DetectSkinnyIsa()) << " kernel: " << plain_tps << " tokens/s (kernel "
                << std::setprecision(2) << decode_tps / plain_tps << "x); greedy ids equal "
                << torch::eq(plain.greedy, timed.greedy).sum().item<int64_t>() << "/" << timed.greedy.numel() << "\n";
    }
    if (kernel_takes_b) {
      // The opt-in bf16-weight mode: speed, and how far its log-probs are from fp32's on the same
      // tokens (what an actor's behaviour log-probs would differ from the learner's re-scoring by).
      const Timed half = measure(true, /*bf16=*/true);
      const double half_tps = B * (decode_steps - 1) / half.decode_s;
      torch::Tensor lp_half, lp_full;
      measure(true, true, &half.greedy, &lp_half);
      measure(true, false, &half.greedy, &lp_full);
      const auto gap = (lp_half - lp_full).abs();
      std::cout << std::setprecision(1) << spec.name << " decode  b=" << B << " with bf16 weights: " << half_tps
                << " tokens/s (" << std::setprecision(2) << half_tps / decode_tps << "x fp32); greedy ids equal "
                << torch::eq(half.greedy, timed.greedy).sum().item<int64_t>() << "/" << timed.greedy.numel()
                << "; log-prob gap to fp32 on its tokens: mean " << std::scientific << std::setprecision(2)
                << gap.mean().item<double>() << ", max " << gap.max().item<double>() << std::fixed << "\n";
    }
    if (peer.enabled && !checkpoint.empty()) {
      const PeerResult r = RunPeer(peer, checkpoint, tokens, decode_steps);
      if (!r.ok) {
        std::cout << spec.name << " peer b=" << B << ": skipped: " << r.error << "\n";
        continue;
      }
      const torch::Tensor& ours = timed.greedy;
      auto acc = ours.accessor<int64_t, 2>();
      int64_t equal = 0, total = 0, first_diff = -1;
      for (int64_t b = 0; b < B && b < static_cast<int64_t>(r.ids.size()); ++b) {
        for (int64_t t = 0; t < ours.size(1) && t < static_cast<int64_t>(r.ids[b].size()); ++t) {
          ++total;
          if (acc[b][t] == r.ids[b][t]) {
            ++equal;
          } else if (first_diff < 0 || t < first_diff) {
            first_diff = t;
          }
        }
      }
      std::cout << std::setprecision(1) << spec.name << " peer    b=" << B << ": plain PyTorch " << r.torch_version
                << " (bench/peer_qwen2.py, " << peer.threads << " threads): prefill " << r.prefill_tps
                << " tokens/s (mem1 " << std::setprecision(2) << prefill_tps / r.prefill_tps << "x), decode "
                << std::setprecision(1) << r.decode_tps << " tokens/s (mem1 " << std::setprecision(2)
                << decode_tps / r.decode_tps << "x); greedy ids equal " << equal << "/" << total;
      if (first_diff >= 0) std::cout << " (first difference at step " << first_diff << ")";
      std::cout << "\n";
    }
  }
}

struct ModelBenchArgs {
  int32_t threads = 0;
  bool quick = false;
  bool skip_large = false;
  bool peer = false;
  std::string peer_script = MEM1_SOURCE_DIR "/bench/peer_qwen2.py";
  std::string python;  // empty: python3 on PATH, else /usr/bin/python3 (Debian's, where python3-torch installs)
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
  PeerOptions peer;
  std::filesystem::path scratch;
  if (a.peer) {
    peer.enabled = true;
    peer.script = a.peer_script;
    peer.threads = threads;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(peer.script, ec)) {
      std::cerr << "error: --peer-script: " << peer.script << " is not a file\n";
      return 2;
    }
    peer.python = FindTorchPython(a.python);
    if (peer.python.empty()) {
      std::cout << "peer: skipped: " << NoTorchPythonReason(a.python) << "\n";
      peer.enabled = false;
    } else {
      scratch = std::filesystem::temp_directory_path() / ("mem1_bench_peer_" + std::to_string(::getpid()));
      std::filesystem::create_directories(scratch, ec);
      peer.dir = scratch.string();
    }
  }
  const int64_t read_mib = a.quick ? 128 : 1024;
  const double mem = MeasureReadGBs(read_mib, threads);
  std::cout << "baseline memory read (best of torch sum and a plain " << threads << "-thread read, over "
            << read_mib << " MiB): " << std::fixed
            << std::setprecision(1) << mem << " GB/s\n";
  BenchShape(embedded, batches, a.quick ? 32 : 128, a.quick ? 8 : 32, mm, mem, read_mib, peer);
  if (!a.skip_large && !a.quick) BenchShape({"qwen2.5-0.5b", q05}, batches, 64, 8, mm, mem, read_mib, peer);
  if (!scratch.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  return 0;
}

}  // namespace

void RegisterModelBench(CLI::App* bench) {
  auto args = std::make_shared<ModelBenchArgs>();
  auto* m = bench->add_subcommand("model", "Prefill/decode tokens/s and GFLOP/s vs torch::mm");
  m->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  m->add_flag("--quick", args->quick, "Small sizes, embedded shape only (smoke test)");
  m->add_flag("--skip-large", args->skip_large, "Skip the Qwen2.5-0.5B shape");
  m->add_flag("--peer", args->peer,
              "Also run the plain-PyTorch peer (bench/peer_qwen2.py: same weights, prompts, threads) and print "
              "mem1's ratio to it and whether the greedy ids agree");
  m->add_option("--peer-script", args->peer_script, "Path of peer_qwen2.py");
  m->add_option("--python", args->python, "Python interpreter with torch and numpy (default: python3, else /usr/bin/python3)");
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
  auto env_threads = std::make_shared<int>(0);
  auto* env = bench->add_subcommand("env", "Print the header every bench starts with (commit, build, threads, BLAS and "
                                           "its kernel set, CPU flags) and exit");
  env->add_option("--threads", *env_threads, "Intra-op threads (0 = all cores)");
  env->callback([env_threads] {
    PrintBenchEnvironment(ApplyThreads(*env_threads));
    throw CLI::RuntimeError(0);
  });
  RegisterModelBench(bench);
  RegisterRolloutBench(bench);
  RegisterLearnerBench(bench);
  RegisterBatchBench(bench);
  RegisterRetrievalBench(bench);
  RegisterWebShopBench(bench);
  RegisterFleetBench(bench);
}

}  // namespace mem1
