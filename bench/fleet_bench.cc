// `mem1 bench fleet`: the distributed runtime's costs, each against a baseline measured in the
// same run:
//   1. trajectory store append MB/s (fsync on / off) and the ack latency the store adds
//      (round trip through the learner's intake vs a bare ZeroMQ echo of the same message);
//   2. weight broadcast latency and MB/s for the embedded model (PUB -> SUB -> verified,
//      assembled version) vs a memcpy of the same bytes;
//   3. actor scaling: episodes/s and generated tokens/s of 1 vs 2 mem1_actor processes with one
//      thread each (and 1 process with 2 threads), against an in-bench intake;
//   4. the fraction of step time the learner waits for data, sync vs async (mem1_learner + 2
//      actors, a few PPO steps each).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/bench_env.h"
#include "common/cli/cli_common.h"
#include "common/model/model_config.h"
#include "common/model/qwen2.h"
#include "common/model/weight_sync.h"
#include "common/transport/fleet_channels.h"
#include "common/util/strings.h"
#include "learner/synthetic_trajectories.h"
#include "learner/trajectory_intake.h"
#include "learner/weight_publisher.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;

struct FleetBenchArgs {
  bool quick = false;
  int episodes = 24;  // per actor process in the scaling runs
};

std::string SelfDir() { return fs::read_symlink("/proc/self/exe").parent_path().string(); }

pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int Run(const std::string& cmd) { return std::system(("( " + cmd + " ) >/dev/null 2>&1").c_str()); }

// 1. Store append rate and ack latency.
void BenchStore(const fs::path& tmp, const FleetBenchArgs& a) {
  SyntheticSizes sz;
  sz.prompt = 400;
  sz.generated = 60;
  sz.observation = 120;
  std::vector<proto::Trajectory> ts;
  const int n = a.quick ? 64 : 256;
  int64_t bytes = 0;
  for (int i = 0; i < n; ++i) {
    ts.push_back(SyntheticMem1Trajectory(i, 8192, 6, 0, sz));
    ts.back().set_actor_id("bench");
    bytes += ts.back().ByteSizeLong();
  }
  for (bool fsync : {false, true}) {
    fs::remove_all(tmp / "store");
    TrajectoryStoreOptions o;
    o.fsync = fsync;
    auto store = TrajectoryStore::Open((tmp / "store").string(), o, "").value();
    const double t0 = MonotonicSeconds();
    for (const auto& t : ts) CHECK(store->Append(t).ok());
    CHECK(store->Close().ok());
    const double s = MonotonicSeconds() - t0;
    // Baseline: the same bytes written (and fsynced per record) to a plain file.
    const double b0 = MonotonicSeconds();
    {
      const int fd = ::open((tmp / "plain.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      for (const auto& t : ts) {
        const std::string b = t.SerializeAsString();
        CHECK_EQ(::write(fd, b.data(), b.size()), static_cast<ssize_t>(b.size()));
        if (fsync) ::fdatasync(fd);
      }
      ::close(fd);
    }
    const double base = MonotonicSeconds() - b0;
    std::printf("store_append_%s: %.1f MB/s, %.0f records/s (%.2fx a plain %s file write of the same bytes)\n",
                fsync ? "fsync" : "nofsync", bytes / s / 1e6, n / s, base / s, fsync ? "fdatasync'd" : "buffered");
  }
  // Ack latency: intake (validate + store + ack) vs a bare ROUTER that acks at once.
  for (bool fsync : {true, false}) {
    fs::remove_all(tmp / "store2");
    TrajectoryStoreOptions o;
    o.fsync = fsync;
    StoreTrajectorySource src(TrajectoryStore::Open((tmp / "store2").string(), o, "").value(), 0);
    TrajectoryIntake::Options io;
    io.bind_endpoint = "tcp://127.0.0.1:0";
    io.vocab_size = 8192;
    auto intake = TrajectoryIntake::Start(io, &src, nullptr).value();
    // Bare echo server.
    TrajectoryServer::Options so;
    so.bind_endpoint = "tcp://127.0.0.1:0";
    auto echo = TrajectoryServer::Bind(so).value();
    std::atomic<bool> stop{false};
    std::thread echo_thread([&] {
      while (!stop) {
        auto m = echo->Receive(20);
        if (m.ok() && m->has_value()) (void)echo->Send((*m)->peer, kMsgAck, "");
      }
    });
    auto round_trips = [&](const std::string& ep, bool real) {
      auto links = LearnerLinks::Connect({ep}, "bench").value();
      std::vector<double> lat;
      for (int i = 0; i < (a.quick ? 40 : 150); ++i) {
        auto t = ts[i % ts.size()];
        t.set_episode_id(1000000 + i + (real ? 0 : 500000));
        const std::string b = t.SerializeAsString();
        const double t0 = MonotonicSeconds();
        while (!links->Send(0, kMsgTrajectory, b).ok()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        while (true) {
          auto m = links->Receive(100);
          if (m.ok() && m->has_value()) break;
        }
        if (i >= 5) lat.push_back(MonotonicSeconds() - t0);
      }
      std::sort(lat.begin(), lat.end());
      return lat[lat.size() / 2];
    };
    const double base = round_trips(echo->endpoint(), false);
    const double real = round_trips(intake->endpoint(), true);
    stop = true;
    echo_thread.join();
    intake->Stop();
    (void)src.CloseStore();
    std::printf("ack_latency_%s: p50 %.3f ms (bare ZeroMQ echo %.3f ms: the store + validation add %.3f ms)\n",
                fsync ? "fsync" : "nofsync", real * 1e3, base * 1e3, (real - base) * 1e3);
  }
}

// 2. Weight broadcast.
void BenchWeights() {
  ModelInitOptions init;
  Qwen2ForCausalLM model(Qwen2ConfigFromInit(init));
  model->InitWeights(1, 0.02);
  auto tensors = ModelWeightTensors(model);
  int64_t bytes = 0;
  for (const auto& t : tensors) bytes += static_cast<int64_t>(t.bytes.size());
  auto pub = WeightPublisher::Start("tcp://127.0.0.1:0", 1 << 20, 1000.0).value();
  auto sub = WeightSubscriberSocket::Connect(pub->endpoint()).value();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // SUB connects before the first version
  std::vector<double> lat;
  for (int v = 1; v <= 6; ++v) {
    WeightAssembler asmb;
    const double t0 = MonotonicSeconds();
    pub->Publish(v, tensors);
    while (true) {
      auto m = sub->Receive(1000);
      if (!m.ok() || !m->has_value()) break;
      proto::WeightUpdate c;
      CHECK(c.ParseFromString(**m));
      CHECK(asmb.Add(c).ok());
      if (auto w = asmb.TakeComplete()) {
        CHECK_EQ(w->version, v);
        break;
      }
    }
    if (v > 1) lat.push_back(MonotonicSeconds() - t0);
  }
  std::sort(lat.begin(), lat.end());
  const double p50 = lat[lat.size() / 2];
  // Baseline: a memcpy of the same bytes.
  std::vector<char> dst(bytes);
  const double m0 = MonotonicSeconds();
  int64_t off = 0;
  for (const auto& t : tensors) {
    std::memcpy(dst.data() + off, t.bytes.data(), t.bytes.size());
    off += static_cast<int64_t>(t.bytes.size());
  }
  const double mc = MonotonicSeconds() - m0;
  std::printf("weight_broadcast: %.1f MB in %.1f ms p50 = %.0f MB/s, chunk + publish + CRC-verify + assemble "
              "(memcpy of the same bytes %.0f MB/s: %.1f%%)\n",
              bytes / 1e6, p50 * 1e3, bytes / p50 / 1e6, bytes / mc / 1e6, 100.0 * mc / p50);
}

struct ScaleResult {
  double episodes_per_s = 0, tokens_per_s = 0;
};

// 3. Actor processes against an in-bench intake.
ScaleResult RunActors(const fs::path& tmp, const std::vector<std::string>& common, int processes, int threads,
                      int episodes, const std::string& tag) {
  fs::remove_all(tmp / ("scale_" + tag));
  TrajectoryStoreOptions o;
  o.fsync = false;
  StoreTrajectorySource src(TrajectoryStore::Open((tmp / ("scale_" + tag)).string(), o, "").value(), 0);
  TrajectoryIntake::Options io;
  io.bind_endpoint = "tcp://127.0.0.1:0";
  io.vocab_size = 1 << 20;
  auto intake = TrajectoryIntake::Start(io, &src, nullptr).value();
  auto pub = WeightPublisher::Start("tcp://127.0.0.1:0", 1 << 20).value();
  std::vector<pid_t> pids;
  for (int p = 0; p < processes; ++p) {
    std::vector<std::string> args = {SelfDir() + "/mem1_actor"};
    args.insert(args.end(), common.begin(), common.end());
    for (const std::string& s : {"actor.learner_endpoint=" + intake->endpoint(), "actor.weights_endpoint=" + pub->endpoint(),
                                 "actor.episodes=" + std::to_string(episodes), "runtime.threads=" + std::to_string(threads),
                                 "run.dir=" + (tmp / ("actor_" + tag)).string()}) {
      args.push_back("--set");
      args.push_back(s);
    }
    args.push_back("--actor-id");
    args.push_back("bench-" + tag + "-" + std::to_string(p));
    pids.push_back(Spawn(args, (tmp / ("actor_" + tag + ".log")).string()));
  }
  // Time from the first stored episode to the last (process start-up and model load excluded).
  const int64_t total = static_cast<int64_t>(processes) * episodes;
  double first = -1, last = -1;
  int64_t tokens = 0, seen = 0;
  const double deadline = MonotonicSeconds() + 600;
  while (seen < total && MonotonicSeconds() < deadline) {
    auto t = src.Next(0.5);
    if (!t.ok() || !t->has_value()) continue;
    ++seen;
    if (seen == 1) first = MonotonicSeconds();
    else tokens += (*t)->metrics().generated_tokens();
    last = MonotonicSeconds();
  }
  for (pid_t p : pids) waitpid(p, nullptr, 0);
  intake->Stop();
  pub->Stop();
  (void)src.CloseStore();
  ScaleResult r;
  if (seen > 1 && last > first) {
    r.episodes_per_s = (seen - 1) / (last - first);
    r.tokens_per_s = tokens / (last - first);
  }
  return r;
}

// 4. Learner wait fraction, sync vs async.
double WaitFraction(const fs::path& tmp, const std::vector<std::string>& common, const std::string& mode, int steps) {
  const fs::path run = tmp / ("learner_" + mode);
  fs::remove_all(run);
  std::vector<std::string> extra = {"run.dir=" + run.string(), "learner.mode=" + mode,
                                    "learner.total_steps=" + std::to_string(steps), "learner.global_batch=4",
                                    "learner.ppo.max_policy_lag=2", "learner.advertise_host=127.0.0.1",
                                    "learner.bind_endpoint=tcp://127.0.0.1:0", "learner.publish_endpoint=tcp://127.0.0.1:0",
                                    "learner.checkpoint_every=0", "runtime.threads=1"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), common.begin(), common.end());
    for (const auto& s : extra) {
      args.push_back("--set");
      args.push_back(s);
    }
    return args;
  };
  const pid_t learner = Spawn(with({SelfDir() + "/mem1_learner"}), (tmp / ("learner_" + mode + ".log")).string());
  std::vector<pid_t> actors;
  for (int i = 0; i < 2; ++i) {
    auto args = with({SelfDir() + "/mem1_actor"});
    args.push_back("--actor-id");
    args.push_back("wait-" + mode + "-" + std::to_string(i));
    actors.push_back(Spawn(args, (tmp / ("actors_" + mode + ".log")).string()));
  }
  waitpid(learner, nullptr, 0);
  for (pid_t p : actors) {
    kill(p, SIGTERM);
    waitpid(p, nullptr, 0);
  }
  std::ifstream f(run / "metrics.jsonl");
  std::string line;
  double sum = 0;
  int n = 0, k = 0;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || ++k == 1) continue;  // step 1 includes actor start-up
    sum += j.value("fleet/wait_fraction", 0.0);
    ++n;
  }
  return n ? sum / n : -1;
}

void RunFleetBench(const FleetBenchArgs& a) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  PrintBenchEnvironment(1);
  const fs::path tmp = fs::temp_directory_path() / ("mem1_fleet_bench_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  BenchStore(tmp, a);
  BenchWeights();
  // A small QA world, tokenizer and policy for the process-level measurements.
  const std::string mem1 = SelfDir() + "/mem1";
  const std::string d = tmp.string();
  CHECK_EQ(Run(mem1 + " datagen qa --entities 60 --seed 3 --out " + d + "/qa"), 0);
  CHECK_EQ(Run(mem1 + " index build --quiet --corpus " + d + "/qa/corpus.jsonl --out " + d + "/qa/index"), 0);
  CHECK_EQ(Run("cut -d'\"' -f8 " + d + "/qa/corpus.jsonl > " + d + "/text.txt && cat " + d + "/qa/train.jsonl >> " + d + "/text.txt"), 0);
  CHECK_EQ(Run(mem1 + " tokenizer train --corpus " + d + "/text.txt --out " + d + "/tok --vocab-size 700"), 0);
  std::vector<std::string> common = {"--set", "tokenizer.path=" + d + "/tok.model", "--set", "env.qa.data_dir=" + d + "/qa",
                                     "--set", "env.qa.objectives=1", "--set", "actor.num_envs=4", "--set",
                                     "actor.max_turns=4", "--set", "actor.max_new_tokens_per_turn=32", "--set",
                                     "model.init.vocab_size=768"};
  const int e = a.quick ? 8 : a.episodes;
  const auto one = RunActors(tmp, common, 1, 1, e, "1x1");
  const auto two = RunActors(tmp, common, 2, 1, e, "2x1");
  const auto threads = RunActors(tmp, common, 1, 2, 2 * e, "1x2");
  std::printf("actors_1x1thread: %.2f episodes/s, %.0f generated tokens/s (baseline)\n", one.episodes_per_s, one.tokens_per_s);
  std::printf("actors_2x1thread: %.2f episodes/s, %.0f generated tokens/s (%.2fx 1 actor; aim >= 1.8x)\n", two.episodes_per_s,
              two.tokens_per_s, two.episodes_per_s / std::max(1e-9, one.episodes_per_s));
  std::printf("actors_1x2threads: %.2f episodes/s, %.0f generated tokens/s (%.2fx 1 actor; 2 processes are %.2fx this)\n",
              threads.episodes_per_s, threads.tokens_per_s, threads.episodes_per_s / std::max(1e-9, one.episodes_per_s),
              two.episodes_per_s / std::max(1e-9, threads.episodes_per_s));
  const int steps = a.quick ? 3 : 6;
  const double sync = WaitFraction(tmp, common, "sync", steps), async = WaitFraction(tmp, common, "async", steps);
  std::printf("learner_wait_fraction_sync: %.2f of step time waiting for data (baseline)\n", sync);
  std::printf("learner_wait_fraction_async: %.2f of step time waiting for data (%.2fx sync)\n", async,
              async / std::max(1e-9, sync));
  std::error_code ec;
  fs::remove_all(tmp, ec);
}

}  // namespace

void RegisterFleetBench(CLI::App* bench) {
  auto args = std::make_shared<FleetBenchArgs>();
  auto* f = bench->add_subcommand("fleet", "Actor fleet: store append + ack latency, weight broadcast, actor scaling, learner wait (sync vs async)");
  f->add_flag("--quick", args->quick, "Smaller runs (a smoke test)");
  f->add_option("--episodes", args->episodes, "Episodes per actor process in the scaling runs");
  f->callback([args] { RunFleetBench(*args); });
}

}  // namespace mem1
