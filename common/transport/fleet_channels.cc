#include "common/transport/fleet_channels.h"

#include <zmq.h>

#include <cerrno>
#include <cstring>

namespace mem1 {

void* FleetZmqContext() {
  static void* ctx = [] {
    void* c = zmq_ctx_new();
    CHECK(c != nullptr) << "zmq_ctx_new failed";
    return c;
  }();
  return ctx;
}

namespace {

void* Context() { return FleetZmqContext(); }

std::string ZmqError() { return zmq_strerror(zmq_errno()); }

void CloseSocket(void* s) {
  if (s == nullptr) return;
  int linger = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
  zmq_close(s);
}

std::string LastEndpoint(void* s) {
  char buf[256];
  size_t n = sizeof(buf);
  if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf, &n) != 0) return "";
  return std::string(buf, strnlen(buf, n));
}

// CURVE server options on socket `s` (before bind): its gate is `shared`, or a new one.
Status SecureServer(void* s, const CurveServerOptions& o, std::shared_ptr<CurveGate> shared,
                    std::shared_ptr<CurveGate>* gate) {
  if (!o.enabled()) return Status::Ok();
  if (!CurveAvailable()) return Unimplemented("CURVE keys are configured but this libzmq has no CURVE support");
  MEM1_RETURN_IF_ERROR(ValidateZ85Key(o.server.secret_key, "learner secret key"));
  if (shared) {
    *gate = std::move(shared);
  } else {
    MEM1_ASSIGN_OR_RETURN(*gate, CurveGate::Create(o.authorized_keys));
  }
  int one = 1;
  const std::string& domain = (*gate)->domain();
  if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
      zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, o.server.secret_key.data(), 40) != 0 ||
      zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain.data(), domain.size()) != 0) {
    return Internal("cannot configure CURVE on a server socket: " + ZmqError());
  }
  return Status::Ok();
}

Status SecureClient(void* s, const CurveClientOptions& o) {
  if (!o.enabled()) return Status::Ok();
  if (!CurveAvailable()) return Unimplemented("CURVE keys are configured but this libzmq has no CURVE support");
  MEM1_RETURN_IF_ERROR(ValidateZ85Key(o.server_public_key, "learner public key"));
  MEM1_RETURN_IF_ERROR(ValidateZ85Key(o.client.public_key, "actor public key"));
  MEM1_RETURN_IF_ERROR(ValidateZ85Key(o.client.secret_key, "actor secret key"));
  if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, o.server_public_key.data(), 40) != 0 ||
      zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, o.client.public_key.data(), 40) != 0 ||
      zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, o.client.secret_key.data(), 40) != 0) {
    return Internal("cannot configure CURVE on a client socket: " + ZmqError());
  }
  return Status::Ok();
}

// Reads every frame of one message (the socket is readable). false on error. `user_id` (may be
// null) receives the connection's ZAP User-Id ("" on a plain connection).
bool ReadFrames(void* s, std::vector<std::string>* frames, std::string* user_id = nullptr) {
  frames->clear();
  if (user_id) user_id->clear();
  while (true) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&m);
      return false;
    }
    frames->emplace_back(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
    if (user_id) {
      if (const char* u = zmq_msg_gets(&m, "User-Id"); u != nullptr) *user_id = u;
    }
    const bool more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    if (!more) return true;
  }
}

Status SendFrames(void* s, const std::vector<const std::string*>& frames, int flags_last, const std::string& what) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const int flags = (i + 1 < frames.size()) ? ZMQ_SNDMORE | flags_last : flags_last;
    if (zmq_send(s, frames[i]->data(), frames[i]->size(), flags) < 0) {
      if (zmq_errno() == EAGAIN) return ResourceExhausted(what + ": send queue full");
      if (zmq_errno() == EHOSTUNREACH) return Status::Ok();  // ROUTER: peer gone, it will re-send
      return Unavailable(what + ": send failed: " + ZmqError());
    }
  }
  return Status::Ok();
}

int PollOne(void* s, int timeout_ms) {
  zmq_pollitem_t item{s, 0, ZMQ_POLLIN, 0};
  return zmq_poll(&item, 1, timeout_ms);
}

}  // namespace

std::string AdvertisedEndpoint(const std::string& bound, const std::string& host) {
  const size_t scheme = bound.find("://");
  const size_t colon = bound.rfind(':');
  if (scheme == std::string::npos || colon == std::string::npos || colon <= scheme + 2) return bound;
  return bound.substr(0, scheme + 3) + host + bound.substr(colon);
}

bool IsLoopbackEndpoint(const std::string& ep) {
  if (ep.rfind("ipc://", 0) == 0 || ep.rfind("inproc://", 0) == 0) return true;
  if (ep.rfind("tcp://", 0) != 0) return false;
  const std::string rest = ep.substr(6);
  return rest.rfind("127.", 0) == 0 || rest.rfind("localhost:", 0) == 0 || rest.rfind("[::1]:", 0) == 0;
}

// ---- TrajectoryServer ----

Result<std::unique_ptr<TrajectoryServer>> TrajectoryServer::Bind(const Options& o) {
  std::unique_ptr<TrajectoryServer> s(new TrajectoryServer());
  s->socket_ = zmq_socket(Context(), ZMQ_ROUTER);
  if (s->socket_ == nullptr) return Internal("zmq_socket(ROUTER): " + ZmqError());
  int64_t max = o.max_message_bytes;
  zmq_setsockopt(s->socket_, ZMQ_MAXMSGSIZE, &max, sizeof(max));
  MEM1_RETURN_IF_ERROR(SecureServer(s->socket_, o.curve, o.gate, &s->gate_));
  int hwm = 100000;
  zmq_setsockopt(s->socket_, ZMQ_RCVHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(s->socket_, ZMQ_SNDHWM, &hwm, sizeof(hwm));
  std::string ep = o.bind_endpoint;
  if (ep.size() >= 2 && ep.compare(ep.size() - 2, 2, ":0") == 0) ep = ep.substr(0, ep.size() - 1) + "*";
  if (zmq_bind(s->socket_, ep.c_str()) != 0) {
    return Unavailable("cannot bind trajectory endpoint " + o.bind_endpoint + ": " + ZmqError());
  }
  s->endpoint_ = LastEndpoint(s->socket_);
  return s;
}

TrajectoryServer::~TrajectoryServer() { CloseSocket(socket_); }

Result<std::optional<FleetMessage>> TrajectoryServer::Receive(int timeout_ms) {
  std::vector<std::string> frames;
  while (true) {
    const int rc = PollOne(socket_, timeout_ms);
    if (rc < 0) {
      if (zmq_errno() == EINTR) return std::optional<FleetMessage>();
      return Internal("zmq_poll: " + ZmqError());
    }
    if (rc == 0) return std::optional<FleetMessage>();
    std::string user;
    if (!ReadFrames(socket_, &frames, &user)) {
      if (zmq_errno() == EAGAIN) continue;
      return Internal("zmq_msg_recv: " + ZmqError());
    }
    if (frames.size() != 3) {
      ++dropped_;
      timeout_ms = 0;
      continue;
    }
    if (banned_peers_.count(frames[0]) || (gate_ && !gate_->Admits(user))) {
      ++refused_;
      timeout_ms = 0;
      continue;
    }
    FleetMessage m;
    m.peer = std::move(frames[0]);
    m.kind = std::move(frames[1]);
    m.payload = std::move(frames[2]);
    m.user_id = std::move(user);
    return std::optional<FleetMessage>(std::move(m));
  }
}

void TrajectoryServer::Ban(const FleetMessage& m) {
  banned_peers_.insert(m.peer);
  if (gate_ && !m.user_id.empty()) gate_->Ban(m.user_id);
}

Status TrajectoryServer::Send(const std::string& peer, const std::string& kind, const std::string& payload) {
  return SendFrames(socket_, {&peer, &kind, &payload}, ZMQ_DONTWAIT, "trajectory server " + endpoint_);
}

// ---- LearnerLinks ----

Result<std::unique_ptr<LearnerLinks>> LearnerLinks::Connect(const std::vector<std::string>& endpoints,
                                                            const std::string& identity,
                                                            const CurveClientOptions& curve) {
  if (endpoints.empty()) return InvalidArgument("no learner endpoints to connect to");
  std::unique_ptr<LearnerLinks> l(new LearnerLinks());
  l->endpoints_ = endpoints;
  for (const auto& ep : endpoints) {
    void* s = zmq_socket(Context(), ZMQ_DEALER);
    if (s == nullptr) return Internal("zmq_socket(DEALER): " + ZmqError());
    l->sockets_.push_back(s);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, identity.data(), identity.size());
    int hwm = 1000, ivl = 100, ivl_max = 2000;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
    // Only queue on live connections, so messages to a dead learner are refused, not buffered
    // forever (the actor's spool keeps them and re-sends).
    int immediate = 1;
    zmq_setsockopt(s, ZMQ_IMMEDIATE, &immediate, sizeof(immediate));
    MEM1_RETURN_IF_ERROR(SecureClient(s, curve));
    if (zmq_connect(s, ep.c_str()) != 0) return InvalidArgument("cannot connect to learner endpoint " + ep + ": " + ZmqError());
  }
  return l;
}

LearnerLinks::~LearnerLinks() {
  for (void* s : sockets_) CloseSocket(s);
}

Status LearnerLinks::Send(int rank, const std::string& kind, const std::string& payload) {
  CHECK(rank >= 0 && rank < size()) << "link " << rank << " of " << size();
  return SendFrames(sockets_[rank], {&kind, &payload}, ZMQ_DONTWAIT, "learner link " + endpoints_[rank]);
}

Result<std::optional<FleetMessage>> LearnerLinks::Receive(int timeout_ms) {
  std::vector<zmq_pollitem_t> items;
  for (void* s : sockets_) items.push_back({s, 0, ZMQ_POLLIN, 0});
  const int rc = zmq_poll(items.data(), static_cast<int>(items.size()), timeout_ms);
  if (rc < 0) {
    if (zmq_errno() == EINTR) return std::optional<FleetMessage>();
    return Internal("zmq_poll: " + ZmqError());
  }
  std::vector<std::string> frames;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!(items[i].revents & ZMQ_POLLIN)) continue;
    if (!ReadFrames(sockets_[i], &frames)) continue;
    if (frames.size() != 2) continue;
    FleetMessage m;
    m.peer = std::to_string(i);
    m.kind = std::move(frames[0]);
    m.payload = std::move(frames[1]);
    return std::optional<FleetMessage>(std::move(m));
  }
  return std::optional<FleetMessage>();
}

// ---- weights ----

Result<std::unique_ptr<WeightPublisherSocket>> WeightPublisherSocket::Bind(const std::string& endpoint,
                                                                          const CurveServerOptions& curve,
                                                                          std::shared_ptr<CurveGate> gate) {
  std::unique_ptr<WeightPublisherSocket> p(new WeightPublisherSocket());
  p->socket_ = zmq_socket(Context(), ZMQ_PUB);
  if (p->socket_ == nullptr) return Internal("zmq_socket(PUB): " + ZmqError());
  int hwm = 0;  // unbounded: a weight version must arrive whole
  zmq_setsockopt(p->socket_, ZMQ_SNDHWM, &hwm, sizeof(hwm));
  MEM1_RETURN_IF_ERROR(SecureServer(p->socket_, curve, std::move(gate), &p->gate_));
  std::string ep = endpoint;
  if (ep.size() >= 2 && ep.compare(ep.size() - 2, 2, ":0") == 0) ep = ep.substr(0, ep.size() - 1) + "*";
  if (zmq_bind(p->socket_, ep.c_str()) != 0) {
    return Unavailable("cannot bind weights endpoint " + endpoint + ": " + ZmqError());
  }
  p->endpoint_ = LastEndpoint(p->socket_);
  return p;
}

WeightPublisherSocket::~WeightPublisherSocket() { CloseSocket(socket_); }

Status WeightPublisherSocket::Publish(const std::string& payload) {
  const std::string kind = kMsgWeights;
  return SendFrames(socket_, {&kind, &payload}, 0, "weight publisher " + endpoint_);
}

Result<std::unique_ptr<WeightSubscriberSocket>> WeightSubscriberSocket::Connect(const std::string& endpoint,
                                                                                const CurveClientOptions& curve) {
  std::unique_ptr<WeightSubscriberSocket> s(new WeightSubscriberSocket());
  s->socket_ = zmq_socket(Context(), ZMQ_SUB);
  if (s->socket_ == nullptr) return Internal("zmq_socket(SUB): " + ZmqError());
  int hwm = 0;
  zmq_setsockopt(s->socket_, ZMQ_RCVHWM, &hwm, sizeof(hwm));
  int ivl = 100, ivl_max = 2000;
  zmq_setsockopt(s->socket_, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
  zmq_setsockopt(s->socket_, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
  zmq_setsockopt(s->socket_, ZMQ_SUBSCRIBE, kMsgWeights, std::strlen(kMsgWeights));
  MEM1_RETURN_IF_ERROR(SecureClient(s->socket_, curve));
  if (zmq_connect(s->socket_, endpoint.c_str()) != 0) {
    return InvalidArgument("cannot connect to weights endpoint " + endpoint + ": " + ZmqError());
  }
  return s;
}

WeightSubscriberSocket::~WeightSubscriberSocket() { CloseSocket(socket_); }

Result<std::optional<std::string>> WeightSubscriberSocket::Receive(int timeout_ms) {
  std::vector<std::string> frames;
  while (true) {
    const int rc = PollOne(socket_, timeout_ms);
    if (rc < 0) {
      if (zmq_errno() == EINTR) return std::optional<std::string>();
      return Internal("zmq_poll: " + ZmqError());
    }
    if (rc == 0) return std::optional<std::string>();
    if (!ReadFrames(socket_, &frames)) {
      if (zmq_errno() == EAGAIN) continue;
      return Internal("zmq_msg_recv: " + ZmqError());
    }
    if (frames.size() != 2 || frames[0] != kMsgWeights) {
      timeout_ms = 0;
      continue;
    }
    return std::optional<std::string>(std::move(frames[1]));
  }
}

ReadyChannels PollChannels(LearnerLinks* links, WeightSubscriberSocket* weights, int timeout_ms) {
  std::vector<zmq_pollitem_t> items;
  if (links) {
    for (void* s : links->sockets_) items.push_back({s, 0, ZMQ_POLLIN, 0});
  }
  if (weights) items.push_back({weights->socket_, 0, ZMQ_POLLIN, 0});
  ReadyChannels r;
  if (items.empty()) return r;
  if (zmq_poll(items.data(), static_cast<int>(items.size()), timeout_ms) <= 0) return r;
  const size_t nl = links ? links->sockets_.size() : 0;
  for (size_t i = 0; i < nl; ++i) r.links |= (items[i].revents & ZMQ_POLLIN) != 0;
  if (weights) r.weights = (items.back().revents & ZMQ_POLLIN) != 0;
  return r;
}

}  // namespace mem1
