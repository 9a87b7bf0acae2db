// The chat template around a task prompt (veRL's rl_dataset, which MEM1 and Search-R1 train
// with, applies the tokenizer's chat template with add_generation_prompt=True when the
// tokenizer has one). Every later turn continues inside the assistant message, so the
// template wraps the prompt only; its tokens are prompt tokens (peak tokens, prompt KV reuse
// and masks count them like the rest of the prompt).
//
// Settings (tokenizer.chat_template):
//   none    the prompt as is (the small embedded model, base checkpoints)
//   chatml  ChatML, as Qwen2 / Qwen2.5 render one user message:
//             <|im_start|>system\n{S}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n
//           S = the default system message of the checkpoint's template when it has
//           tokenizer_config.json, else Qwen2.5's ("You are Qwen, created by Alibaba Cloud. You
//           are a helpful assistant."). A template without a default system message renders no
//           system turn.
//   auto    (default) from the checkpoint's tokenizer_config.json `chat_template`: ChatML when
//           it uses <|im_start|>, none when there is no file or no template; any other template
//           is an INVALID_ARGUMENT naming the file (Jinja is not evaluated here).
// Thread safety: plain values and pure functions.
#ifndef MEM1_COMMON_TOKENIZER_CHAT_TEMPLATE_H_
#define MEM1_COMMON_TOKENIZER_CHAT_TEMPLATE_H_

#include <string>

#include "common/util/status.h"

namespace mem1 {

inline constexpr char kQwen25SystemMessage[] = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

struct ChatTemplate {
  enum class Kind { kNone, kChatMl };
  Kind kind = Kind::kNone;
  std::string system;       // ChatML: the system turn's text ("" = no system turn)
  std::string description;  // for logs: "none", "chatml (system: ...) from <file>"
  // The text the agent's context starts with.
  std::string Apply(const std::string& prompt) const;
};

// The default system message of a HF chat template (the Jinja text of tokenizer_config.json's
// `chat_template`): the literal of its `<|im_start|>system\n...<|im_end|>` turn, "" if none.
std::string ChatMlDefaultSystem(const std::string& jinja);

// Resolves a setting ("none" | "chatml" | "auto") against the tokenizer_config.json found in
// `checkpoint_dir` or beside `tokenizer_path` (either may be ""). INVALID_ARGUMENT for an
// unknown setting, an unreadable/invalid tokenizer_config.json, or (auto) a non-ChatML template.
[[nodiscard]] Result<ChatTemplate> ResolveChatTemplate(const std::string& setting, const std::string& checkpoint_dir,
                                                       const std::string& tokenizer_path);

// Copies tokenizer_config.json from beside `tokenizer_path` (a file, or a directory holding
// it) into `checkpoint_dir` when there is one, so an exported checkpoint keeps its template.
[[nodiscard]] Status CopyTokenizerConfigInto(const std::string& tokenizer_path, const std::string& checkpoint_dir);

}  // namespace mem1

#endif  // MEM1_COMMON_TOKENIZER_CHAT_TEMPLATE_H_
