#include "actor/rollout/rollout_engine.h"

#include <chrono>
#include <deque>

#include "common/memory/episode_metrics.h"
#include "common/memory/trajectory_layout.h"
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
  TagPreset preset;                    // the engine's preset with the env's observation tags
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
  std::vector<size_t> gen_text_ends;  // gen_text's length after each token of gen
  bool to_eos = false;                // this turn samples to EOS, then the reference cut (sample_to_eos)
  bool cut_crossed = false;           // the cut fell inside the turn's last kept token
  std::deque<int32_t> forced;
  bool forced_is_model = false;  // teacher tokens (in the loss) vs engine-inserted (ROLE_FORCED)
  bool teacher_turn = false;
  // A complete scripted turn whose tokens were appended to `pending`: the next prefill scores
  // all of them in the same forward as the context (teacher forcing), instead of one decode
  // step per token. 0 = none.
  int64_t teacher_prefill = 0;
  int64_t state_open_at = -1;    // index in gen where the state body starts; -1 = not open
  bool state_closed = false;
  int32_t feed_token = -1;       // sampled but not yet in the KV cache
  std::unique_ptr<TrajectoryLayout> layout;  // which segments each turn sees, at which positions
  std::string last_observation;
  TurnAccounting acct;
  double t_start = 0;
};

struct RolloutEngine::Impl {
  Qwen2ForCausalLM model;
  const Tokenizer* tok;
  RolloutOptions opt;
  Sampler sampler;
  std::unique_ptr<KvCache> cache;
  std::vector<Slot> slots;
  uint64_t next_episode = 0;
  torch::Device device = torch::kCPU;
  Impl(Qwen2ForCausalLM m, const Tokenizer* t, const RolloutOptions& o)
      : model(std::move(m)), tok(t), opt(o), sampler(o.sampling) {}

  // What one Run() call works with.
  struct RunState {
    TaskSource* tasks = nullptr;
    const std::function<void(proto::Trajectory&&)>* sink = nullptr;
    ScriptedPolicy* teacher = nullptr;
    int32_t eos = -1;
    double temperature = 1.0;  // the one log-probs are recorded at (1 when greedy)
  };
  RunState run;
  RolloutStats* stats = nullptr;

  // The episode life cycle, slot by slot.
  Status StartEpisode(int64_t index, std::unique_ptr<Environment> env);  // INVALID_ARGUMENT: prompt too long
  void BeginGeneration(Slot& s);  // resets the turn; asks the teacher for a scripted turn
  void AppendToken(int64_t index, int32_t token, float logprob, bool engine_forced);  // may end the turn
  void EndTurn(int64_t index, bool hit_limit);  // parse, step the env, plan the next context
  // sample_to_eos: cuts the finished turn as the reference does (ReferenceResponseCut).
  void CutTurn(Slot& s, bool* hit_limit);
  void FinishEpisode(int64_t index, const StepResult& final_step, bool truncated);  // hand to the sink
  // The batched model steps.
  Status Choose(const std::vector<int64_t>& rows, const torch::Tensor& logits);  // next token per row
  Result<bool> PrefillPending();
  Result<bool> DecodeStep();
  Result<bool> MixedStep();
  // Which logits a forward computes: each sampling row's last token (first, in row order), and
  // for a prefilled scripted turn of L tokens the last context position plus every scripted
  // token but the last (together they predict each scripted token, as decoding them one by one
  // would). last[r]: the flat index of row r's last token; teacher[r]: its scripted tokens (0 = none).
  struct LogitPlan {
    std::vector<int64_t> logit_rows, sample_rows, teacher_first;
    int64_t n_sampled = 0;
  };
  static LogitPlan PlanLogits(const std::vector<int64_t>& rows, const std::vector<int64_t>& last,
                              const std::vector<int64_t>& teacher);
  // After the forward: chooses the sampling rows' next tokens and scores the scripted turns.
  Status ChooseAndScore(const std::vector<int64_t>& rows, const std::vector<int64_t>& teacher, const LogitPlan& plan,
                        const torch::Tensor& logits);
  // The teacher-forced row's scripted tokens, scored by `logits` rows [first, first + L).
  void ScoreScriptedTurn(int64_t index, int64_t L, const torch::Tensor& logits, int64_t first);
  Status Refill();
};

Result<RolloutOptions> RolloutOptionsFromConfig(const Mem1Config& config) {
  const auto& a = config.actor;
  RolloutOptions ro;
  ro.policy = a.policy;
  ro.tag_preset = a.tag_preset;
  ro.batch_size = a.num_envs;
  ro.max_turns = a.max_turns;
  ro.max_new_tokens_per_turn = a.max_new_tokens_per_turn;
  ro.max_state_tokens = a.max_state_tokens;
  // MEM1's training rollout cuts each observation to its first max_obs_length tokens
  // (generation_think.py _process_next_obs; train_ppo.sh: data.max_obs_length=1000); its
  // inference pipeline (mem1-code-eval) does not cut.
  ro.max_observation_tokens = a.max_observation_tokens >= 0 ? a.max_observation_tokens
                              : a.tag_preset.protocol == TagPreset::Protocol::kMem1Code ? 1000 : 0;
  ro.prefill_scripted_turns = a.prefill_scripted_turns;
  ro.mixed_steps = a.mixed_steps;
  ro.slot_capacity = a.slot_capacity;
  ro.end_on_format_error = a.end_on_format_error;
  ro.sample_to_eos = a.sample_to_eos == "auto" ? a.tag_preset.protocol == TagPreset::Protocol::kMem1Code
                                               : a.sample_to_eos == "true";
  ro.sampling.temperature = a.temperature;
  ro.sampling.top_p = a.top_p;
  ro.sampling.seed = config.runtime.seed;
  MEM1_ASSIGN_OR_RETURN(ro.chat_template, ResolveChatTemplate(config.tokenizer.chat_template, config.model.checkpoint,
                                                                config.tokenizer.path));
  if (ro.chat_template.kind != ChatTemplate::Kind::kNone) LOG(INFO) << "chat template: " << ro.chat_template.description;
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

void RolloutEngine::Impl::BeginGeneration(Slot& s) {
  s.gen.clear();
  s.gen_lp.clear();
  s.gen_engine_forced.clear();
  s.gen_text.clear();
  s.gen_text_ends.clear();
  s.cut_crossed = false;
  s.forced.clear();
  s.state_open_at = -1;
  s.state_closed = false;
  s.feed_token = -1;
  s.teacher_turn = false;
  s.teacher_prefill = 0;
  if (run.teacher != nullptr) {
    if (auto scripted = run.teacher->Respond(*s.env, s.turn, s.last_observation)) {
      const auto ids = tok->Encode(scripted->text);
      if (!ids.empty()) {
        s.forced.assign(ids.begin(), ids.end());
        s.forced_is_model = true;
        s.teacher_turn = scripted->complete;
        // A whole scripted turn after a context still to be written: one forward does both.
        const int64_t L = static_cast<int64_t>(ids.size());
        if (opt.prefill_scripted_turns && s.teacher_turn && !s.pending.empty() && L <= opt.max_new_tokens_per_turn) {
          const int64_t start = s.layout->turn_start_position();
          for (int64_t k = 0; k < L; ++k) {
            s.pending.push_back(ids[k]);
            s.pending_pos.push_back(static_cast<int32_t>(start + k));
          }
          s.teacher_prefill = L;
        }
      }
    }
  }
  s.to_eos = opt.sample_to_eos && !opt.sampling.greedy && !s.teacher_turn;
}

// The reference decodes the whole response and keeps the text up to the cut; here the turn
// keeps its tokens up to the one that reaches the cut (their log-probs are the behaviour's),
// and gen_text becomes the cut text, which the parse and the next context read.
void RolloutEngine::Impl::CutTurn(Slot& s, bool* hit_limit) {
  const std::string cut = ReferenceResponseCut(opt.tag_preset, s.actions, s.gen_text);
  if (cut.size() == s.gen_text.size()) return;
  size_t k = 0;
  while (k < s.gen_text_ends.size() && s.gen_text_ends[k] < cut.size()) ++k;
  const size_t keep = k + 1;  // tokens [0, keep) cover the cut text
  s.cut_crossed = s.gen_text_ends[k] != cut.size();
  stats->tokens_after_cut += static_cast<int64_t>(s.gen.size() - keep);
  s.gen.resize(keep);
  s.gen_lp.resize(keep);
  s.gen_engine_forced.resize(keep);
  s.gen_text_ends.resize(keep);
  s.gen_text = cut;
  *hit_limit = false;  // the turn ended at an action's close tag
}

// INVALID_ARGUMENT when the prompt cannot fit a KV slot.
Status RolloutEngine::Impl::StartEpisode(int64_t index, std::unique_ptr<Environment> env) {
  Slot& s = slots[index];
  s = Slot();
  s.active = true;
  s.env = std::move(env);
  s.actions = s.env->Actions();
  for (const auto& a : s.actions) s.stop_tags.push_back(opt.tag_preset.ActionTags(a.name).close);
  s.preset = opt.tag_preset;
  s.preset.observation = s.env->ObservationTags(opt.tag_preset);
  // An environment with its own observation tags under mem1-code-eval (WebShop's <state>): MEM1
  // has no inference pipeline for it, so its training layout applies.
  if (s.preset.protocol == TagPreset::Protocol::kMem1CodeEval && s.preset.observation.open != opt.tag_preset.observation.open) {
    s.preset.protocol = TagPreset::Protocol::kMem1Code;
  }
  s.t_start = MonotonicSeconds();
  s.prompt = tok->Encode(opt.chat_template.Apply(s.env->Prompt()));
  const int64_t P = static_cast<int64_t>(s.prompt.size());
  if (P == 0 || P + opt.max_new_tokens_per_turn > opt.slot_capacity) {
    return InvalidArgument("task " + s.env->task_id() + ": prompt of " + std::to_string(P) +
                           " tokens does not fit a KV slot of " + std::to_string(opt.slot_capacity) + " tokens");
  }
  auto& t = s.traj;
  t.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
  t.set_actor_id(opt.actor_id);
  t.set_episode_id(next_episode++);
  t.set_env_name(s.env->name());
  t.set_task_id(s.env->task_id());
  t.set_group_id(s.env->group_id());
  t.set_policy_version(opt.policy_version);
  t.set_context_policy(opt.policy.Name());
  t.set_sampling_temperature(static_cast<float>(run.temperature));
  s.layout = std::make_unique<TrajectoryLayout>(opt.policy, s.prompt, &t);
  cache->Reset(index);
  s.pending = s.prompt;
  s.pending_pos.resize(P);
  for (int64_t i = 0; i < P; ++i) s.pending_pos[i] = static_cast<int32_t>(i);
  BeginGeneration(s);
  return Status::Ok();
}

void RolloutEngine::Impl::FinishEpisode(int64_t index, const StepResult& final_step, bool truncated) {
  Slot& s = slots[index];
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
  stats->episodes++;
  stats->generated_tokens += s.acct.generated_tokens;
  s.active = false;
  s.env.reset();
  (*run.sink)(std::move(t));
}

// The turn is over: record it, parse it, step the environment, plan the next context.
void RolloutEngine::Impl::EndTurn(int64_t index, bool hit_limit) {
  Slot& s = slots[index];
  if (s.to_eos) CutTurn(s, &hit_limit);
  const int64_t l = static_cast<int64_t>(s.gen.size());
  s.acct.AddTurn(s.layout->context_tokens(), l);
  s.layout->AddTurn(s.gen, s.gen_lp, s.gen_engine_forced, opt.policy_version, s.turn);
  const ParsedTurn parsed = ParseTurn(s.gen_text, opt.tag_preset, s.actions, hit_limit);
  const int turns_left = opt.max_turns - (s.turn + 1);
  StepResult step;
  bool format_end = false;
  if (parsed.error == TurnError::kNone) {
    step = s.env->Step(parsed.action, parsed.action_content, turns_left);
  } else {
    s.traj.add_format_errors(TurnErrorFlag(parsed.error));
    step.observation = parsed.feedback;
    format_end = opt.end_on_format_error || opt.tag_preset.reference();
  }
  ++s.turn;
  if (format_end) {
    StepResult final_step = s.env->Truncate();
    final_step.reward = opt.tag_preset.reference() ? s.env->MalformedReward() : 0.0;
    FinishEpisode(index, final_step, /*truncated=*/true);
    return;
  }
  if (step.done) {
    FinishEpisode(index, step, /*truncated=*/false);
    return;
  }
  if (s.turn >= opt.max_turns) {
    FinishEpisode(index, s.env->Truncate(), /*truncated=*/true);
    return;
  }
  const std::string wrapped = WrapObservation(s.preset, step.observation);
  std::vector<int32_t> kept;
  if (opt.tag_preset.reference() || s.cut_crossed) {
    // The reference keeps part of the turn's text and re-tokenizes it (KeptTurnText); after a
    // cut inside a token the kept text is re-tokenized too (the token's tail is not kept).
    const std::string kept_text = KeptTurnText(opt.tag_preset, s.actions, s.gen_text);
    if (kept_text != s.gen_text || s.cut_crossed) kept = tok->Encode(kept_text);
  }
  std::vector<int32_t> observation = tok->Encode(wrapped);
  if (opt.max_observation_tokens > 0 && static_cast<int64_t>(observation.size()) > opt.max_observation_tokens) {
    observation.resize(static_cast<size_t>(opt.max_observation_tokens));
    ++stats->observations_cut;
  }
  const TrajectoryLayout::NextContext next = s.layout->Observe(observation, s.turn, kept.empty() ? nullptr : &kept);
  s.last_observation = step.observation;
  s.pending.clear();
  s.pending_pos.clear();
  if (opt.policy.ReEncodes() && !opt.reuse_prompt_kv) {
    // Re-feed the prompt too (the reference path PromptKvReuse is checked against).
    cache->Reset(index);
    s.pending = s.prompt;
    for (size_t i = 0; i < s.prompt.size(); ++i) s.pending_pos.push_back(static_cast<int32_t>(i));
  } else {
    cache->Truncate(index, next.keep);
  }
  s.pending.insert(s.pending.end(), next.feed.begin(), next.feed.end());
  s.pending_pos.insert(s.pending_pos.end(), next.feed_positions.begin(), next.feed_positions.end());
  if (s.layout->context_tokens() + opt.max_new_tokens_per_turn > opt.slot_capacity) {
    FinishEpisode(index, s.env->Truncate(), /*truncated=*/true);
    return;
  }
  BeginGeneration(s);
}

// Appends one token to the slot's turn; ends the turn when a stop condition holds.
void RolloutEngine::Impl::AppendToken(int64_t index, int32_t token, float logprob, bool engine_forced) {
  Slot& s = slots[index];
  s.gen.push_back(token);
  s.gen_lp.push_back(logprob);
  s.gen_engine_forced.push_back(engine_forced ? 1 : 0);
  s.gen_text += tok->Decode({token});
  s.gen_text_ends.push_back(s.gen_text.size());
  const int64_t n = static_cast<int64_t>(s.gen.size());
  if (s.state_open_at < 0 && s.gen_text.find(opt.tag_preset.state.open) != std::string::npos) s.state_open_at = n;
  if (s.state_open_at >= 0 && !s.state_closed &&
      s.gen_text.find(opt.tag_preset.state.close, s.gen_text.find(opt.tag_preset.state.open)) != std::string::npos) {
    s.state_closed = true;
  }
  bool stop = (token == run.eos) || (s.teacher_turn && s.forced.empty());
  if (!s.to_eos) {
    for (const auto& tag : s.stop_tags) stop = stop || EndsWith(s.gen_text, tag);
  }
  if (stop) { EndTurn(index, false); return; }
  if (n >= opt.max_new_tokens_per_turn) { EndTurn(index, true); return; }
  if (opt.max_state_tokens > 0 && s.forced.empty() && s.state_open_at >= 0 && !s.state_closed &&
      n - s.state_open_at >= opt.max_state_tokens) {
    const auto close = tok->Encode(opt.tag_preset.state.close);
    s.forced.assign(close.begin(), close.end());
    s.forced_is_model = false;
  }
  s.feed_token = token;
}

// Chooses the next token for rows given their logits [R,V].
Status RolloutEngine::Impl::Choose(const std::vector<int64_t>& rows, const torch::Tensor& logits) {
  MEM1_ASSIGN_OR_RETURN(SampleResult sampled, sampler.Sample(logits));
  bool any_forced = false;
  for (int64_t r : rows) any_forced = any_forced || !slots[r].forced.empty();
  torch::Tensor logp;
  if (any_forced) logp = torch::log_softmax(logits.to(torch::kCPU, torch::kFloat32) / run.temperature, -1);
  for (size_t r = 0; r < rows.size(); ++r) {
    Slot& s = slots[rows[r]];
    if (!s.forced.empty()) {
      const int32_t t = s.forced.front();
      s.forced.pop_front();
      AppendToken(rows[r], t, logp[r][t].item<float>(), !s.forced_is_model);
    } else {
      AppendToken(rows[r], static_cast<int32_t>(sampled.tokens[r].item<int64_t>()), sampled.logprobs[r].item<float>(),
                   false);
    }
  }
  return Status::Ok();
}

// Starts an episode in every free slot while the source has tasks.
Status RolloutEngine::Impl::Refill() {
  for (int64_t i = 0; i < opt.batch_size; ++i) {
    if (slots[i].active) continue;
    auto env = run.tasks->Next();
    if (!env) continue;
    MEM1_RETURN_IF_ERROR(StartEpisode(i, std::move(env)));
  }
  return Status::Ok();
}

// Phase 1: writes every slot's pending context (prompt, C_t, or observation) into the KV
// cache in one batched forward and chooses each row's next token. False when nothing was pending.
Result<bool> RolloutEngine::Impl::PrefillPending() {
  std::vector<int64_t> rows;
  int64_t tmax = 0;
  for (int64_t i = 0; i < opt.batch_size; ++i) {
    if (slots[i].active && !slots[i].pending.empty()) {
      rows.push_back(i);
      tmax = std::max<int64_t>(tmax, slots[i].pending.size());
    }
  }
  if (rows.empty()) return false;
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong);
  const int64_t R = rows.size();
  auto tokens = torch::zeros({R, tmax}, long_opts), pos = torch::zeros({R, tmax}, long_opts);
  std::vector<int64_t> n_valid(R), last(R), teacher(R);
  for (int64_t r = 0; r < R; ++r) {
    Slot& s = slots[rows[r]];
    const int64_t n = s.pending.size();
    teacher[r] = s.teacher_prefill;
    s.teacher_prefill = 0;
    auto* tp = tokens[r].data_ptr<int64_t>();
    auto* pp = pos[r].data_ptr<int64_t>();
    for (int64_t k = 0; k < n; ++k) { tp[k] = s.pending[k]; pp[k] = s.pending_pos[k]; }
    n_valid[r] = n;
    last[r] = r * tmax + n - 1;
    stats->prefill_tokens += n;
    s.pending.clear();
    s.pending_pos.clear();
  }
  const LogitPlan plan = PlanLogits(rows, last, teacher);
  const double t_fwd = MonotonicSeconds();
  auto out = model->ForwardCached(cache.get(), rows, tokens.to(device), pos.to(device), n_valid, false, &plan.logit_rows);
  stats->prefill_seconds += MonotonicSeconds() - t_fwd;
  ++stats->prefill_steps;
  MEM1_RETURN_IF_ERROR(ChooseAndScore(rows, teacher, plan, out.logits));
  return true;
}

RolloutEngine::Impl::LogitPlan RolloutEngine::Impl::PlanLogits(const std::vector<int64_t>& rows,
                                                               const std::vector<int64_t>& last,
                                                               const std::vector<int64_t>& teacher) {
  const int64_t R = static_cast<int64_t>(rows.size());
  LogitPlan p;
  p.teacher_first.assign(R, -1);
  for (int64_t r = 0; r < R; ++r) {
    if (teacher[r] == 0) {
      p.sample_rows.push_back(rows[r]);
      p.logit_rows.push_back(last[r]);
    }
  }
  p.n_sampled = static_cast<int64_t>(p.logit_rows.size());
  for (int64_t r = 0; r < R; ++r) {
    if (teacher[r] == 0) continue;
    p.teacher_first[r] = static_cast<int64_t>(p.logit_rows.size());
    for (int64_t k = 0; k < teacher[r]; ++k) p.logit_rows.push_back(last[r] - teacher[r] + k);
  }
  return p;
}

Status RolloutEngine::Impl::ChooseAndScore(const std::vector<int64_t>& rows, const std::vector<int64_t>& teacher,
                                           const LogitPlan& plan, const torch::Tensor& logits) {
  if (plan.n_sampled > 0) MEM1_RETURN_IF_ERROR(Choose(plan.sample_rows, logits.slice(0, 0, plan.n_sampled)));
  for (size_t r = 0; r < rows.size(); ++r) {
    if (teacher[r] > 0) ScoreScriptedTurn(rows[r], teacher[r], logits, plan.teacher_first[r]);
  }
  return Status::Ok();
}

void RolloutEngine::Impl::ScoreScriptedTurn(int64_t index, int64_t L, const torch::Tensor& logits, int64_t first) {
  auto logp = torch::log_softmax(logits.slice(0, first, first + L).to(torch::kCPU, torch::kFloat32) / run.temperature, -1);
  Slot& s = slots[index];
  const int turn = s.turn;
  for (int64_t k = 0; k < L; ++k) {
    const int32_t t = s.forced.front();
    s.forced.pop_front();
    AppendToken(index, t, logp[k][t].item<float>(), false);
    if (!s.active || s.turn != turn) break;  // the turn ended (the last token, a stop tag or the limit)
  }
  // Every scripted token is already in the KV cache: nothing is left to feed.
  if (s.active && s.turn == turn) s.feed_token = -1;
}

// One packed forward for every slot with work: each generating slot's fed token (a decode
// row) and each slot's pending context (a segment: prompt, C_t or observation, plus a scripted
// turn when prefilled) go through the model together, without padding. False when no slot had
// work. The tokens chosen are those PrefillPending + DecodeStep would choose.
Result<bool> RolloutEngine::Impl::MixedStep() {
  std::vector<int64_t> rows, n_tokens, toks, poss, teacher;
  int64_t decode_rows = 0, prefill_rows = 0;
  for (int64_t i = 0; i < opt.batch_size; ++i) {
    Slot& s = slots[i];
    if (!s.active || !s.pending.empty() || s.feed_token < 0) continue;
    rows.push_back(i);
    n_tokens.push_back(1);
    toks.push_back(s.feed_token);
    poss.push_back(s.layout->turn_start_position() + static_cast<int64_t>(s.gen.size()) - 1);
    teacher.push_back(0);
    stats->decode_keys += cache->length(i) + 1;
    s.feed_token = -1;
    ++decode_rows;
  }
  for (int64_t i = 0; i < opt.batch_size; ++i) {
    Slot& s = slots[i];
    if (!s.active || s.pending.empty()) continue;
    rows.push_back(i);
    n_tokens.push_back(static_cast<int64_t>(s.pending.size()));
    toks.insert(toks.end(), s.pending.begin(), s.pending.end());
    poss.insert(poss.end(), s.pending_pos.begin(), s.pending_pos.end());
    teacher.push_back(s.teacher_prefill);
    stats->prefill_tokens += static_cast<int64_t>(s.pending.size());
    s.teacher_prefill = 0;
    s.pending.clear();
    s.pending_pos.clear();
    ++prefill_rows;
  }
  if (rows.empty()) return false;
  const int64_t R = static_cast<int64_t>(rows.size());
  std::vector<int64_t> last(R);
  int64_t end = 0;
  for (int64_t r = 0; r < R; ++r) last[r] = (end += n_tokens[r]) - 1;
  const LogitPlan plan = PlanLogits(rows, last, teacher);
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong);
  const double t_fwd = MonotonicSeconds();
  auto out = model->ForwardPacked(cache.get(), rows, n_tokens, torch::tensor(toks, long_opts).to(device),
                                  torch::tensor(poss, long_opts).to(device), plan.logit_rows);
  const double dt = MonotonicSeconds() - t_fwd;
  stats->decode_rows += decode_rows;
  if (prefill_rows > 0) {
    stats->prefill_seconds += dt;
    ++stats->prefill_steps;
  } else {
    stats->decode_seconds += dt;
    ++stats->decode_steps;
  }
  MEM1_RETURN_IF_ERROR(ChooseAndScore(rows, teacher, plan, out.logits));
  return true;
}

// Phase 2: one decode step for every generating slot. False when no slot is generating.
Result<bool> RolloutEngine::Impl::DecodeStep() {
  std::vector<int64_t> dec;
  for (int64_t i = 0; i < opt.batch_size; ++i) {
    if (slots[i].active && slots[i].feed_token >= 0) dec.push_back(i);
  }
  if (dec.empty()) return false;
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong);
  const int64_t R = dec.size();
  auto tokens = torch::zeros({R, 1}, long_opts), pos = torch::zeros({R, 1}, long_opts);
  for (int64_t r = 0; r < R; ++r) {
    Slot& s = slots[dec[r]];
    tokens[r][0] = s.feed_token;
    pos[r][0] = s.layout->turn_start_position() + static_cast<int64_t>(s.gen.size()) - 1;
    s.feed_token = -1;
  }
  for (int64_t r = 0; r < R; ++r) stats->decode_keys += cache->length(dec[r]) + 1;
  const double t_fwd = MonotonicSeconds();
  auto out = model->ForwardCached(cache.get(), dec, tokens.to(device), pos.to(device), std::vector<int64_t>(R, 1));
  stats->decode_seconds += MonotonicSeconds() - t_fwd;
  ++stats->decode_steps;
  stats->decode_rows += R;
  MEM1_RETURN_IF_ERROR(Choose(dec, out.logits.select(1, 0)));
  return true;
}

Status RolloutEngine::Run(TaskSource* tasks, const std::function<void(proto::Trajectory&&)>& sink,
                          ScriptedPolicy* teacher) {
  Impl& I = *impl_;
  torch::NoGradGuard no_grad;
  const double run_start = MonotonicSeconds();
  I.run = Impl::RunState{tasks, &sink, teacher, I.tok->eos_id(), I.opt.sampling.greedy ? 1.0 : I.opt.sampling.temperature};
  I.stats = &stats_;
  // Fill every slot, then alternate: prefill whatever context is pending (new prompts, C_t,
  // observations) before decoding, so every slot decodes from a complete context.
  MEM1_RETURN_IF_ERROR(I.Refill());
  while (true) {
    if (I.opt.mixed_steps) {
      MEM1_ASSIGN_OR_RETURN(bool stepped, I.MixedStep());
      if (!stepped) break;
    } else {
      MEM1_ASSIGN_OR_RETURN(bool prefilled, I.PrefillPending());
      if (!prefilled) {
        MEM1_ASSIGN_OR_RETURN(bool decoded, I.DecodeStep());
        if (!decoded) break;
      }
    }
    MEM1_RETURN_IF_ERROR(I.Refill());
  }
  stats_.wall_seconds += MonotonicSeconds() - run_start;
  return Status::Ok();
}

}  // namespace mem1
