// Synthetic MEM1-layout trajectories (random tokens, valid layout and records) for learner
// tests and benchmarks: deterministic per seed.
#ifndef MEM1_LEARNER_SYNTHETIC_TRAJECTORIES_H_
#define MEM1_LEARNER_SYNTHETIC_TRAJECTORIES_H_

#include <random>
#include <vector>

#include "proto/mem1.pb.h"

namespace mem1 {

// [prompt][G_1][C_2][G_2]...[C_n][G_n] with generation-time positions and the MEM1 mask rule.
struct SyntheticSizes {
  int prompt = 6, prompt_jitter = 5;        // prompt tokens: prompt + [0, jitter)
  int generated = 3, generated_jitter = 4;  // per-turn generated tokens
  int observation = 2, observation_jitter = 3;
};

inline proto::Trajectory SyntheticMem1Trajectory(uint64_t seed, int vocab, int turns, int64_t version,
                                                 const SyntheticSizes& sz = SyntheticSizes()) {
  std::mt19937 rng(static_cast<uint32_t>(seed * 7919 + 13));
  auto tokens = [&](int n) {
    std::vector<int> v;
    for (int i = 0; i < n; ++i) v.push_back(static_cast<int>(rng() % vocab));
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
  auto add = [&](proto::SegmentRole role, const std::vector<int>& ids, int first_pos, std::vector<int> attends) {
    auto* s = t.add_segments();
    s->set_role(role);
    for (size_t i = 0; i < ids.size(); ++i) {
      s->add_token_ids(ids[i]);
      s->add_position_ids(first_pos + static_cast<int>(i));
      if (role == proto::ROLE_MODEL) s->add_behaviour_logprobs(-2.0f - 0.01f * static_cast<float>(rng() % 100));
    }
    for (int a : attends) s->add_attends_to(a);
    s->set_policy_version(version);
    return t.segments_size() - 1;
  };
  const auto prompt = tokens(sz.prompt + rng() % sz.prompt_jitter);
  const int P = prompt.size();
  add(proto::ROLE_PROMPT, prompt, 0, {});
  auto g = tokens(sz.generated + rng() % sz.generated_jitter);
  add(proto::ROLE_MODEL, g, P, {0});
  for (int turn = 1; turn < turns; ++turn) {
    auto c = g;
    auto obs = tokens(sz.observation + rng() % sz.observation_jitter);
    c.insert(c.end(), obs.begin(), obs.end());
    const int cseg = add(proto::ROLE_CONTEXT, c, P, {0});
    g = tokens(sz.generated + rng() % sz.generated_jitter);
    add(proto::ROLE_MODEL, g, P + static_cast<int>(c.size()), {0, cseg});
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
