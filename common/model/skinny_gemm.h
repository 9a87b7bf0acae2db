// Decode-shape projections: y[M,N] = x[M,K] · W[N,K]^T (+ b) for a few rows (M in 1..32) on
// CPU in fp32, streaming the weight matrix once at memory speed.
//
// Why: a decode step of B slots multiplies B rows by every weight matrix. BLAS's GEMM is built
// for large M and, at M = 8, streams the weights far below the memory bandwidth (measured for
// the Qwen2.5-0.5B shapes, weights not in cache: ~9.5 GB/s with OpenBLAS's SkylakeX kernels,
// ~6 GB/s with its Prescott ones, against ~29 GB/s for the M = 1 GEMV). This kernel reads W in
// its own row-major layout (no packed copy, so nothing goes stale when the actor loads new
// weights):
// - for a block of R weight rows it keeps M x R vector accumulators, loads each 16-float
//   (AVX-512) or 8-float (AVX2 + FMA) chunk of the R rows once and multiplies it with the M rows
//   of x (passes of at most 8 / 4 rows of x);
// - K runs in chunks of 512 so a pass's x chunk stays in L1 while a task's weight rows stream
//   past it (the accumulators wait in a small buffer between chunks, as whole vectors, so the
//   chunking does not change any sum);
// - each block prefetches the next block's rows into L1 one block ahead.
// Rows of W are split over torch's intra-op threads (at::parallel_for); every output is summed
// by one task, so the thread count does not change results. The ISA is picked at run time
// (AVX-512F, else AVX2+FMA, else the caller falls back to torch).
//
// Exactness: the sums run in another order than BLAS's, so results agree with torch::matmul to
// float rounding (tests: relative 1e-5), not bit for bit; greedy decoding is tested to pick the
// same ids. The learner (autograd) never takes this path.
//
// Thread safety: stateless apart from the process-wide on/off switch.
#ifndef MEM1_COMMON_MODEL_SKINNY_GEMM_H_
#define MEM1_COMMON_MODEL_SKINNY_GEMM_H_

#include <torch/torch.h>

namespace mem1 {

enum class SkinnyIsa { kNone, kAvx2, kAvx512 };

// The most rows of x the kernel takes (SkinnyLinearApplies); more go to torch's GEMM.
constexpr int64_t kSkinnyMaxRows = 32;

// The best ISA this CPU supports (kNone off x86-64 or without AVX2+FMA).
SkinnyIsa DetectSkinnyIsa();
const char* SkinnyIsaName(SkinnyIsa isa);

// Process-wide switch (default on; MEM1_SKINNY_GEMM=0 in the environment turns it off at start).
// The benches flip it to measure the kernel against torch in one run.
void SetSkinnyGemmEnabled(bool enabled);
bool SkinnyGemmEnabled();

// The weights the kernel reads (process-wide; the learner's autograd never takes this path):
// kFp32 (default) reads the fp32 weights; kBf16 reads a bf16 copy of each weight (round to
// nearest even, made on first use and remade when the weight changes), half the bytes, with the
// products and sums in fp32, for steps of up to 8 rows (more rows use the fp32 weights: there the
// widening costs more than the bytes saved). Opt-in for actors: their behaviour log-probs then differ from the
// learner's fp32 re-scoring by what the bench prints ("bf16 weights: ... log-prob gap"), which
// the decoupled-PPO correction absorbs as off-policyness. MEM1_DECODE_WEIGHTS=bf16 in the
// environment selects it at start.
enum class DecodeWeightFormat { kFp32, kBf16 };
void SetDecodeWeights(DecodeWeightFormat format);
DecodeWeightFormat DecodeWeights();

// Whether SkinnyLinear takes (x [.., K] with 1..32 rows, w [N, K]): enabled, an ISA, CPU fp32
// contiguous tensors, and no autograd on them.
bool SkinnyLinearApplies(const torch::Tensor& x, const torch::Tensor& w);

// x [..., K] -> [..., N]. `b` may be undefined. `isa` kNone = DetectSkinnyIsa(). The caller
// checks SkinnyLinearApplies (or, in tests, the shapes) first.
torch::Tensor SkinnyLinear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                           SkinnyIsa isa = SkinnyIsa::kNone);

}  // namespace mem1

#endif  // MEM1_COMMON_MODEL_SKINNY_GEMM_H_
