// The learner's intake over real ZeroMQ sockets on loopback: valid trajectories are stored and
// acked, re-sends are acked but stored once, and malformed, oversized, wrong-version or
// out-of-vocabulary messages are refused (counted per actor, answered with a rejection) while
// later valid messages are still accepted.
#include "learner/trajectory_intake.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "common/transport/fleet_channels.h"
#include "learner/synthetic_trajectories.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;

struct Harness {
  fs::path dir;
  std::unique_ptr<StoreTrajectorySource> source;
  std::unique_ptr<TrajectoryIntake> intake;
  std::unique_ptr<LearnerLinks> links;

  explicit Harness(const std::string& name, int32_t max_rejections = 64) {
    dir = fs::temp_directory_path() / ("mem1_intake_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    TrajectoryStoreOptions so;
    so.shard_records = 4;
    so.fsync = false;
    auto store = TrajectoryStore::Open(dir.string(), so, "run: {}");
    CHECK(store.ok()) << store.status().ToString();
    source = std::make_unique<StoreTrajectorySource>(std::move(store).value(), 0);
    TrajectoryIntake::Options o;
    o.bind_endpoint = "tcp://127.0.0.1:0";
    o.vocab_size = 97;
    o.limits.max_message_bytes = 1 << 16;
    o.incarnation = "test-1";
    o.max_rejections_per_actor = max_rejections;
    auto in = TrajectoryIntake::Start(o, source.get(), nullptr);
    CHECK(in.ok()) << in.status().ToString();
    intake = std::move(in).value();
    auto l = LearnerLinks::Connect({intake->endpoint()}, "actor-a");
    CHECK(l.ok());
    links = std::move(l).value();
  }
  ~Harness() {
    intake->Stop();
    (void)source->CloseStore();
    fs::remove_all(dir);
  }
  // Sends (retrying while the connection comes up) and waits up to `tries` x 20 ms for the reply.
  static std::optional<proto::Ack> TrySend(LearnerLinks* l, const std::string& payload, int tries) {
    for (int i = 0; i < 200 && !l->Send(0, kMsgTrajectory, payload).ok(); ++i) usleep(10000);
    for (int i = 0; i < tries; ++i) {
      auto m = l->Receive(20);
      if (m.ok() && m->has_value() && (*m)->kind == kMsgAck) {
        proto::Ack a;
        CHECK(a.ParseFromString((*m)->payload));
        return a;
      }
    }
    return std::nullopt;
  }
  proto::Ack SendAndWait(const std::string& payload) {
    auto a = TrySend(links.get(), payload, 200);
    if (!a) ADD_FAILURE() << "no ack";
    return a.value_or(proto::Ack());
  }
};

proto::Trajectory Valid(uint64_t episode, const std::string& actor = "actor-a") {
  auto t = SyntheticMem1Trajectory(episode, 97, 2, 0);
  t.set_actor_id(actor);
  t.set_episode_id(episode);
  return t;
}

TEST(TrajectoryIntakeTest, StoresAcksAndDeduplicates) {
  Harness h("ok");
  auto a = h.SendAndWait(Valid(7).SerializeAsString());
  ASSERT_EQ(a.episode_ids_size(), 1);
  EXPECT_EQ(a.episode_ids(0), 7u);
  EXPECT_EQ(a.learner_incarnation(), "test-1");
  EXPECT_EQ(h.source->size(), 1);
  auto again = h.SendAndWait(Valid(7).SerializeAsString());  // a re-send after a lost ack
  ASSERT_EQ(again.episode_ids_size(), 1);
  EXPECT_EQ(h.source->size(), 1);
  EXPECT_EQ(h.intake->counters().duplicates, 1);
  auto next = h.source->Next(1.0);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->episode_id(), 7u);
  EXPECT_EQ((*next)->SerializeAsString(), Valid(7).SerializeAsString());
}

TEST(TrajectoryIntakeTest, RefusesBadMessagesAndKeepsAccepting) {
  Harness h("bad");
  // Garbage bytes: refused, nothing stored.
  auto a1 = h.SendAndWait(std::string("\xff\xff\xff\x01garbage", 11));
  EXPECT_EQ(a1.episode_ids_size(), 0);
  // Wrong schema version: refused and named as rejected (the actor stops re-sending it).
  auto wrong = Valid(1);
  wrong.set_schema_version(static_cast<proto::SchemaVersion>(9));
  auto a2 = h.SendAndWait(wrong.SerializeAsString());
  ASSERT_EQ(a2.rejected_episode_ids_size(), 1);
  EXPECT_EQ(a2.rejected_episode_ids(0), 1u);
  // A token id outside the vocabulary.
  auto oov = Valid(2);
  oov.mutable_segments(0)->set_token_ids(0, 5000);
  auto a3 = h.SendAndWait(oov.SerializeAsString());
  EXPECT_EQ(a3.rejected_episode_ids_size(), 1);
  // attends_to pointing forward.
  auto fwd = Valid(3);
  fwd.mutable_segments(0)->add_attends_to(1);
  EXPECT_EQ(h.SendAndWait(fwd.SerializeAsString()).rejected_episode_ids_size(), 1);
  // Oversized (above the wire limit but below the socket's ZMQ_MAXMSGSIZE).
  auto big = Valid(4);
  big.set_task_id(std::string(1 << 16, 'x'));
  EXPECT_EQ(h.SendAndWait(big.SerializeAsString()).episode_ids_size(), 0);
  // Another actor's id on this connection.
  auto spoof = Valid(5);
  spoof.set_actor_id("actor-b");
  EXPECT_EQ(h.SendAndWait(spoof.SerializeAsString()).rejected_episode_ids_size(), 1);
  EXPECT_EQ(h.source->size(), 0);
  EXPECT_EQ(h.intake->counters().invalid, 6);
  EXPECT_EQ(h.intake->actors()["actor-a"].invalid, 6);
  // Training data still flows.
  auto ok = h.SendAndWait(Valid(6).SerializeAsString());
  ASSERT_EQ(ok.episode_ids_size(), 1);
  EXPECT_EQ(h.source->size(), 1);
}

TEST(TrajectorySourceTest, InProcessQueueCloseWakesWaiters) {
  InProcessTrajectoryQueue q(2);
  ASSERT_TRUE(q.Push(Valid(1)).ok());
  auto a = q.Next(0.1);
  ASSERT_TRUE(a.ok() && a->has_value());
  auto none = q.Next(0.05);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  std::thread closer([&] {
    usleep(50000);
    q.Close();
  });
  auto after = q.Next(10.0);  // woken by Close, not by the timeout
  closer.join();
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(q.Push(Valid(2)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(q.cursor(), 1);
}


// learner.max_rejections_per_actor = 3: two refused messages leave the actor in (the boundary),
// the third bans it (its later valid trajectories are dropped unread), another actor trains on.
TEST(TrajectoryIntakeTest, ActorIsBannedAtTheRejectionLimitOthersKeepTraining) {
  Harness h("ban", 3);
  const std::string garbage("\xff\xff\xff\x01garbage", 11);
  h.SendAndWait(garbage);
  h.SendAndWait(garbage);
  EXPECT_FALSE(h.intake->actors()["actor-a"].banned);
  auto ok = h.SendAndWait(Valid(1).SerializeAsString());
  ASSERT_EQ(ok.episode_ids_size(), 1) << "two rejections are below the limit: still accepted";
  h.SendAndWait(garbage);  // the third: refused, answered, and the actor is banned
  EXPECT_TRUE(h.intake->actors()["actor-a"].banned);
  EXPECT_EQ(h.intake->counters().banned_actors, 1);
  EXPECT_FALSE(Harness::TrySend(h.links.get(), Valid(2).SerializeAsString(), 25).has_value())
      << "a banned actor gets no ack";
  EXPECT_EQ(h.source->size(), 1);
  auto b = LearnerLinks::Connect({h.intake->endpoint()}, "actor-b");
  ASSERT_TRUE(b.ok());
  auto acked = Harness::TrySend(b.value().get(), Valid(3, "actor-b").SerializeAsString(), 200);
  ASSERT_TRUE(acked.has_value());
  ASSERT_EQ(acked->episode_ids_size(), 1);
  EXPECT_EQ(h.source->size(), 2);
  EXPECT_GE(h.intake->counters().refused_unread, 1);
}

// max_rejections_per_actor = 0: never banned, however many bad messages.
TEST(TrajectoryIntakeTest, ZeroRejectionLimitNeverBans) {
  Harness h("noban", 0);
  for (int i = 0; i < 5; ++i) h.SendAndWait(std::string("\xff\xff\xff\x01garbage", 11));
  EXPECT_FALSE(h.intake->actors()["actor-a"].banned);
  EXPECT_EQ(h.SendAndWait(Valid(9).SerializeAsString()).episode_ids_size(), 1);
}

}  // namespace
}  // namespace mem1
