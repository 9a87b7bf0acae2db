// `mem1 bench batch`: memory and time of turning one long MEM1 trajectory into the learner's
// attention plan, two ways, in the same run:
//   dense  record -> masked sequence + dense [T,T] mask -> block plan read from the mask
//          (what the learner did before segment spans: T^2 bytes, T^2 work per sequence)
//   spans  record -> masked sequence with segment spans -> block plan read from the spans
// at T = 2k, 8k, 32k tokens (a 16-objective task on a GPU is tens of thousands of tokens).
// Both plans give the same attention (tests/learner/trainer_test.cc checks it); the bench
// checks that both plans score the same number of (row, key) pairs.
#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <thread>

#include "common/cli/cli_common.h"
#include "common/util/strings.h"
#include "learner/scoring.h"
#include "learner/synthetic_trajectories.h"

namespace mem1 {
namespace {

struct BatchBenchArgs {
  std::vector<int64_t> lengths = {2048, 8192, 32768};
  int32_t reps = 3;
  int32_t threads = 0;
};

struct PlanCost {
  double seconds = 1e30;  // best of reps
  int64_t bytes = 0;      // bytes held by the representation + the plan's tensors
  int64_t blocks = 0;
  int64_t scored_pairs = 0;  // sum over blocks of rows x keys
};

int64_t PlanBytes(const std::vector<AttentionBlock>& blocks, int64_t* scored) {
  int64_t bytes = 0;
  *scored = 0;
  for (const auto& b : blocks) {
    bytes += b.keys.numel() * 8 + b.bias.numel() * 4;
    *scored += (b.q_end - b.q_begin) * b.keys.numel();
  }
  return bytes;
}

int RunBatchBench(const BatchBenchArgs& args) {
  torch::set_num_threads(args.threads > 0 ? args.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  torch::NoGradGuard no_grad;
  std::cout << "learner batch plan for one MEM1 trajectory: dense [T,T] mask vs segment spans (best of " << args.reps
            << ")\n";
  std::cout << std::setw(7) << "T" << std::setw(7) << "turns" << std::setw(12) << "dense s" << std::setw(12) << "spans s"
            << std::setw(9) << "time x" << std::setw(13) << "dense MiB" << std::setw(13) << "spans MiB" << std::setw(9)
            << "mem x" << std::setw(8) << "blocks\n";
  SyntheticSizes sz;
  sz.prompt = 400;
  sz.prompt_jitter = 1;
  sz.generated = 150;
  sz.generated_jitter = 1;
  sz.observation = 250;
  sz.observation_jitter = 1;
  for (int64_t target : args.lengths) {
    // Turns so the stitched sequence reaches the target length: P + G_1 + (C_t + G_t) per turn.
    const int64_t per_turn = 2 * sz.generated + sz.observation;
    int turns = static_cast<int>(std::max<int64_t>(1, (target - sz.prompt - sz.generated) / per_turn + 1));
    proto::Trajectory t = SyntheticMem1Trajectory(7, 1000, turns, 0, sz);
    auto len = [&] {
      int64_t n = 0;
      for (const auto& s : t.segments()) n += s.token_ids_size();
      return n;
    };
    while (len() < target) t = SyntheticMem1Trajectory(7, 1000, ++turns, 0, sz);
    PlanCost dense, spans;
    for (int r = 0; r < args.reps; ++r) {
      {
        const double t0 = MonotonicSeconds();
        auto m = BuildMaskedSequence(t).value();
        const std::vector<uint8_t> mask = DenseMask(m);
        const auto plan = AttentionBlocksFromMask(mask.data(), m.length, torch::kCPU);
        dense.seconds = std::min(dense.seconds, MonotonicSeconds() - t0);
        dense.bytes = static_cast<int64_t>(mask.size()) + PlanBytes(plan, &dense.scored_pairs);
        dense.blocks = static_cast<int64_t>(plan.size());
      }
      {
        const double t0 = MonotonicSeconds();
        auto m = BuildMaskedSequence(t).value();
        const auto plan = AttentionBlocksFromSpans(m, torch::kCPU);
        spans.seconds = std::min(spans.seconds, MonotonicSeconds() - t0);
        int64_t span_bytes = 0;
        for (const auto& s : m.segments) span_bytes += static_cast<int64_t>(sizeof(SegmentSpan) + 4 * s.attends_to.size());
        spans.bytes = span_bytes + PlanBytes(plan, &spans.scored_pairs);
        spans.blocks = static_cast<int64_t>(plan.size());
      }
    }
    if (dense.scored_pairs != spans.scored_pairs) {
      std::cerr << "error: the two plans score different (row, key) pairs at T=" << len() << ": " << dense.scored_pairs
                << " vs " << spans.scored_pairs << "\n";
      return 1;
    }
    const double mib = 1024.0 * 1024.0;
    std::cout << std::fixed << std::setw(7) << len() << std::setw(7) << turns << std::setprecision(4) << std::setw(12)
              << dense.seconds << std::setw(12) << spans.seconds << std::setprecision(1) << std::setw(8)
              << dense.seconds / spans.seconds << "x" << std::setw(13) << dense.bytes / mib << std::setw(13)
              << spans.bytes / mib << std::setw(8) << static_cast<double>(dense.bytes) / spans.bytes << "x" << std::setw(7)
              << spans.blocks << "\n";
  }
  std::cout << "(MiB = bytes held by the mask representation plus the plan's key and bias tensors; the plan itself is "
               "the same attention both ways)\n";
  return 0;
}

}  // namespace

void RegisterBatchBench(CLI::App* bench) {
  auto args = std::make_shared<BatchBenchArgs>();
  auto* b = bench->add_subcommand("batch", "Learner batch plan: dense [T,T] mask vs segment spans, time and memory at T = 2k/8k/32k");
  b->add_option("--lengths", args->lengths, "Trajectory lengths in tokens")->check(CLI::Range(int64_t{16}, int64_t{1} << 20));
  b->add_option("--reps", args->reps, "Repetitions (best time is printed)")->check(CLI::Range(1, 100));
  b->add_option("--threads", args->threads, "Intra-op threads (0 = all cores)");
  b->callback([args] { throw CLI::RuntimeError(RunBatchBench(*args)); });
}

}  // namespace mem1
