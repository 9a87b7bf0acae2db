// ZeroMQ channels between the actor fleet and the learner ranks. Bytes in, bytes out: the
// protobuf codecs (wire.h, weight_chunks.h) sit on top; no libtorch, no ZeroMQ types here.
//
// Topology (README "Wire protocol"):
//   actor DEALER ──connect──► learner rank r ROUTER (bind)   trajectories, hellos, heartbeats
//   actor DEALER ◄──────────── learner rank r ROUTER         acks (same socket pair)
//   actor SUB    ──connect──► learner rank 0 PUB (bind)      weight chunks
// Every message is two frames: [kind][payload]. kind is one of the kMsg* strings below and
// payload the serialized protobuf of that kind. Unknown kinds are counted and dropped.
//
// Security (common/transport/curve.h): server sockets given CurveServerOptions run as CURVE
// servers and admit only the keys their gate admits; client sockets given CurveClientOptions
// verify the server's key. Default options = plain sockets.
//
// Thread safety: every object is used by ONE thread (ZeroMQ sockets are not thread safe);
// the shared context is thread safe.
#ifndef MEM1_COMMON_TRANSPORT_FLEET_CHANNELS_H_
#define MEM1_COMMON_TRANSPORT_FLEET_CHANNELS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/transport/curve.h"
#include "common/util/status.h"

namespace mem1 {

// Message kinds (frame 0).
inline constexpr char kMsgHello[] = "hello";            // proto::ActorHello, actor -> learner
inline constexpr char kMsgTrajectory[] = "traj";        // proto::Trajectory, actor -> learner
inline constexpr char kMsgHeartbeat[] = "hb";           // proto::Heartbeat, actor -> learner
inline constexpr char kMsgAck[] = "ack";                // proto::Ack, learner -> actor
inline constexpr char kMsgWeights[] = "w";              // proto::WeightUpdate, learner PUB -> actors

class LearnerLinks;
class WeightSubscriberSocket;
struct ReadyChannels;
ReadyChannels PollChannels(LearnerLinks* links, WeightSubscriberSocket* weights, int timeout_ms);

struct FleetMessage {
  std::string peer;     // ROUTER side: the sender's routing id; DEALER side: index of the link ("0", "1", ...)
  std::string kind;
  std::string payload;
  std::string user_id;  // CURVE: the sender's Z85 public key (set by the ZAP handler); plain: ""
};

// "tcp://*:0" / "tcp://*:*" bind an ephemeral port; endpoint() then tells which one.
// An endpoint to advertise: the bound endpoint with its host replaced by `host`.
std::string AdvertisedEndpoint(const std::string& bound_endpoint, const std::string& host);

// True for endpoints only this host can reach: ipc://, inproc://, tcp:// on 127.0.0.0/8,
// localhost or [::1]. "tcp://*:N" and every other address are reachable from other hosts.
bool IsLoopbackEndpoint(const std::string& endpoint);

// Learner side of the trajectory channel (one per rank).
class TrajectoryServer {
 public:
  struct Options {
    std::string bind_endpoint = "tcp://*:0";  // ZeroMQ endpoint to bind
    int64_t max_message_bytes = 64 << 20;     // ZMQ_MAXMSGSIZE: bigger messages drop the connection
    CurveServerOptions curve;                 // default: plain
    std::shared_ptr<CurveGate> gate;          // CURVE: share this gate (e.g. with the weight PUB); null = own
  };
  // UNAVAILABLE when the endpoint cannot be bound (in use, bad address): names it.
  [[nodiscard]] static Result<std::unique_ptr<TrajectoryServer>> Bind(const Options& options);
  ~TrajectoryServer();
  TrajectoryServer(const TrajectoryServer&) = delete;
  TrajectoryServer& operator=(const TrajectoryServer&) = delete;
  // The endpoint actually bound, e.g. "tcp://0.0.0.0:41235".
  const std::string& endpoint() const { return endpoint_; }
  // Waits up to timeout_ms for one message; nullopt on timeout. Malformed multipart messages
  // (not exactly two frames after the routing id) are counted in dropped() and skipped;
  // messages from a banned peer, or (CURVE) from a key the gate no longer admits (revoked),
  // are counted in refused() and skipped.
  [[nodiscard]] Result<std::optional<FleetMessage>> Receive(int timeout_ms);
  // Sends [kind][payload] to `peer` (dropped silently if the peer is gone: it will re-send).
  [[nodiscard]] Status Send(const std::string& peer, const std::string& kind, const std::string& payload);
  // Refuses the sender of `m` from now on: its routing id and (CURVE) its key, which the ZAP
  // handler then refuses at every reconnect.
  void Ban(const FleetMessage& m);
  int64_t dropped() const { return dropped_; }
  int64_t refused() const { return refused_; }
  // The CURVE gate (null on a plain socket).
  const std::shared_ptr<CurveGate>& gate() const { return gate_; }

 private:
  TrajectoryServer() = default;
  void* socket_ = nullptr;
  std::string endpoint_;
  std::shared_ptr<CurveGate> gate_;
  std::set<std::string> banned_peers_;
  int64_t dropped_ = 0, refused_ = 0;
};

// Actor side of the trajectory channel: one DEALER per learner rank.
class LearnerLinks {
 public:
  // Connects (asynchronously: ZeroMQ retries until the peer is up) to every endpoint.
  // `identity` becomes the routing id the learner sees (the actor id).
  [[nodiscard]] static Result<std::unique_ptr<LearnerLinks>> Connect(const std::vector<std::string>& endpoints,
                                                                    const std::string& identity,
                                                                    const CurveClientOptions& curve = {});
  ~LearnerLinks();
  LearnerLinks(const LearnerLinks&) = delete;
  LearnerLinks& operator=(const LearnerLinks&) = delete;
  int size() const { return static_cast<int>(sockets_.size()); }
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // Queues [kind][payload] to link `rank`. RESOURCE_EXHAUSTED when its send queue is full
  // (the learner is not reading): keep the message and retry later.
  [[nodiscard]] Status Send(int rank, const std::string& kind, const std::string& payload);
  // Waits up to timeout_ms for a message from any link; peer = the link index.
  [[nodiscard]] Result<std::optional<FleetMessage>> Receive(int timeout_ms);

 private:
  friend ReadyChannels PollChannels(LearnerLinks*, WeightSubscriberSocket*, int);
  LearnerLinks() = default;
  std::vector<void*> sockets_;
  std::vector<std::string> endpoints_;
};

// Rank 0's weight publisher.
class WeightPublisherSocket {
 public:
  // CURVE: `gate` (may be null: then one is made from curve.authorized_keys) admits subscribers.
  [[nodiscard]] static Result<std::unique_ptr<WeightPublisherSocket>> Bind(const std::string& endpoint,
                                                                           const CurveServerOptions& curve = {},
                                                                           std::shared_ptr<CurveGate> gate = nullptr);
  ~WeightPublisherSocket();
  WeightPublisherSocket(const WeightPublisherSocket&) = delete;
  WeightPublisherSocket& operator=(const WeightPublisherSocket&) = delete;
  const std::string& endpoint() const { return endpoint_; }
  // Publishes one [kMsgWeights][payload] message to every connected subscriber (blocks when a
  // subscriber's queue is full rather than dropping: the high-water mark is unbounded).
  [[nodiscard]] Status Publish(const std::string& payload);

 private:
  WeightPublisherSocket() = default;
  void* socket_ = nullptr;
  std::shared_ptr<CurveGate> gate_;
  std::string endpoint_;
};

// An actor's weight subscription.
class WeightSubscriberSocket {
 public:
  [[nodiscard]] static Result<std::unique_ptr<WeightSubscriberSocket>> Connect(const std::string& endpoint,
                                                                             const CurveClientOptions& curve = {});
  ~WeightSubscriberSocket();
  WeightSubscriberSocket(const WeightSubscriberSocket&) = delete;
  WeightSubscriberSocket& operator=(const WeightSubscriberSocket&) = delete;
  // One weight chunk payload, or nullopt after timeout_ms.
  [[nodiscard]] Result<std::optional<std::string>> Receive(int timeout_ms);

 private:
  friend ReadyChannels PollChannels(LearnerLinks*, WeightSubscriberSocket*, int);
  WeightSubscriberSocket() = default;
  void* socket_ = nullptr;
};

// Polls a set of channels at once: returns after up to timeout_ms; sets which are readable.
// (Lets one actor network thread wait on its links and its subscription together.)
struct ReadyChannels {
  bool links = false;
  bool weights = false;
};
// Either may be null.
ReadyChannels PollChannels(LearnerLinks* links, WeightSubscriberSocket* weights, int timeout_ms);

}  // namespace mem1

#endif  // MEM1_COMMON_TRANSPORT_FLEET_CHANNELS_H_
