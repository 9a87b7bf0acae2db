#include "actor/envs/env_factory.h"

#include "actor/envs/qa/qa_env.h"
#include "actor/envs/qa/qa_expert.h"
#include "actor/envs/qa/http_retriever.h"
#include "actor/envs/webshop/webshop_env.h"
#include "actor/envs/webshop/webshop_policy.h"

namespace mem1 {

Result<std::unique_ptr<EnvironmentBundle>> MakeEnvironments(const Mem1Config& config, uint64_t seed) {
  auto b = std::make_unique<EnvironmentBundle>();
  const auto& a = config.actor;
  if (config.env.name == EnvKind::kWebShop) {
    const auto& w = config.env.webshop;
    webshop::CatalogOptions co;
    co.data_dir = w.data_dir;
    co.human_goals = w.human_goals;
    co.max_products = w.max_products;
    co.seed = static_cast<uint64_t>(w.catalog_seed);
    webshop::CatalogReport cr;
    MEM1_RETURN_IF_ERROR(webshop::LoadCatalog(co, &b->catalog, &cr));
    LOG(INFO) << "webshop: " << b->catalog.products.size() << " products, " << b->catalog.goals.size() << " goals ("
              << cr.products.skipped << " products skipped)";
    MEM1_ASSIGN_OR_RETURN(b->retriever, webshop::OpenProductIndex(b->catalog, w.data_dir + "/index"));
    MEM1_ASSIGN_OR_RETURN(webshop::Split split, webshop::ParseSplit(w.split));
    MEM1_ASSIGN_OR_RETURN(webshop::SplitRule rule, webshop::ParseSplitRule(w.splits));
    std::vector<size_t> goals = webshop::SplitGoals(b->catalog.goals.size(), split, rule);
    if (goals.empty()) {
      return InvalidArgument(w.data_dir + ": env.webshop.split " + w.split + " has no goals" +
                             (rule == webshop::SplitRule::kMem1 && split == webshop::Split::kDev
                                  ? " (env.webshop.splits: mem1 has test and train only, as MEM1's data builder)"
                                  : ""));
    }
    webshop::WebShopEnvOptions eo;
    eo.max_steps = w.max_steps;
    eo.list_actions = w.list_actions;
    eo.search_anywhere = w.search_anywhere;
    eo.preset = a.tag_preset;
    b->lexicon = webshop::LoadNounLexicon(w.wordnet_dir);
    eo.lexicon = b->lexicon.get();
    b->tasks = std::make_unique<webshop::WebShopTaskSource>(&b->catalog, b->retriever.get(), std::move(goals), false,
                                                           seed, -1, eo);
    b->expert = std::make_unique<webshop::WebShopExpertPolicy>(a.tag_preset);
    return b;
  }
  const std::string data = config.env.qa.data_dir;
  std::vector<QaItem> train;
  LoadReport report;
  const std::string file = data + "/" + config.env.qa.split + ".jsonl";
  MEM1_RETURN_IF_ERROR(ReadQaFile(file, &train, &report));
  if (static_cast<int32_t>(train.size()) < config.env.qa.objectives) {
    return InvalidArgument(file + ": " + std::to_string(train.size()) + " usable questions, fewer than " +
                           "env.qa.objectives = " + std::to_string(config.env.qa.objectives));
  }
  if (config.env.qa.retriever.empty()) {
    MEM1_ASSIGN_OR_RETURN(b->retriever, OpenXapianRetriever(data + "/index"));
  } else {
    MEM1_ASSIGN_OR_RETURN(b->retriever, OpenHttpRetriever(config.env.qa.retriever));
    LOG(INFO) << "qa: passages from the retrieval server " << config.env.qa.retriever;
  }
  QaEnvOptions eo;
  eo.top_k = config.env.qa.top_k;
  eo.mean_reward = config.env.qa.mean_reward;
  eo.format_penalty = config.env.qa.format_penalty;
  eo.preset = a.tag_preset;
  eo.normalization = a.tag_preset.reference() ? AnswerNormalization::kReference : AnswerNormalization::kUnicode;
  b->tasks = std::make_unique<QaTaskSource>(std::move(train), config.env.qa.objectives, seed, -1, b->retriever.get(), eo);
  b->expert = std::make_unique<QaExpert>(a.tag_preset);
  return b;
}

GroupedTaskSource::GroupedTaskSource(TaskSource* inner, int group_size, uint64_t first_group)
    : inner_(inner), group_size_(group_size), next_group_(first_group) {
  CHECK(inner_ != nullptr);
  CHECK_GE(group_size_, 1);
}

std::unique_ptr<Environment> GroupedTaskSource::Next() {
  if (group_size_ == 1) return inner_->Next();
  if (left_ == 0 || current_ == nullptr) {
    current_ = inner_->Next();
    if (current_ == nullptr) return nullptr;
    current_->set_group_id(next_group_++);
    left_ = group_size_;
  }
  --left_;
  if (left_ == 0) return std::move(current_);
  auto copy = current_->Clone();
  CHECK(copy != nullptr) << "environment " << current_->name() << " cannot be cloned for GRPO groups";
  copy->set_group_id(current_->group_id());
  return copy;
}

}  // namespace mem1
