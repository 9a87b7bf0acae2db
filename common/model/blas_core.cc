#include "common/model/blas_core.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>

namespace mem1 {
namespace {

constexpr const char* kReexecFrom = "MEM1_BLAS_REEXEC_FROM";  // the core OpenBLAS had picked

// The kernel set OpenBLAS is running (e.g. "Prescott", "SkylakeX"), or "" when the BLAS in this
// process is not OpenBLAS. libtorch loads it, so the symbol is there before main() runs.
std::string LoadedCore() {
  using CoreNameFn = char* (*)();
  auto fn = reinterpret_cast<CoreNameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (fn == nullptr) return "";
  const char* name = fn();
  return name != nullptr ? name : "";
}

// The best kernel set of this Debian OpenBLAS for the CPU we run on, "" if none beats SSE.
std::string BestCoreForCpu() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512cd")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

// Whether `core` already uses what `best` would give: the AVX-512 sets for SkylakeX; any AVX2
// set for Haswell.
bool CoreIsGoodEnough(const std::string& core, const std::string& best) {
  static const std::set<std::string> avx512 = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  static const std::set<std::string> avx2 = {"Haswell", "Zen", "Excavator", "SkylakeX", "Cooperlake",
                                             "SapphireRapids"};
  return best == "SkylakeX" ? avx512.count(core) > 0 : avx2.count(core) > 0;
}

}  // namespace

void EnsureFastBlasKernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  if (const char* e = std::getenv("MEM1_BLAS_REEXEC"); e != nullptr && std::strcmp(e, "0") == 0) return;
  const std::string core = LoadedCore(), best = BestCoreForCpu();
  if (core.empty() || best.empty() || CoreIsGoodEnough(core, best)) return;
  setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  setenv(kReexecFrom, core.c_str(), 1);
  execv("/proc/self/exe", argv);
  // The exec failed: keep running as we are, and keep the environment as it was.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kReexecFrom);
}

std::string BlasCoreSummary() {
  const std::string core = LoadedCore();
  if (core.empty()) return "not OpenBLAS";
  using ConfigFn = char* (*)();
  auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  std::string version = "OpenBLAS";
  if (config != nullptr && config() != nullptr) {
    const std::string c = config();
    version = c.substr(0, c.find(' ', c.find(' ') + 1));  // "OpenBLAS 0.3.21"
  }
  std::string out = version + ", " + core + " kernels";
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  const char* from = std::getenv(kReexecFrom);
  if (set != nullptr && from != nullptr) {
    out += std::string(" (OPENBLAS_CORETYPE=") + set + " set by mem1: OpenBLAS had picked " + from + " for this CPU)";
  } else if (set != nullptr) {
    out += std::string(" (OPENBLAS_CORETYPE=") + set + ")";
  } else {
    out += " (OPENBLAS_CORETYPE unset, as OpenBLAS picked)";
  }
  return out;
}

}  // namespace mem1
