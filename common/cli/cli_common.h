// Shared command-line plumbing for every mem1 binary: --config / --set flags, logging set-up,
// runtime (threads, seeds) application. Binaries stay thin and call these.
#ifndef MEM1_COMMON_CLI_CLI_COMMON_H_
#define MEM1_COMMON_CLI_CLI_COMMON_H_

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/config/config.h"

namespace mem1 {

struct ConfigFlags {
  std::string config_path;             // --config FILE ("" = built-in defaults)
  std::vector<std::string> overrides;  // --set key.path=value (repeatable)
};

// Adds --config and --set to `app`.
void AddConfigFlags(CLI::App* app, ConfigFlags* flags);

// Loads + validates the config; on error prints one line "error: <message>" to stderr and
// returns false.
bool LoadConfigOrReport(const ConfigFlags& flags, Mem1Config* config);

// Initialises glog for a CLI (logs to stderr, no log files unless GLOG_log_dir is set).
void InitLogging(const char* argv0);

// Applies runtime.threads (0 = all cores of this process) to libtorch's intra-op pool.
// Returns the thread count in effect.
int ApplyThreads(int32_t threads);

// Prints "error: <status message>" and returns exit code 1 (2 for usage errors).
int ReportError(const Status& status);

}  // namespace mem1

#endif  // MEM1_COMMON_CLI_CLI_COMMON_H_
