#include "bench/bench_env.h"

#include <cstdlib>
#include <iostream>

namespace mem1 {

void PrintBenchEnvironment(int threads) {
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  std::cout << "# mem1 bench | commit " << MEM1_GIT_COMMIT << " | build " << MEM1_BUILD_TYPE << " | threads "
            << threads << " | OPENBLAS_CORETYPE=" << (core ? core : "(auto)") << "\n";
}

}  // namespace mem1
