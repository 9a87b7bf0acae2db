#include "common/cli/cli_common.h"

#include <sched.h>
#include <ATen/Parallel.h>

#include <iostream>

namespace mem1 {

void AddConfigFlags(CLI::App* app, ConfigFlags* flags) {
  app->add_option("--config", flags->config_path, "YAML config file (default: built-in defaults)");
  app->add_option("--set", flags->overrides, "Override a config value: key.path=value (repeatable)")
      ->allow_extra_args(false);
}

bool LoadConfigOrReport(const ConfigFlags& flags, Mem1Config* config) {
  auto result = LoadConfig(flags.config_path, flags.overrides);
  if (!result.ok()) {
    std::cerr << "error: " << result.status().message() << "\n";
    return false;
  }
  *config = std::move(result).value();
  return true;
}

void InitLogging(const char* argv0) {
  static bool done = false;
  if (done) return;
  done = true;
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 0;
  google::InitGoogleLogging(argv0);
}

int ApplyThreads(int32_t threads) {
  int n = threads;
  if (n <= 0) {
    cpu_set_t set;
    n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  }
  at::set_num_threads(n);
  return n;
}

int ReportError(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace mem1
