// Plain (no CURVE) fleet channels: routing ids, acks back to the sender, weights fan-out,
// bind errors that name the endpoint, banned peers. (CURVE: curve_test.cc.)
#include "common/transport/fleet_channels.h"

#include <gtest/gtest.h>

#include <chrono>

namespace mem1 {
namespace {

std::optional<FleetMessage> SendUntilReceived(LearnerLinks* links, TrajectoryServer* server, const std::string& kind,
                                              const std::string& payload, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    (void)links->Send(0, kind, payload);
    auto m = server->Receive(50);
    if (m.ok() && m.value().has_value()) return m.value();
  }
  return std::nullopt;
}

TEST(FleetChannelsTest, AdvertisedEndpointReplacesOnlyTheHost) {
  EXPECT_EQ(AdvertisedEndpoint("tcp://0.0.0.0:41235", "node7"), "tcp://node7:41235");
  EXPECT_EQ(AdvertisedEndpoint("tcp://127.0.0.1:5", "127.0.0.1"), "tcp://127.0.0.1:5");
  EXPECT_EQ(AdvertisedEndpoint("garbage", "h"), "garbage");
}

TEST(FleetChannelsTest, MessageCarriesTheRoutingIdAndTheAckGoesBack) {
  TrajectoryServer::Options o;
  o.bind_endpoint = "tcp://127.0.0.1:0";
  auto server = TrajectoryServer::Bind(o);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ(server.value()->gate(), nullptr);
  auto links = LearnerLinks::Connect({server.value()->endpoint()}, "actor-3");
  ASSERT_TRUE(links.ok());
  auto m = SendUntilReceived(links.value().get(), server.value().get(), kMsgTrajectory, "abc", 5.0);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->peer, "actor-3");
  EXPECT_EQ(m->kind, kMsgTrajectory);
  EXPECT_EQ(m->payload, "abc");
  EXPECT_EQ(m->user_id, "") << "a plain connection has no authenticated key";
  ASSERT_TRUE(server.value()->Send(m->peer, kMsgAck, "ok").ok());
  std::optional<FleetMessage> ack;
  for (int i = 0; i < 100 && !ack; ++i) {
    auto r = links.value()->Receive(50);
    ASSERT_TRUE(r.ok());
    ack = r.value();
  }
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->peer, "0");
  EXPECT_EQ(ack->kind, kMsgAck);
  EXPECT_EQ(ack->payload, "ok");
}

TEST(FleetChannelsTest, BindingATakenPortNamesTheEndpoint) {
  TrajectoryServer::Options o;
  o.bind_endpoint = "tcp://127.0.0.1:0";
  auto first = TrajectoryServer::Bind(o);
  ASSERT_TRUE(first.ok());
  o.bind_endpoint = first.value()->endpoint();
  auto second = TrajectoryServer::Bind(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(first.value()->endpoint()), std::string::npos) << second.status().message();
}

TEST(FleetChannelsTest, BannedPeerIsDroppedAndCountedOthersPass) {
  TrajectoryServer::Options o;
  o.bind_endpoint = "tcp://127.0.0.1:0";
  auto server = TrajectoryServer::Bind(o);
  ASSERT_TRUE(server.ok());
  auto bad = LearnerLinks::Connect({server.value()->endpoint()}, "bad");
  auto good = LearnerLinks::Connect({server.value()->endpoint()}, "good");
  ASSERT_TRUE(bad.ok() && good.ok());
  auto m = SendUntilReceived(bad.value().get(), server.value().get(), kMsgHello, "x", 5.0);
  ASSERT_TRUE(m.has_value());
  server.value()->Ban(*m);
  EXPECT_FALSE(SendUntilReceived(bad.value().get(), server.value().get(), kMsgHello, "x", 0.5).has_value());
  EXPECT_GE(server.value()->refused(), 1);
  auto g = SendUntilReceived(good.value().get(), server.value().get(), kMsgHello, "y", 5.0);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->peer, "good");
}

TEST(FleetChannelsTest, WeightsReachASubscriber) {
  auto pub = WeightPublisherSocket::Bind("tcp://127.0.0.1:0");
  ASSERT_TRUE(pub.ok());
  auto sub = WeightSubscriberSocket::Connect(pub.value()->endpoint());
  ASSERT_TRUE(sub.ok());
  std::optional<std::string> got;
  for (int i = 0; i < 100 && !got; ++i) {
    ASSERT_TRUE(pub.value()->Publish("chunk").ok());
    auto r = sub.value()->Receive(50);
    ASSERT_TRUE(r.ok());
    got = r.value();
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "chunk");
}

}  // namespace
}  // namespace mem1
