// A learner rank's ZeroMQ intake: a thread that owns the rank's ROUTER socket, validates every
// message from an actor (schema version, vocabulary, segment consistency, backward-only
// attends_to, finite numbers, size limits: see common/transport/wire.h), appends valid
// trajectories to the rank's store and only then acks them (an ack means: on disk). Re-sent
// trajectories are recognised by (actor id, episode id) and acked again, never stored twice.
// Invalid messages are counted per actor, logged (the first few per actor) and answered with a
// rejection so the actor stops re-sending; training goes on.
//
// Every ack carries the newest published policy version, whether the run is finished, the
// learner's incarnation, and flow control: "pause" while the rank holds max_backlog stored but
// untrained trajectories (actors then start no new episodes; when the backlog drains every
// known actor gets an unsolicited ack that lifts the pause). Hellos and heartbeats update per-actor statistics; an actor that
// reports an older version than the newest triggers a weight republish (rank 0).
//
// Thread safety: the public methods may be called from any thread.
#ifndef MEM1_LEARNER_TRAJECTORY_INTAKE_H_
#define MEM1_LEARNER_TRAJECTORY_INTAKE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/transport/fleet_channels.h"
#include "common/transport/wire.h"
#include "learner/trajectory_source.h"

namespace mem1 {

struct ActorStats {
  int64_t stored = 0, duplicates = 0, invalid = 0;
  bool banned = false;  // refused max_rejections_per_actor messages: dropped unread from then on
  int64_t episodes_done = 0, spool_depth = 0, policy_version = -1;
  double episodes_per_second = 0, tokens_per_second = 0, weight_latency_seconds = 0;
  double last_seen = 0;  // monotonic seconds
};

struct IntakeCounters {
  int64_t stored = 0, duplicates = 0, invalid = 0, store_errors = 0, unknown_messages = 0;
  int64_t banned_actors = 0;
  int64_t refused_unread = 0;  // from banned actors or (CURVE) revoked keys, dropped before decoding
};

class TrajectoryIntake {
 public:
  struct Options {
    std::string bind_endpoint = "tcp://*:0";
    WireLimits limits;
    int64_t vocab_size = 0;       // token ids must be below it
    std::string incarnation;      // this learner process's id (acks carry it)
    int rank = 0;
    int64_t max_backlog = 0;      // > 0: acks say "pause" while this many records are stored but unread
    int32_t max_rejections_per_actor = 64;  // > 0: ban an actor after this many invalid messages
    CurveServerOptions curve;               // default: plain socket
    std::shared_ptr<CurveGate> gate;        // CURVE: the rank's gate (shared with the weight PUB)
  };
  // Binds the socket (UNAVAILABLE naming the endpoint if it cannot) and starts the thread.
  // `source` must outlive the intake. `on_lagging_actor` (may be empty) is called from the
  // intake thread when an actor reports a policy version older than the newest.
  [[nodiscard]] static Result<std::unique_ptr<TrajectoryIntake>> Start(const Options& options,
                                                                      StoreTrajectorySource* source,
                                                                      std::function<void()> on_lagging_actor);
  ~TrajectoryIntake();  // Stop()s
  TrajectoryIntake(const TrajectoryIntake&) = delete;
  TrajectoryIntake& operator=(const TrajectoryIntake&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  void set_latest_version(int64_t v) { latest_version_ = v; }
  void set_finished(bool f) { finished_ = f; }
  IntakeCounters counters() const;
  std::map<std::string, ActorStats> actors() const;
  void Stop();

 private:
  TrajectoryIntake() = default;
  void Loop();
  void Reply(const std::string& peer, const std::string& actor_id, const std::vector<uint64_t>& ok,
             const std::vector<uint64_t>& rejected);
  bool Paused() const;

  Options options_;
  std::unique_ptr<TrajectoryServer> server_;
  std::string endpoint_;
  StoreTrajectorySource* source_ = nullptr;
  std::function<void()> on_lagging_;
  std::atomic<int64_t> latest_version_{0};
  std::atomic<bool> finished_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> refused_unread_{0};
  mutable std::mutex mu_;
  std::map<std::string, ActorStats> actors_;
  IntakeCounters counters_;
  std::thread thread_;
};

}  // namespace mem1

#endif  // MEM1_LEARNER_TRAJECTORY_INTAKE_H_
