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
  m.loss_mask.assign(T, 0);
  m.behaviour_logprobs.assign(T, 0.f);
  m.policy_versions.assign(T, -1);
  m.segments.resize(nseg);
  for (int s = 0; s < nseg; ++s) {
    const auto& seg = tr.segments(s);
    const bool is_model = seg.role() == proto::ROLE_MODEL;
    SegmentSpan& span = m.segments[s];
    span.begin = start[s];
    span.end = start[s + 1];
    span.attends_to.assign(seg.attends_to().begin(), seg.attends_to().end());
    std::sort(span.attends_to.begin(), span.attends_to.end());
    span.attends_to.erase(std::unique(span.attends_to.begin(), span.attends_to.end()), span.attends_to.end());
    for (int i = 0; i < seg.token_ids_size(); ++i) {
      const int64_t row = start[s] + i;
      m.tokens.push_back(seg.token_ids(i));
      m.positions.push_back(seg.position_ids(i));
      if (is_model) {
        m.loss_mask[row] = 1;
        m.behaviour_logprobs[row] = seg.behaviour_logprobs(i);
        m.policy_versions[row] = seg.policy_version();
      }
    }
    if (is_model && seg.token_ids_size() > 0) {
      // The token before the segment predicts its first token: it must be visible.
      int prev = s - 1;
      while (prev >= 0 && start[prev] == start[prev + 1]) --prev;
      if (prev < 0 || !std::binary_search(span.attends_to.begin(), span.attends_to.end(), prev)) {
        return DataLoss(where + ": model segment " + std::to_string(s) +
                        " is not preceded by a token it attends to (cannot score its first token)");
      }
    }
  }
  return m;
}

namespace {

// Index of the segment holding token i (segments are sorted by begin).
int SegmentOf(const MaskedSequence& m, int64_t i) {
  auto it = std::upper_bound(m.segments.begin(), m.segments.end(), i,
                             [](int64_t v, const SegmentSpan& s) { return v < s.end; });
  return static_cast<int>(it - m.segments.begin());
}

// Appends [b, e) to sorted disjoint ranges, merging when adjacent.
void AddRange(std::vector<std::pair<int64_t, int64_t>>* r, int64_t b, int64_t e) {
  if (b >= e) return;
  if (!r->empty() && r->back().second == b) {
    r->back().second = e;
  } else {
    r->push_back({b, e});
  }
}

}  // namespace

bool Visible(const MaskedSequence& m, int64_t i, int64_t j) {
  if (i < 0 || j < 0 || i >= m.length || j >= m.length) return false;
  const int si = SegmentOf(m, i), sj = SegmentOf(m, j);
  if (si == sj) return j <= i;
  const auto& a = m.segments[si].attends_to;
  return std::binary_search(a.begin(), a.end(), sj);
}

std::vector<uint8_t> DenseMask(const MaskedSequence& m) {
  const int64_t T = m.length;
  std::vector<uint8_t> mask(static_cast<size_t>(T * T), 0);
  for (const SegmentSpan& seg : m.segments) {
    for (int64_t row = seg.begin; row < seg.end; ++row) {
      uint8_t* r = &mask[static_cast<size_t>(row * T)];
      for (int32_t a : seg.attends_to) {
        for (int64_t j = m.segments[a].begin; j < m.segments[a].end; ++j) r[j] = 1;
      }
      for (int64_t j = seg.begin; j <= row; ++j) r[j] = 1;
    }
  }
  return mask;
}

std::vector<QueryBlock> QueryBlocks(const MaskedSequence& m) {
  std::vector<QueryBlock> blocks;
  for (const SegmentSpan& seg : m.segments) {
    if (seg.begin == seg.end) continue;
    std::vector<std::pair<int64_t, int64_t>> keys;
    for (int32_t a : seg.attends_to) AddRange(&keys, m.segments[a].begin, m.segments[a].end);
    if (!blocks.empty() && blocks.back().q_end == seg.begin) {
      // Continues the previous block iff it sees exactly that block's keys plus the block.
      QueryBlock& last = blocks.back();
      auto grown = last.keys;
      AddRange(&grown, last.q_begin, last.q_end);
      if (grown == keys) {
        last.q_end = seg.end;
        continue;
      }
    }
    blocks.push_back({seg.begin, seg.end, std::move(keys)});
  }
  return blocks;
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
    m.segments = {SegmentSpan{0, m.length, {}}};  // plain causal
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace mem1
