// `mem1 model-info`, `mem1 generate`, `mem1 init-model`.
#include <torch/torch.h>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "common/cli/cli_common.h"
#include "common/cli/commands.h"
#include "common/model/generate.h"
#include "common/model/model_io.h"
#include "common/tokenizer/tokenizer.h"

namespace mem1 {
namespace {

struct ModelInfoArgs {
  std::string checkpoint;
  bool list_tensors = true;
};

int RunModelInfo(const ModelInfoArgs& a) {
  CheckpointLoadReport report;
  auto model = LoadHfModel(a.checkpoint, torch::kCPU, torch::kFloat32, &report);
  if (!model.ok()) return ReportError(model.status());
  const Qwen2Config& c = (*model)->config();
  int64_t total = 0, value_head = 0;
  for (const auto& p : (*model)->named_parameters(true)) {
    (p.key().rfind("value_head.", 0) == 0 ? value_head : total) += p.value().numel();
  }
  std::cout << "checkpoint: " << a.checkpoint << "\n"
            << "architecture: Qwen2ForCausalLM (model_type qwen2), saved as " << c.torch_dtype << "\n"
            << "layers " << c.num_hidden_layers << ", hidden " << c.hidden_size << ", heads " << c.num_attention_heads
            << " (kv " << c.num_key_value_heads << ", head_dim " << c.head_dim() << "), intermediate "
            << c.intermediate_size << ", vocab " << c.vocab_size << ", rope_theta " << c.rope_theta
            << ", tied embeddings " << (c.tie_word_embeddings ? "yes" : "no") << "\n"
            << "parameters: " << total << " (" << std::fixed << std::setprecision(2) << total / 1e6 << " M)"
            << " + value head " << value_head << (report.value_head_loaded ? " (loaded)" : " (fresh)") << "\n";
  if (!report.ignored.empty()) {
    std::cout << "ignored tensors in checkpoint: " << report.ignored.size() << "\n";
  }
  if (a.list_tensors) {
    for (const auto& p : (*model)->named_parameters(true)) {
      std::cout << "  " << std::left << std::setw(56) << p.key() << " [";
      const auto sizes = p.value().sizes();
      for (size_t i = 0; i < sizes.size(); ++i) std::cout << (i ? ", " : "") << sizes[i];
      std::cout << "]\n";
    }
  }
  return 0;
}

struct GenerateArgs {
  std::string checkpoint;
  std::string tokenizer;
  std::string prompt;
  std::string prompt_ids;
  int64_t max_new_tokens = 32;
  bool greedy = false;
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  bool print_logprobs = false;
  std::string device = "cpu";
  int32_t threads = 0;
};

int RunGenerate(const GenerateArgs& a) {
  ApplyThreads(a.threads);
  auto model = LoadHfModel(a.checkpoint, torch::Device(a.device), torch::kFloat32);
  if (!model.ok()) return ReportError(model.status());
  std::unique_ptr<Tokenizer> tok;
  const std::string tok_path = a.tokenizer.empty() ? a.checkpoint : a.tokenizer;
  auto loaded = LoadTokenizer(tok_path);
  if (loaded.ok()) {
    tok = std::move(loaded).value();
  } else if (!a.prompt.empty() || !a.tokenizer.empty()) {
    return ReportError(loaded.status());
  }
  std::vector<int32_t> prompt;
  if (!a.prompt_ids.empty()) {
    std::stringstream ss(a.prompt_ids);
    for (std::string item; std::getline(ss, item, ',');) {
      try {
        size_t used = 0;
        const long v = std::stol(item, &used);
        if (used != item.size() || v < 0 || v >= (*model)->config().vocab_size) throw std::out_of_range("id");
        prompt.push_back(static_cast<int32_t>(v));
      } catch (const std::exception&) {
        return ReportError(InvalidArgument("--prompt-ids: \"" + item + "\" is not a token id in [0, " +
                                           std::to_string((*model)->config().vocab_size) + ")"));
      }
    }
  } else {
    prompt = tok->Encode(a.prompt);
    for (int32_t id : prompt) {
      if (id >= (*model)->config().vocab_size) {
        return ReportError(InvalidArgument("tokenizer produced id " + std::to_string(id) +
                                           " outside the model vocabulary (" +
                                           std::to_string((*model)->config().vocab_size) + "): wrong tokenizer?"));
      }
    }
  }
  if (prompt.empty()) return ReportError(InvalidArgument("the prompt encodes to zero tokens"));
  SamplingOptions so;
  so.greedy = a.greedy;
  so.temperature = a.temperature;
  so.top_k = a.top_k;
  so.top_p = a.top_p;
  so.seed = a.seed;
  if (!(so.temperature > 0)) return ReportError(InvalidArgument("--temperature must be > 0"));
  if (!(so.top_p > 0 && so.top_p <= 1)) return ReportError(InvalidArgument("--top-p must be in (0, 1]"));
  Sampler sampler(so);
  const int32_t eos = tok ? tok->eos_id() : static_cast<int32_t>((*model)->config().eos_token_id);
  auto generated = Generate(*model, prompt, a.max_new_tokens, &sampler, eos);
  if (!generated.ok()) return ReportError(generated.status());
  const GenerateResult& result = *generated;
  std::cout << "prompt_ids:";
  for (int32_t id : prompt) std::cout << ' ' << id;
  std::cout << "\ngenerated_ids:";
  for (int32_t id : result.tokens) std::cout << ' ' << id;
  std::cout << "\n";
  if (tok) std::cout << "text: " << tok->Decode(result.tokens) << "\n";
  if (a.print_logprobs) {
    std::cout << "logprobs:";
    std::cout << std::setprecision(6) << std::fixed;
    for (float lp : result.logprobs) std::cout << ' ' << lp;
    std::cout << "\n";
  }
  return 0;
}

struct InitModelArgs {
  ConfigFlags config;
  std::string out;
  std::string tokenizer;
  std::string dtype = "float32";
};

int RunInitModel(const InitModelArgs& a) {
  Mem1Config config;
  if (!LoadConfigOrReport(a.config, &config)) return 2;
  ModelOptions mo = config.model;
  mo.checkpoint.clear();
  std::unique_ptr<Tokenizer> tok;
  if (!a.tokenizer.empty()) {
    auto t = LoadTokenizer(a.tokenizer);
    if (!t.ok()) return ReportError(t.status());
    tok = std::move(t).value();
    // The embedding table follows the tokenizer: every id it can produce gets a row.
    if (tok->vocab_size() != mo.init.vocab_size) {
      LOG(INFO) << "model.init.vocab_size " << mo.init.vocab_size << " -> " << tok->vocab_size() << " (from "
                << a.tokenizer << ")";
      mo.init.vocab_size = tok->vocab_size();
    }
  }
  RuntimeOptions ro = config.runtime;
  ro.device = "cpu";
  ro.dtype = "float32";
  auto model = LoadOrInitModel(mo, ro);
  if (!model.ok()) return ReportError(model.status());
  if (tok) {
    if (tok->eos_id() >= 0) (*model)->set_eos_token_id(tok->eos_id());
  }
  auto st = SaveHfModel(*model, a.out, a.dtype);
  if (!st.ok()) return ReportError(st);
  if (!a.tokenizer.empty()) {
    if (auto t = CopyTokenizerInto(a.tokenizer, a.out); !t.ok()) return ReportError(t);
  }
  std::cout << "wrote " << a.out << " (" << (*model)->config().ParameterCount() << " parameters, seed "
            << config.runtime.seed << ")\n";
  return 0;
}

}  // namespace

void RegisterModelCommands(CLI::App* app) {
  auto info_args = std::make_shared<ModelInfoArgs>();
  auto* info = app->add_subcommand("model-info", "Print a checkpoint's architecture, parameter count and tensor shapes");
  info->add_option("--checkpoint", info_args->checkpoint, "HF checkpoint directory")->required();
  info->add_flag("!--no-tensors", info_args->list_tensors, "Do not list every tensor");
  info->callback([info_args] { throw CLI::RuntimeError(RunModelInfo(*info_args)); });

  auto gen_args = std::make_shared<GenerateArgs>();
  auto* gen = app->add_subcommand("generate", "Generate tokens from a checkpoint with a KV cache");
  gen->add_option("--checkpoint", gen_args->checkpoint, "HF checkpoint directory")->required();
  gen->add_option("--tokenizer", gen_args->tokenizer, "tokenizer.json / .model (default: from the checkpoint)");
  auto* p = gen->add_option("--prompt", gen_args->prompt, "Prompt text");
  auto* pi = gen->add_option("--prompt-ids", gen_args->prompt_ids, "Prompt token ids, comma separated");
  p->excludes(pi);
  gen->add_option("--max-new-tokens", gen_args->max_new_tokens, "Tokens to generate")->check(CLI::Range(1, 1 << 20));
  auto* greedy = gen->add_flag("--greedy", gen_args->greedy, "Greedy decoding");
  gen->add_option("--temperature", gen_args->temperature, "Sampling temperature (> 0)")->excludes(greedy);
  gen->add_option("--top-k", gen_args->top_k, "Top-k (0 = off)")->check(CLI::NonNegativeNumber);
  gen->add_option("--top-p", gen_args->top_p, "Top-p in (0, 1]");
  gen->add_option("--seed", gen_args->seed, "Sampling seed");
  gen->add_flag("--print-logprobs", gen_args->print_logprobs, "Print each generated token's log-prob (fp32)");
  gen->add_option("--device", gen_args->device, "cpu | cuda | cuda:N");
  gen->add_option("--threads", gen_args->threads, "Intra-op threads (0 = all cores)");
  gen->callback([gen_args, p, pi] {
    if (p->count() == 0 && pi->count() == 0) throw CLI::RequiredError("--prompt or --prompt-ids");
    throw CLI::RuntimeError(RunGenerate(*gen_args));
  });

  auto init_args = std::make_shared<InitModelArgs>();
  auto* init = app->add_subcommand("init-model", "Write a freshly initialised model (model.init shape) as an HF checkpoint");
  AddConfigFlags(init, &init_args->config);
  init->add_option("--out", init_args->out, "Output directory")->required();
  init->add_option("--tokenizer", init_args->tokenizer, "Tokenizer file to copy into the checkpoint");
  init->add_option("--dtype", init_args->dtype, "Saved dtype")->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  init->callback([init_args] { throw CLI::RuntimeError(RunInitModel(*init_args)); });
}

}  // namespace mem1
