#include "learner/trajectory_intake.h"

#include "common/util/strings.h"

namespace mem1 {

Result<std::unique_ptr<TrajectoryIntake>> TrajectoryIntake::Start(const Options& options, StoreTrajectorySource* source,
                                                                  std::function<void()> on_lagging_actor) {
  CHECK(source != nullptr);
  std::unique_ptr<TrajectoryIntake> in(new TrajectoryIntake());
  in->options_ = options;
  in->source_ = source;
  in->on_lagging_ = std::move(on_lagging_actor);
  TrajectoryServer::Options so;
  so.bind_endpoint = options.bind_endpoint;
  so.max_message_bytes = options.limits.max_message_bytes + 4096;
  so.curve = options.curve;
  so.gate = options.gate;
  MEM1_ASSIGN_OR_RETURN(in->server_, TrajectoryServer::Bind(so));
  in->endpoint_ = in->server_->endpoint();
  in->thread_ = std::thread([p = in.get()] { p->Loop(); });
  return in;
}

TrajectoryIntake::~TrajectoryIntake() { Stop(); }

void TrajectoryIntake::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

IntakeCounters TrajectoryIntake::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  IntakeCounters c = counters_;
  c.refused_unread = refused_unread_.load();
  return c;
}

std::map<std::string, ActorStats> TrajectoryIntake::actors() const {
  std::lock_guard<std::mutex> l(mu_);
  return actors_;
}

void TrajectoryIntake::Reply(const std::string& peer, const std::string& actor_id, const std::vector<uint64_t>& ok,
                             const std::vector<uint64_t>& rejected) {
  proto::Ack ack;
  ack.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
  ack.set_actor_id(actor_id);
  for (uint64_t id : ok) ack.add_episode_ids(id);
  for (uint64_t id : rejected) ack.add_rejected_episode_ids(id);
  ack.set_latest_policy_version(latest_version_.load());
  ack.set_learner_finished(finished_.load());
  ack.set_learner_incarnation(options_.incarnation);
  ack.set_pause(Paused());
  std::string bytes;
  ack.SerializeToString(&bytes);
  (void)server_->Send(peer, kMsgAck, bytes);  // a vanished peer re-sends and gets acked then
}

bool TrajectoryIntake::Paused() const {
  return options_.max_backlog > 0 && source_->size() - source_->cursor() >= options_.max_backlog;
}

void TrajectoryIntake::Loop() {
  bool was_paused = false;
  while (!stop_) {
    // Flow control: tell every known actor when the pause state changes.
    if (const bool paused = Paused(); paused != was_paused) {
      was_paused = paused;
      std::vector<std::string> peers;
      {
        std::lock_guard<std::mutex> l(mu_);
        for (const auto& [id, a] : actors_) peers.push_back(id);
      }
      for (const auto& p : peers) Reply(p, p, {}, {});
    }
    auto m = server_->Receive(20);
    refused_unread_ = server_->refused();
    if (!m.ok()) {
      LOG(ERROR) << "rank " << options_.rank << " intake: " << m.status().message();
      continue;
    }
    if (!m->has_value()) continue;
    const FleetMessage& msg = **m;
    const std::string& actor = msg.peer;  // routing id = actor id
    if (msg.kind == kMsgTrajectory) {
      auto t = DecodeTrajectory(msg.payload.data(), msg.payload.size(), options_.limits, options_.vocab_size);
      Status bad = t.ok() ? Status::Ok() : t.status();
      if (bad.ok() && t->actor_id() != actor) {
        bad = InvalidArgument("trajectory claims actor id \"" + t->actor_id() + "\" on the connection of \"" + actor + "\"");
      }
      if (!bad.ok()) {
        int64_t n;
        bool ban = false;
        {
          std::lock_guard<std::mutex> l(mu_);
          auto& a = actors_[actor];
          n = ++a.invalid;
          ++counters_.invalid;
          if (options_.max_rejections_per_actor > 0 && n >= options_.max_rejections_per_actor && !a.banned) {
            ban = a.banned = true;
            ++counters_.banned_actors;
          }
        }
        if (n <= 5) LOG(WARNING) << "rank " << options_.rank << ": refused a message from actor " << actor << ": " << bad.message();
        if (ban) {
          LOG(WARNING) << "rank " << options_.rank << ": actor " << actor << " banned after " << n
                       << " refused messages (learner.max_rejections_per_actor): its messages are dropped unread"
                       << (msg.user_id.empty() ? "" : " and its key is refused at reconnect");
          server_->Ban(msg);
        }
        // Tell the actor not to re-send it, when we can name the episode.
        proto::Trajectory probe;
        std::vector<uint64_t> rejected;
        if (msg.payload.size() <= static_cast<size_t>(options_.limits.max_message_bytes) && probe.ParseFromString(msg.payload)) {
          rejected.push_back(probe.episode_id());
        }
        Reply(msg.peer, actor, {}, rejected);
        continue;
      }
      auto r = source_->Append(*t);
      if (!r.ok()) {
        int64_t errors = 0;
        {
          std::lock_guard<std::mutex> l(mu_);
          errors = ++counters_.store_errors;
        }
        // No ack: the actor keeps it spooled and re-sends later. A full disk refuses every
        // re-send: the first 10 errors are logged, then every 100th.
        if (errors <= 10 || errors % 100 == 0) {
          LOG(ERROR) << "rank " << options_.rank << ": cannot store trajectory " << actor << "/" << t->episode_id()
                     << " (store error " << errors << "; not acked, the actor re-sends it): " << r.status().message();
        }
        continue;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        auto& a = actors_[actor];
        a.last_seen = MonotonicSeconds();
        if (r->duplicate) {
          ++a.duplicates;
          ++counters_.duplicates;
        } else {
          ++a.stored;
          ++counters_.stored;
        }
      }
      Reply(msg.peer, actor, {t->episode_id()}, {});
    } else if (msg.kind == kMsgHeartbeat || msg.kind == kMsgHello) {
      int64_t version = -1;
      bool parsed = false;
      if (msg.kind == kMsgHeartbeat) {
        proto::Heartbeat hb;
        if (hb.ParseFromString(msg.payload) && hb.schema_version() == proto::SCHEMA_VERSION_CURRENT) {
          parsed = true;
          version = hb.policy_version();
          std::lock_guard<std::mutex> l(mu_);
          auto& a = actors_[actor];
          a.episodes_done = hb.episodes_done();
          a.spool_depth = hb.spool_depth();
          a.policy_version = hb.policy_version();
          a.episodes_per_second = hb.episodes_per_second();
          a.tokens_per_second = hb.tokens_per_second();
          a.weight_latency_seconds = hb.weight_latency_seconds();
          a.last_seen = MonotonicSeconds();
        }
      } else {
        proto::ActorHello h;
        if (h.ParseFromString(msg.payload) && h.schema_version() == proto::SCHEMA_VERSION_CURRENT) {
          parsed = true;
          version = h.have_policy_version();
          LOG(INFO) << "rank " << options_.rank << ": actor " << actor << " (" << h.hostname() << " pid " << h.pid() << ", "
                    << h.num_envs() << " envs) connected, has weights v" << version;
          std::lock_guard<std::mutex> l(mu_);
          actors_[actor].last_seen = MonotonicSeconds();
        }
      }
      if (!parsed) {
        std::lock_guard<std::mutex> l(mu_);
        ++actors_[actor].invalid;
        ++counters_.invalid;
        continue;
      }
      if (version < latest_version_.load() && on_lagging_) on_lagging_();
      Reply(msg.peer, actor, {}, {});
    } else {
      std::lock_guard<std::mutex> l(mu_);
      ++counters_.unknown_messages;
    }
  }
}

}  // namespace mem1
