// Tokenizer factory, the embedded tag list, and SentencePiece training (delegated to the
// `mem1_spm_train` helper process, which links libsentencepiece_train; see
// sentencepiece_tokenizer.cc for why libsentencepiece stays out of our processes).
#include "common/tokenizer/tokenizer.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/tokenizer/chat_template.h"

extern char** environ;

namespace mem1 {
namespace {

// A tokenizer file, or the tokenizer.json / tokenizer.model inside a directory.
Result<std::string> ResolveTokenizerFile(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(path)) return path;
  if (fs::exists(path + "/tokenizer.json")) return path + "/tokenizer.json";
  if (fs::exists(path + "/tokenizer.model")) return path + "/tokenizer.model";
  return NotFound(path + ": directory has no tokenizer.json or tokenizer.model");
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path_in) {
  MEM1_ASSIGN_OR_RETURN(std::string path, ResolveTokenizerFile(path_in));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open tokenizer file");
  char first = 0;
  in >> first;  // skips whitespace
  if (first == '{') {
    in.seekg(0);
    std::stringstream ss;
    ss << in.rdbuf();
    return LoadHfBpeTokenizer(ss.str(), path);
  }
  return LoadSentencePieceTokenizer(path);
}

Status CopyTokenizerInto(const std::string& tokenizer_path, const std::string& checkpoint_dir) {
  namespace fs = std::filesystem;
  MEM1_ASSIGN_OR_RETURN(std::string src, ResolveTokenizerFile(tokenizer_path));
  if (!fs::is_regular_file(src)) return NotFound(src + ": no such tokenizer file");
  const bool json = fs::path(src).extension() == ".json";
  std::error_code ec;
  fs::copy_file(src, checkpoint_dir + (json ? "/tokenizer.json" : "/tokenizer.model"), fs::copy_options::overwrite_existing,
                ec);
  if (ec) return Internal("copying tokenizer " + src + " to " + checkpoint_dir + ": " + ec.message());
  return CopyTokenizerConfigInto(src, checkpoint_dir);
}

const std::vector<std::string>& EmbeddedSpecialTokens() {
  static const std::vector<std::string>* tokens = new std::vector<std::string>{
      "<IS>", "</IS>", "<query>", "</query>", "<answer>", "</answer>", "<info>", "</info>",
      "<think>", "</think>", "<search>", "</search>", "<information>", "</information>",
      "<action>", "</action>", "[HINT]", "[/HINT]", "[SEP]",
      "<|im_start|>", "<|im_end|>", "<|endoftext|>"};
  return *tokens;
}

namespace {

// The helper: $MEM1_SPM_TRAIN, else `mem1_spm_train` beside the running executable, else PATH.
std::string FindTrainHelper() {
  if (const char* env = std::getenv("MEM1_SPM_TRAIN"); env != nullptr && *env) return env;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / "mem1_spm_train";
    if (std::filesystem::exists(beside)) return beside.string();
  }
  return "mem1_spm_train";
}

}  // namespace

Status TrainSentencePiece(const SentencePieceTrainOptions& o) {
  namespace fs = std::filesystem;
  if (!fs::exists(o.corpus)) return NotFound(o.corpus + ": corpus file not found");
  if (fs::file_size(o.corpus) == 0) return InvalidArgument(o.corpus + ": corpus is empty");
  if (o.vocab_size < 300) {
    return InvalidArgument("vocab_size " + std::to_string(o.vocab_size) + " is below 300 (byte fallback needs 256 + specials)");
  }
  std::string symbols;
  for (const auto& s : o.user_defined_symbols) {
    if (s.find(',') != std::string::npos) return InvalidArgument("user symbol \"" + s + "\" contains a comma");
    symbols += (symbols.empty() ? "" : ",") + s;
  }
  const std::string helper = FindTrainHelper();
  std::vector<std::string> args = {
      helper,
      "--input=" + o.corpus,
      "--model_prefix=" + o.model_prefix,
      "--vocab_size=" + std::to_string(o.vocab_size),
      "--model_type=bpe",
      "--byte_fallback=true",
      "--character_coverage=0.9995",
      "--normalization_rule_name=identity",
      "--add_dummy_prefix=false",
      "--remove_extra_whitespaces=false",
      "--split_by_whitespace=true",
      "--allow_whitespace_only_pieces=true",
      "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=3",
      "--num_threads=" + std::to_string(o.num_threads),
      "--input_sentence_size=" + std::to_string(o.input_sentence_size),
      "--shuffle_input_sentence=true",
      "--minloglevel=2",
  };
  if (!symbols.empty()) args.push_back("--user_defined_symbols=" + symbols);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The trainer logs its whole command line and progress to stderr; keep it in a file and show
  // its tail only when training fails.
  const std::string log_path = o.model_prefix + ".train.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  const int rc = posix_spawnp(&pid, helper.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return NotFound("cannot start SentencePiece trainer \"" + helper + "\": " + std::strerror(rc));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return Internal("waitpid failed for " + helper);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream log(log_path);
    std::string line, last;
    while (std::getline(log, line)) {
      if (!line.empty()) last = line;
    }
    return InvalidArgument("SentencePiece training failed (exit status " +
                           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "): " + last +
                           " (full log: " + log_path + ")");
  }
  std::remove(log_path.c_str());
  return Status::Ok();
}

}  // namespace mem1
