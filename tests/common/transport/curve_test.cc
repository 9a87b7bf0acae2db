// CURVE on the fleet sockets: key files, the ZAP gate (listed keys in, everyone else out),
// revocation by editing authorized_keys, bans, and the weight PUB/SUB under the same gate.
#include "common/transport/curve.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/transport/fleet_channels.h"

namespace mem1 {
namespace {
namespace fs = std::filesystem;

class CurveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CurveAvailable()) GTEST_SKIP() << "skipped: this libzmq has no CURVE support";
    dir_ = fs::temp_directory_path() / ("mem1_curve_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* name : {"learner", "good", "other"}) {
      auto kp = GenerateCurveKeyPair();
      ASSERT_TRUE(kp.ok()) << kp.status().ToString();
      ASSERT_TRUE(WriteCurveKeyPair(dir_.string(), name, kp.value()).ok());
      keys_[name] = kp.value();
    }
    WriteAuthorized({"good"});
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteAuthorized(const std::vector<std::string>& names) {
    std::ofstream out(dir_ / "authorized_keys", std::ios::trunc);
    out << "# actors this learner accepts\n";
    for (const auto& n : names) out << keys_[n].public_key << " " << n << "\n";
  }
  CurveServerOptions Server() {
    auto o = LoadCurveServerOptions(dir_.string());
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.value();
  }
  CurveClientOptions Client(const std::string& name) {
    auto o = LoadCurveClientOptions(dir_.string(), name);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.value();
  }
  // Sends `kind` every 50 ms over `links` until the server receives something or `seconds` pass.
  static std::optional<FleetMessage> SendUntilReceived(LearnerLinks* links, TrajectoryServer* server,
                                                       const std::string& kind, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      (void)links->Send(0, kind, "payload");
      auto m = server->Receive(50);
      if (m.ok() && m.value().has_value()) return m.value();
    }
    return std::nullopt;
  }
  std::unique_ptr<TrajectoryServer> BindServer() {
    TrajectoryServer::Options o;
    o.bind_endpoint = "tcp://127.0.0.1:0";
    o.curve = Server();
    auto s = TrajectoryServer::Bind(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }

  fs::path dir_;
  std::map<std::string, CurveKeyPair> keys_;
};

TEST_F(CurveTest, KeyFilesRoundTripAndAreNeverOverwritten) {
  auto pair = ReadCurveKeyFile((dir_ / "good.key").string());
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  EXPECT_EQ(pair.value().public_key, keys_["good"].public_key);
  EXPECT_EQ(pair.value().secret_key, keys_["good"].secret_key);
  EXPECT_EQ(ReadCurvePublicKeyFile((dir_ / "good.pub").string()).value(), keys_["good"].public_key);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "good.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "a secret key file must be private";
  const Status again = WriteCurveKeyPair(dir_.string(), "good", keys_["other"]);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("refusing to overwrite"), std::string::npos) << again.message();
  EXPECT_EQ(ReadCurveKeyFile((dir_ / "good.key").string()).value().secret_key, keys_["good"].secret_key);
}

TEST_F(CurveTest, BadKeyFilesNameTheFileAndLine) {
  {
    std::ofstream((dir_ / "short.key")) << "public abc\n";
  }
  auto r = ReadCurveKeyFile((dir_ / "short.key").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("short.key:1"), std::string::npos) << r.status().message();
  // A public key that does not belong to the secret key.
  {
    std::ofstream((dir_ / "mixed.key")) << "public " << keys_["good"].public_key << "\nsecret " << keys_["other"].secret_key << "\n";
  }
  r = ReadCurveKeyFile((dir_ / "mixed.key").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not belong"), std::string::npos) << r.status().message();
  EXPECT_EQ(ReadCurveKeyFile((dir_ / "missing.key").string()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadCurveKeyFile(dir_.string()).status().code(), StatusCode::kInvalidArgument);
  {
    std::ofstream((dir_ / "authorized_keys")) << keys_["good"].public_key << " a\n" << keys_["good"].public_key << " b\n";
  }
  auto a = ReadAuthorizedKeys((dir_ / "authorized_keys").string());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("authorized_keys:2: key listed twice"), std::string::npos) << a.status().message();
  {
    std::ofstream((dir_ / "authorized_keys")) << "not-a-key name\n";
  }
  a = ReadAuthorizedKeys((dir_ / "authorized_keys").string());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("authorized_keys:1"), std::string::npos) << a.status().message();
  EXPECT_FALSE(LoadCurveServerOptions(dir_.string()).ok()) << "a learner must not start on a broken key list";
}

TEST_F(CurveTest, ListedKeyIsAdmittedAndNamedOthersAreRefusedAtTheHandshake) {
  auto server = BindServer();
  auto good = LearnerLinks::Connect({server->endpoint()}, "good-actor", Client("good"));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  auto m = SendUntilReceived(good.value().get(), server.get(), kMsgHello, 5.0);
  ASSERT_TRUE(m.has_value()) << "the listed actor's message never arrived";
  EXPECT_EQ(m->peer, "good-actor");
  EXPECT_EQ(m->user_id, keys_["good"].public_key);
  EXPECT_EQ(server->gate()->NameOf(m->user_id), "good");

  // A valid key pair that is not listed.
  auto other = LearnerLinks::Connect({server->endpoint()}, "other-actor", Client("other"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(SendUntilReceived(other.value().get(), server.get(), kMsgHello, 1.5).has_value());
  EXPECT_GE(server->gate()->refused_handshakes(), 1);
  // No keys at all (a plain socket against a CURVE server).
  auto plain = LearnerLinks::Connect({server->endpoint()}, "plain-actor");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(SendUntilReceived(plain.value().get(), server.get(), kMsgHello, 1.5).has_value());
  // An actor that trusts the wrong learner key: its handshake fails on its own side.
  CurveClientOptions wrong = Client("good");
  wrong.server_public_key = keys_["other"].public_key;
  auto fooled = LearnerLinks::Connect({server->endpoint()}, "fooled-actor", wrong);
  ASSERT_TRUE(fooled.ok());
  EXPECT_FALSE(SendUntilReceived(fooled.value().get(), server.get(), kMsgHello, 1.5).has_value());
  // The listed actor still gets through.
  EXPECT_TRUE(SendUntilReceived(good.value().get(), server.get(), kMsgHeartbeat, 5.0).has_value());
}

TEST_F(CurveTest, RevokedKeyIsRefusedOnItsOpenConnectionAndAtReconnect) {
  auto server = BindServer();
  auto good = LearnerLinks::Connect({server->endpoint()}, "good-actor", Client("good"));
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(SendUntilReceived(good.value().get(), server.get(), kMsgHello, 5.0).has_value());
  EXPECT_EQ(server->refused(), 0);
  WriteAuthorized({"other"});  // "good" revoked (the file changes size: re-read on the next check)
  // Its next messages on the still-open, already-authenticated connection are dropped unread.
  EXPECT_FALSE(SendUntilReceived(good.value().get(), server.get(), kMsgTrajectory, 1.0).has_value());
  EXPECT_GE(server->refused(), 1);
  // A fresh connection with the revoked key fails the handshake.
  const int64_t refused_before = server->gate()->refused_handshakes();
  auto again = LearnerLinks::Connect({server->endpoint()}, "good-again", Client("good"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(SendUntilReceived(again.value().get(), server.get(), kMsgHello, 1.5).has_value());
  EXPECT_GT(server->gate()->refused_handshakes(), refused_before);
  // The key now listed is admitted without restarting the server.
  auto other = LearnerLinks::Connect({server->endpoint()}, "other-actor", Client("other"));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(SendUntilReceived(other.value().get(), server.get(), kMsgHello, 5.0).has_value());
}

TEST_F(CurveTest, BannedActorIsDroppedWhileOthersGetThrough) {
  WriteAuthorized({"good", "other"});
  auto server = BindServer();
  auto good = LearnerLinks::Connect({server->endpoint()}, "good-actor", Client("good"));
  auto other = LearnerLinks::Connect({server->endpoint()}, "other-actor", Client("other"));
  ASSERT_TRUE(good.ok() && other.ok());
  auto m = SendUntilReceived(good.value().get(), server.get(), kMsgHello, 5.0);
  ASSERT_TRUE(m.has_value());
  server->Ban(*m);
  EXPECT_FALSE(server->gate()->Admits(keys_["good"].public_key));
  EXPECT_FALSE(SendUntilReceived(good.value().get(), server.get(), kMsgTrajectory, 1.0).has_value());
  EXPECT_GE(server->refused(), 1);
  auto o = SendUntilReceived(other.value().get(), server.get(), kMsgHello, 5.0);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->peer, "other-actor");
}

TEST_F(CurveTest, OnlyListedActorsReceiveWeights) {
  CurveServerOptions so = Server();
  auto pub = WeightPublisherSocket::Bind("tcp://127.0.0.1:0", so);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  auto good = WeightSubscriberSocket::Connect(pub.value()->endpoint(), Client("good"));
  auto other = WeightSubscriberSocket::Connect(pub.value()->endpoint(), Client("other"));
  auto plain = WeightSubscriberSocket::Connect(pub.value()->endpoint());
  ASSERT_TRUE(good.ok() && other.ok() && plain.ok());
  bool good_got = false, other_got = false, plain_got = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < end && !good_got) {
    ASSERT_TRUE(pub.value()->Publish("weights-v1").ok());
    auto g = good.value()->Receive(50);
    if (g.ok() && g.value().has_value()) {
      EXPECT_EQ(*g.value(), "weights-v1");
      good_got = true;
    }
  }
  // Keep publishing a little so the refused subscribers had every chance.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(pub.value()->Publish("weights-v2").ok());
    auto o = other.value()->Receive(25);
    other_got |= o.ok() && o.value().has_value();
    auto p = plain.value()->Receive(25);
    plain_got |= p.ok() && p.value().has_value();
  }
  EXPECT_TRUE(good_got);
  EXPECT_FALSE(other_got);
  EXPECT_FALSE(plain_got);
}

}  // namespace
}  // namespace mem1
