// `mem1 datagen lm`: plain text packed into trajectories of one model segment each, so the
// learner's SFT path (learner.offline_store) runs language-model pretraining on it. A policy
// trained from scratch has never read the world it acts in: a few epochs over the corpus, as
// the agent reads it, train every name's embedding as a target and teach copying a name seen
// earlier in the context (a passage's title recurs in its text), which a real checkpoint
// brings from its own pretraining.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "actor/commands/commands.h"
#include "common/cli/cli_common.h"
#include "common/memory/context_policy.h"
#include "common/memory/trajectory_layout.h"
#include "common/storage/trajectory_store.h"
#include "common/tokenizer/tokenizer.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

struct LmDataArgs {
  std::vector<std::string> text;
  std::string tokenizer, out;
  int64_t tokens = 256;
  int64_t max_samples = 0;
  uint64_t seed = 1;
  int64_t copy_samples = 0;  // induction samples: random tokens of the text, then the same tokens again
  int64_t copy_tokens = 48;  // longest random segment (each sample draws its length in [copy_tokens / 4, copy_tokens])
};

// Lines of every file (empty ones skipped), in file order.
Result<std::vector<std::string>> ReadDocuments(const std::vector<std::string>& files, int64_t* skipped) {
  std::vector<std::string> docs;
  for (const auto& f : files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f, ec)) return InvalidArgument(f + ": not a regular file");
    std::ifstream in(f, std::ios::binary);
    if (!in) return NotFound(f + ": cannot open");
    std::string line;
    while (std::getline(in, line)) {
      if (TrimWhitespace(line).empty()) {
        ++*skipped;
        continue;
      }
      docs.push_back(std::move(line));
    }
    if (in.bad()) return Internal(f + ": read failed");
  }
  if (docs.empty()) return InvalidArgument("--text: no non-empty line in the given files");
  return docs;
}

// One sample: the first `prompt_tokens` tokens are the prompt (not in the loss), the rest one
// ROLE_MODEL segment.
proto::Trajectory LmTrajectory(const std::vector<int32_t>& tokens, uint64_t id, size_t prompt_tokens = 1) {
  proto::Trajectory t;
  t.set_schema_version(proto::SCHEMA_VERSION_CURRENT);
  t.set_actor_id("lm-data");
  t.set_episode_id(id);
  t.set_env_name("lm");
  t.set_task_id("lm-" + std::to_string(id));
  t.set_sampling_temperature(1.0f);
  const auto split = tokens.begin() + static_cast<std::ptrdiff_t>(prompt_tokens);
  TrajectoryLayout layout(ContextPolicy(), std::vector<int32_t>(tokens.begin(), split), &t);
  std::vector<int32_t> body(split, tokens.end());
  layout.AddTurn(body, std::vector<float>(body.size(), 0.0f), std::vector<uint8_t>(body.size(), 0), 0, 0);
  t.set_context_policy(ContextPolicy().Name());
  t.mutable_metrics()->set_turns(1);
  t.mutable_metrics()->set_generated_tokens(static_cast<int64_t>(body.size()));
  t.mutable_metrics()->set_peak_tokens(static_cast<int64_t>(tokens.size()));
  return t;
}

Status RunLmData(const LmDataArgs& a) {
  if (a.tokens < 2) return InvalidArgument("--tokens: must be >= 2, got " + std::to_string(a.tokens));
  int64_t skipped = 0;
  MEM1_ASSIGN_OR_RETURN(std::vector<std::string> docs, ReadDocuments(a.text, &skipped));
  MEM1_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tok, LoadTokenizer(a.tokenizer));
  std::mt19937_64 rng(a.seed);
  std::shuffle(docs.begin(), docs.end(), rng);
  const std::vector<int32_t> separator = tok->Encode("\n");
  TrajectoryStoreOptions so;
  so.fsync = false;  // one Sync at Close; a crashed run is simply run again
  const std::string meta = "lm_data:\n  tokens: " + std::to_string(a.tokens) + "\n  seed: " + std::to_string(a.seed) +
                           "\n  documents: " + std::to_string(docs.size()) + "\n";
  MEM1_ASSIGN_OR_RETURN(auto store, TrajectoryStore::Open(a.out, so, meta));
  if (store->size() > 0) {
    return InvalidArgument(a.out + ": already holds " + std::to_string(store->size()) +
                           " trajectories (remove it, or pick another --out)");
  }
  const double t0 = MonotonicSeconds();
  std::vector<int32_t> pack;
  int64_t written = 0, total_tokens = 0;
  auto flush = [&]() -> Status {
    if (pack.size() < 2) {
      pack.clear();
      return Status::Ok();
    }
    auto r = store->Append(LmTrajectory(pack, static_cast<uint64_t>(written)));
    if (!r.ok()) return r.status();
    total_tokens += static_cast<int64_t>(pack.size());
    ++written;
    pack.clear();
    return Status::Ok();
  };
  const auto cap = static_cast<size_t>(a.tokens);
  for (const auto& doc : docs) {
    if (a.max_samples > 0 && written >= a.max_samples) break;
    std::vector<int32_t> ids = tok->Encode(doc);
    ids.insert(ids.end(), separator.begin(), separator.end());
    // A document that does not fit the rest of the pack starts a new one; longer than a whole
    // sample, it is cut into sample-sized pieces.
    if (!pack.empty() && pack.size() + ids.size() > cap) MEM1_RETURN_IF_ERROR(flush());
    for (size_t off = 0; off < ids.size(); off += cap) {
      const size_t n = std::min(cap, ids.size() - off);
      pack.insert(pack.end(), ids.begin() + static_cast<std::ptrdiff_t>(off),
                  ids.begin() + static_cast<std::ptrdiff_t>(off + n));
      if (pack.size() >= cap) MEM1_RETURN_IF_ERROR(flush());
    }
  }
  if (a.max_samples <= 0 || written < a.max_samples) MEM1_RETURN_IF_ERROR(flush());
  // Induction (copy) samples: a random segment of the text's own token ids, a newline, and the
  // same segment again, the repeat in the loss. Copying a token seen earlier is what a policy
  // trained from scratch lacks (it must copy names from the question into its query and
  // answers from observations into its state) and what a pretrained checkpoint has.
  int64_t copies = 0;
  if (a.copy_samples > 0) {
    std::vector<int32_t> ids;
    {
      std::vector<uint8_t> seen(static_cast<size_t>(tok->vocab_size()), 0);
      for (const auto& doc : docs) {
        for (int32_t id : tok->Encode(doc)) {
          if (id >= 0 && id < tok->vocab_size() && !seen[static_cast<size_t>(id)]) {
            seen[static_cast<size_t>(id)] = 1;
            ids.push_back(id);
          }
        }
      }
    }
    std::sort(ids.begin(), ids.end());
    std::uniform_int_distribution<size_t> pick(0, ids.size() - 1);
    std::uniform_int_distribution<int64_t> length(std::max<int64_t>(1, a.copy_tokens / 4), a.copy_tokens);
    for (; copies < a.copy_samples; ++copies) {
      const int64_t k = length(rng);
      std::vector<int32_t> segment;
      for (int64_t i = 0; i < k; ++i) segment.push_back(ids[pick(rng)]);
      std::vector<int32_t> sample = segment;
      sample.insert(sample.end(), separator.begin(), separator.end());
      const size_t prompt = sample.size();
      sample.insert(sample.end(), segment.begin(), segment.end());
      auto r = store->Append(LmTrajectory(sample, static_cast<uint64_t>(written), prompt));
      if (!r.ok()) return r.status();
      total_tokens += static_cast<int64_t>(sample.size());
      ++written;
    }
  }
  MEM1_RETURN_IF_ERROR(store->Close());
  std::printf("wrote %lld language-model samples (%lld tokens, <= %lld each) from %zu lines to %s in %.1f s",
              static_cast<long long>(written), static_cast<long long>(total_tokens), static_cast<long long>(a.tokens),
              docs.size(), a.out.c_str(), MonotonicSeconds() - t0);
  if (copies > 0) std::printf(", %lld of them copy samples", static_cast<long long>(copies));
  if (skipped > 0) std::printf(" (%lld empty lines skipped)", static_cast<long long>(skipped));
  std::printf("\n");
  return Status::Ok();
}

}  // namespace

void RegisterLmDataCommand(CLI::App* datagen) {
  auto args = std::make_shared<LmDataArgs>();
  auto* lm = datagen->add_subcommand(
      "lm", "Plain text (one document per line) packed into a trajectory store for language-model pretraining "
            "(SFT from it: learner.offline_store=DIR)");
  lm->add_option("--text", args->text, "Text file(s), one document per line (shuffled, seeded)")->required();
  lm->add_option("--tokenizer", args->tokenizer, "Tokenizer (.model or tokenizer.json)")->required();
  lm->add_option("--out", args->out, "Trajectory store directory (created; must be empty)")->required();
  lm->add_option("--tokens", args->tokens, "Tokens per sample (documents packed up to it)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  lm->add_option("--max-samples", args->max_samples, "Stop after this many samples (0 = all the text)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  lm->add_option("--seed", args->seed, "Shuffle seed");
  lm->add_option("--copy-samples", args->copy_samples,
                 "Also write this many induction samples: a random segment of the text's token ids, a newline, the "
                 "same segment again (only the repeat in the loss)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 32));
  lm->add_option("--copy-tokens", args->copy_tokens, "Longest random segment of a copy sample (each in [N/4, N])")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  lm->callback([args] {
    const Status st = RunLmData(*args);
    throw CLI::RuntimeError(st.ok() ? 0 : ReportError(st));
  });
}

}  // namespace mem1
