#include "learner/fleet_learner.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/metrics/metrics_log.h"
#include "common/model/model_io.h"
#include "common/model/weight_sync.h"
#include "common/tokenizer/tokenizer.h"
#include "common/transport/curve.h"
#include "common/transport/fleet_channels.h"
#include "common/transport/rendezvous.h"
#include "common/util/strings.h"
#include "learner/trainer.h"
#include "learner/trajectory_intake.h"
#include "learner/trajectory_source.h"
#include "learner/weight_publisher.h"

namespace mem1 {
namespace {

// "tcp://*:5560" -> "tcp://*:<5560 + rank>"; port 0 / * stays ephemeral.
std::string RankEndpoint(const std::string& ep, int rank) {
  const size_t colon = ep.rfind(':');
  if (colon == std::string::npos || ep.compare(0, 6, "tcp://") != 0) return ep;
  const std::string port = ep.substr(colon + 1);
  if (port == "*" || port == "0") return ep;
  try {
    return ep.substr(0, colon + 1) + std::to_string(std::stoi(port) + rank);
  } catch (const std::exception&) {
    return ep;
  }
}

std::string Incarnation() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  return HostName() + "-" + std::to_string(::getpid()) + "-" + std::to_string(ms);
}

// Sums of what this rank's step shard looked like (reduced over ranks for the metrics).
enum Sum { kCount, kReward, kEm, kSuccess, kPeak, kTurns, kFormat, kGenTokens, kLag, kStale, kWait, kF1, kSums };

double Component(const proto::Trajectory& t, const char* key) {
  auto it = t.reward_components().find(key);
  return it == t.reward_components().end() ? 0.0 : it->second;
}

}  // namespace

Status RunFleetLearner(const Mem1Config& config_in, const std::string& resume, Communicator* comm,
                       int64_t steps_override, const std::atomic<bool>* stop) {
  Mem1Config config = config_in;
  if (!resume.empty() && std::filesystem::is_directory(resume)) config.run.dir = resume;
  const std::string run_dir = config.run.dir;
  const auto& l = config.learner;
  const int rank = comm->rank(), world = comm->world_size();
  const bool is_sft = l.ppo.algorithm == Algorithm::kSft;
  const bool online = l.offline_store.empty();

  // Set-up failures are per rank (files, ports): each part's status is agreed (AgreeOnStatus)
  // before the next collective, so every rank ends with the failing rank's message instead of
  // the others waiting in that collective forever.
  // Policy, tokenizer (the vocabulary bounds every received token id), trainer, resume.
  auto loaded = LoadOrInitModel(config.model, config.runtime);
  MEM1_RETURN_IF_ERROR(AgreeOnStatus(comm, loaded.ok() ? Status::Ok() : loaded.status()));
  Qwen2ForCausalLM model = std::move(loaded).value();
  const std::string tok_path = !config.tokenizer.path.empty() ? config.tokenizer.path : config.model.checkpoint;
  const int64_t vocab = model->config().vocab_size;
  Trainer trainer(model, l, comm);
  int64_t cursor = 0;
  if (!resume.empty()) {
    const Status resumed = [&]() -> Status {
      MEM1_ASSIGN_OR_RETURN(std::string path, LatestCheckpoint(resume));
      MEM1_RETURN_IF_ERROR(trainer.Load(path));
      const auto& cursors = trainer.rank_cursors();
      if (!cursors.empty() && static_cast<int>(cursors.size()) != world) {
        return InvalidArgument(path + ": written by " + std::to_string(cursors.size()) + " learner ranks, resumed with " +
                               std::to_string(world) + " (resume with the same number of ranks)");
      }
      if (!cursors.empty()) cursor = cursors[rank];
      LOG(INFO) << "rank " << rank << ": resumed from " << path << " at step " << trainer.step() << ", policy v"
                << trainer.policy_version() << ", store cursor " << cursor;
      return Status::Ok();
    }();
    MEM1_RETURN_IF_ERROR(AgreeOnStatus(comm, resumed));
  }

  // Data: the live store + intake, or an offline store.
  std::unique_ptr<StoreTrajectorySource> live;
  std::unique_ptr<OfflineStoreSource> offline;
  std::unique_ptr<TrajectoryIntake> intake;
  std::unique_ptr<WeightPublisher> publisher;
  TrajectorySource* source = nullptr;
  // One incarnation for the whole learner (all ranks): acks from any rank carry the same id.
  const std::string incarnation = comm->AllGatherBytes(Incarnation())[0];
  const Status opened = [&]() -> Status {
    if (online) {
      // Security first: nothing binds a reachable address in the clear unless asked to.
      MEM1_ASSIGN_OR_RETURN(auto curve, LoadCurveServerOptions(config.security.keys_dir));
      std::shared_ptr<CurveGate> gate;
      if (curve.enabled()) {
        MEM1_ASSIGN_OR_RETURN(gate, CurveGate::Create(curve.authorized_keys));
        if (rank == 0) {
          LOG(INFO) << "fleet sockets: CURVE, learner key " << curve.server.public_key << ", actors admitted from "
                    << curve.authorized_keys;
        }
      } else {
        for (const std::string& ep : {l.bind_endpoint, l.publish_endpoint}) {
          if (IsLoopbackEndpoint(ep)) continue;
          if (!config.security.insecure) {
            return InvalidArgument("learner endpoint " + ep +
                                   " is reachable from other hosts and no CURVE keys are configured: run `mem1 keys gen "
                                   "--out DIR` and set security.keys_dir=DIR, bind a loopback address "
                                   "(tcp://127.0.0.1:0), or pass --insecure (security.insecure=true)");
          }
        }
        if (rank == 0) {
          const bool loopback = IsLoopbackEndpoint(l.bind_endpoint) && IsLoopbackEndpoint(l.publish_endpoint);
          if (loopback) {
            LOG(INFO) << "fleet sockets: plain (no CURVE keys), loopback only";
          } else {
            LOG(WARNING) << "fleet sockets: plain (no CURVE keys) on a reachable address (security.insecure): "
                            "anyone who can reach it may push trajectories and read weights";
          }
        }
      }
      TrajectoryStoreOptions so;
      so.shard_records = l.store_shard_records;
      so.fsync = l.store_fsync;
      MEM1_ASSIGN_OR_RETURN(auto store, TrajectoryStore::Open(RankStoreDir(run_dir, rank), so, ConfigToYaml(config)));
      for (const auto& note : store->recovery().notes) LOG(WARNING) << "rank " << rank << " store: " << note;
      if (cursor > store->size()) {
        return DataLoss(RankStoreDir(run_dir, rank) + ": the checkpoint has consumed " + std::to_string(cursor) +
                        " records but the store holds " + std::to_string(store->size()));
      }
      LOG(INFO) << "rank " << rank << ": store " << RankStoreDir(run_dir, rank) << " holds " << store->size()
                << " trajectories, " << store->size() - cursor << " not yet trained on";
      live = std::make_unique<StoreTrajectorySource>(std::move(store), cursor);
      source = live.get();
      if (rank == 0) {
        MEM1_ASSIGN_OR_RETURN(publisher, WeightPublisher::Start(l.publish_endpoint, l.weight_chunk_bytes, 5.0, curve, gate));
      }
      TrajectoryIntake::Options io;
      io.bind_endpoint = RankEndpoint(l.bind_endpoint, rank);
      io.limits.max_message_bytes = l.max_message_bytes;
      io.limits.max_trajectory_tokens = l.max_trajectory_tokens;
      io.limits.max_segments = l.max_segments;
      io.vocab_size = vocab;
      io.incarnation = incarnation;
      io.rank = rank;
      io.curve = curve;
      io.gate = gate;
      io.max_rejections_per_actor = l.max_rejections_per_actor;
      io.max_backlog = l.max_backlog > 0 ? l.max_backlog : 2 * ((l.global_batch + world - 1) / world);
      WeightPublisher* pub = publisher.get();
      MEM1_ASSIGN_OR_RETURN(intake, TrajectoryIntake::Start(io, live.get(), [pub] {
                              if (pub) pub->RequestRepublish();
                            }));
      intake->set_latest_version(trainer.policy_version());
    } else {
      MEM1_ASSIGN_OR_RETURN(offline, OfflineStoreSource::Open(l.offline_store, rank, world, l.offline_epochs,
                                                              config.runtime.seed, cursor));
      source = offline.get();
      LOG(INFO) << "rank " << rank << ": offline store " << l.offline_store << ", " << offline->records_per_epoch()
                << " records per epoch for this rank, " << l.offline_epochs << " epochs";
    }
    return Status::Ok();
  }();
  MEM1_RETURN_IF_ERROR(AgreeOnStatus(comm, opened));
  Status setup;
  // Rendezvous: every rank's advertised endpoint, written by rank 0.
  if (online) {
    const std::string host = !l.advertise_host.empty()          ? l.advertise_host
                             : IsLoopbackEndpoint(l.bind_endpoint) ? std::string("127.0.0.1")
                                                                   : HostName();
    const auto eps = comm->AllGatherBytes(AdvertisedEndpoint(intake->endpoint(), host));
    if (rank == 0) {
      Rendezvous rv;
      rv.incarnation = incarnation;
      rv.world_size = world;
      rv.trajectory_endpoints = eps;
      rv.weights_endpoint = AdvertisedEndpoint(publisher->endpoint(), host);
      rv.policy_version = trainer.policy_version();
      std::filesystem::create_directories(run_dir);
      setup = WriteRendezvous(RendezvousPath(run_dir), rv);
      if (setup.ok()) {
        LOG(INFO) << "rendezvous " << RendezvousPath(run_dir) << ": " << world << " rank(s) at " << eps[0]
                  << (world > 1 ? ", ..." : "") << "; weights at " << rv.weights_endpoint;
        publisher->Publish(trainer.policy_version(), ModelWeightTensors(model));
      }
    }
  }
  std::unique_ptr<MetricsLog> metrics;
  if (rank == 0 && setup.ok()) {
    auto m = MetricsLog::Open(run_dir + "/metrics.jsonl", run_dir + "/tb", "learner");
    if (m.ok()) metrics = std::move(m).value();
    else setup = m.status();
  }
  std::ofstream trained_log;
  {
    std::filesystem::create_directories(run_dir + "/trained");
    char name[64];
    std::snprintf(name, sizeof(name), "/trained/rank-%05d.jsonl", rank);
    trained_log.open(run_dir + name, std::ios::app);
  }
  MEM1_RETURN_IF_ERROR(AgreeOnStatus(comm, setup));

  // Held-out trajectories (never trained on): this rank's share, read once.
  std::vector<proto::Trajectory> heldout;
  if (!l.heldout_store.empty()) {
    Status hs;
    auto h = OfflineStoreSource::Open(l.heldout_store, rank, world, 1, config.runtime.seed, 0);
    if (h.ok()) {
      const int64_t mine = (l.heldout_max + world - 1) / world;
      while (static_cast<int64_t>(heldout.size()) < mine) {
        auto t = (*h)->Next(0);
        if (!t.ok()) {
          if (t.status().code() != StatusCode::kUnavailable) hs = t.status();
          break;
        }
        if (*t) heldout.push_back(std::move(**t));
      }
    } else if (h.status().code() != StatusCode::kNotFound || world == 1) {
      hs = h.status();  // a rank without held-out records (fewer records than ranks) is fine
    }
    MEM1_RETURN_IF_ERROR(AgreeOnStatus(comm, hs));
    if (rank == 0) LOG(INFO) << "held-out store " << l.heldout_store << ": " << heldout.size() << " trajectories on rank 0";
  }
  // Collective: every rank calls it at the same steps.
  auto heldout_nll = [&]() -> Result<double> {
    auto r = trainer.HeldOutNll(heldout);
    MEM1_RETURN_IF_ERROR(AgreeOnStatus(comm, r.ok() ? Status::Ok() : r.status()));
    return r;
  };

  const int per_rank = (l.global_batch + world - 1) / world;
  const int64_t last_step = steps_override > 0 ? std::min<int64_t>(l.total_steps, trainer.step() + steps_override)
                                               : l.total_steps;
  const int64_t allowed_lag = is_sft ? (int64_t{1} << 60) : (l.mode == LearnerMode::kSync ? 0 : l.ppo.max_policy_lag);
  int64_t last_saved_step = trainer.step();
  int64_t trained_cursor = source->cursor();
  bool exhausted = false, stopped = false;
  const bool grpo = l.ppo.algorithm == Algorithm::kGrpo;
  // GRPO members read but whose group is not complete yet. A checkpoint's cursor counts them
  // as consumed: after a resume such a partial group is dropped (logged), never half-trained.
  std::map<std::pair<std::string, uint64_t>, std::vector<proto::Trajectory>> partial_groups;
  Status failure;
  const double run_t0 = MonotonicSeconds();
  int64_t prev_stored = 0;
  double prev_t = run_t0;

  auto save = [&](int64_t step) -> Status {
    // Every rank's store cursor goes into the checkpoint (rank 0 writes it).
    const auto parts = comm->AllGatherBytes(std::to_string(trained_cursor));
    std::vector<int64_t> cursors;
    for (const auto& p : parts) cursors.push_back(std::stoll(p));
    trainer.set_rank_cursors(cursors);
    Status st;
    if (rank == 0) {
      st = trainer.Save(CheckpointPath(run_dir, step), ConfigToYaml(config));
      if (st.ok()) PruneCheckpoints(run_dir, l.keep_checkpoints);
    }
    st = AgreeOnStatus(comm, st);
    if (st.ok()) last_saved_step = step;
    return st;
  };

  while (trainer.step() < last_step) {
    // 1. This rank's shard.
    std::vector<proto::Trajectory> shard;
    int64_t groups_in_shard = 0;
    double sums[kSums] = {0};
    const double wait_t0 = MonotonicSeconds();
    double deadline = wait_t0 + l.data_timeout_s;
    Status collect;
    const int64_t first_record = source->cursor();
    while (static_cast<int>(shard.size()) < per_rank) {
      if (stop && stop->load()) {
        stopped = true;
        break;
      }
      auto next = source->Next(0.25);
      if (!next.ok()) {
        if (next.status().code() == StatusCode::kUnavailable && !online) {
          exhausted = true;
        } else {
          collect = next.status();
        }
        break;
      }
      if (!next->has_value()) {
        if (MonotonicSeconds() > deadline) {
          collect = Unavailable("step " + std::to_string(trainer.step() + 1) + ": only " + std::to_string(shard.size()) +
                                " of " + std::to_string(per_rank) + " trajectories after learner.data_timeout_s = " +
                                std::to_string(l.data_timeout_s) + " s (are actors running? see " +
                                RendezvousPath(run_dir) + ")");
          break;
        }
        continue;
      }
      proto::Trajectory& t = **next;
      const int64_t lag = trainer.policy_version() - t.policy_version();
      if (lag > allowed_lag || lag < 0) {
        sums[kStale] += 1;  // consumed, not trained (counted)
        continue;
      }
      sums[kLag] += static_cast<double>(lag);
      if (!grpo) {
        shard.push_back(std::move(t));
        continue;
      }
      // GRPO: a group enters the shard only whole (its group_size members), so it is
      // normalised together; partial groups wait for their members across steps.
      auto& members = partial_groups[{t.actor_id(), t.group_id()}];
      members.push_back(std::move(t));
      if (static_cast<int>(members.size()) >= l.ppo.group_size) {
        for (auto& m : members) shard.push_back(std::move(m));
        partial_groups.erase({shard.back().actor_id(), shard.back().group_id()});
        ++groups_in_shard;
      }
    }
    sums[kWait] = MonotonicSeconds() - wait_t0;
    // Every rank stops together (a signal, an exhausted offline store, an error anywhere).
    {
      auto flags = torch::tensor(std::vector<double>{stopped ? 1.0 : 0.0, exhausted ? 1.0 : 0.0}, torch::kFloat64);
      comm->AllReduceSum(flags);
      stopped = flags[0].item<double>() > 0;
      exhausted = flags[1].item<double>() > 0;
    }
    if (Status st = AgreeOnStatus(comm, collect); !st.ok()) {
      failure = st;
      break;
    }
    if (stopped || exhausted) break;
    // 2. One optimizer step.
    for (const auto& t : shard) {
      sums[kCount] += 1;
      sums[kReward] += t.reward();
      sums[kEm] += t.metrics().exact_match();
      sums[kF1] += t.metrics().f1();
      sums[kSuccess] += Component(t, "webshop_success");
      sums[kPeak] += static_cast<double>(t.metrics().peak_tokens());
      sums[kTurns] += t.metrics().turns();
      sums[kFormat] += t.metrics().format_errors();
      sums[kGenTokens] += static_cast<double>(t.metrics().generated_tokens());
    }
    const double step_t0 = MonotonicSeconds();
    model->train();
    auto step_result = trainer.Step(shard);
    Status step_status = step_result.ok() ? Status::Ok() : step_result.status();
    if (Status st = AgreeOnStatus(comm, step_status); !st.ok()) {
      failure = st;
      break;
    }
    const StepStats& st = step_result.value();
    double nll = -1;
    if (!l.heldout_store.empty()) {
      if (st.step % l.heldout_every == 0 || st.step == last_step) {
        auto r = heldout_nll();
        if (!r.ok()) {
          failure = r.status();
          break;
        }
        nll = *r;
      }
    }
    trained_cursor = source->cursor();
    trained_log << nlohmann::json({{"step", st.step}, {"first", first_record}, {"end", trained_cursor},
                                   {"trained", shard.size()}, {"groups", groups_in_shard},
                                   {"pending_partial_groups", partial_groups.size()}}).dump()
                << "\n";
    trained_log.flush();
    auto red = torch::tensor(std::vector<double>(sums, sums + kSums), torch::kFloat64);
    comm->AllReduceSum(red);
    double g[kSums];
    for (int k = 0; k < kSums; ++k) g[k] = red[k].item<double>();
    // 3. Rank 0: weights out, metrics, progress.
    if (rank == 0) {
      const double pub_t0 = MonotonicSeconds();
      if (publisher) publisher->Publish(st.policy_version, ModelWeightTensors(model));
      const double pub_prep = MonotonicSeconds() - pub_t0;
      if (intake) intake->set_latest_version(st.policy_version);
      const double n = std::max(1.0, g[kCount]);
      const double now = MonotonicSeconds();
      const double step_seconds = now - wait_t0;
      double fleet_eps = 0, fleet_tps = 0, weight_latency = 0;
      std::map<std::string, ActorStats> actors;
      IntakeCounters counters;
      if (intake) {
        actors = intake->actors();
        counters = intake->counters();
        for (const auto& [id, a] : actors) {
          if (now - a.last_seen > 30) continue;
          fleet_eps += a.episodes_per_second;
          fleet_tps += a.tokens_per_second;
          weight_latency = std::max(weight_latency, a.weight_latency_seconds);
        }
      }
      const double stored_rate = (counters.stored - prev_stored) / std::max(1e-9, now - prev_t);
      prev_stored = counters.stored;
      prev_t = now;
      std::vector<std::pair<std::string, double>> values = {
          {"rollout/reward_mean", g[kReward] / n},
          {"rollout/exact_match_mean", g[kEm] / n},
          {"rollout/f1_mean", g[kF1] / n},
          {"rollout/success_mean", g[kSuccess] / n},
          {"rollout/peak_tokens_mean", g[kPeak] / n},
          {"rollout/turns_mean", g[kTurns] / n},
          {"rollout/format_errors_mean", g[kFormat] / n},
          {"rollout/generated_tokens_mean", g[kGenTokens] / n},
          {"fleet/staleness_mean", g[kLag] / n},
          {"fleet/stale_dropped", g[kStale]},
          {"fleet/wait_fraction", step_seconds > 0 ? std::min(1.0, (g[kWait] / world) / step_seconds) : 0},
          {"fleet/episodes_per_s", fleet_eps},
          {"fleet/generated_tokens_per_s", fleet_tps},
          {"fleet/stored_per_s_rank0", stored_rate},
          {"fleet/actors", static_cast<double>(actors.size())},
          {"fleet/invalid_messages_rank0", static_cast<double>(counters.invalid)},
          {"fleet/duplicates_rank0", static_cast<double>(counters.duplicates)},
          {"fleet/weight_broadcast_latency_s", weight_latency},
          {"fleet/weight_publish_prepare_s", pub_prep},
          {"train/loss", st.loss},
          {"train/policy_loss", st.policy_loss},
          {"train/lm_loss", st.lm_loss},
          {"train/value_loss", st.value_loss},
          {"train/entropy", st.entropy},
          {"train/kl", st.kl},
          {"train/clip_fraction", st.clip_fraction},
          {"train/is_weight_mean", st.is_weight_mean},
          {"train/grad_norm", st.grad_norm},
          {"train/lr", st.lr},
          {"train/tokens", static_cast<double>(st.tokens)},
          {"train/trajectories", static_cast<double>(st.trajectories)},
          {"train/logprob_gap_mean", st.logprob_gap_mean},
          {"train/logprob_gap_max", st.logprob_gap_max},
          {"train/policy_version", static_cast<double>(st.policy_version)},
          {"time/step_seconds", step_seconds},
          {"time/train_seconds", now - step_t0},
      };
      for (const auto& [id, a] : actors) {
        values.emplace_back("actor/" + id + "/episodes_per_s", a.episodes_per_second);
        values.emplace_back("actor/" + id + "/generated_tokens_per_s", a.tokens_per_second);
        values.emplace_back("actor/" + id + "/staleness", static_cast<double>(st.policy_version - 1 - a.policy_version));
      }
      if (nll >= 0) {
        values.emplace_back("heldout/nll", nll);
        LOG(INFO) << "step " << st.step << ": held-out NLL " << nll << " per token";
      }
      if (metrics) {
        if (auto ms = metrics->Log(st.step, values); !ms.ok()) LOG(WARNING) << "metrics: " << ms.message();
        (void)metrics->Flush();
      }
      char line[512];
      if (online) {
        std::snprintf(line, sizeof(line),
                      "step %lld/%lld | reward %.3f | %s %.3f | peak %.0f tok | %.2f ep/s %.0f tok/s | stale %.2f "
                      "(dropped %.0f) | wait %.0f%% | loss %.4f | gap %.1e | %.1f s",
                      static_cast<long long>(st.step), static_cast<long long>(last_step), g[kReward] / n,
                      config.env.name == EnvKind::kWebShop ? "success" : "EM",
                      config.env.name == EnvKind::kWebShop ? g[kSuccess] / n : g[kEm] / n,
                      g[kPeak] / n, fleet_eps, fleet_tps, g[kLag] / n, g[kStale],
                      100.0 * std::min(1.0, (g[kWait] / world) / std::max(1e-9, step_seconds)), st.loss, st.logprob_gap_max,
                      step_seconds);
      } else {
        // Offline data (SFT from a store): no actors, no staleness; what the data and the step did.
        // The SFT loss shown is the NLL per model token; with the auxiliary LM loss its NLL per
        // prompt/observation token follows.
        char lm[64] = "";
        if (st.lm_tokens > 0) std::snprintf(lm, sizeof(lm), " (lm %.4f on %lld tokens)", st.lm_loss, static_cast<long long>(st.lm_tokens));
        std::snprintf(line, sizeof(line),
                      "step %lld/%lld | %s loss %.4f%s | %lld trajectories, %lld loss tokens (%.0f tok/s) | expert "
                      "reward %.3f | lr %.2e | %.1f s",
                      static_cast<long long>(st.step), static_cast<long long>(last_step), ToString(l.ppo.algorithm).c_str(),
                      l.ppo.algorithm == Algorithm::kSft ? st.policy_loss : st.loss, lm,
                      static_cast<long long>(st.trajectories), static_cast<long long>(st.tokens),
                      st.tokens / std::max(1e-9, step_seconds), g[kReward] / n, st.lr, step_seconds);
      }
      LOG(INFO) << line;
    }
    if ((l.checkpoint_every > 0 && trainer.step() % l.checkpoint_every == 0) || trainer.step() == last_step) {
      if (Status s = save(trainer.step()); !s.ok()) {
        failure = s;
        break;
      }
    }
  }
  // A stop (signal) or an exhausted offline store still leaves a resumable checkpoint.
  if (failure.ok() && trainer.step() > last_saved_step) failure = save(trainer.step());
  if (failure.ok() && rank == 0) {
    if (stopped) LOG(WARNING) << "stopped at step " << trainer.step() << "; resume with --resume " << run_dir;
    if (exhausted) LOG(INFO) << "offline store exhausted after " << l.offline_epochs << " epoch(s) at step " << trainer.step();
    const std::string out = run_dir + "/policy";
    failure = SaveHfModel(model, out, "float32");
    if (failure.ok() && !tok_path.empty()) failure = CopyTokenizerInto(tok_path, out);
    if (failure.ok()) LOG(INFO) << "exported policy to " << out;
  }
  // Tell actors: acks say finished, and so does the rendezvous file (unless stopped: a resume
  // will reuse it and actors may keep waiting for the new incarnation).
  if (online) {
    const bool done = failure.ok() && !stopped;
    if (intake) intake->set_finished(done);
    if (rank == 0 && done) {
      auto rv = ReadRendezvous(RendezvousPath(run_dir));
      if (rv.ok()) {
        rv->state = "finished";
        rv->policy_version = trainer.policy_version();
        (void)WriteRendezvous(RendezvousPath(run_dir), *rv);
      }
    }
    if (done) std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(1000 * (2 * config.actor.heartbeat_s + 1))));
    if (intake) intake->Stop();
    if (publisher) publisher->Stop();
    if (live) {
      if (Status s = live->CloseStore(); !s.ok() && failure.ok()) failure = s;
    }
  }
  if (rank == 0) {
    LOG(INFO) << "learner finished at step " << trainer.step() << " (policy v" << trainer.policy_version() << ") after "
              << MonotonicSeconds() - run_t0 << " s";
  }
  return failure;
}

}  // namespace mem1
