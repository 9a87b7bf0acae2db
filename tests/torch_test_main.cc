// GoogleTest main of the test executables that link libtorch (model, actor, learner): OpenBLAS's
// fast kernel set first, as the binaries get it (common/model/blas_core.h; on a CPU OpenBLAS does
// not know it would run SSE3 kernels, ~4x slower), then every test.
#include <gtest/gtest.h>

#include "common/model/blas_core.h"

int main(int argc, char** argv) {
  mem1::EnsureFastBlasKernels(argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
