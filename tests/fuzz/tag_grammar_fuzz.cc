// Fuzzes ParseTurn (the MEM1 tag grammar) on arbitrary model output. The first byte picks the
// preset and hit_token_limit; the rest is the turn text.
#include "common/memory/tag_grammar.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const mem1::TagPreset kPaper = mem1::GetTagPreset("paper").value();
  static const mem1::TagPreset kCode = mem1::GetTagPreset("mem1-code").value();
  static const std::vector<mem1::ActionSpec> kQa = {{"search", false}, {"answer", true}};
  static const std::vector<mem1::ActionSpec> kWebshop = {{"webshop", false}, {"answer", true}};
  const uint8_t flags = data[0];
  const mem1::TagPreset& preset = (flags & 1) ? kCode : kPaper;
  const auto& actions = (flags & 2) ? kWebshop : kQa;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  mem1::ParsedTurn turn = mem1::ParseTurn(text, preset, actions, (flags & 4) != 0);
  (void)mem1::TurnErrorFlag(turn.error);
  (void)mem1::WrapObservation(preset, turn.action_content);
  return 0;
}
