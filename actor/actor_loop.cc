#include "actor/actor_loop.h"

#include <unistd.h>

#include <chrono>
#include <functional>
#include <limits>

#include "actor/envs/env_factory.h"
#include "actor/learner_client.h"
#include "actor/rollout/rollout_engine.h"
#include "common/model/model_io.h"
#include "common/model/weight_sync.h"
#include "common/tokenizer/tokenizer.h"
#include "common/transport/rendezvous.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

// Hands out tasks while `open()` says so; nullptr otherwise (the engine then drains).
class GatedTasks : public TaskSource {
 public:
  GatedTasks(TaskSource* inner, std::function<bool()> open) : inner_(inner), open_(std::move(open)) {}
  std::unique_ptr<Environment> Next() override { return open_() ? inner_->Next() : nullptr; }

 private:
  TaskSource* inner_;
  std::function<bool()> open_;
};

uint64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string DefaultActorId() { return HostName() + "-" + std::to_string(::getpid()); }

Status RunActor(const Mem1Config& config, const std::string& actor_id, const std::atomic<bool>* stop) {
  const auto& a = config.actor;
  const auto& ppo = config.learner.ppo;
  MEM1_ASSIGN_OR_RETURN(Qwen2ForCausalLM model, LoadOrInitModel(config.model, config.runtime));
  const std::string tok_path = !config.tokenizer.path.empty() ? config.tokenizer.path : config.model.checkpoint;
  if (tok_path.empty()) return InvalidArgument("tokenizer.path: required when model.checkpoint is empty");
  MEM1_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(tok_path));
  if (tok->vocab_size() > model->config().vocab_size) {
    return InvalidArgument("tokenizer " + tok_path + " has " + std::to_string(tok->vocab_size()) +
                           " tokens, more than the model's vocab_size " + std::to_string(model->config().vocab_size));
  }
  // Every actor draws its own task stream; ids unique across restarts of the same actor id.
  const uint64_t first_id = UnixMicros();
  const uint64_t seed = config.runtime.seed ^ (std::hash<std::string>()(actor_id) * 0x9E3779B97F4A7C15ull);
  MEM1_ASSIGN_OR_RETURN(std::unique_ptr<EnvironmentBundle> envs, MakeEnvironments(config, seed));
  const bool grpo = ppo.algorithm == Algorithm::kGrpo;
  GroupedTaskSource grouped(envs->tasks.get(), grpo ? ppo.group_size : 1, first_id);
  ScriptedPolicy* teacher = a.teacher == Teacher::kExpert ? envs->expert.get() : nullptr;

  MEM1_ASSIGN_OR_RETURN(RolloutOptions ro, RolloutOptionsFromConfig(config));
  ro.actor_id = actor_id;
  ro.first_episode_id = first_id;
  ro.sampling.seed = seed;
  model->eval();
  RolloutEngine engine(model, tok.get(), ro);

  LearnerClientOptions co;
  MEM1_ASSIGN_OR_RETURN(co.curve, LoadCurveClientOptions(config.security.keys_dir, config.security.actor_key));
  LOG(INFO) << "actor " << actor_id << ": fleet sockets "
            << (co.curve.enabled() ? "CURVE (key " + co.curve.client.public_key + ", learner " + co.curve.server_public_key + ")"
                                   : std::string("plain (no security.keys_dir)"));
  co.actor_id = actor_id;
  co.run_dir = config.run.dir;
  co.learner_endpoints = a.learner_endpoint;
  co.weights_endpoint = a.weights_endpoint;
  co.spool_capacity = a.spool_capacity;
  co.resend_after_s = a.resend_after_s;
  co.heartbeat_s = a.heartbeat_s;
  co.connect_timeout_s = a.connect_timeout_s;
  co.learner_timeout_s = a.learner_timeout_s;
  co.num_envs = a.num_envs;
  co.max_weight_versions_in_flight = a.max_weight_versions_in_flight;
  co.max_weight_version_bytes = a.max_weight_version_bytes;
  if (!a.ack_log.empty()) co.ack_log_path = a.ack_log;
  LearnerClient client(co);

  const bool any_lag = ppo.algorithm == Algorithm::kSft || teacher != nullptr;
  const int64_t allowed_lag = any_lag ? std::numeric_limits<int64_t>::max() / 2
                                      : (config.learner.mode == LearnerMode::kSync ? 0 : ppo.max_policy_lag);
  int64_t version = 0;
  int64_t episodes = 0, tokens = 0;
  const double t0 = MonotonicSeconds();
  double last_progress = t0, last_eps_t = t0;
  int64_t last_eps_episodes = 0, last_eps_tokens = 0;
  auto stopping = [&] { return (stop && stop->load()) || client.learner_finished() || !client.failure().ok(); };
  auto budget_left = [&] { return a.episodes < 0 || episodes < a.episodes; };
  auto report = [&](bool force) {
    // Rates over the current window (reset at every progress line); heartbeats carry them.
    const double now = MonotonicSeconds();
    const double dt = std::max(1e-9, now - last_eps_t);
    const double eps = (episodes - last_eps_episodes) / dt, tps = (tokens - last_eps_tokens) / dt;
    client.SetActorProgress(version, episodes, eps, tps);
    if (now - last_progress >= 10.0 || force) {
      const auto s = client.stats();
      LOG(INFO) << "actor " << actor_id << ": " << episodes << " episodes (" << eps << "/s), " << tps
                << " generated tokens/s, policy v" << version << " (learner v" << s.latest_policy_version << "), spool "
                << s.spool_depth << ", acked " << s.acked << ", re-sent " << s.resent;
      last_progress = now;
      last_eps_t = now;
      last_eps_episodes = episodes;
      last_eps_tokens = tokens;
    }
  };
  // Learn the learner's version before generating (a resumed learner is ahead of our init).
  {
    const double deadline = MonotonicSeconds() + a.connect_timeout_s;
    while (!stopping() && client.stats().latest_policy_version < 0 && MonotonicSeconds() < deadline) {
      client.WaitForWeights(-1, 0.2);
    }
  }
  Status run_status;
  while (!stopping() && budget_left()) {
    if (auto w = client.TakeWeights(); w && w->version != version) {
      MEM1_RETURN_IF_ERROR(LoadWeightTensors(model, *w));
      version = w->version;
      engine.set_policy_version(version);
      client.SetActorProgress(version, episodes, 0, 0);
      LOG(INFO) << "actor " << actor_id << ": swapped in weights v" << version << " ("
                << client.stats().weight_latency_seconds << " s after publish)";
    }
    if (client.paused()) {  // the learner has enough untrained data: do not burn cores on more
      client.WaitWhilePaused(0.5);
      report(false);
      continue;
    }
    const int64_t latest = client.stats().latest_policy_version;
    if (latest - version > allowed_lag) {
      client.WaitForWeights(version, 0.5);
      report(false);
      continue;
    }
    int64_t started = 0;
    GatedTasks gate(&grouped, [&] {
      if (stopping()) return false;
      if (a.episodes >= 0 && episodes + started >= a.episodes) return false;
      // A newer version is ready: finish what runs, then swap. Paused: finish, then wait.
      if (client.WaitForWeights(version, 0) || client.paused()) return false;
      ++started;
      return true;
    });
    run_status = engine.Run(
        &gate,
        [&](proto::Trajectory&& t) {
          ++episodes;
          tokens += t.metrics().generated_tokens();
          if (auto st = client.Submit(std::move(t)); !st.ok() && !client.learner_finished() && !(stop && *stop)) {
            LOG(WARNING) << st.message();
          }
          report(false);
        },
        teacher);
    if (!run_status.ok()) break;
    report(false);
  }
  report(true);
  if (run_status.ok() && !budget_left() && !stopping()) {
    // Offline generation: wait until the learner has stored everything we produced.
    if (!client.WaitUntilDrained(a.connect_timeout_s)) {
      run_status = Unavailable("actor " + actor_id + ": " + std::to_string(client.stats().spool_depth) +
                               " trajectories still unacked after " + std::to_string(a.connect_timeout_s) + " s");
    }
  }
  // The learner finished: end on its final weights when they arrived in time.
  if (client.learner_finished()) {
    client.WaitForWeights(version, 3.0);
    if (auto w = client.TakeWeights(); w && w->version != version) {
      if (LoadWeightTensors(model, *w).ok()) version = w->version;
    }
  }
  const Status failure = client.failure();
  const auto s = client.stats();
  client.Stop();
  LOG(INFO) << "actor " << actor_id << ": done after " << episodes << " episodes in " << MonotonicSeconds() - t0
            << " s; acked " << s.acked << ", rejected " << s.rejected << ", re-sent " << s.resent << ", reconnects "
            << s.reconnects << "; ended on weights v" << version << " (learner v" << s.latest_policy_version << ")"
            << (s.learner_finished ? "; the learner finished" : "");
  MEM1_RETURN_IF_ERROR(run_status);
  if (!failure.ok() && !s.learner_finished) return failure;
  return Status::Ok();
}

}  // namespace mem1
