#include "learner/colocated_loop.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "actor/envs/qa/qa_env.h"
#include "actor/envs/qa/qa_expert.h"
#include "actor/envs/webshop/webshop_policy.h"
#include "actor/rollout/rollout_engine.h"
#include "common/model/model_io.h"
#include "common/tokenizer/tokenizer.h"
#include "learner/trainer.h"

namespace mem1 {

Status RunColocatedTraining(const Mem1Config& config, const std::string& resume, Communicator* comm,
                            int64_t steps_override) {
  const auto& l = config.learner;
  const auto& a = config.actor;
  // Policy and tokenizer.
  MEM1_ASSIGN_OR_RETURN(Qwen2ForCausalLM model, LoadOrInitModel(config.model, config.runtime));
  const std::string tok_path = !config.tokenizer.path.empty() ? config.tokenizer.path : config.model.checkpoint;
  if (tok_path.empty()) return InvalidArgument("tokenizer.path: required when model.checkpoint is empty");
  MEM1_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(tok_path));
  if (tok->vocab_size() > model->config().vocab_size) {
    return InvalidArgument("tokenizer " + tok_path + " has " + std::to_string(tok->vocab_size()) +
                           " tokens, more than the model's vocab_size " + std::to_string(model->config().vocab_size));
  }
  // Environment: data, one deterministic task stream per rank, and the scripted expert (SFT).
  // QA: questions + passage index; WebShop: catalog + product index (both outlive the stream).
  std::unique_ptr<Retriever> retriever;
  webshop::Catalog catalog;
  std::unique_ptr<TaskSource> stream;
  std::unique_ptr<ScriptedPolicy> expert;
  const uint64_t stream_seed = config.runtime.seed + 7919 * comm->rank();
  if (config.env.name == "webshop") {
    const auto& w = config.env.webshop;
    webshop::CatalogOptions co;
    co.data_dir = w.data_dir;
    co.human_goals = w.human_goals;
    co.max_products = w.max_products;
    co.seed = static_cast<uint64_t>(w.catalog_seed);
    webshop::CatalogReport cr;
    MEM1_RETURN_IF_ERROR(webshop::LoadCatalog(co, &catalog, &cr));
    LOG(INFO) << "webshop: " << catalog.products.size() << " products, " << catalog.goals.size() << " goals ("
              << cr.products.skipped << " products skipped)";
    MEM1_ASSIGN_OR_RETURN(retriever, webshop::OpenProductIndex(catalog, w.data_dir + "/index"));
    MEM1_ASSIGN_OR_RETURN(webshop::Split split, webshop::ParseSplit(w.split));
    std::vector<size_t> goals = webshop::SplitGoals(catalog.goals.size(), split);
    if (goals.empty()) return InvalidArgument(w.data_dir + ": env.webshop.split " + w.split + " has no goals");
    webshop::WebShopEnvOptions eo;
    eo.max_steps = w.max_steps;
    eo.list_actions = w.list_actions;
    eo.search_anywhere = w.search_anywhere;
    eo.preset = a.preset;
    stream = std::make_unique<webshop::WebShopTaskSource>(&catalog, retriever.get(), std::move(goals), false,
                                                         stream_seed, -1, eo);
    expert = std::make_unique<webshop::WebShopExpertPolicy>(a.preset);
  } else {
    const std::string data = config.env.qa.data_dir;
    std::vector<QaItem> train;
    LoadReport report;
    MEM1_RETURN_IF_ERROR(ReadQaFile(data + "/train.jsonl", &train, &report));
    if (static_cast<int32_t>(train.size()) < config.env.qa.objectives) {
      return InvalidArgument(data + "/train.jsonl: " + std::to_string(train.size()) + " usable questions, fewer than " +
                             "env.qa.objectives = " + std::to_string(config.env.qa.objectives));
    }
    MEM1_ASSIGN_OR_RETURN(retriever, OpenXapianRetriever(data + "/index"));
    QaEnvOptions eo;
    eo.top_k = config.env.qa.top_k;
    eo.mean_reward = config.env.qa.mean_reward;
    eo.format_penalty = config.env.qa.format_penalty;
    eo.preset = a.preset;
    stream = std::make_unique<QaTaskSource>(std::move(train), config.env.qa.objectives, stream_seed, -1,
                                            retriever.get(), eo);
    expert = std::make_unique<QaExpert>(a.preset);
  }

  Trainer trainer(model, l, comm);
  if (!resume.empty()) {
    MEM1_ASSIGN_OR_RETURN(std::string path, LatestCheckpoint(resume));
    MEM1_RETURN_IF_ERROR(trainer.Load(path));
    LOG(INFO) << "resumed from " << path << " at step " << trainer.step() << ", data cursor " << trainer.data_cursor();
  }
  // The cursor counts tasks drawn per rank, so a resumed run continues exactly where the
  // checkpoint left off (no replay, no skip).
  for (int64_t i = 0; i < trainer.data_cursor(); ++i) stream->Next();

  RolloutOptions ro;
  MEM1_ASSIGN_OR_RETURN(ro.policy, ContextPolicy::Parse(a.context_policy));
  ro.preset = a.preset;
  ro.batch_size = a.num_envs;
  ro.max_turns = a.max_turns;
  ro.max_new_tokens_per_turn = a.max_new_tokens_per_turn;
  ro.max_state_tokens = a.max_state_tokens;
  ro.slot_capacity = a.slot_capacity;
  ro.end_on_format_error = a.end_on_format_error;
  ro.sampling.temperature = a.temperature;
  ro.sampling.top_p = a.top_p;
  ro.sampling.seed = config.runtime.seed + 104729 * comm->rank() + trainer.step();
  ro.actor_id = "learner-rank-" + std::to_string(comm->rank());
  RolloutEngine engine(model, tok.get(), ro);
  const bool sft = l.ppo.algorithm == "sft";
  const int per_rank = (l.global_batch + comm->world_size() - 1) / comm->world_size();
  const int64_t last_step = steps_override > 0 ? std::min<int64_t>(l.total_steps, trainer.step() + steps_override)
                                               : l.total_steps;
  std::ofstream metrics;
  if (comm->rank() == 0) metrics.open(config.run.dir + "/metrics.jsonl", std::ios::app);
  while (trainer.step() < last_step) {
    // Rollouts for this step.
    class Batch : public TaskSource {
     public:
      Batch(TaskSource* s, int n) : s_(s), n_(n) {}
      std::unique_ptr<Environment> Next() override { return n_-- > 0 ? s_->Next() : nullptr; }
     private:
      TaskSource* s_;
      int n_;
    } batch(stream.get(), per_rank);
    engine.set_policy_version(trainer.policy_version());
    model->eval();
    std::vector<proto::Trajectory> mine;
    MEM1_RETURN_IF_ERROR(engine.Run(&batch, [&](proto::Trajectory&& t) { mine.push_back(std::move(t)); },
                                    sft ? expert.get() : nullptr));
    trainer.set_data_cursor(trainer.data_cursor() + per_rank);
    // Gather the global batch.
    std::string bytes;
    {
      std::string buf;
      for (const auto& t : mine) {
        std::string one;
        t.SerializeToString(&one);
        const uint64_t n = one.size();
        buf.append(reinterpret_cast<const char*>(&n), 8);
        buf += one;
      }
      bytes = std::move(buf);
    }
    std::vector<proto::Trajectory> global;
    for (const auto& part : comm->AllGatherBytes(bytes)) {
      size_t off = 0;
      while (off + 8 <= part.size()) {
        uint64_t n;
        std::memcpy(&n, part.data() + off, 8);
        proto::Trajectory t;
        if (off + 8 + n > part.size() || !t.ParseFromArray(part.data() + off + 8, static_cast<int>(n))) {
          return DataLoss("corrupt trajectory in the gathered batch");
        }
        global.push_back(std::move(t));
        off += 8 + n;
      }
    }
    double em = 0, peak = 0, turns = 0, format_errors = 0, success = 0;
    for (const auto& t : global) {
      em += t.metrics().exact_match();
      if (auto it = t.reward_components().find("webshop_success"); it != t.reward_components().end()) success += it->second;
      peak += t.metrics().peak_tokens();
      turns += t.metrics().turns();
      format_errors += t.metrics().format_errors();
    }
    const double n = std::max<size_t>(1, global.size());
    model->train();
    const StepStats st = trainer.Step(global);
    if (comm->rank() == 0) {
      nlohmann::json j = {{"step", st.step}, {"policy_version", st.policy_version}, {"episodes", global.size()},
                          {"reward_mean", st.reward_mean}, {"exact_match_mean", em / n}, {"success_mean", success / n}, {"peak_tokens_mean", peak / n},
                          {"turns_mean", turns / n}, {"format_errors_mean", format_errors / n}, {"loss", st.loss},
                          {"policy_loss", st.policy_loss}, {"value_loss", st.value_loss}, {"entropy", st.entropy},
                          {"kl", st.kl}, {"clip_fraction", st.clip_fraction}, {"grad_norm", st.grad_norm},
                          {"lr", st.lr}, {"tokens", st.tokens}, {"stale_dropped", st.stale_dropped},
                          {"step_seconds", st.seconds}};
      metrics << j.dump() << "\n";
      metrics.flush();
      LOG(INFO) << "step " << st.step << "/" << l.total_steps << ": reward " << st.reward_mean
                << (config.env.name == "webshop" ? ", success " : ", EM ") << (config.env.name == "webshop" ? success : em) / n
                << ", loss " << st.loss << ", peak " << peak / n << " tokens, " << st.tokens << " model tokens, "
                << st.seconds << " s";
      if ((l.checkpoint_every > 0 && st.step % l.checkpoint_every == 0) || st.step == last_step) {
        const std::string path = CheckpointPath(config.run.dir, st.step);
        MEM1_RETURN_IF_ERROR(trainer.Save(path, ConfigToYaml(config)));
        PruneCheckpoints(config.run.dir, l.keep_checkpoints);
      }
    }
  }
  if (comm->rank() == 0) {
    const std::string out = config.run.dir + "/policy";
    MEM1_RETURN_IF_ERROR(SaveHfModel(model, out, "float32"));
    MEM1_RETURN_IF_ERROR(CopyTokenizerInto(tok_path, out));
    LOG(INFO) << "exported policy to " << out;
  }
  return Status::Ok();
}

}  // namespace mem1
