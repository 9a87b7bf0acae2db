// `mem1 bench learner`: training throughput of the embedded default policy on 8-turn MEM1
// trajectories: tokens/s on 1 rank and (via mpirun -np 2 of this same binary) 2 ranks; the
// speedup of the masked single pass over re-running each turn separately (forward+backward,
// same loss tokens); all-reduce time as a fraction of step time.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "common/model/model_io.h"
#include "learner/adamw.h"
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
  bool peer = false;
  std::string peer_script = MEM1_SOURCE_DIR "/bench/peer_qwen2.py";
  std::string python;
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

// One optimizer step over `seqs`: forward + backward of the bench objective (ForwardBackward's:
// sum of loss-token log-probs + sum of squared values) in micro-batches, then AdamW on every
// parameter. Returns seconds; `loss` gets the objective's value.
double TrainStep(Qwen2ForCausalLM& model, const std::vector<MaskedSequence>& seqs, int64_t step,
                 std::vector<torch::Tensor>* m, std::vector<torch::Tensor>* v, double* loss) {
  const double t0 = MonotonicSeconds();
  std::vector<const MaskedSequence*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  double total = 0;
  for (const auto& batch : PackByLength(ptrs, 8192)) {
    std::vector<const MaskedSequence*> cur;
    for (size_t i : batch) cur.push_back(ptrs[i]);
    auto sc = ScoreSequences(model, cur, std::vector<float>(cur.size(), 1.0f), false);
    auto l = sc.logp.sum() + sc.values.pow(2).sum();
    l.backward();
    total += l.item<double>();
  }
  OptimOptions optim;
  optim.weight_decay = 0.0;
  auto params = model->parameters();
  if (m->empty()) {
    for (auto& p : params) {
      m->push_back(torch::zeros_like(p));
      v->push_back(torch::zeros_like(p));
    }
  }
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      if (!params[i].grad().defined()) continue;
      AdamWUpdate(optim, step, 1e-5, params[i].grad(), &params[i], &(*m)[i], &(*v)[i]);
      params[i].mutable_grad() = torch::Tensor();
    }
  }
  *loss = total;
  return MonotonicSeconds() - t0;
}

// The learner against the plain-PyTorch peer (bench/peer_qwen2.py train): the same weights
// (an HF checkpoint written here), the same stitched sequences (tokens, positions, loss mask
// and the dense visibility mask written for it), the same objective and optimizer, the same
// threads. Prints both tokens/s, the ratio, and both first-step objective values.
void RunLearnerPeer(const LearnerBenchArgs& a, int threads, const std::vector<MaskedSequence>& stitched,
                    double trainer_tokens_per_s) {
  const std::string python = FindTorchPython(a.python);
  if (python.empty()) {
    std::cout << "learner peer: skipped: " << NoTorchPythonReason(a.python) << "\n";
    return;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(a.peer_script, ec)) {
    std::cout << "learner peer: skipped: " << a.peer_script << " is not a file\n";
    return;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("mem1_bench_learner_peer_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir, ec);
  ModelInitOptions init;
  Qwen2ForCausalLM model(Qwen2ConfigFromInit(init));
  model->InitWeights(7, 0.02);
  if (Status st = SaveHfModel(model, (dir / "ckpt").string(), "float32"); !st.ok()) {
    std::cout << "learner peer: skipped: " << st.ToString() << "\n";
    std::filesystem::remove_all(dir, ec);
    return;
  }
  nlohmann::json index = nlohmann::json::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < stitched.size(); ++i) {
    const MaskedSequence& s = stitched[i];
    const std::string file = "seq" + std::to_string(i) + ".bin";
    std::ofstream f(dir / file, std::ios::binary);
    std::vector<int64_t> ids(s.tokens.begin(), s.tokens.end()), pos(s.positions.begin(), s.positions.end());
    f.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * 8));
    f.write(reinterpret_cast<const char*>(pos.data()), static_cast<std::streamsize>(pos.size() * 8));
    f.write(reinterpret_cast<const char*>(s.loss_mask.data()), static_cast<std::streamsize>(s.loss_mask.size()));
    const std::vector<uint8_t> mask = DenseMask(s);
    f.write(reinterpret_cast<const char*>(mask.data()), static_cast<std::streamsize>(mask.size()));
    index.push_back({{"file", file}, {"T", s.length}});
    tokens += s.length;
  }
  std::ofstream(dir / "index.json") << index.dump();
  // Ours: one warm-up step, then the mean of a.steps steps.
  std::vector<torch::Tensor> m, v;
  double first_loss = 0, loss = 0, seconds = 0;
  TrainStep(model, stitched, 1, &m, &v, &first_loss);
  for (int s = 0; s < a.steps; ++s) seconds += TrainStep(model, stitched, 2 + s, &m, &v, &loss);
  const double ours = tokens * a.steps / seconds;
  std::string last;
  const std::string cmd = python + " '" + a.peer_script + "' train '" + (dir / "ckpt").string() + "' '" + dir.string() +
                          "' " + std::to_string(a.steps) + " " + std::to_string(threads);
  const int status = RunForLastLine(cmd, &last);
  std::filesystem::remove_all(dir, ec);
  auto j = nlohmann::json::parse(last, nullptr, false);
  if (status != 0 || j.is_discarded() || !j.is_object() || !j.contains("tokens_per_s")) {
    std::cout << "learner peer: failed (exit " << status << "): " << last << "\n";
    return;
  }
  const double peer = j.value("tokens_per_s", 0.0), peer_loss = j.value("first_loss", 0.0);
  std::cout << std::setprecision(0) << "learner step vs plain PyTorch " << j.value("torch", std::string("?"))
            << " (bench/peer_qwen2.py; same weights, the same " << stitched.size() << " stitched sequences of " << tokens
            << " tokens, forward + backward + AdamW, " << threads << " threads): mem1 " << ours << " tokens/s, peer "
            << peer << " tokens/s (mem1 " << std::setprecision(2) << ours / peer << "x); the full PPO trainer step "
            << std::setprecision(0) << trainer_tokens_per_s << " tokens/s (" << std::setprecision(2)
            << trainer_tokens_per_s / peer << "x the peer)\n";
  // Achieved FLOP/s of our step, counted as the arithmetic the step needs: per token the linear
  // layers (2 x non-embedding weights), per visible (row, key) pair 4 x hidden (scores and
  // values), per loss row the LM head (2 x hidden x vocab); backward twice the forward.
  const Qwen2Config& c = model->config();
  const double d = c.hidden_size, kv = c.num_key_value_heads * c.head_dim();
  const double linear = c.num_hidden_layers * (2 * d * d + 2 * d * kv + 3 * d * c.intermediate_size);
  double pairs = 0, loss_rows = 0;
  for (const MaskedSequence& seq : stitched) {
    for (const QueryBlock& b : QueryBlocks(seq)) {
      double keys = 0;
      for (const auto& [k0, k1] : b.keys) keys += static_cast<double>(k1 - k0);
      const double n = static_cast<double>(b.q_end - b.q_begin);
      pairs += n * keys + n * (n + 1) / 2;
    }
    for (uint8_t l : seq.loss_mask) loss_rows += l;
  }
  const double flops = 3 * (2 * linear * tokens + 4 * d * c.num_hidden_layers * pairs + 2 * d * c.vocab_size * loss_rows);
  const double achieved = flops / (seconds / a.steps) / 1e9;
  const double mm = MeasureMmGflops(2048);
  std::cout << std::setprecision(1) << "learner step achieved " << achieved << " GFLOP/s (forward + backward = 3x the "
            << "forward's linear, attention over visible pairs and loss-row LM head FLOPs) = " << std::setprecision(2)
            << achieved / mm << "x the torch::mm 2048^3 rate of " << std::setprecision(1) << mm << " GFLOP/s in this run\n";
  std::cout << std::setprecision(4) << "learner peer check: first-step objective mem1 " << first_loss << ", peer "
            << peer_loss << " (relative difference " << std::setprecision(2) << std::scientific
            << std::abs(first_loss - peer_loss) / std::max(1e-12, std::abs(peer_loss)) << std::fixed << ")\n";
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
  if (a.peer) RunLearnerPeer(a, threads, stitched, one.tokens_per_second);
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
  l->add_flag("--peer", args->peer,
              "Also time the plain-PyTorch peer (bench/peer_qwen2.py train: same weights, sequences, objective, "
              "AdamW, threads) and print mem1's ratio to it");
  l->add_option("--peer-script", args->peer_script, "Path of peer_qwen2.py");
  l->add_option("--python", args->python, "Python interpreter with torch and numpy (default: python3, else /usr/bin/python3)");
  l->callback([args] { throw CLI::RuntimeError(RunLearnerBench(*args)); });
}

}  // namespace mem1
