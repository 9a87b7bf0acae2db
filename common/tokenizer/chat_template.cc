#include "common/tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace mem1 {
namespace {

namespace fs = std::filesystem;

// tokenizer_config.json in the checkpoint directory, else beside (or inside) the tokenizer path.
std::string FindTokenizerConfig(const std::string& checkpoint_dir, const std::string& tokenizer_path) {
  std::error_code ec;
  if (!checkpoint_dir.empty() && fs::is_regular_file(fs::path(checkpoint_dir) / "tokenizer_config.json", ec)) {
    return (fs::path(checkpoint_dir) / "tokenizer_config.json").string();
  }
  if (!tokenizer_path.empty()) {
    const fs::path p(tokenizer_path);
    const fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path();
    if (fs::is_regular_file(dir / "tokenizer_config.json", ec)) return (dir / "tokenizer_config.json").string();
  }
  return "";
}

// The `chat_template` string of a tokenizer_config.json ("" when it has none).
Result<std::string> ReadTemplate(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgument(file + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    const auto j = nlohmann::json::parse(ss.str());
    if (!j.is_object()) return InvalidArgument(file + ": not a JSON object");
    auto it = j.find("chat_template");
    if (it == j.end() || it->is_null()) return std::string();
    if (it->is_string()) return it->get<std::string>();
    // A list of named templates [{"name": "default", "template": "..."}]: the default one.
    if (it->is_array()) {
      for (const auto& t : *it) {
        if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string()) {
          return t["template"].get<std::string>();
        }
      }
    }
    return InvalidArgument(file + ": chat_template is neither a string nor a list with a \"default\" template");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(file + ": invalid JSON: " + e.what());
  }
}

}  // namespace

std::string ChatTemplate::Apply(const std::string& prompt) const {
  if (kind == Kind::kNone) return prompt;
  std::string out;
  if (!system.empty()) out += "<|im_start|>system\n" + system + "<|im_end|>\n";
  return out + "<|im_start|>user\n" + prompt + "<|im_end|>\n<|im_start|>assistant\n";
}

std::string ChatMlDefaultSystem(const std::string& jinja) {
  // The system turn written as one literal: '<|im_start|>system\n' + text + '<|im_end|>', where
  // \n is the Jinja escape (backslash n) or a real newline. A turn built from
  // messages[0]['content'] has a quote before <|im_end|> and does not match.
  static const std::regex kSystem(R"(<\|im_start\|>system(?:\\n|\n)([^'"<{}]*)<\|im_end\|>)");
  std::smatch m;
  if (std::regex_search(jinja, m, kSystem)) return m[1].str();
  return "";
}

Result<ChatTemplate> ResolveChatTemplate(const std::string& setting, const std::string& checkpoint_dir,
                                         const std::string& tokenizer_path) {
  if (setting != "none" && setting != "chatml" && setting != "auto") {
    return InvalidArgument("tokenizer.chat_template: expected one of {none, chatml, auto}, got \"" + setting + "\"");
  }
  ChatTemplate t;
  if (setting == "none") {
    t.description = "none";
    return t;
  }
  const std::string file = FindTokenizerConfig(checkpoint_dir, tokenizer_path);
  std::string jinja;
  if (!file.empty()) {
    MEM1_ASSIGN_OR_RETURN(jinja, ReadTemplate(file));
  }
  if (setting == "auto") {
    if (jinja.empty()) {
      t.description = file.empty() ? "none (auto: no tokenizer_config.json)" : "none (auto: " + file + " has no chat_template)";
      return t;
    }
    if (jinja.find("<|im_start|>") == std::string::npos) {
      return InvalidArgument(file + ": chat_template is not ChatML (no <|im_start|>); set tokenizer.chat_template to "
                             "none or chatml");
    }
  }
  t.kind = ChatTemplate::Kind::kChatMl;
  if (!jinja.empty()) {
    t.system = ChatMlDefaultSystem(jinja);
    t.description = "chatml (system: \"" + t.system + "\") from " + file;
  } else {
    t.system = kQwen25SystemMessage;
    t.description = "chatml (system: Qwen2.5's default)";
  }
  return t;
}

Status CopyTokenizerConfigInto(const std::string& tokenizer_path, const std::string& checkpoint_dir) {
  const std::string file = FindTokenizerConfig("", tokenizer_path);
  if (file.empty()) return Status::Ok();
  std::error_code ec;
  const fs::path dst = fs::path(checkpoint_dir) / "tokenizer_config.json";
  if (fs::exists(dst, ec) && fs::equivalent(file, dst, ec)) return Status::Ok();
  fs::copy_file(file, dst, fs::copy_options::overwrite_existing, ec);
  if (ec) return Internal("copying " + file + " to " + checkpoint_dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace mem1
