#include "common/memory/masked_sequence.h"

#include <algorithm>
#include <string>

namespace mem1 {

Result<MaskedSequence> BuildMaskedSequence(const proto::Trajectory& tr) {
  const std::string where = "trajectory " + tr.actor_id() + "/" + std::to_string(tr.episode_id());
  const int nseg = tr.segments_size();
  std::vector<int64_t> start(nseg + 1, 0);
  for (int s = 0; s < nseg; ++s) {
    const auto& seg = tr.segments(s);
    const int n = seg.token_ids_size();
    if (seg.position_ids_size() != n) {
      return DataLoss(where + ": segment " + std::to_string(s) + " has " + std::to_string(n) + " tokens but " +
                      std::to_string(seg.position_ids_size()) + " position ids");
    }
    if (seg.role() == proto::ROLE_MODEL && seg.behaviour_logprobs_size() != n) {
      return DataLoss(where + ": model segment " + std::to_string(s) + " has " + std::to_string(n) + " tokens but " +
                      std::to_string(seg.behaviour_logprobs_size()) + " behaviour log-probs");
    }
    for (int a : seg.attends_to()) {
      if (a < 0 || a >= s) {
        return DataLoss(where + ": segment " + std::to_string(s) + " attends to segment " + std::to_string(a) +
                        " (must be an earlier segment)");
      }
    }
    start[s + 1] = start[s] + n;
  }
  MaskedSequence m;
  const int64_t T = start[nseg];
  m.length = T;
  m.tokens.reserve(T);
  m.positions.reserve(T);
  m.mask.assign(static_cast<size_t>(T * T), 0);
  m.loss_mask.assign(T, 0);
  m.behaviour_logprobs.assign(T, 0.f);
  m.policy_versions.assign(T, -1);
  for (int s = 0; s < nseg; ++s) {
    const auto& seg = tr.segments(s);
    const bool is_model = seg.role() == proto::ROLE_MODEL;
    for (int i = 0; i < seg.token_ids_size(); ++i) {
      const int64_t row = start[s] + i;
      m.tokens.push_back(seg.token_ids(i));
      m.positions.push_back(seg.position_ids(i));
      uint8_t* r = &m.mask[static_cast<size_t>(row * T)];
      for (int a : seg.attends_to()) {
        for (int64_t j = start[a]; j < start[a + 1]; ++j) r[j] = 1;
      }
      for (int64_t j = start[s]; j <= row; ++j) r[j] = 1;
      if (is_model) {
        m.loss_mask[row] = 1;
        m.behaviour_logprobs[row] = seg.behaviour_logprobs(i);
        m.policy_versions[row] = seg.policy_version();
      }
    }
    if (is_model && seg.token_ids_size() > 0) {
      const int64_t first = start[s];
      if (first == 0 || !m.mask[static_cast<size_t>(first * T + first - 1)]) {
        return DataLoss(where + ": model segment " + std::to_string(s) +
                        " is not preceded by a token it attends to (cannot score its first token)");
      }
    }
  }
  return m;
}

Result<std::vector<MaskedSequence>> BuildPerTurnSequences(const proto::Trajectory& tr) {
  MEM1_RETURN_IF_ERROR(BuildMaskedSequence(tr).status());  // validates the record
  std::vector<MaskedSequence> out;
  for (int s = 0; s < tr.segments_size(); ++s) {
    const auto& target = tr.segments(s);
    if (target.role() != proto::ROLE_MODEL || target.token_ids_size() == 0) continue;
    std::vector<int> segs(target.attends_to().begin(), target.attends_to().end());
    std::sort(segs.begin(), segs.end());
    segs.push_back(s);
    MaskedSequence m;
    for (int k : segs) {
      const auto& seg = tr.segments(k);
      for (int i = 0; i < seg.token_ids_size(); ++i) {
        m.tokens.push_back(seg.token_ids(i));
        m.positions.push_back(seg.position_ids(i));
        m.loss_mask.push_back(k == s ? 1 : 0);
        m.behaviour_logprobs.push_back(k == s ? seg.behaviour_logprobs(i) : 0.f);
        m.policy_versions.push_back(k == s ? seg.policy_version() : -1);
      }
    }
    m.length = static_cast<int64_t>(m.tokens.size());
    m.mask.assign(static_cast<size_t>(m.length * m.length), 0);
    for (int64_t i = 0; i < m.length; ++i)
      for (int64_t j = 0; j <= i; ++j) m.mask[static_cast<size_t>(i * m.length + j)] = 1;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace mem1
