// Builds an actor's environments from typed config: the data they need (QA questions +
// passage index, or the WebShop catalog + product index), an endless deterministic task
// stream, and the scripted expert for the same environment (teacher for SFT data).
//
// Thread safety: a bundle is used by one rollout thread.
#ifndef MEM1_ACTOR_ENVS_ENV_FACTORY_H_
#define MEM1_ACTOR_ENVS_ENV_FACTORY_H_

#include <cstdint>
#include <memory>

#include "actor/envs/environment.h"
#include "actor/envs/qa/retriever.h"
#include "actor/envs/webshop/catalog.h"
#include "actor/envs/webshop/text_match.h"
#include "common/config/config.h"
#include "common/util/status.h"

namespace mem1 {

struct EnvironmentBundle {
  std::unique_ptr<Retriever> retriever;     // QA passages or WebShop products
  webshop::Catalog catalog;                 // WebShop only
  // WebShop only: WordNet nouns for the reward (env.webshop.wordnet_dir); nullptr when the
  // files are missing (the reward then uses the built-in adjective list; a warning is logged).
  // The task source's environments point at it: it lives as long as the bundle.
  std::unique_ptr<webshop::NounLexicon> lexicon;
  std::unique_ptr<TaskSource> tasks;        // endless, deterministic per seed
  std::unique_ptr<ScriptedPolicy> expert;   // the scripted expert of this environment
};

// env.name selects QA or WebShop; `seed` seeds the task stream (give every actor its own).
// NOT_FOUND / INVALID_ARGUMENT name the data file or index that is missing or unusable.
[[nodiscard]] Result<std::unique_ptr<EnvironmentBundle>> MakeEnvironments(const Mem1Config& config, uint64_t seed);

// GRPO: hands out every task of `inner` `group_size` times in a row (fresh copies via
// Environment::Clone), the copies sharing one group id; group ids count up from `first_group`.
// With group_size 1 it forwards `inner` and leaves group ids at 0.
class GroupedTaskSource : public TaskSource {
 public:
  GroupedTaskSource(TaskSource* inner, int group_size, uint64_t first_group);
  std::unique_ptr<Environment> Next() override;

 private:
  TaskSource* inner_;
  int group_size_;
  uint64_t next_group_;
  std::unique_ptr<Environment> current_;
  int left_ = 0;
};

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_ENV_FACTORY_H_
