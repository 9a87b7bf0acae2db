// An actor's connection to the learner: a network thread that owns every ZeroMQ socket and
// a bounded spool of trajectories sent but not yet acknowledged.
//
// Delivery (at-least-once here, exactly-once with the learner's store): Submit() puts a
// trajectory in the spool (blocking while the spool is full); the network thread sends it to
// the learner rank that owns it (GRPO group id, else episode id, modulo the world size), and
// drops it only when that rank acks it (the ack means: on disk in the rank's store). A
// trajectory not acked within resend_after_s is re-sent; the store recognises re-sends by
// (actor id, episode id). When the rendezvous file names a new learner incarnation (a
// restart), the client reconnects to the new endpoints and re-sends the whole spool.
//
// Weights: chunks from rank 0's PUB are assembled and verified (CRC32C per chunk); a complete
// version is offered through TakeWeights(), newest first. Hello on connect and a heartbeat
// every heartbeat_s carry the actor's version so the learner republishes when it lags.
//
// Thread safety: Submit, TakeWeights, the accessors and Stop may be called from any thread.
#ifndef MEM1_ACTOR_LEARNER_CLIENT_H_
#define MEM1_ACTOR_LEARNER_CLIENT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/transport/curve.h"
#include "common/transport/weight_chunks.h"
#include "common/util/status.h"
#include "proto/mem1.pb.h"

namespace mem1 {

struct LearnerClientOptions {
  std::string actor_id;                    // routing id and Trajectory.actor_id
  std::string run_dir;                     // where rendezvous.json is (endpoints "": how to connect;
                                           // always: a "finished" state for our learner ends us)
  std::string learner_endpoints;           // "" = rendezvous; else comma-separated, rank order
  std::string weights_endpoint;            // "" = rendezvous
  int32_t spool_capacity = 256;            // unacked trajectories held
  double resend_after_s = 10.0;            // re-send when not acked within this time
  double heartbeat_s = 1.0;
  double connect_timeout_s = 300.0;        // wait for the rendezvous file this long
  double learner_timeout_s = 600.0;        // give up when the learner is silent this long
  int32_t num_envs = 0;                    // reported in the hello
  std::string ack_log_path;                // "" = off; else one "episode_id rank" line per acked trajectory (audit)
  CurveClientOptions curve;                // default: plain sockets
  int32_t max_weight_versions_in_flight = 2;      // incomplete weight versions assembled at once
  int64_t max_weight_version_bytes = 8LL << 30;   // declared bytes of one version (bigger: refused)
};

// Counters the actor prints and heartbeats.
struct LearnerClientStats {
  int64_t submitted = 0, acked = 0, rejected = 0, resent = 0, reconnects = 0;
  int64_t spool_depth = 0;
  int64_t latest_policy_version = -1;      // newest version the learner announced
  bool learner_finished = false;
  double weight_latency_seconds = 0;       // last complete version: publish start -> assembled
};

class LearnerClient {
 public:
  // Starts the network thread. It waits (up to connect_timeout_s) for the rendezvous file.
  explicit LearnerClient(const LearnerClientOptions& options);
  // Stop()s.
  ~LearnerClient();
  LearnerClient(const LearnerClient&) = delete;
  LearnerClient& operator=(const LearnerClient&) = delete;

  // Adds a finished trajectory to the spool; blocks while the spool is full. UNAVAILABLE
  // when the client stopped or failed (the learner finished or vanished) before it fit.
  [[nodiscard]] Status Submit(proto::Trajectory trajectory);
  // The newest complete weight version not yet taken, or nullopt.
  std::optional<CompleteWeights> TakeWeights();
  // Blocks until a weight version other than `version` is ready (newer, or older after a
  // learner restart from a checkpoint), the client fails, or timeout_s passes; true if so.
  bool WaitForWeights(int64_t version, double timeout_s);
  // Blocks until the spool is empty (everything acked), or timeout_s; true if empty.
  bool WaitUntilDrained(double timeout_s);
  // Reported in heartbeats.
  void SetActorProgress(int64_t policy_version, int64_t episodes, double episodes_per_s, double tokens_per_s);

  // True while every learner rank asks actors to pause (it holds enough untrained data).
  bool paused() const;
  // Blocks while paused(), up to timeout_s (or until the client stops).
  void WaitWhilePaused(double timeout_s);
  LearnerClientStats stats() const;
  bool learner_finished() const { return finished_.load(); }
  // Non-OK when the client gave up (no rendezvous in time, learner silent too long, bad file).
  Status failure() const;
  // Ends the network thread (unacked trajectories are abandoned) and wakes every waiter.
  void Stop();

 private:
  struct Pending {
    std::string bytes;
    uint64_t route = 0;   // GRPO group id, else episode id; the rank is route % world size
    double sent_at = -1;  // monotonic seconds; < 0: not sent on the current connection
  };
  void Loop();
  void Fail(Status st);

  LearnerClientOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Pending> spool_;  // by episode id
  std::vector<bool> rank_paused_;      // flow control from each rank's latest ack
  std::optional<CompleteWeights> ready_weights_;
  LearnerClientStats stats_;
  Status failure_;
  int64_t progress_version_ = -1, progress_episodes_ = 0;
  double progress_eps_ = 0, progress_tps_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_LEARNER_CLIENT_H_
