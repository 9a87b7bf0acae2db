// `mem1 bench rollout`: the same random-weight embedded policy on the scripted environment with
// 2..32 turns under mem1, full and window:K. Prints peak tokens, dependency, wall time per
// episode and generated tokens/s, with the full/mem1 ratios; then the speedup of keeping the
// prompt's KV across turns vs re-prefilling it every turn (mem1).
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <iomanip>
#include <iostream>

#include "actor/envs/scripted_env.h"
#include "actor/rollout/rollout_engine.h"
#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "common/memory/episode_metrics.h"
#include "common/model/kv_cache.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

struct RolloutBenchArgs {
  int32_t threads = 0;
  bool quick = false;
  int64_t batch = 8;
  int64_t episodes = 8;
  int64_t tokens_per_turn = 32;
  int64_t window = 256;
  bool layouts = false;        // compare actor layouts (processes x threads) on this machine's cores
  int32_t layout_turns = 8;
  bool layout_worker = false;  // internal: one process of the layout comparison
  double start_at = 0;         // internal: the worker's timed run starts at this wall-clock time (s since epoch)
};

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Row {
  double peak = 0, dependency = 0, seconds_per_episode = 0, tokens_per_second = 0;
  double prefill_fraction = 0, decode_fraction = 0;  // of the engine's wall time, inside the model's forwards
  double decode_rows_per_forward = 0, mean_context = 0, prefill_forward_share = 0, tokens_per_prefill = 0;
};

// The model alone: greedy decode of `steps` tokens for `batch` rows whose KV slots already
// hold `context` tokens (argmax on the logits, no sampling, no environment): the speed the
// rollout engine is measured against, at the same batch and context length.
double RawDecodeTokensPerSecond(Qwen2ForCausalLM& model, int64_t batch, int64_t context, int64_t steps) {
  torch::NoGradGuard no_grad;
  const auto& cfg = model->config();
  context = std::max<int64_t>(1, context);
  KvCache cache(cfg, batch, context + steps + 2, torch::kCPU, torch::kFloat32);
  std::vector<int64_t> slots(batch), ones(batch, 1);
  for (int64_t b = 0; b < batch; ++b) slots[b] = b;
  auto tokens = torch::randint(cfg.vocab_size, {batch, context}, torch::kLong);
  auto pos = torch::arange(context, torch::kLong).unsqueeze(0).expand({batch, context}).contiguous();
  auto next = model->ForwardCached(&cache, slots, tokens, pos, std::vector<int64_t>(batch, context))
                  .logits.select(1, context - 1).argmax(-1).view({batch, 1});
  double t0 = 0;
  for (int64_t s = 0; s <= steps; ++s) {  // step 0 warms up, untimed
    if (s == 1) t0 = MonotonicSeconds();
    auto step_pos = torch::full({batch, 1}, context + s, torch::kLong);
    next = model->ForwardCached(&cache, slots, next, step_pos, ones).logits.select(1, 0).argmax(-1).view({batch, 1});
  }
  return batch * steps / (MonotonicSeconds() - t0);
}

Row RunOne(Qwen2ForCausalLM& model, const Tokenizer* tok, const RolloutBenchArgs& a, const std::string& policy,
           int turns, int prompt_words, bool reuse, bool mixed = true) {
  RolloutOptions o;
  o.mixed_steps = mixed;
  o.policy = ContextPolicy::Parse(policy).value();
  o.batch_size = a.batch;
  o.max_turns = turns;
  o.max_new_tokens_per_turn = a.tokens_per_turn;
  o.slot_capacity = 16384;
  o.reuse_prompt_kv = reuse;
  o.sampling.temperature = 1.0;
  o.sampling.seed = 11;
  RolloutEngine engine(model, tok, o);
  ScriptedEnvOptions env;
  env.turns = 1000;  // the engine's max_turns ends episodes
  env.prompt_words = prompt_words;
  ScriptedTaskSource tasks(a.episodes, env, GetTagPreset("paper").value());
  std::vector<double> peak, dep;
  auto st = engine.Run(&tasks, [&](proto::Trajectory&& t) {
    peak.push_back(t.metrics().peak_tokens());
    dep.push_back(t.metrics().dependency());
  });
  CHECK(st.ok()) << st.ToString();
  Row r;
  r.peak = Summarize(peak).mean;
  r.dependency = Summarize(dep).mean;
  r.seconds_per_episode = engine.stats().wall_seconds / a.episodes;
  const RolloutStats& es = engine.stats();
  r.tokens_per_second = es.generated_tokens / es.wall_seconds;
  r.prefill_fraction = es.prefill_seconds / es.wall_seconds;
  r.decode_fraction = es.decode_seconds / es.wall_seconds;
  const double forwards = std::max<double>(1, es.prefill_steps + es.decode_steps);
  r.decode_rows_per_forward = es.decode_rows / forwards;
  r.mean_context = es.decode_rows > 0 ? static_cast<double>(es.decode_keys) / es.decode_rows : 0;
  r.prefill_forward_share = es.prefill_steps / forwards;
  r.tokens_per_prefill = es.prefill_steps > 0 ? static_cast<double>(es.prefill_tokens) / es.prefill_steps : 0;
  return r;
}

// The bench's tokenizer (SentencePiece with the MEM1 tags, trained on a small generated corpus)
// and a random-weight policy of the embedded shape.
Result<std::pair<std::unique_ptr<Tokenizer>, Qwen2ForCausalLM>> SetUpPolicy() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("mem1_bench_rollout_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream c(dir / "corpus.txt");
    for (int i = 0; i < 3000; ++i) {
      c << "Task " << i << ": find the number context. <IS>note " << i % 97 << "</IS><query>word " << i % 13
        << "</query>\n<info>word word word</info> Your previous output was invalid.\n";
    }
  }
  SentencePieceTrainOptions so;
  so.corpus = (dir / "corpus.txt").string();
  so.model_prefix = (dir / "sp").string();
  so.vocab_size = 1024;
  MEM1_RETURN_IF_ERROR(TrainSentencePiece(so));
  auto tok = LoadTokenizer((dir / "sp.model").string());
  fs::remove_all(dir);
  if (!tok.ok()) return tok.status();
  ModelInitOptions init;
  init.vocab_size = (*tok)->vocab_size();
  Qwen2ForCausalLM model(Qwen2ConfigFromInit(init));
  model->InitWeights(1, 0.02);
  model->eval();
  return std::make_pair(std::move(tok).value(), model);
}

// One process of the layout comparison: mem1 episodes of `layout_turns` turns with `threads`
// threads, timed from `start_at` (so concurrent workers overlap), one parsable line.
int RunLayoutWorker(const RolloutBenchArgs& a) {
  ApplyThreads(a.threads);
  auto setup = SetUpPolicy();
  if (!setup.ok()) return ReportError(setup.status());
  auto& [tok, model] = *setup;
  RunOne(model, tok.get(), a, "mem1", 2, 0, true);  // warm-up
  while (a.start_at > 0 && WallSeconds() < a.start_at) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double t0 = WallSeconds();
  const Row r = RunOne(model, tok.get(), a, "mem1", a.layout_turns, 0, true);
  const double t1 = WallSeconds();
  std::printf("layout_worker episodes_per_s %.6f tokens_per_s %.3f start %.3f end %.3f\n",
              1.0 / r.seconds_per_episode, r.tokens_per_second, t0, t1);
  return 0;
}

struct LayoutResult {
  double episodes_per_s = 0, tokens_per_s = 0, overlap = 0;
  bool ok = false;
};

// Runs `processes` workers of `threads` threads each at once; sums their rates.
LayoutResult RunLayout(const RolloutBenchArgs& a, int processes, int threads) {
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  const double start_at = WallSeconds() + 8.0 + 2.0 * processes;  // after every worker's set-up
  std::vector<FILE*> pipes;
  for (int p = 0; p < processes; ++p) {
    const std::string cmd = self + " bench rollout --layout-worker --threads " + std::to_string(threads) + " --batch " +
                            std::to_string(a.batch) + " --episodes " + std::to_string(a.episodes) +
                            " --tokens-per-turn " + std::to_string(a.tokens_per_turn) + " --layout-turns " +
                            std::to_string(a.layout_turns) + " --start-at " + std::to_string(start_at) + " 2>/dev/null";
    pipes.push_back(::popen(cmd.c_str(), "r"));
  }
  LayoutResult r;
  r.ok = true;
  double first_end = 1e300, last_start = 0;
  for (FILE* pipe : pipes) {
    bool got = false;
    if (pipe != nullptr) {
      char line[512];
      while (std::fgets(line, sizeof(line), pipe) != nullptr) {
        double eps = 0, tps = 0, t0 = 0, t1 = 0;
        if (std::sscanf(line, "layout_worker episodes_per_s %lf tokens_per_s %lf start %lf end %lf", &eps, &tps, &t0,
                        &t1) == 4) {
          r.episodes_per_s += eps;
          r.tokens_per_s += tps;
          first_end = std::min(first_end, t1);
          last_start = std::max(last_start, t0);
          got = true;
        }
      }
      ::pclose(pipe);
    }
    r.ok = r.ok && got;
  }
  r.overlap = processes > 1 ? std::max(0.0, first_end - last_start) : 0;
  return r;
}

int RunLayoutComparison(const RolloutBenchArgs& a) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  PrintBenchEnvironment(1);
  std::cout << "actor layouts: mem1, batch " << a.batch << ", " << a.episodes << " episodes of " << a.layout_turns
            << " turns per process, " << a.tokens_per_turn << " tokens per turn, " << cores << " cores\n";
  std::cout << std::fixed;
  const LayoutResult one = RunLayout(a, 1, 1);
  if (!one.ok) {
    std::cout << "layouts: the 1-process run failed\n";
    return 1;
  }
  std::cout << std::setprecision(3) << "layout 1 process x 1 thread: " << one.episodes_per_s << " episodes/s ("
            << std::setprecision(0) << one.tokens_per_s << " generated tokens/s) [baseline]\n";
  if (cores < 2) {
    std::cout << "layouts: skipped the 2-core layouts: this machine has 1 core\n";
    return 0;
  }
  const LayoutResult threads2 = RunLayout(a, 1, 2);
  const LayoutResult procs2 = RunLayout(a, 2, 1);
  if (threads2.ok) {
    std::cout << std::setprecision(3) << "layout 1 process x 2 threads: " << threads2.episodes_per_s << " episodes/s ("
              << std::setprecision(2) << threads2.episodes_per_s / one.episodes_per_s << "x baseline)\n";
  }
  if (procs2.ok) {
    std::cout << std::setprecision(3) << "layout 2 processes x 1 thread: " << procs2.episodes_per_s << " episodes/s ("
              << std::setprecision(2) << procs2.episodes_per_s / one.episodes_per_s << "x baseline; the two ran "
              << std::setprecision(1) << procs2.overlap << " s side by side)\n";
  }
  if (threads2.ok && procs2.ok) {
    const bool procs_faster = procs2.episodes_per_s > threads2.episodes_per_s;
    std::cout << std::setprecision(2) << "on 2 cores, " << (procs_faster ? "2 processes x 1 thread" : "1 process x 2 threads")
              << " is faster: " << std::max(procs2.episodes_per_s, threads2.episodes_per_s) /
                                       std::min(procs2.episodes_per_s, threads2.episodes_per_s)
              << "x the other layout\n";
  }
  return 0;
}

int RunRolloutBench(const RolloutBenchArgs& a_in) {
  RolloutBenchArgs a = a_in;
  if (a.quick) { a.episodes = 4; a.batch = 4; a.tokens_per_turn = 16; }
  if (a.layout_worker) return RunLayoutWorker(a);
  if (a.layouts) return RunLayoutComparison(a);
  const int threads = ApplyThreads(a.threads);
  PrintBenchEnvironment(threads);
  auto setup = SetUpPolicy();
  if (!setup.ok()) return ReportError(setup.status());
  auto& [tok, model] = *setup;
  std::cout << "policy: embedded shape, " << model->config().ParameterCount() / 1e6 << "M params, batch " << a.batch
            << ", " << a.episodes << " episodes per setting, " << a.tokens_per_turn << " tokens per turn\n";
  const std::vector<int> turns = a.quick ? std::vector<int>{2, 8} : std::vector<int>{2, 4, 8, 16, 32};
  const std::string window = "window:" + std::to_string(a.window);
  std::cout << std::fixed;
  for (int n : turns) {
    std::map<std::string, Row> rows;
    for (const std::string& policy : {std::string("mem1"), std::string("full"), window}) {
      Row r = RunOne(model, tok.get(), a, policy, n, 0, true);
      rows[policy] = r;
      std::cout << std::setprecision(1) << "rollout " << std::left << std::setw(10) << policy << std::right
                << " turns=" << std::setw(2) << n << ": peak " << r.peak << " tokens, dependency " << std::setprecision(0)
                << r.dependency << ", " << std::setprecision(3) << r.seconds_per_episode << " s/episode, "
                << std::setprecision(0) << r.tokens_per_second << " generated tokens/s\n";
      const double raw = RawDecodeTokensPerSecond(model, a.batch, std::lround(r.mean_context), 32);
      std::cout << std::setprecision(0) << "  engine " << policy << " turns=" << n << ": " << r.tokens_per_second
                << " generated tokens/s vs raw decode " << raw << " tokens/s at b=" << a.batch << ", context "
                << r.mean_context << " (" << std::setprecision(2) << r.tokens_per_second / raw << "x raw); wall: "
                << std::setprecision(0) << r.prefill_fraction * 100 << "% forwards with a prefill, "
                << r.decode_fraction * 100 << "% decode-only forwards, "
                << (1 - r.prefill_fraction - r.decode_fraction) * 100 << "% engine; " << std::setprecision(2)
                << r.decode_rows_per_forward << " decode rows per forward, " << r.prefill_forward_share * 100
                << "% of forwards carry a prefill (" << std::setprecision(0) << r.tokens_per_prefill
                << " context tokens each)\n";
      if (policy == "mem1") {
        // The two-phase reference: pending contexts in padded prefill forwards of their own.
        const Row two = RunOne(model, tok.get(), a, policy, n, 0, true, /*mixed=*/false);
        std::cout << std::setprecision(0) << "  engine mem1 turns=" << n << " two-phase (actor prefills apart): "
                  << two.tokens_per_second << " generated tokens/s (" << std::setprecision(2)
                  << two.tokens_per_second / raw << "x raw); mixed steps " << r.tokens_per_second / two.tokens_per_second
                  << "x two-phase\n";
      }
    }
    const Row& m = rows["mem1"];
    const Row& f = rows["full"];
    std::cout << std::setprecision(2) << "ratio full/mem1 turns=" << n << ": peak " << f.peak / m.peak << "x, dependency "
              << f.dependency / m.dependency << "x, time " << f.seconds_per_episode / m.seconds_per_episode << "x\n";
  }
  // Prompt-KV reuse: a long prompt, many turns.
  const int reuse_turns = a.quick ? 4 : 16;
  const int prompt_words = a.quick ? 100 : 400;
  Row keep = RunOne(model, tok.get(), a, "mem1", reuse_turns, prompt_words, true);
  Row redo = RunOne(model, tok.get(), a, "mem1", reuse_turns, prompt_words, false);
  std::cout << std::setprecision(3) << "prompt KV reuse (mem1, " << reuse_turns << " turns, ~" << prompt_words
            << "-word prompt): " << keep.seconds_per_episode << " s/episode vs re-prefill " << redo.seconds_per_episode
            << " s/episode (" << std::setprecision(2) << redo.seconds_per_episode / keep.seconds_per_episode
            << "x speedup)\n";
  return 0;
}

}  // namespace

void RegisterRolloutBench(CLI::App* bench) {
  auto args = std::make_shared<RolloutBenchArgs>();
  auto* r = bench->add_subcommand("rollout", "Peak tokens, dependency, time: mem1 vs full vs window over 2-32 turns");
  r->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  r->add_flag("--quick", args->quick, "Fewer turns/episodes (smoke test)");
  r->add_option("--batch", args->batch, "Concurrent episodes")->check(CLI::Range(1, 1024));
  r->add_option("--episodes", args->episodes, "Episodes per setting")->check(CLI::Range(1, 1 << 20));
  r->add_option("--tokens-per-turn", args->tokens_per_turn, "Max new tokens per turn")->check(CLI::Range(1, 4096));
  r->add_option("--window", args->window, "K for the window:K baseline")->check(CLI::Range(1, 1 << 20));
  r->add_flag("--layouts", args->layouts,
              "Compare actor layouts on this machine: 1 process x 1 thread, 1 x 2 threads, 2 processes x 1 thread "
              "(episodes/s, mem1, --layout-turns turns)");
  r->add_option("--layout-turns", args->layout_turns, "Turns per episode in --layouts")->check(CLI::Range(1, 1024));
  r->add_flag("--layout-worker", args->layout_worker, "Internal: one process of --layouts");
  r->add_option("--start-at", args->start_at, "Internal: wall-clock start of a --layout-worker's timed run");
  r->callback([args] { throw CLI::RuntimeError(RunRolloutBench(*args)); });
}

}  // namespace mem1
