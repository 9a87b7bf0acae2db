// Synthetic MEM1-layout trajectories (random tokens, valid layout and records) for learner
// tests and benchmarks: deterministic per seed.
#ifndef MEM1_LEARNER_SYNTHETIC_TRAJECTORIES_H_
#define MEM1_LEARNER_SYNTHETIC_TRAJECTORIES_H_

#include <random>
#include <vector>

#include "common/memory/trajectory_layout.h"
#include "proto/mem1.pb.h"

namespace mem1 {

// [prompt][G_1][C_2][G_2]...[C_n][G_n], laid out by TrajectoryLayout (the rollout engine's
// layout) under the mem1 policy: C_{t+1} = G_t + random observation tokens.
struct SyntheticSizes {
  int prompt = 6, prompt_jitter = 5;        // prompt tokens: prompt + [0, jitter)
  int generated = 3, generated_jitter = 4;  // per-turn generated tokens
  int observation = 2, observation_jitter = 3;
};

inline proto::Trajectory SyntheticMem1Trajectory(uint64_t seed, int vocab, int turns, int64_t version,
                                                 const SyntheticSizes& sz = SyntheticSizes()) {
  std::mt19937 rng(static_cast<uint32_t>(seed * 7919 + 13));
  auto tokens = [&](int n) {
    std::vector<int32_t> v;
    for (int i = 0; i < n; ++i) v.push_back(static_cast<int32_t>(rng() % vocab));
    return v;
  };
  proto::Trajectory t;
  t.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
  t.set_actor_id("synthetic");
  t.set_episode_id(seed);
  t.set_policy_version(version);
  t.set_sampling_temperature(1.0f);
  t.set_reward(static_cast<double>(seed % 3) / 2.0);
  t.set_group_id(seed / 2);
  auto logprobs = [&](size_t n) {
    std::vector<float> v;
    for (size_t i = 0; i < n; ++i) v.push_back(-2.0f - 0.01f * static_cast<float>(rng() % 100));
    return v;
  };
  const auto prompt = tokens(sz.prompt + rng() % sz.prompt_jitter);
  TrajectoryLayout layout(ContextPolicy(), prompt, &t);  // mem1
  auto g = tokens(sz.generated + rng() % sz.generated_jitter);
  layout.AddTurn(g, logprobs(g.size()), std::vector<uint8_t>(g.size(), 0), version, 0);
  for (int turn = 1; turn < turns; ++turn) {
    layout.Observe(tokens(sz.observation + rng() % sz.observation_jitter), turn);
    g = tokens(sz.generated + rng() % sz.generated_jitter);
    layout.AddTurn(g, logprobs(g.size()), std::vector<uint8_t>(g.size(), 0), version, turn);
  }
  return t;
}

inline std::vector<proto::Trajectory> SyntheticBatch(uint64_t first_seed, int count, int vocab, int64_t version) {
  std::vector<proto::Trajectory> out;
  for (int i = 0; i < count; ++i) out.push_back(SyntheticMem1Trajectory(first_seed + i, vocab, 2 + (first_seed + i) % 3, version));
  return out;
}

}  // namespace mem1

#endif  // MEM1_LEARNER_SYNTHETIC_TRAJECTORIES_H_
