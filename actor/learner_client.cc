#include "actor/learner_client.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/transport/fleet_channels.h"
#include "common/transport/rendezvous.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> SplitEndpoints(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

}  // namespace

LearnerClient::LearnerClient(const LearnerClientOptions& options) : options_(options) {
  CHECK(!options_.actor_id.empty());
  CHECK_GE(options_.spool_capacity, 1);
  thread_ = std::thread([this] { Loop(); });
}

LearnerClient::~LearnerClient() { Stop(); }

void LearnerClient::Stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LearnerClient::Fail(Status st) {
  std::lock_guard<std::mutex> l(mu_);
  if (failure_.ok()) failure_ = std::move(st);
  stop_ = true;
  cv_.notify_all();
}

Status LearnerClient::failure() const {
  std::lock_guard<std::mutex> l(mu_);
  return failure_;
}

bool LearnerClient::paused() const {
  std::lock_guard<std::mutex> l(mu_);
  if (rank_paused_.empty()) return false;
  for (bool p : rank_paused_) {
    if (!p) return false;
  }
  return true;
}

void LearnerClient::WaitWhilePaused(double timeout_s) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::duration<double>(timeout_s), [&] {
    if (stop_.load() || rank_paused_.empty()) return true;
    for (bool p : rank_paused_) {
      if (!p) return true;
    }
    return false;
  });
}

LearnerClientStats LearnerClient::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  LearnerClientStats s = stats_;
  s.spool_depth = static_cast<int64_t>(spool_.size());
  s.learner_finished = finished_.load();
  return s;
}

void LearnerClient::SetActorProgress(int64_t policy_version, int64_t episodes, double eps, double tps) {
  std::lock_guard<std::mutex> l(mu_);
  progress_version_ = policy_version;
  progress_episodes_ = episodes;
  progress_eps_ = eps;
  progress_tps_ = tps;
}

Status LearnerClient::Submit(proto::Trajectory t) {
  Pending p;
  // Route: a GRPO group goes whole to one rank; otherwise spread by episode id.
  p.route = t.group_id() != 0 ? t.group_id() : t.episode_id();
  t.SerializeToString(&p.bytes);
  std::unique_lock<std::mutex> l(mu_);
  // Blocked on a full spool (the learner is not acking: down, partitioned, or its store cannot
  // write): say so every 10 s, since no episode finishes to print progress meanwhile.
  const double blocked_since = MonotonicSeconds();
  while (!cv_.wait_for(l, std::chrono::seconds(10),
                       [&] { return stop_.load() || static_cast<int32_t>(spool_.size()) < options_.spool_capacity; })) {
    LOG(WARNING) << "actor " << options_.actor_id << ": spool full (" << spool_.size()
                 << " unacked trajectories) for " << static_cast<int64_t>(MonotonicSeconds() - blocked_since)
                 << " s: rollouts paused until the learner acks (re-sending every " << options_.resend_after_s << " s)";
  }
  if (stop_) {
    return Unavailable("actor " + options_.actor_id + ": learner connection closed" +
                       (failure_.ok() ? std::string(finished_ ? " (the learner finished)" : "") : ": " + failure_.message()));
  }
  spool_.emplace(t.episode_id(), std::move(p));
  ++stats_.submitted;
  cv_.notify_all();
  return Status::Ok();
}

std::optional<CompleteWeights> LearnerClient::TakeWeights() {
  std::lock_guard<std::mutex> l(mu_);
  auto w = std::move(ready_weights_);
  ready_weights_.reset();
  return w;
}

bool LearnerClient::WaitForWeights(int64_t version, double timeout_s) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, std::chrono::duration<double>(timeout_s),
                      [&] { return stop_.load() || (ready_weights_ && ready_weights_->version != version); }) &&
         ready_weights_.has_value() && ready_weights_->version != version;
}

bool LearnerClient::WaitUntilDrained(double timeout_s) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, std::chrono::duration<double>(timeout_s), [&] { return stop_.load() || spool_.empty(); }) &&
         spool_.empty();
}

void LearnerClient::Loop() {
  const bool use_rendezvous = options_.learner_endpoints.empty();
  const std::string rv_path = RendezvousPath(options_.run_dir);
  std::unique_ptr<LearnerLinks> links;
  std::unique_ptr<WeightSubscriberSocket> sub;
  WeightAssemblerOptions wao;
  wao.max_versions_in_flight = options_.max_weight_versions_in_flight;
  wao.max_version_bytes = options_.max_weight_version_bytes;
  WeightAssembler assembler(wao);
  std::string incarnation, ack_incarnation;
  const double start = MonotonicSeconds();
  double last_heard = start, last_hb = 0, last_rv_check = 0, last_finish_check = 0;
  int64_t weight_errors = 0;
  double finish_deadline = -1;  // after "finished": linger for the final weights
  std::FILE* ack_log = options_.ack_log_path.empty() ? nullptr : std::fopen(options_.ack_log_path.c_str(), "a");

  // A new learner incarnation (restart) may be at an OLDER version than weights we hold (it
  // resumed from a checkpoint): forget versions, take whatever it publishes.
  auto forget_versions = [&] {
    assembler = WeightAssembler(wao);
    ready_weights_.reset();
    stats_.latest_policy_version = -1;
  };
  auto connect = [&](const std::vector<std::string>& eps, const std::string& weights) -> Status {
    links.reset();
    sub.reset();
    MEM1_ASSIGN_OR_RETURN(links, LearnerLinks::Connect(eps, options_.actor_id, options_.curve));
    MEM1_ASSIGN_OR_RETURN(sub, WeightSubscriberSocket::Connect(weights, options_.curve));
    std::lock_guard<std::mutex> l(mu_);
    rank_paused_.assign(eps.size(), false);
    for (auto& [id, p] : spool_) p.sent_at = -1;  // re-send everything on the new connection
    proto::ActorHello h;
    h.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
    h.set_actor_id(options_.actor_id);
    h.set_hostname(HostName());
    h.set_pid(::getpid());
    h.set_num_envs(options_.num_envs);
    h.set_have_policy_version(progress_version_);
    std::string bytes;
    h.SerializeToString(&bytes);
    for (int r = 0; r < links->size(); ++r) (void)links->Send(r, kMsgHello, bytes);  // ZMQ_IMMEDIATE may refuse: the heartbeat says the same
    last_heard = MonotonicSeconds();
    LOG(INFO) << "actor " << options_.actor_id << ": connected to " << eps.size() << " learner rank(s), weights at "
              << weights;
    return Status::Ok();
  };

  while (!stop_) {
    const double now = MonotonicSeconds();
    // 1. (Re)connect: from the rendezvous file (watched for a new incarnation) or from config.
    if (use_rendezvous && (links == nullptr || now - last_rv_check >= 1.0)) {
      last_rv_check = now;
      auto rv = ReadRendezvous(rv_path);
      if (!rv.ok()) {
        if (links == nullptr && now - start > options_.connect_timeout_s) {
          Fail(Unavailable("actor " + options_.actor_id + ": no usable learner rendezvous after " +
                           std::to_string(static_cast<int>(options_.connect_timeout_s)) + " s: " + rv.status().message()));
          break;
        }
      } else {
        if (rv->state == "finished" && links == nullptr) {
          finished_ = true;
          break;
        }
        if (rv->incarnation != incarnation) {
          if (!incarnation.empty()) {
            LOG(WARNING) << "actor " << options_.actor_id << ": learner restarted (incarnation " << rv->incarnation
                         << "); reconnecting and re-sending " << stats().spool_depth << " unacked trajectories";
            std::lock_guard<std::mutex> l(mu_);
            ++stats_.reconnects;
            forget_versions();
          }
          if (auto st = connect(rv->trajectory_endpoints, rv->weights_endpoint); !st.ok()) {
            Fail(st);
            break;
          }
          incarnation = rv->incarnation;
        }
      }
    } else if (!use_rendezvous && links == nullptr) {
      if (auto st = connect(SplitEndpoints(options_.learner_endpoints), options_.weights_endpoint); !st.ok()) {
        Fail(st);
        break;
      }
    }
    // The learner may finish while we cannot hear it (a partition through its last seconds, or
    // acks lost with a dropped connection): its rendezvous file, when we can read it, says so.
    // Only the incarnation we talk to counts, so a stale file from another run never ends us.
    if (!finished_ && !options_.run_dir.empty() && now - last_finish_check >= 1.0) {
      last_finish_check = now;
      const std::string& talking_to = use_rendezvous ? incarnation : ack_incarnation;
      if (!talking_to.empty()) {
        if (auto rv = ReadRendezvous(rv_path); rv.ok() && rv->state == "finished" && rv->incarnation == talking_to) {
          LOG(INFO) << "actor " << options_.actor_id << ": the learner's rendezvous file says it finished";
          std::lock_guard<std::mutex> l(mu_);
          finished_ = true;
          cv_.notify_all();
        }
      }
    }
    if (links == nullptr) {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(200), [&] { return stop_.load(); });
      continue;
    }
    // 2. Incoming acks and weight chunks.
    const ReadyChannels ready = PollChannels(links.get(), sub.get(), 20);
    if (ready.links) {
      while (true) {
        auto m = links->Receive(0);
        if (!m.ok() || !m->has_value()) break;
        if ((*m)->kind != kMsgAck) continue;
        proto::Ack ack;
        if (!ack.ParseFromString((*m)->payload)) continue;
        last_heard = MonotonicSeconds();
        std::lock_guard<std::mutex> l(mu_);
        if (!ack.learner_incarnation().empty() && ack.learner_incarnation() != ack_incarnation) {
          if (!ack_incarnation.empty()) {
            for (auto& [id, p] : spool_) p.sent_at = -1;  // a restarted learner (same endpoints)
            ++stats_.reconnects;
            forget_versions();
          }
          ack_incarnation = ack.learner_incarnation();
        }
        for (uint64_t id : ack.episode_ids()) {
          const size_t erased = spool_.erase(id);
          stats_.acked += erased;
          if (erased && ack_log) std::fprintf(ack_log, "%llu %s\n", static_cast<unsigned long long>(id), (*m)->peer.c_str());
        }
        if (ack_log) std::fflush(ack_log);
        for (uint64_t id : ack.rejected_episode_ids()) stats_.rejected += spool_.erase(id);
        stats_.latest_policy_version = std::max(stats_.latest_policy_version, ack.latest_policy_version());
        const size_t from = static_cast<size_t>(std::stoul((*m)->peer));
        if (from < rank_paused_.size()) rank_paused_[from] = ack.pause();
        if (ack.learner_finished()) finished_ = true;
        cv_.notify_all();
      }
    }
    if (ready.weights) {
      while (true) {
        auto m = sub->Receive(0);
        if (!m.ok() || !m->has_value()) break;
        proto::WeightUpdate chunk;
        if (!chunk.ParseFromString(**m)) {
          if (weight_errors++ < 5) LOG(WARNING) << "actor " << options_.actor_id << ": unparsable weight chunk dropped";
          continue;
        }
        const int64_t published = chunk.publish_unix_micros();
        if (auto st = assembler.Add(chunk); !st.ok()) {
          if (weight_errors++ < 5) LOG(WARNING) << "actor " << options_.actor_id << ": weight chunk refused: " << st.message();
          continue;
        }
        if (auto w = assembler.TakeComplete()) {
          std::lock_guard<std::mutex> l(mu_);
          if (!ready_weights_ || ready_weights_->version < w->version) {  // newest of this incarnation
            stats_.weight_latency_seconds = published > 0 ? (UnixMicros() - published) * 1e-6 : 0;
            stats_.latest_policy_version = std::max(stats_.latest_policy_version, w->version);
            ready_weights_ = std::move(*w);
            cv_.notify_all();
          }
        }
      }
    }
    // 3. Send what is unsent or overdue; heartbeats.
    {
      std::lock_guard<std::mutex> l(mu_);
      const double t = MonotonicSeconds();
      for (auto& [id, p] : spool_) {
        if (p.sent_at >= 0 && t - p.sent_at < options_.resend_after_s) continue;
        const int rank = static_cast<int>(p.route % static_cast<uint64_t>(links->size()));
        if (!links->Send(rank, kMsgTrajectory, p.bytes).ok()) break;  // not connected / queue full: later
        if (p.sent_at >= 0) ++stats_.resent;
        p.sent_at = t;
      }
      if (t - last_hb >= options_.heartbeat_s) {
        last_hb = t;
        proto::Heartbeat hb;
        hb.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
        hb.set_actor_id(options_.actor_id);
        hb.set_unix_millis(UnixMicros() / 1000);
        hb.set_policy_version(progress_version_);
        hb.set_episodes_done(progress_episodes_);
        hb.set_tokens_per_second(progress_tps_);
        hb.set_episodes_per_second(progress_eps_);
        hb.set_weight_latency_seconds(stats_.weight_latency_seconds);
        hb.set_spool_depth(static_cast<int64_t>(spool_.size()));
        std::string bytes;
        hb.SerializeToString(&bytes);
        for (int r = 0; r < links->size(); ++r) (void)links->Send(r, kMsgHeartbeat, bytes);
      }
    }
    if (finished_) {
      // Linger briefly so the final weights (published right before "finished") arrive.
      if (finish_deadline < 0) finish_deadline = MonotonicSeconds() + 3.0;
      bool have_latest;
      {
        std::lock_guard<std::mutex> l(mu_);
        have_latest = progress_version_ >= stats_.latest_policy_version ||
                      (ready_weights_ && ready_weights_->version >= stats_.latest_policy_version);
      }
      if (have_latest || MonotonicSeconds() > finish_deadline) break;
      continue;
    }
    if (MonotonicSeconds() - last_heard > options_.learner_timeout_s) {
      Fail(Unavailable("actor " + options_.actor_id + ": the learner has been silent for " +
                       std::to_string(static_cast<int>(options_.learner_timeout_s)) + " s"));
      break;
    }
  }
  if (ack_log) std::fclose(ack_log);
  stop_ = true;
  cv_.notify_all();
}

}  // namespace mem1
