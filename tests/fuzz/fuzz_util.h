// Helpers shared by the libFuzzer targets in this folder (tests/fuzz/README.md).
//
// Parsers that only take a path get the fuzz input written to a per-process temporary file
// (/dev/shm or /tmp: mem1-fuzz-<pid>/<name>), rewritten on every input and removed at exit.
#ifndef MEM1_TESTS_FUZZ_FUZZ_UTIL_H_
#define MEM1_TESTS_FUZZ_FUZZ_UTIL_H_

#include <glog/logging.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace mem1::fuzz {

// The per-process scratch directory, created on first use and removed at exit. On tmpfs
// (/dev/shm) when there is one: a file write there is ~20x faster than on a disk-backed /tmp.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    // MEM1_FUZZ_TMPDIR (set by tests/fuzz.sh, which removes it afterwards: a crashing process
    // never reaches its atexit cleanup) overrides the parent directory.
    const char* parent = std::getenv("MEM1_FUZZ_TMPDIR");
    const bool shm = access("/dev/shm", W_OK) == 0;
    std::string d = std::string(parent != nullptr && *parent != 0 ? parent : shm ? "/dev/shm" : "/tmp") +
                    "/mem1-fuzz-" + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return true;
  }();
  (void)cleanup_registered;
  return dir;
}

// Writes `size` bytes to ScratchDir()/name (truncating) and returns the path. Aborts if the
// file cannot be written (a harness problem, not a finding).
inline std::string WriteScratch(const std::string& name, const void* data, size_t size) {
  const std::string path = ScratchDir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Splits `data` at NUL bytes into at most `max_parts` parts (the last one keeps any further NULs).
inline std::vector<std::string> SplitAtNul(const uint8_t* data, size_t size, size_t max_parts) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && parts.size() < max_parts) {
      parts.emplace_back();
    } else {
      parts.back().push_back(static_cast<char>(data[i]));
    }
  }
  return parts;
}

// With MEM1_FUZZ_VERBOSE=1 in the environment, prints what the parser said about each input
// (to check that seeds are accepted: MEM1_FUZZ_VERBOSE=1 bin/fuzz_X corpus/X/*).
template <typename S>
inline void Verbose(const S& status) {
  static const bool verbose = std::getenv("MEM1_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "mem1-fuzz: %s\n", status.ok() ? "OK" : status.ToString().c_str());
}

// Quiet logging: only ERROR and FATAL (CHECK failures) reach stderr.
inline void QuietLogging() {
  FLAGS_minloglevel = 2;
  FLAGS_logtostderr = true;
}

}  // namespace mem1::fuzz

#endif  // MEM1_TESTS_FUZZ_FUZZ_UTIL_H_
