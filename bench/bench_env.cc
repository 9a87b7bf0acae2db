#include "bench/bench_env.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/model/blas_core.h"

namespace mem1 {

namespace {

// The CPU model and the SIMD features that matter for the kernels libtorch/OpenBLAS pick.
std::string CpuSummary() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(in, line) && (model.empty() || flags.empty())) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    if (key == "model name" && model.empty()) model = line.substr(colon + 2);
    if (key == "flags" && flags.empty()) flags = " " + line.substr(colon + 1) + " ";
  }
  std::string used;
  for (const char* f : {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"}) {
    if (flags.find(std::string(" ") + f + " ") != std::string::npos) used += std::string(used.empty() ? "" : ",") + f;
  }
  return (model.empty() ? std::string("unknown CPU") : model) + " | cpu flags " + (used.empty() ? "none of avx2/avx512" : used);
}

// BLAS libtorch was built against (from at::show_config()).
std::string BlasSummary() {
  const std::string config = at::show_config();
  const auto at = config.find("BLAS_INFO=");
  if (at == std::string::npos) return "unknown";
  const auto end = config.find_first_of(", \n", at);
  return config.substr(at + 10, end == std::string::npos ? std::string::npos : end - at - 10);
}

}  // namespace

void PrintBenchEnvironment(int threads) {
  std::cout << "# mem1 bench | commit " << MEM1_GIT_COMMIT << " | build " << MEM1_BUILD_TYPE << " | threads "
            << threads << " | libtorch " << TORCH_VERSION << " | BLAS " << BlasSummary() << ": " << BlasCoreSummary()
            << "\n# " << CpuSummary() << "\n";
}

double MeasureMmGflops(int64_t n) {
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::mm(a, b);  // warm-up
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    auto c = torch::mm(a, b);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n / dt / 1e9);
  }
  return best;
}

std::string FindTorchPython(const std::string& requested) {
  const std::vector<std::string> candidates =
      requested.empty() ? std::vector<std::string>{"python3", "/usr/bin/python3"} : std::vector<std::string>{requested};
  for (const auto& py : candidates) {
    const std::string probe = py + " -c 'import torch, numpy' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return py;
  }
  return "";
}

std::string NoTorchPythonReason(const std::string& requested) {
  return "no python (" + (requested.empty() ? std::string("python3, /usr/bin/python3") : requested) +
         ") imports torch and numpy (Debian: apt-get install python3-torch python3-numpy)";
}

int RunForLastLine(const std::string& command, std::string* last_line) {
  last_line->clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  const int status = ::pclose(pipe);
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) *last_line = line;
  }
  return status;
}

}  // namespace mem1

namespace mem1 {
namespace {

double StatusFieldMiB(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtod(line.c_str() + key.size(), nullptr) / 1024.0;  // kB
  }
  return -1;
}

}  // namespace

double RssMiB() { return StatusFieldMiB("VmRSS"); }
double PeakRssMiB() { return StatusFieldMiB("VmHWM"); }

bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

int64_t DiskBytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += static_cast<int64_t>(it->file_size(ec));
  }
  return total;
}

}  // namespace mem1
