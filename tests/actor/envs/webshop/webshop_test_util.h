// Shared by the WebShop test files: the fixture directory and fresh temporary directories.
#ifndef MEM1_TESTS_ACTOR_ENVS_WEBSHOP_WEBSHOP_TEST_UTIL_H_
#define MEM1_TESTS_ACTOR_ENVS_WEBSHOP_WEBSHOP_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <string>

#include "actor/envs/webshop/text_match.h"

namespace mem1::webshop::testing {

// WebShop-schema fixture files (tests/fixtures/webshop).
inline const std::string kFixtures = MEM1_SOURCE_DIR "/tests/fixtures/webshop";

// An empty directory under the system temp dir, unique per process and tag.
inline std::filesystem::path TempDir(const std::string& tag) {
  const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("mem1_webshop_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// Debian's WordNet (scripts/install-deps.sh installs wordnet-base), loaded once per test
// binary; nullptr (the reward's built-in adjective list) when it is not installed.
inline const NounLexicon* SystemLexicon() {
  static const NounLexicon* lexicon = LoadNounLexicon(kDefaultWordNetDir).release();
  return lexicon;
}

}  // namespace mem1::webshop::testing

#endif  // MEM1_TESTS_ACTOR_ENVS_WEBSHOP_WEBSHOP_TEST_UTIL_H_
