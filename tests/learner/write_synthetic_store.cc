// Test helper: writes COUNT synthetic MEM1 trajectories (learner/synthetic_trajectories.h,
// vocabulary 97, policy version 0, deterministic per index) into a new trajectory store at
// DIR, for learner runs that need data but no actors (learner.offline_store).
// Usage: mem1_write_synthetic_store DIR COUNT
#include <cstdlib>
#include <iostream>

#include "common/storage/trajectory_store.h"
#include "learner/synthetic_trajectories.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: mem1_write_synthetic_store DIR COUNT\n";
    return 2;
  }
  const int count = std::atoi(argv[2]);
  auto store = mem1::TrajectoryStore::Open(argv[1], mem1::TrajectoryStoreOptions(), "synthetic: true\n");
  if (!store.ok()) {
    std::cerr << "error: " << store.status().message() << "\n";
    return 1;
  }
  for (const auto& t : mem1::SyntheticBatch(1, count, 97, 0)) {
    if (auto r = (*store)->Append(t); !r.ok()) {
      std::cerr << "error: " << r.status().message() << "\n";
      return 1;
    }
  }
  if (auto st = (*store)->Close(); !st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return 1;
  }
  std::cout << "wrote " << count << " trajectories to " << argv[1] << "\n";
  return 0;
}
