// `mem1 export`: a learner checkpoint's policy -> HF checkpoint directory.
#include <filesystem>
#include <iostream>

#include "common/cli/cli_common.h"
#include "learner/learner_commands.h"
#include "common/tokenizer/tokenizer.h"
#include "learner/trainer.h"

namespace mem1 {
namespace {

struct ExportArgs {
  std::string checkpoint, out, tokenizer, dtype = "float32";
};

int RunExport(const ExportArgs& a) {
  auto path = LatestCheckpoint(a.checkpoint);
  if (!path.ok()) return ReportError(path.status());
  if (auto st = ExportCheckpointToHf(*path, a.out, a.dtype); !st.ok()) return ReportError(st);
  if (!a.tokenizer.empty()) {
    if (auto st = CopyTokenizerInto(a.tokenizer, a.out); !st.ok()) return ReportError(st);
  }
  std::cout << "exported " << *path << " to " << a.out << " (" << a.dtype << ")\n";
  return 0;
}

}  // namespace

void RegisterLearnerCommands(CLI::App* app) {
  auto args = std::make_shared<ExportArgs>();
  auto* e = app->add_subcommand("export", "Export a learner checkpoint's policy as an HF checkpoint (transformers / vLLM)");
  e->add_option("--checkpoint", args->checkpoint, "Learner checkpoint .h5, or a run directory (newest checkpoint)")->required();
  e->add_option("--out", args->out, "Output directory")->required();
  e->add_option("--tokenizer", args->tokenizer, "tokenizer.json / tokenizer.model to copy alongside");
  e->add_option("--dtype", args->dtype, "Saved dtype")->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  e->callback([args] { throw CLI::RuntimeError(RunExport(*args)); });
}

}  // namespace mem1
