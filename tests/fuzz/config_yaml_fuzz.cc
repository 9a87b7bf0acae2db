// Fuzzes ParseConfig (strict YAML -> Mem1Config). The input is split at NUL bytes: the first
// part is the YAML text, every further part one "key.path=value" override. An accepted config
// must round-trip: ConfigToYaml's output parses again.
#include "common/config/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mem1::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> parts = mem1::fuzz::SplitAtNul(data, size, 9);
  const std::string yaml = parts[0];
  std::vector<std::string> overrides(parts.begin() + 1, parts.end());
  auto config = mem1::ParseConfig(yaml, "fuzz.yaml", overrides);
  mem1::fuzz::Verbose(config.status());
  if (!config.ok()) return 0;
  const std::string resolved = mem1::ConfigToYaml(*config);
  auto again = mem1::ParseConfig(resolved, "resolved.yaml", {});
  if (!again.ok()) {
    fprintf(stderr, "ConfigToYaml output rejected: %s\n", again.status().ToString().c_str());
    __builtin_trap();
  }
  return 0;
}
