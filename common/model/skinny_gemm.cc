#include "common/model/skinny_gemm.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mem1 {
namespace {

constexpr int64_t kMaxRows = 16;
constexpr int64_t kRowsPerTask = 64;  // weight rows per parallel task (a multiple of every R)

std::atomic<bool>& EnabledFlag() {
  static std::atomic<bool> enabled{[] {
    const char* e = std::getenv("MEM1_SKINNY_GEMM");
    return !(e != nullptr && std::strcmp(e, "0") == 0);
  }()};
  return enabled;
}

#if defined(__x86_64__)

// Sum of the 16 lanes. The masked forms with an explicit source (all lanes selected): GCC 12
// warns on the _mm512_undefined_ps inside _mm512_reduce_add_ps and the unmasked shuffles.
__attribute__((target("avx512f"))) inline float Sum512(__m512 v) {
  constexpr __mmask16 kAll = 0xFFFF;
  __m512 t = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, kAll, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  t = _mm512_add_ps(t, _mm512_mask_shuffle_f32x4(t, kAll, t, t, _MM_SHUFFLE(2, 3, 0, 1)));
  t = _mm512_add_ps(t, _mm512_mask_permute_ps(t, kAll, t, _MM_SHUFFLE(1, 0, 3, 2)));
  t = _mm512_add_ps(t, _mm512_mask_permute_ps(t, kAll, t, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(t);
}

// ---- AVX-512: M x R accumulators of 16 floats; W rows [n0, n0 + R) ----
template <int M, int R>
__attribute__((target("avx512f,fma"))) void Block512(const float* x, int64_t K, const float* w, float* y, int64_t ldy,
                                                     int64_t n0) {
  __m512 acc[M][R];
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[m][r] = _mm512_setzero_ps();
  }
  const float* wr = w + n0 * K;
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = _mm512_loadu_ps(wr + r * K + k);
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
      const __m512 xv = _mm512_loadu_ps(x + m * K + k);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[m][r] = _mm512_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
  if (k < K) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (K - k)) - 1u);
    __m512 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = _mm512_maskz_loadu_ps(mask, wr + r * K + k);
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
      const __m512 xv = _mm512_maskz_loadu_ps(mask, x + m * K + k);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[m][r] = _mm512_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) y[m * ldy + n0 + r] = Sum512(acc[m][r]);
  }
}

// ---- AVX2 + FMA: M x R accumulators of 8 floats ----
__attribute__((target("avx2,fma"))) inline float Sum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int M, int R>
__attribute__((target("avx2,fma"))) void Block256(const float* x, int64_t K, const float* w, float* y, int64_t ldy,
                                                  int64_t n0) {
  __m256 acc[M][R];
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[m][r] = _mm256_setzero_ps();
  }
  const float* wr = w + n0 * K;
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = _mm256_loadu_ps(wr + r * K + k);
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      const __m256 xv = _mm256_loadu_ps(x + m * K + k);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[m][r] = _mm256_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
  if (k < K) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(K - k)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = _mm256_maskload_ps(wr + r * K + k, mask);
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      const __m256 xv = _mm256_maskload_ps(x + m * K + k, mask);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[m][r] = _mm256_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) y[m * ldy + n0 + r] = Sum256(acc[m][r]);
  }
}

// Weight rows [nb, ne) for M rows of x: blocks of R, the tail one row at a time.
template <int M, int R, bool kAvx512>
void RowRange(const float* x, int64_t K, const float* w, float* y, int64_t ldy, int64_t nb, int64_t ne) {
  int64_t n = nb;
  for (; n + R <= ne; n += R) {
    if constexpr (kAvx512) {
      Block512<M, R>(x, K, w, y, ldy, n);
    } else {
      Block256<M, R>(x, K, w, y, ldy, n);
    }
  }
  for (; n < ne; ++n) {
    if constexpr (kAvx512) {
      Block512<M, 1>(x, K, w, y, ldy, n);
    } else {
      Block256<M, 1>(x, K, w, y, ldy, n);
    }
  }
}

using RangeFn = void (*)(const float*, int64_t, const float*, float*, int64_t, int64_t, int64_t);

// The kernel for M rows. AVX-512 (32 vector registers): R = 4 up to M = 4, 2 up to 8, 1 up to
// 16. AVX2 (16 registers): R = 4 up to M = 2, 2 up to 4, 1 up to 8 (more rows: passes of 8).
template <int M>
RangeFn Pick(bool avx512) {
  if (avx512) {
    constexpr int R = M <= 4 ? 4 : M <= 8 ? 2 : 1;
    return &RowRange<M, R, true>;
  }
  if constexpr (M <= 8) {
    constexpr int R = M <= 2 ? 4 : M <= 4 ? 2 : 1;
    return &RowRange<M, R, false>;
  }
  return nullptr;
}

RangeFn KernelFor(int64_t m, bool avx512) {
  switch (m) {
    case 1: return Pick<1>(avx512);
    case 2: return Pick<2>(avx512);
    case 3: return Pick<3>(avx512);
    case 4: return Pick<4>(avx512);
    case 5: return Pick<5>(avx512);
    case 6: return Pick<6>(avx512);
    case 7: return Pick<7>(avx512);
    case 8: return Pick<8>(avx512);
    case 9: return Pick<9>(avx512);
    case 10: return Pick<10>(avx512);
    case 11: return Pick<11>(avx512);
    case 12: return Pick<12>(avx512);
    case 13: return Pick<13>(avx512);
    case 14: return Pick<14>(avx512);
    case 15: return Pick<15>(avx512);
    case 16: return Pick<16>(avx512);
    default: return nullptr;
  }
}

#endif  // __x86_64__

}  // namespace

SkinnyIsa DetectSkinnyIsa() {
#if defined(__x86_64__)
  static const SkinnyIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return SkinnyIsa::kAvx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SkinnyIsa::kAvx2;
    return SkinnyIsa::kNone;
  }();
  return isa;
#else
  return SkinnyIsa::kNone;
#endif
}

const char* SkinnyIsaName(SkinnyIsa isa) {
  switch (isa) {
    case SkinnyIsa::kAvx512: return "avx512";
    case SkinnyIsa::kAvx2: return "avx2";
    case SkinnyIsa::kNone: return "none";
  }
  return "?";
}

void SetSkinnyGemmEnabled(bool enabled) { EnabledFlag().store(enabled); }
bool SkinnyGemmEnabled() { return EnabledFlag().load(); }

bool SkinnyLinearApplies(const torch::Tensor& x, const torch::Tensor& w) {
  if (!SkinnyGemmEnabled() || DetectSkinnyIsa() == SkinnyIsa::kNone) return false;
  if (w.dim() != 2 || x.dim() < 1 || !x.device().is_cpu() || !w.device().is_cpu()) return false;
  if (x.scalar_type() != torch::kFloat32 || w.scalar_type() != torch::kFloat32 || !w.is_contiguous()) return false;
  if (torch::GradMode::is_enabled() && (w.requires_grad() || x.requires_grad())) return false;
  const int64_t K = x.size(-1);
  if (K != w.size(1) || K == 0) return false;
  const int64_t rows = x.numel() / K;
  // One row is a GEMV: torch::mv streams it as fast (measured: the kernel 0.91-0.97x of mv).
  return rows >= 2 && rows <= kMaxRows;
}

torch::Tensor SkinnyLinear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, SkinnyIsa isa) {
  if (isa == SkinnyIsa::kNone) isa = DetectSkinnyIsa();
  const int64_t K = x.size(-1), N = w.size(0);
  const int64_t M = x.numel() / K;
  auto x2 = x.reshape({M, K}).contiguous();
  auto y = torch::empty({M, N}, x.options());
#if defined(__x86_64__)
  const bool avx512 = isa == SkinnyIsa::kAvx512;
  const int64_t pass = avx512 ? kMaxRows : 8;  // rows of x per pass over W
  TORCH_CHECK(isa != SkinnyIsa::kNone && M >= 1 && M <= kMaxRows, "SkinnyLinear: unsupported call");
  const float* xp = x2.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const int64_t tasks = (N + kRowsPerTask - 1) / kRowsPerTask;
  at::parallel_for(0, tasks, 1, [&](int64_t tb, int64_t te) {
    const int64_t nb = tb * kRowsPerTask, ne = std::min(N, te * kRowsPerTask);
    for (int64_t m0 = 0; m0 < M; m0 += pass) {
      const int64_t mm = std::min(pass, M - m0);
      KernelFor(mm, avx512)(xp + m0 * K, K, wp, yp + m0 * N, N, nb, ne);
    }
  });
#else
  TORCH_CHECK(false, "SkinnyLinear: no x86-64 kernel on this platform");
#endif
  if (b.defined()) y.add_(b);
  auto shape = x.sizes().vec();
  shape.back() = N;
  return y.reshape(shape);
}

}  // namespace mem1
