// OpenBLAS kernel choice at process start.
//
// Debian's OpenBLAS (a DYNAMIC_ARCH build) picks its kernel set from the CPU model when the
// library loads. A model it does not know (virtual machines often report a generic "Intel Xeon
// Processor") gets the Prescott (SSE3) kernels: on the 2-core AVX-512 development VM, sgemm
// 2048^3 ran at 66 GFLOP/s with them and 290 GFLOP/s with the SkylakeX ones (the same libtorch
// and library, OPENBLAS_CORETYPE=SkylakeX). Every prefill and every learner step is sgemm.
//
// The kernel set can only be chosen before the library loads (the OPENBLAS_CORETYPE environment
// variable), so EnsureFastBlasKernels re-executes the program with it set. Binaries call it first
// thing in main().
//
// Thread safety: call from main() before any other thread exists.
#ifndef MEM1_COMMON_MODEL_BLAS_CORE_H_
#define MEM1_COMMON_MODEL_BLAS_CORE_H_

#include <string>

namespace mem1 {

// When the loaded BLAS is OpenBLAS running a kernel set below what this CPU supports (AVX-512
// F/BW/DQ/VL/CD: SkylakeX; AVX2 + FMA: Haswell), sets OPENBLAS_CORETYPE and re-executes
// /proc/self/exe with the same argv and environment; returns only if it does not. Does nothing
// when OPENBLAS_CORETYPE is already set (the user's choice wins), when MEM1_BLAS_REEXEC=0, when
// the BLAS is not OpenBLAS, or when the exec fails (the process then runs on the kernels it has).
void EnsureFastBlasKernels(char** argv);

// One line for logs and bench headers, e.g. "OpenBLAS 0.3.21, SkylakeX kernels
// (OPENBLAS_CORETYPE=SkylakeX set by mem1: OpenBLAS had picked Prescott for this CPU)", or
// "OpenBLAS 0.3.21, Haswell kernels (OPENBLAS_CORETYPE unset, as OpenBLAS picked)", or "not OpenBLAS".
std::string BlasCoreSummary();

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_BLAS_CORE_H_
