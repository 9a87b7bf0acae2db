// A synthetic QA world for the embedded default (no downloads): fictional countries, cities
// and people with typed facts; one passage per fact plus distractor passages that share names
// and words; single-hop and two-hop (bridge) questions whose answers are fictional names or
// numbers that cannot be guessed from the question, so retrieval is necessary.
// Output formats are exactly the real ones (see qa_data.h).
#ifndef MEM1_ACTOR_ENVS_QA_SYNTHETIC_WORLD_H_
#define MEM1_ACTOR_ENVS_QA_SYNTHETIC_WORLD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "actor/envs/qa/qa_data.h"
#include "common/util/status.h"

namespace mem1 {

struct SyntheticWorldOptions {
  int64_t entities = 300;          // countries + cities + people (1 : 2 : 2)
  uint64_t seed = 1;
  double two_hop_probability = 0.6;  // chance that an entity also gets a two-hop (bridge) question
  int32_t distractors_per_fact = 1;
};

struct SyntheticWorld {
  std::vector<Passage> corpus;
  std::vector<QaItem> train, dev, test;  // 80 / 10 / 10 split of the questions
  std::vector<std::string> entity_names;
};

SyntheticWorld GenerateSyntheticWorld(const SyntheticWorldOptions& options);

// Writes corpus.jsonl, train.jsonl, dev.jsonl, test.jsonl into `out_dir` (created).
[[nodiscard]] Status WriteSyntheticWorld(const SyntheticWorld& world, const std::string& out_dir);

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_SYNTHETIC_WORLD_H_
