#include "common/memory/trajectory_layout.h"

#include <glog/logging.h>

namespace mem1 {

TrajectoryLayout::TrajectoryLayout(const ContextPolicy& policy, const std::vector<int32_t>& prompt,
                                   proto::Trajectory* out)
    : policy_(policy), out_(out) {
  CHECK(out != nullptr);
  CHECK_EQ(out->segments_size(), 0) << "a layout starts an empty trajectory";
  prompt_tokens_ = static_cast<int64_t>(prompt.size());
  Add(proto::ROLE_PROMPT, prompt, 0, {}, nullptr, 0, 0);
  visible_ = {0};
  context_tokens_ = prompt_tokens_;
  turn_start_ = prompt_tokens_;
}

int32_t TrajectoryLayout::Add(proto::SegmentRole role, const std::vector<int32_t>& ids, int64_t first_pos,
                              const std::vector<int32_t>& attends, const float* logprobs, int64_t version, int turn) {
  auto* seg = out_->add_segments();
  seg->set_role(role);
  seg->set_turn(turn);
  for (size_t i = 0; i < ids.size(); ++i) {
    seg->add_token_ids(ids[i]);
    seg->add_position_ids(static_cast<int32_t>(first_pos + static_cast<int64_t>(i)));
    if (logprobs != nullptr) seg->add_behaviour_logprobs(logprobs[i]);
  }
  for (int32_t a : attends) seg->add_attends_to(a);
  if (role == proto::ROLE_MODEL) seg->set_policy_version(version);
  return out_->segments_size() - 1;
}

void TrajectoryLayout::AddTurn(const std::vector<int32_t>& generated, const std::vector<float>& logprobs,
                               const std::vector<uint8_t>& engine_forced, int64_t policy_version, int turn) {
  const int64_t l = static_cast<int64_t>(generated.size());
  CHECK_EQ(static_cast<int64_t>(logprobs.size()), l);
  CHECK_EQ(static_cast<int64_t>(engine_forced.size()), l);
  std::vector<int32_t> attends = visible_;
  for (int64_t a = 0; a < l;) {
    int64_t b = a;
    while (b < l && (engine_forced[b] != 0) == (engine_forced[a] != 0)) ++b;
    const bool forced = engine_forced[a] != 0;
    const std::vector<int32_t> ids(generated.begin() + a, generated.begin() + b);
    const int32_t seg = Add(forced ? proto::ROLE_FORCED : proto::ROLE_MODEL, ids, turn_start_ + a, attends,
                            forced ? nullptr : logprobs.data() + a, policy_version, turn);
    attends.push_back(seg);
    a = b;
  }
  last_generated_ = generated;
}

TrajectoryLayout::NextContext TrajectoryLayout::Observe(const std::vector<int32_t>& observation, int turn,
                                                       const std::vector<int32_t>* kept) {
  CHECK(!last_generated_.empty()) << "Observe follows a turn with generated tokens";
  const int64_t l = static_cast<int64_t>(last_generated_.size());
  history_.push_back({kept != nullptr && policy_.ReEncodes() ? *kept : last_generated_, observation});
  NextContext next;
  if (policy_.kind == ContextPolicy::Kind::kFull) {
    // Append: the turn's last token (sampled, never fed to the cache) and the observation,
    // positions continuing; the observation sees every earlier segment.
    const int64_t obs_pos = turn_start_ + l;
    std::vector<int32_t> all_before;
    for (int32_t i = 0; i < out_->segments_size(); ++i) all_before.push_back(i);
    const int32_t oseg = Add(proto::ROLE_OBSERVATION, observation, obs_pos, all_before, nullptr, 0, turn);
    next.keep = obs_pos - 1;
    next.feed = {last_generated_.back()};
    next.feed_positions = {static_cast<int32_t>(obs_pos - 1)};
    for (size_t i = 0; i < observation.size(); ++i) {
      next.feed.push_back(observation[i]);
      next.feed_positions.push_back(static_cast<int32_t>(obs_pos + static_cast<int64_t>(i)));
    }
    all_before.push_back(oseg);
    visible_ = std::move(all_before);
    context_tokens_ = obs_pos + static_cast<int64_t>(observation.size());
  } else {
    // Re-encode: a fresh copy of what the policy keeps, right after the prompt, seeing only
    // the prompt; the next turn sees the prompt and this copy.
    const std::vector<int32_t> copy = NextContextCopy(policy_, history_);
    const int32_t cseg = Add(proto::ROLE_CONTEXT, copy, prompt_tokens_, {0}, nullptr, 0, turn);
    next.keep = prompt_tokens_;
    next.feed = copy;
    for (size_t i = 0; i < copy.size(); ++i) next.feed_positions.push_back(static_cast<int32_t>(prompt_tokens_ + i));
    visible_ = {0, cseg};
    context_tokens_ = prompt_tokens_ + static_cast<int64_t>(copy.size());
    // Only the newest turn is needed for mem1; window:K walks back over the whole history.
    if (policy_.kind == ContextPolicy::Kind::kMem1) history_.clear();
  }
  turn_start_ = context_tokens_;
  last_generated_.clear();
  return next;
}

}  // namespace mem1
