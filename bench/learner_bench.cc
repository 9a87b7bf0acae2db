// `mem1 bench learner`: training throughput of the embedded default policy on 8-turn MEM1
// trajectories: tokens/s on 1 rank and (via mpirun -np 2 of this same binary) 2 ranks; the
// speedup of the masked single pass over re-running each turn separately (forward+backward,
// same loss tokens); all-reduce time as a fraction of step time.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "learner/synthetic_trajectories.h"
#include "learner/trainer.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

struct LearnerBenchArgs {
  int32_t threads = 0;
  int32_t batch = 8;
  int32_t steps = 3;
  bool quick = false;
  bool dp_worker = false;  // internal: one rank of the mpirun measurement
};

SyntheticSizes BenchSizes(bool quick) {
  SyntheticSizes s;
  s.prompt = quick ? 64 : 200;
  s.prompt_jitter = 16;
  s.generated = quick ? 24 : 64;
  s.generated_jitter = 8;
  s.observation = quick ? 32 : 100;
  s.observation_jitter = 16;
  return s;
}

std::vector<proto::Trajectory> Batch(int step, int n, int vocab, int64_t version, bool quick) {
  std::vector<proto::Trajectory> b;
  for (int i = 0; i < n; ++i) b.push_back(SyntheticMem1Trajectory(1000 * step + i, vocab, 8, version, BenchSizes(quick)));
  return b;
}

int64_t SequenceTokens(const std::vector<proto::Trajectory>& batch) {
  int64_t n = 0;
  for (const auto& t : batch)
    for (const auto& s : t.segments()) n += s.token_ids_size();
  return n;
}

struct TrainResult {
  double tokens_per_second = 0, loss_tokens_per_second = 0, allreduce_fraction = 0;
};

// This rank's share of a global batch (trajectory i goes to rank i % world), as the per-rank
// intake delivers it.
std::vector<proto::Trajectory> RankShard(const std::vector<proto::Trajectory>& batch, Communicator* comm) {
  std::vector<proto::Trajectory> shard;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (static_cast<int>(i % comm->world_size()) == comm->rank()) shard.push_back(batch[i]);
  }
  return shard;
}

TrainResult Train(Communicator* comm, const LearnerBenchArgs& a) {
  ModelInitOptions init;
  Qwen2ForCausalLM model(Qwen2ConfigFromInit(init));
  model->InitWeights(1, 0.02);
  LearnerOptions o;
  o.ppo.algorithm = Algorithm::kPpo;
  o.micro_batch_tokens = 8192;
  o.total_steps = a.steps + 1;
  Trainer trainer(model, o, comm);
  CHECK(trainer.Step(RankShard(Batch(0, a.batch, init.vocab_size, 0, a.quick), comm)).ok());  // warm-up
  double seconds = 0, allreduce = 0;
  int64_t tokens = 0, loss_tokens = 0;
  for (int s = 1; s <= a.steps; ++s) {
    auto batch = Batch(s, a.batch, init.vocab_size, trainer.policy_version(), a.quick);
    auto st = trainer.Step(RankShard(batch, comm)).value();
    seconds += st.seconds;
    allreduce += st.allreduce_seconds;
    tokens += SequenceTokens(batch);
    loss_tokens += st.tokens;
  }
  return {tokens / seconds, loss_tokens / seconds, allreduce / seconds};
}

// Forward+backward of a PPO-style objective over `seqs` in micro-batches; returns seconds.
double ForwardBackward(Qwen2ForCausalLM& model, const std::vector<MaskedSequence>& seqs, int64_t budget,
                       AttentionMode mode = AttentionMode::kBlockSparse) {
  const double t0 = MonotonicSeconds();
  std::vector<const MaskedSequence*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  for (const auto& batch : PackByLength(ptrs, budget)) {
    std::vector<const MaskedSequence*> cur;
    for (size_t i : batch) cur.push_back(ptrs[i]);
    auto sc = ScoreSequences(model, cur, std::vector<float>(cur.size(), 1.0f), false, mode);
    (sc.logp.sum() + sc.values.pow(2).sum()).backward();
  }
  return MonotonicSeconds() - t0;
}

int RunLearnerBench(const LearnerBenchArgs& a) {
  if (a.dp_worker) {
    auto comm = MakeMpiCommunicator();
    if (!comm.ok()) return ReportError(comm.status());
    ApplyThreads(a.threads);
    auto r = Train(comm->get(), a);
    if ((*comm)->rank() == 0) {
      std::cout << "dp_worker ranks " << (*comm)->world_size() << " tokens_per_s " << r.tokens_per_second
                << " loss_tokens_per_s " << r.loss_tokens_per_second << " allreduce_fraction " << r.allreduce_fraction
                << std::endl;
    }
    return 0;
  }
  const int threads = ApplyThreads(a.threads);
  PrintBenchEnvironment(threads);
  auto sample = Batch(0, a.batch, 8192, 0, a.quick);
  std::cout << "workload: embedded policy, PPO, " << a.batch << " trajectories/step of 8 turns (~"
            << SequenceTokens(sample) / a.batch << " stitched tokens each), " << a.steps << " timed steps\n";
  auto local = MakeLocalCommunicator();
  const TrainResult one = Train(local.get(), a);
  std::cout << std::fixed << std::setprecision(0) << "learner 1 rank (" << threads << " threads): " << one.tokens_per_second
            << " tokens/s (" << one.loss_tokens_per_second << " model tokens/s)\n";
  // 2 ranks: this binary under mpirun, one thread per rank (same 2 cores).
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string cmd = "mpirun --allow-run-as-root --oversubscribe -np 2 " + self + " bench learner --dp-worker --threads 1 --batch " +
                    std::to_string(a.batch) + " --steps " + std::to_string(a.steps) + (a.quick ? " --quick" : "") +
                    " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  TrainResult two;
  bool have_two = false;
  if (pipe != nullptr) {
    char line[512];
    while (std::fgets(line, sizeof(line), pipe) != nullptr) {
      int ranks = 0;
      if (std::sscanf(line, "dp_worker ranks %d tokens_per_s %lf loss_tokens_per_s %lf allreduce_fraction %lf", &ranks,
                      &two.tokens_per_second, &two.loss_tokens_per_second, &two.allreduce_fraction) == 4) {
        have_two = true;
      }
    }
    pclose(pipe);
  }
  if (have_two) {
    std::cout << std::setprecision(0) << "learner 2 ranks (1 thread each): " << two.tokens_per_second << " tokens/s ("
              << std::setprecision(2) << two.tokens_per_second / one.tokens_per_second << "x vs 1 rank), all-reduce "
              << 100 * two.allreduce_fraction << "% of step time\n";
  } else {
    std::cout << "learner 2 ranks: skipped (mpirun not available or failed)\n";
  }
  // Masked single pass vs per-turn re-runs, same loss tokens, forward + backward.
  ModelInitOptions init;
  Qwen2ForCausalLM model(Qwen2ConfigFromInit(init));
  model->InitWeights(1, 0.02);
  std::vector<MaskedSequence> stitched, per_turn;
  int64_t stitched_tokens = 0, per_turn_tokens = 0;
  for (const auto& t : sample) {
    stitched.push_back(BuildMaskedSequence(t).value());
    stitched_tokens += stitched.back().length;
    for (auto& s : BuildPerTurnSequences(t).value()) {
      per_turn_tokens += s.length;
      per_turn.push_back(std::move(s));
    }
  }
  ForwardBackward(model, stitched, 8192);  // warm-up
  const double ts = ForwardBackward(model, stitched, 8192);
  const double tp = ForwardBackward(model, per_turn, 8192);
  const double td = ForwardBackward(model, stitched, 8192, AttentionMode::kDense);
  std::cout << std::setprecision(3) << "masked single pass (block-sparse attention): " << ts << " s for " << stitched_tokens
            << " tokens; per-turn passes: " << tp << " s for " << per_turn_tokens << " tokens ("
            << std::setprecision(2) << tp / ts << "x speedup of the single pass)\n";
  std::cout << std::setprecision(3) << "masked single pass with the dense [T,T] mask: " << td << " s ("
            << std::setprecision(2) << td / ts << "x slower than block-sparse)\n";
  return 0;
}

}  // namespace

void RegisterLearnerBench(CLI::App* bench) {
  auto args = std::make_shared<LearnerBenchArgs>();
  auto* l = bench->add_subcommand("learner", "Learner tokens/s on 1 and 2 ranks, masked single pass vs per-turn, all-reduce share");
  l->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  l->add_option("--batch", args->batch, "Trajectories per step")->check(CLI::Range(1, 4096));
  l->add_option("--steps", args->steps, "Timed steps")->check(CLI::Range(1, 1000));
  l->add_flag("--quick", args->quick, "Shorter trajectories (smoke test)");
  l->add_flag("--dp-worker", args->dp_worker, "Internal: run as one rank under mpirun");
  l->callback([args] { throw CLI::RuntimeError(RunLearnerBench(*args)); });
}

}  // namespace mem1
