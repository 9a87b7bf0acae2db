#include "common/model/skinny_gemm.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mem1 {
namespace {

// K floats per chunk: a pass's x tile (at most 8 rows x 2 KiB) stays in L1 while the weight rows
// stream past it.
constexpr int64_t kChunk = 512;
// Weight rows per parallel task: a multiple of every R a pass of that many rows uses (kR512,
// kR256: passes of 5..8 rows once M > 8), and the task's partial sums (rows x M vectors) stay
// within 24 KiB of L1.
int64_t RowsPerTask(int64_t m) { return m <= 8 ? 48 : m <= 16 ? 24 : 12; }
constexpr int64_t kPartFloats = 48 * 8 * 16;
constexpr int64_t kBf16MaxRows = 8;  // see SkinnyLinear

std::atomic<bool>& EnabledFlag() {
  static std::atomic<bool> enabled{[] {
    const char* e = std::getenv("MEM1_SKINNY_GEMM");
    return !(e != nullptr && std::strcmp(e, "0") == 0);
  }()};
  return enabled;
}

std::atomic<int>& FormatFlag() {
  static std::atomic<int> format{[] {
    const char* e = std::getenv("MEM1_DECODE_WEIGHTS");
    return static_cast<int>(e != nullptr && std::strcmp(e, "bf16") == 0 ? DecodeWeightFormat::kBf16
                                                                          : DecodeWeightFormat::kFp32);
  }()};
  return format;
}

// The bf16 copy of a weight, made on first use and again whenever the weight changes (a new
// tensor, new storage, or an in-place write such as loading new weights: each bumps the
// tensor's version counter). Entries of freed weights are dropped on the next miss.
struct Bf16Entry {
  c10::weak_intrusive_ptr<c10::TensorImpl> owner;
  const void* data = nullptr;
  int64_t version = -1;
  torch::Tensor bf16;
};

torch::Tensor Bf16Copy(const torch::Tensor& w) {
  static std::mutex mu;
  static std::unordered_map<const c10::TensorImpl*, Bf16Entry> cache;
  std::lock_guard<std::mutex> lock(mu);
  const c10::TensorImpl* impl = w.unsafeGetTensorImpl();
  const int64_t version = static_cast<int64_t>(w._version());
  auto it = cache.find(impl);
  if (it != cache.end() && !it->second.owner.expired() && it->second.data == w.data_ptr() &&
      it->second.version == version) {
    return it->second.bf16;
  }
  for (auto e = cache.begin(); e != cache.end();) e = e->second.owner.expired() ? cache.erase(e) : std::next(e);
  Bf16Entry entry{c10::weak_intrusive_ptr<c10::TensorImpl>(w.getIntrusivePtr()), w.data_ptr(), version,
                  w.to(torch::kBFloat16).contiguous()};
  torch::Tensor out = entry.bf16;
  cache.insert_or_assign(impl, std::move(entry));
  return out;
}

#if defined(__x86_64__)

// Prefetch into L1: each block asks for the same k of the next R weight rows (the next block),
// about one block ahead of its use. Without it a pass of 8 rows streams W at ~65% of the one-row
// speed: the out-of-order window covers fewer lines when each line takes 8 x more FMAs. A
// prefetch never faults, so the last block may point past W.
inline void Prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

// Weights as fp32 vectors: fp32 as stored, or bf16 (the high 16 bits of an fp32) widened by a
// shift, which is exact. `n` < lanes: only the first n, the rest zero.
__attribute__((target("avx512f"))) inline __m512 LoadW512(const float* p) { return _mm512_loadu_ps(p); }
// (The masked forms with all lanes selected: GCC 12 warns on the _mm512_undefined_epi32 inside
// the unmasked ones, as for Sum512.)
__attribute__((target("avx512f"))) inline __m512 LoadW512(const uint16_t* p) {
  constexpr __mmask16 kAll = 0xFFFF;
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, _mm512_maskz_cvtepu16_epi32(kAll, h), 16));
}
__attribute__((target("avx512f"))) inline __m512 LoadW512(const float* p, int64_t n) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
}
__attribute__((target("avx512f"))) inline __m512 LoadW512(const uint16_t* p, int64_t n) {
  alignas(32) uint16_t buf[16] = {};
  std::memcpy(buf, p, static_cast<size_t>(n) * sizeof(uint16_t));
  return LoadW512(buf);
}
__attribute__((target("avx2"))) inline __m256 LoadW256(const float* p) { return _mm256_loadu_ps(p); }
__attribute__((target("avx2"))) inline __m256 LoadW256(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
__attribute__((target("avx2"))) inline __m256 LoadW256(const float* p, int64_t n) {
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_maskload_ps(p, mask);
}
__attribute__((target("avx2"))) inline __m256 LoadW256(const uint16_t* p, int64_t n) {
  alignas(16) uint16_t buf[8] = {};
  std::memcpy(buf, p, static_cast<size_t>(n) * sizeof(uint16_t));
  return LoadW256(buf);
}

__attribute__((target("avx512f"))) inline float Sum512(__m512 v) {
  constexpr __mmask16 kAll = 0xFFFF;
  __m512 t = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, kAll, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  t = _mm512_add_ps(t, _mm512_mask_shuffle_f32x4(t, kAll, t, t, _MM_SHUFFLE(2, 3, 0, 1)));
  t = _mm512_add_ps(t, _mm512_mask_permute_ps(t, kAll, t, _MM_SHUFFLE(1, 0, 3, 2)));
  t = _mm512_add_ps(t, _mm512_mask_permute_ps(t, kAll, t, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(t);
}

// One K chunk [kb, ke) of M rows of x against R weight rows starting at `w` (row stride K).
// The M x R vector accumulators start from `part` (or zero when `first`) and go back to it, or,
// when `last`, are reduced into y[m * ldy + r]. Each lane sums its k's in the same order however
// K is chunked, so the result does not depend on the chunk size.
template <int M, int R, typename WT>
__attribute__((target("avx512f,fma"))) void Chunk512(const float* x, int64_t K, const WT* w, int64_t kb,
                                                     int64_t ke, float* part, bool first, bool last, float* y,
                                                     int64_t ldy) {
  __m512 acc[M][R];
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[m][r] = first ? _mm512_setzero_ps() : _mm512_load_ps(part + (m * R + r) * 16);
  }
  int64_t k = kb;
  for (; k + 16 <= ke; k += 16) {
    __m512 wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      wv[r] = LoadW512(w + r * K + k);
      Prefetch(w + (R + r) * K + k);
    }
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      const __m512 xv = _mm512_loadu_ps(x + m * K + k);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[m][r] = _mm512_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
  if (k < ke) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (ke - k)) - 1u);
    __m512 wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) wv[r] = LoadW512(w + r * K + k, ke - k);
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m) {
      const __m512 xv = _mm512_maskz_loadu_ps(mask, x + m * K + k);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[m][r] = _mm512_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      if (last) {
        y[m * ldy + r] = Sum512(acc[m][r]);
      } else {
        _mm512_store_ps(part + (m * R + r) * 16, acc[m][r]);
      }
    }
  }
}

__attribute__((target("avx2,fma"))) inline float Sum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int M, int R, typename WT>
__attribute__((target("avx2,fma"))) void Chunk256(const float* x, int64_t K, const WT* w, int64_t kb,
                                                  int64_t ke, float* part, bool first, bool last, float* y,
                                                  int64_t ldy) {
  __m256 acc[M][R];
#pragma GCC unroll 4
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[m][r] = first ? _mm256_setzero_ps() : _mm256_load_ps(part + (m * R + r) * 8);
  }
  int64_t k = kb;
  for (; k + 8 <= ke; k += 8) {
    __m256 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      wv[r] = LoadW256(w + r * K + k);
      if ((k & 15) == 0) Prefetch(w + (R + r) * K + k);  // one per 64-byte line (fp32)
    }
#pragma GCC unroll 4
    for (int m = 0; m < M; ++m) {
      const __m256 xv = _mm256_loadu_ps(x + m * K + k);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[m][r] = _mm256_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
  if (k < ke) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(ke - k)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = LoadW256(w + r * K + k, ke - k);
#pragma GCC unroll 4
    for (int m = 0; m < M; ++m) {
      const __m256 xv = _mm256_maskload_ps(x + m * K + k, mask);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[m][r] = _mm256_fmadd_ps(xv, wv[r], acc[m][r]);
    }
  }
#pragma GCC unroll 4
  for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      if (last) {
        y[m * ldy + r] = Sum256(acc[m][r]);
      } else {
        _mm256_store_ps(part + (m * R + r) * 8, acc[m][r]);
      }
    }
  }
}

template <typename WT>
using ChunkFn = void (*)(const float*, int64_t, const WT*, int64_t, int64_t, float*, bool, bool, float*, int64_t);

// Register blocking per pass of M rows: M x R accumulators + R weight vectors + 1 x vector fit
// the register file (32 zmm / 16 ymm) with the most FMAs per load; R divides RowsPerTask.
constexpr int kR512[9] = {0, 8, 8, 6, 4, 4, 4, 3, 3};
constexpr int kR256[5] = {0, 4, 4, 3, 2};
constexpr int64_t kPass512 = 8, kPass256 = 4;  // rows of x per pass

template <typename WT>
struct PassKernel {
  ChunkFn<WT> block = nullptr;  // R weight rows
  ChunkFn<WT> one = nullptr;    // 1 weight row (the range's tail)
  int r = 0;
};

template <int M, typename WT>
PassKernel<WT> Pick(bool avx512) {
  if (avx512) return {&Chunk512<M, kR512[M], WT>, &Chunk512<M, 1, WT>, kR512[M]};
  if constexpr (M <= kPass256) return {&Chunk256<M, kR256[M], WT>, &Chunk256<M, 1, WT>, kR256[M]};
  return {};
}

template <typename WT>
PassKernel<WT> KernelFor(int64_t m, bool avx512) {
  switch (m) {
    case 1: return Pick<1, WT>(avx512);
    case 2: return Pick<2, WT>(avx512);
    case 3: return Pick<3, WT>(avx512);
    case 4: return Pick<4, WT>(avx512);
    case 5: return Pick<5, WT>(avx512);
    case 6: return Pick<6, WT>(avx512);
    case 7: return Pick<7, WT>(avx512);
    case 8: return Pick<8, WT>(avx512);
    default: return {};
  }
}

// Weight rows [nb, ne) (at most RowsPerTask(M)) for all M rows of x, K chunk by chunk: a pass's x
// chunk stays in L1 while the range's weight rows stream past it; partial sums wait in `part`.
template <typename WT>
void RowRange(const float* x, int64_t M, int64_t K, const WT* w, float* y, int64_t N, int64_t nb, int64_t ne,
              bool avx512) {
  const int64_t pass_max = avx512 ? kPass512 : kPass256;
  const int64_t lanes = avx512 ? 16 : 8;
  const int64_t passes = (M + pass_max - 1) / pass_max;
  alignas(64) float part[kPartFloats];
  for (int64_t kb = 0; kb < K; kb += kChunk) {
    const int64_t ke = std::min(K, kb + kChunk);
    const bool first = kb == 0, last = ke == K;
    float* pp = part;
    for (int64_t p = 0, m0 = 0; p < passes; ++p) {
      const int64_t mm = (M - m0 + (passes - p) - 1) / (passes - p);  // balanced passes
      const PassKernel<WT> kern = KernelFor<WT>(mm, avx512);
      const float* xp = x + m0 * K;
      float* yp = y + m0 * N;
      int64_t n = nb;
      for (; n + kern.r <= ne; n += kern.r, pp += mm * kern.r * lanes) {
        kern.block(xp, K, w + n * K, kb, ke, pp, first, last, yp + n, N);
      }
      for (; n < ne; ++n, pp += mm * lanes) kern.one(xp, K, w + n * K, kb, ke, pp, first, last, yp + n, N);
      m0 += mm;
    }
  }
}

template <typename WT>
void RunKernel(const float* x, int64_t M, int64_t K, const WT* w, float* y, int64_t N, bool avx512) {
  const int64_t rows = RowsPerTask(M);
  const int64_t tasks = (N + rows - 1) / rows;
  at::parallel_for(0, tasks, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) RowRange(x, M, K, w, y, N, t * rows, std::min(N, (t + 1) * rows), avx512);
  });
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
void SetDecodeWeights(DecodeWeightFormat format) { FormatFlag().store(static_cast<int>(format)); }
DecodeWeightFormat DecodeWeights() { return static_cast<DecodeWeightFormat>(FormatFlag().load()); }
bool SkinnyGemmEnabled() { return EnabledFlag().load(); }

bool SkinnyLinearApplies(const torch::Tensor& x, const torch::Tensor& w) {
  if (!SkinnyGemmEnabled() || DetectSkinnyIsa() == SkinnyIsa::kNone) return false;
  if (w.dim() != 2 || x.dim() < 1 || !x.device().is_cpu() || !w.device().is_cpu()) return false;
  if (x.scalar_type() != torch::kFloat32 || w.scalar_type() != torch::kFloat32 || !w.is_contiguous()) return false;
  if (torch::GradMode::is_enabled() && (w.requires_grad() || x.requires_grad())) return false;
  const int64_t K = x.size(-1);
  if (K != w.size(1) || K == 0) return false;
  const int64_t rows = x.numel() / K;
  // One row (a GEMV) too: measured at the 0.5B shape, b = 1 decode ran 1.07-1.10x faster than
  // with torch::mv on OpenBLAS's SkylakeX kernels and 1.75x on its Prescott ones.
  return rows >= 1 && rows <= kSkinnyMaxRows;
}

torch::Tensor SkinnyLinear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, SkinnyIsa isa) {
  if (isa == SkinnyIsa::kNone) isa = DetectSkinnyIsa();
  const int64_t K = x.size(-1), N = w.size(0);
  const int64_t M = x.numel() / K;
  auto x2 = x.reshape({M, K}).contiguous();
  auto y = torch::empty({M, N}, x.options());
#if defined(__x86_64__)
  TORCH_CHECK(isa != SkinnyIsa::kNone && M >= 1 && M <= kSkinnyMaxRows, "SkinnyLinear: unsupported call");
  const bool avx512 = isa == SkinnyIsa::kAvx512;
  const float* xp = x2.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  // bf16 weights for up to 8 rows (one pass on AVX-512): beyond, each pass re-reads and re-widens
  // the weights and the widening costs more than the bytes saved (0.5B shape, b = 32: 0.85x fp32).
  if (DecodeWeights() == DecodeWeightFormat::kBf16 && M <= kBf16MaxRows) {
    const torch::Tensor wb = Bf16Copy(w);
    RunKernel(xp, M, K, reinterpret_cast<const uint16_t*>(wb.data_ptr<at::BFloat16>()), yp, N, avx512);
  } else {
    RunKernel(xp, M, K, w.data_ptr<float>(), yp, N, avx512);
  }
#else
  TORCH_CHECK(false, "SkinnyLinear: no x86-64 kernel on this platform");
#endif
  if (b.defined()) y.add_(b);
  auto shape = x.sizes().vec();
  shape.back() = N;
  return y.reshape(shape);
}

}  // namespace mem1
