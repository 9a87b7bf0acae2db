#include "actor/rollout/rollout_engine.h"

#include <chrono>
#include <deque>

#include "common/memory/episode_metrics.h"
#include "common/model/kv_cache.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

struct RolloutEngine::Slot {
  bool active = false;
  std::unique_ptr<Environment> env;
  std::vector<ActionSpec> actions;
  std::vector<std::string> stop_tags;  // closing tags of the env's actions
  proto::Trajectory traj;
  std::vector<int32_t> prompt;
  int turn = 0;
  // Tokens to write into the KV cache before the next sample, with their positions.
  std::vector<int32_t> pending, pending_pos;
  // Current turn.
  std::vector<int32_t> gen;
  std::vector<float> gen_lp;
  std::vector<uint8_t> gen_engine_forced;
  std::string gen_text;
  std::deque<int32_t> forced;
  bool forced_is_model = false;  // teacher tokens (in the loss) vs engine-inserted (ROLE_FORCED)
  bool teacher_turn = false;
  int64_t state_open_at = -1;    // index in gen where the state body starts; -1 = not open
  bool state_closed = false;
  int32_t feed_token = -1;       // sampled but not yet in the KV cache
  int64_t turn_start_pos = 0;    // position id of the turn's first generated token
  int64_t context_tokens = 0;    // c_t: tokens the turn's first generated token attends to
  std::vector<int32_t> visible;  // segments this turn's generated tokens attend to
  std::vector<TurnTokens> history;
  std::string last_observation;
  TurnAccounting acct;
  double t_start = 0;
};

struct RolloutEngine::Impl {
  Qwen2ForCausalLM model;
  const Tokenizer* tok;
  RolloutOptions opt;
  TagPreset preset;
  Sampler sampler;
  std::unique_ptr<KvCache> cache;
  std::vector<Slot> slots;
  uint64_t next_episode = 0;
  torch::Device device = torch::kCPU;
  Impl(Qwen2ForCausalLM m, const Tokenizer* t, const RolloutOptions& o)
      : model(std::move(m)), tok(t), opt(o), preset(GetTagPreset(o.preset).value()), sampler(o.sampling) {}
};

Result<RolloutOptions> RolloutOptionsFromConfig(const Mem1Config& config) {
  const auto& a = config.actor;
  RolloutOptions ro;
  MEM1_ASSIGN_OR_RETURN(ro.policy, ContextPolicy::Parse(a.context_policy));
  MEM1_ASSIGN_OR_RETURN(TagPreset preset, GetTagPreset(a.preset));
  (void)preset;
  ro.preset = a.preset;
  ro.batch_size = a.num_envs;
  ro.max_turns = a.max_turns;
  ro.max_new_tokens_per_turn = a.max_new_tokens_per_turn;
  ro.max_state_tokens = a.max_state_tokens;
  ro.slot_capacity = a.slot_capacity;
  ro.end_on_format_error = a.end_on_format_error;
  ro.sampling.temperature = a.temperature;
  ro.sampling.top_p = a.top_p;
  ro.sampling.seed = config.runtime.seed;
  return ro;
}

RolloutEngine::RolloutEngine(Qwen2ForCausalLM model, const Tokenizer* tokenizer, const RolloutOptions& options) {
  CHECK(tokenizer != nullptr);
  CHECK_GE(options.batch_size, 1);
  CHECK_GE(options.max_turns, 1);
  CHECK_GE(options.max_new_tokens_per_turn, 1);
  impl_ = std::make_unique<Impl>(std::move(model), tokenizer, options);
  impl_->next_episode = options.first_episode_id;
  const auto& w = impl_->model->model->embed_tokens->weight;
  impl_->device = w.device();
  impl_->cache = std::make_unique<KvCache>(impl_->model->config(), options.batch_size, options.slot_capacity, w.device(),
                                           w.scalar_type());
  impl_->slots.resize(options.batch_size);
}

RolloutEngine::~RolloutEngine() = default;

void RolloutEngine::set_policy_version(int64_t version) { impl_->opt.policy_version = version; }

Status RolloutEngine::Run(TaskSource* tasks, const std::function<void(proto::Trajectory&&)>& sink,
                          ScriptedPolicy* teacher) {
  Impl& I = *impl_;
  const RolloutOptions& o = I.opt;
  torch::NoGradGuard no_grad;
  const double run_start = MonotonicSeconds();
  const int32_t eos = I.tok->eos_id();
  const double temperature = o.sampling.greedy ? 1.0 : o.sampling.temperature;

  auto add_segment = [&](Slot& s, proto::SegmentRole role, const std::vector<int32_t>& ids, int64_t first_pos,
                         const std::vector<int32_t>& attends, const float* logprobs) -> int32_t {
    auto* seg = s.traj.add_segments();
    seg->set_role(role);
    seg->set_turn(s.turn);
    for (size_t i = 0; i < ids.size(); ++i) {
      seg->add_token_ids(ids[i]);
      seg->add_position_ids(static_cast<int32_t>(first_pos + static_cast<int64_t>(i)));
      if (logprobs != nullptr) seg->add_behaviour_logprobs(logprobs[i]);
    }
    for (int32_t a : attends) seg->add_attends_to(a);
    if (role == proto::ROLE_MODEL) seg->set_policy_version(o.policy_version);
    return s.traj.segments_size() - 1;
  };

  auto begin_generation = [&](Slot& s) {
    s.gen.clear();
    s.gen_lp.clear();
    s.gen_engine_forced.clear();
    s.gen_text.clear();
    s.forced.clear();
    s.state_open_at = -1;
    s.state_closed = false;
    s.feed_token = -1;
    s.teacher_turn = false;
    if (teacher != nullptr) {
      if (auto scripted = teacher->Respond(*s.env, s.turn, s.last_observation)) {
        const auto ids = I.tok->Encode(scripted->text);
        if (!ids.empty()) {
          s.forced.assign(ids.begin(), ids.end());
          s.forced_is_model = true;
          s.teacher_turn = scripted->complete;
        }
      }
    }
  };

  // Returns false (with a status) when a prompt cannot fit.
  auto start_episode = [&](int64_t index, std::unique_ptr<Environment> env) -> Status {
    Slot& s = I.slots[index];
    s = Slot();
    s.active = true;
    s.env = std::move(env);
    s.actions = s.env->Actions();
    for (const auto& a : s.actions) s.stop_tags.push_back(I.preset.ActionTags(a.name).close);
    s.t_start = MonotonicSeconds();
    s.prompt = I.tok->Encode(s.env->Prompt());
    const int64_t P = static_cast<int64_t>(s.prompt.size());
    if (P == 0 || P + o.max_new_tokens_per_turn > o.slot_capacity) {
      return InvalidArgument("task " + s.env->task_id() + ": prompt of " + std::to_string(P) +
                             " tokens does not fit a KV slot of " + std::to_string(o.slot_capacity) + " tokens");
    }
    auto& t = s.traj;
    t.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
    t.set_actor_id(o.actor_id);
    t.set_episode_id(I.next_episode++);
    t.set_env_name(s.env->name());
    t.set_task_id(s.env->task_id());
    t.set_group_id(s.env->group_id());
    t.set_policy_version(o.policy_version);
    t.set_context_policy(o.policy.Name());
    t.set_sampling_temperature(static_cast<float>(temperature));
    add_segment(s, proto::ROLE_PROMPT, s.prompt, 0, {}, nullptr);
    I.cache->Reset(index);
    s.pending = s.prompt;
    s.pending_pos.resize(P);
    for (int64_t i = 0; i < P; ++i) s.pending_pos[i] = static_cast<int32_t>(i);
    s.visible = {0};
    s.context_tokens = P;
    s.turn_start_pos = P;
    begin_generation(s);
    return Status::Ok();
  };

  auto finish_episode = [&](int64_t index, const StepResult& final_step, bool truncated) {
    Slot& s = I.slots[index];
    auto& t = s.traj;
    t.set_reward(final_step.reward);
    t.set_truncated(truncated);
    for (const auto& kv : final_step.metrics) (*t.mutable_reward_components())[kv.first] = kv.second;
    auto* m = t.mutable_metrics();
    m->set_peak_tokens(s.acct.peak_tokens);
    m->set_dependency(s.acct.dependency);
    m->set_turns(s.acct.turns);
    m->set_generated_tokens(s.acct.generated_tokens);
    m->set_wall_seconds(MonotonicSeconds() - s.t_start);
    m->set_format_errors(t.format_errors_size());
    if (auto it = final_step.metrics.find("exact_match"); it != final_step.metrics.end()) m->set_exact_match(it->second);
    if (auto it = final_step.metrics.find("f1"); it != final_step.metrics.end()) m->set_f1(it->second);
    stats_.episodes++;
    stats_.generated_tokens += s.acct.generated_tokens;
    s.active = false;
    s.env.reset();
    sink(std::move(t));
  };

  // The turn is over: record it, parse it, step the environment, plan the next context.
  auto end_turn = [&](int64_t index, bool hit_limit) {
    Slot& s = I.slots[index];
    const int64_t l = static_cast<int64_t>(s.gen.size());
    s.acct.AddTurn(s.context_tokens, l);
    // Generated tokens, split into runs of sampled/teacher (ROLE_MODEL) and engine-forced tokens.
    std::vector<int32_t> attends = s.visible;
    for (int64_t a = 0; a < l;) {
      int64_t b = a;
      while (b < l && s.gen_engine_forced[b] == s.gen_engine_forced[a]) ++b;
      const bool forced = s.gen_engine_forced[a] != 0;
      std::vector<int32_t> ids(s.gen.begin() + a, s.gen.begin() + b);
      const int32_t seg = add_segment(s, forced ? proto::ROLE_FORCED : proto::ROLE_MODEL, ids, s.turn_start_pos + a,
                                      attends, forced ? nullptr : s.gen_lp.data() + a);
      attends.push_back(seg);
      a = b;
    }
    const ParsedTurn parsed = ParseTurn(s.gen_text, I.preset, s.actions, hit_limit);
    const int turns_left = o.max_turns - (s.turn + 1);
    StepResult step;
    bool format_end = false;
    if (parsed.error == TurnError::kNone) {
      step = s.env->Step(parsed.action, parsed.action_content, turns_left);
    } else {
      s.traj.add_format_errors(TurnErrorFlag(parsed.error));
      step.observation = parsed.feedback;
      format_end = o.end_on_format_error;
    }
    ++s.turn;
    if (format_end) {
      StepResult final_step = s.env->Truncate();
      final_step.reward = 0;
      finish_episode(index, final_step, /*truncated=*/true);
      return;
    }
    if (step.done) {
      finish_episode(index, step, /*truncated=*/false);
      return;
    }
    if (s.turn >= o.max_turns) {
      finish_episode(index, s.env->Truncate(), /*truncated=*/true);
      return;
    }
    const std::string wrapped = WrapObservation(I.preset, step.observation);
    const std::vector<int32_t> obs = I.tok->Encode(wrapped);
    s.history.push_back({s.gen, obs});
    s.last_observation = step.observation;
    const int64_t P = static_cast<int64_t>(s.prompt.size());
    if (o.policy.kind == ContextPolicy::Kind::kFull) {
      // Append: the turn's last token (never fed) and the observation, positions continuing.
      const int64_t obs_pos = s.turn_start_pos + l;
      std::vector<int32_t> all_before;
      for (int32_t i = 0; i < s.traj.segments_size(); ++i) all_before.push_back(i);
      const int32_t oseg = add_segment(s, proto::ROLE_OBSERVATION, obs, obs_pos, all_before, nullptr);
      s.pending = {s.gen.back()};
      s.pending_pos = {static_cast<int32_t>(obs_pos - 1)};
      for (size_t i = 0; i < obs.size(); ++i) {
        s.pending.push_back(obs[i]);
        s.pending_pos.push_back(static_cast<int32_t>(obs_pos + i));
      }
      all_before.push_back(oseg);
      s.visible = all_before;
      s.context_tokens = obs_pos + static_cast<int64_t>(obs.size());
      s.turn_start_pos = s.context_tokens;
    } else {
      const std::vector<int32_t> copy = NextContextCopy(o.policy, s.history);
      const int32_t cseg = add_segment(s, proto::ROLE_CONTEXT, copy, P, {0}, nullptr);
      s.pending.clear();
      s.pending_pos.clear();
      if (o.reuse_prompt_kv) {
        I.cache->Truncate(index, P);
      } else {
        I.cache->Reset(index);
        s.pending = s.prompt;
        for (int64_t i = 0; i < P; ++i) s.pending_pos.push_back(static_cast<int32_t>(i));
      }
      for (size_t i = 0; i < copy.size(); ++i) {
        s.pending.push_back(copy[i]);
        s.pending_pos.push_back(static_cast<int32_t>(P + i));
      }
      s.visible = {0, cseg};
      s.context_tokens = P + static_cast<int64_t>(copy.size());
      s.turn_start_pos = s.context_tokens;
    }
    if (s.context_tokens + o.max_new_tokens_per_turn > o.slot_capacity) {
      finish_episode(index, s.env->Truncate(), /*truncated=*/true);
      return;
    }
    begin_generation(s);
  };

  // Appends one token to the slot's turn; ends the turn when a stop condition holds.
  auto append_token = [&](int64_t index, int32_t token, float logprob, bool engine_forced) {
    Slot& s = I.slots[index];
    s.gen.push_back(token);
    s.gen_lp.push_back(logprob);
    s.gen_engine_forced.push_back(engine_forced ? 1 : 0);
    s.gen_text += I.tok->Decode({token});
    const int64_t n = static_cast<int64_t>(s.gen.size());
    if (s.state_open_at < 0 && s.gen_text.find(I.preset.state.open) != std::string::npos) s.state_open_at = n;
    if (s.state_open_at >= 0 && !s.state_closed &&
        s.gen_text.find(I.preset.state.close, s.gen_text.find(I.preset.state.open)) != std::string::npos) {
      s.state_closed = true;
    }
    bool stop = (token == eos) || (s.teacher_turn && s.forced.empty());
    for (const auto& tag : s.stop_tags) stop = stop || EndsWith(s.gen_text, tag);
    if (stop) { end_turn(index, false); return; }
    if (n >= o.max_new_tokens_per_turn) { end_turn(index, true); return; }
    if (o.max_state_tokens > 0 && s.forced.empty() && s.state_open_at >= 0 && !s.state_closed &&
        n - s.state_open_at >= o.max_state_tokens) {
      const auto close = I.tok->Encode(I.preset.state.close);
      s.forced.assign(close.begin(), close.end());
      s.forced_is_model = false;
    }
    s.feed_token = token;
  };

  // Chooses the next token for rows given their logits [R,V].
  auto choose = [&](const std::vector<int64_t>& rows, const torch::Tensor& logits) {
    auto sampled = I.sampler.Sample(logits);
    bool any_forced = false;
    for (int64_t r : rows) any_forced = any_forced || !I.slots[r].forced.empty();
    torch::Tensor logp;
    if (any_forced) logp = torch::log_softmax(logits.to(torch::kCPU, torch::kFloat32) / temperature, -1);
    for (size_t r = 0; r < rows.size(); ++r) {
      Slot& s = I.slots[rows[r]];
      if (!s.forced.empty()) {
        const int32_t t = s.forced.front();
        s.forced.pop_front();
        append_token(rows[r], t, logp[r][t].item<float>(), !s.forced_is_model);
      } else {
        append_token(rows[r], static_cast<int32_t>(sampled.tokens[r].item<int64_t>()), sampled.logprobs[r].item<float>(),
                     false);
      }
    }
  };

  // Fill every slot.
  for (int64_t i = 0; i < o.batch_size; ++i) {
    auto env = tasks->Next();
    if (!env) break;
    MEM1_RETURN_IF_ERROR(start_episode(i, std::move(env)));
  }
  auto refill = [&]() -> Status {
    for (int64_t i = 0; i < o.batch_size; ++i) {
      if (I.slots[i].active) continue;
      auto env = tasks->Next();
      if (!env) continue;
      MEM1_RETURN_IF_ERROR(start_episode(i, std::move(env)));
    }
    return Status::Ok();
  };
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong);
  while (true) {
    // Phase 1: prefill rows with pending context (prompt, C_t, or observation).
    std::vector<int64_t> rows;
    int64_t tmax = 0;
    for (int64_t i = 0; i < o.batch_size; ++i) {
      if (I.slots[i].active && !I.slots[i].pending.empty()) {
        rows.push_back(i);
        tmax = std::max<int64_t>(tmax, I.slots[i].pending.size());
      }
    }
    if (!rows.empty()) {
      const int64_t R = rows.size();
      auto tokens = torch::zeros({R, tmax}, long_opts), pos = torch::zeros({R, tmax}, long_opts);
      std::vector<int64_t> n_valid(R), last(R);
      for (int64_t r = 0; r < R; ++r) {
        Slot& s = I.slots[rows[r]];
        const int64_t n = s.pending.size();
        auto* tp = tokens[r].data_ptr<int64_t>();
        auto* pp = pos[r].data_ptr<int64_t>();
        for (int64_t k = 0; k < n; ++k) { tp[k] = s.pending[k]; pp[k] = s.pending_pos[k]; }
        n_valid[r] = n;
        last[r] = r * tmax + n - 1;
        stats_.prefill_tokens += n;
        s.pending.clear();
        s.pending_pos.clear();
      }
      auto out = I.model->ForwardCached(I.cache.get(), rows, tokens.to(I.device), pos.to(I.device), n_valid);
      const int64_t V = out.logits.size(2);
      auto picked = out.logits.reshape({R * tmax, V}).index_select(0, torch::tensor(last, long_opts).to(I.device));
      choose(rows, picked);
      MEM1_RETURN_IF_ERROR(refill());
      continue;  // new pending work may have appeared (ended turns); prefill before decoding
    }
    // Phase 2: one decode step for every generating slot.
    std::vector<int64_t> dec;
    for (int64_t i = 0; i < o.batch_size; ++i) {
      if (I.slots[i].active && I.slots[i].feed_token >= 0) dec.push_back(i);
    }
    if (dec.empty()) break;
    const int64_t R = dec.size();
    auto tokens = torch::zeros({R, 1}, long_opts), pos = torch::zeros({R, 1}, long_opts);
    for (int64_t r = 0; r < R; ++r) {
      Slot& s = I.slots[dec[r]];
      tokens[r][0] = s.feed_token;
      pos[r][0] = s.turn_start_pos + static_cast<int64_t>(s.gen.size()) - 1;
      s.feed_token = -1;
    }
    auto out = I.model->ForwardCached(I.cache.get(), dec, tokens.to(I.device), pos.to(I.device),
                                      std::vector<int64_t>(R, 1));
    choose(dec, out.logits.select(1, 0));
    MEM1_RETURN_IF_ERROR(refill());
  }
  stats_.wall_seconds += MonotonicSeconds() - run_start;
  return Status::Ok();
}

}  // namespace mem1
