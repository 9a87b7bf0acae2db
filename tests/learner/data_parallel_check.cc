// Run under `mpirun -np 2`: trains 3 steps data parallel (each rank its shard of a global batch of
// B trajectories, whole GRPO groups per rank) and, on rank 0, the same 3 steps on one rank with the whole batch; the
// parameters must agree to 1e-5 relative. Prints "dp_check: N passed, M failed".
#include <mpi.h>

#include <iostream>

#include "learner/trainer.h"
#include "tests/common/model/test_util.h"
#include "learner/synthetic_trajectories.h"

int main() {
  using namespace mem1;
  auto comm_or = MakeMpiCommunicator();
  auto comm = std::move(comm_or).value();
  torch::set_num_threads(1);
  int passed = 0, failed = 0;
  for (const char* algorithm : {"ppo", "grpo", "sft"}) {
    LearnerOptions o;
    o.ppo.algorithm = ParseAlgorithm(algorithm).value();
    o.micro_batch_tokens = 128;
    o.optim.actor_lr = 1e-3;
    o.optim.critic_lr = 1e-2;
    o.total_steps = 3;
    Trainer dp(mem1::testing::TinyModel(9), o, comm.get());
    std::vector<std::vector<proto::Trajectory>> batches;
    for (int s = 0; s < 3; ++s) batches.push_back(SyntheticBatch(10 + 8 * s, 8, 97, s));
    // Each rank trains its shard: whole GRPO groups per rank (group_id % world), as actors send them.
    for (const auto& b : batches) {
      std::vector<proto::Trajectory> shard;
      for (const auto& t : b) {
        if (static_cast<int>(t.group_id() % comm->world_size()) == comm->rank()) shard.push_back(t);
      }
      auto st = dp.Step(shard);
      CHECK(st.ok()) << st.status().ToString();
    }
    int ok = 1;
    if (comm->rank() == 0) {
      auto local = MakeLocalCommunicator();
      Trainer single(mem1::testing::TinyModel(9), o, local.get());
      for (const auto& b : batches) CHECK(single.Step(b).ok());
      auto pa = dp.policy()->named_parameters(true);
      double worst = 0;
      for (const auto& p : single.policy()->named_parameters(true)) {
        const auto& q = pa[p.key()];
        const double rel = ((p.value() - q).abs().max() / (p.value().abs().max() + 1e-12)).item<double>();
        worst = std::max(worst, rel);
      }
      ok = worst <= 1e-5;
      std::cout << algorithm << ": " << comm->world_size() << " ranks vs 1 rank, max relative parameter difference "
                << worst << (ok ? " (ok)" : " (FAIL)") << std::endl;
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    (ok ? passed : failed)++;
  }
  if (comm->rank() == 0) std::cout << "dp_check: " << passed << " passed, " << failed << " failed" << std::endl;
  return failed == 0 ? 0 : 1;
}
