// The actor process's main loop (`mem1_actor`): one policy copy, the environments of
// env.name, the rollout engine, and a LearnerClient that streams finished trajectories to the
// learner ranks and brings new weights back.
//
// Weights swap BETWEEN EPISODES: when a complete newer version has arrived the task gate
// closes, the engine finishes the episodes in flight (tagged with the version that generated
// them), the weights are copied in, the version is bumped and the gate reopens. The actor
// starts no episode while it is more than the allowed lag behind the learner's newest
// version (sync mode: 0, async: learner.ppo.max_policy_lag; SFT / a scripted teacher: no
// limit) and waits for weights instead.
//
// Thread safety: call from one thread; `stop` may be set from a signal handler.
#ifndef MEM1_ACTOR_ACTOR_LOOP_H_
#define MEM1_ACTOR_ACTOR_LOOP_H_

#include <atomic>
#include <string>

#include "common/config/config.h"
#include "common/util/status.h"

namespace mem1 {

// Runs until the learner finishes (OK), actor.episodes are done and acked (OK), `stop` is set
// (OK), or the learner cannot be reached (UNAVAILABLE) / the config is unusable.
[[nodiscard]] Status RunActor(const Mem1Config& config, const std::string& actor_id, const std::atomic<bool>* stop);

// A default actor id: "<hostname>-<pid>".
std::string DefaultActorId();

}  // namespace mem1

#endif  // MEM1_ACTOR_ACTOR_LOOP_H_
