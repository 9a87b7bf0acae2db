#include "bench/bench_env.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace mem1 {

void PrintBenchEnvironment(int threads) {
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  std::cout << "# mem1 bench | commit " << MEM1_GIT_COMMIT << " | build " << MEM1_BUILD_TYPE << " | threads "
            << threads << " | OPENBLAS_CORETYPE=" << (core ? core : "(auto)") << "\n";
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
