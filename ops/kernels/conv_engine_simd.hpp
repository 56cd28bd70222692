// Private: the conv engine's instruction-set dependent kernels, one template
// body for every instruction set (the blocking is explained at the top of
// conv_engine.cpp). Included only by conv_engine_avx512.cpp, conv_engine_avx2.cpp
// and conv_engine_generic.cpp, each compiled with its own instruction-set flags
// and each turning this body into one EngineIsaKernels table for its xsimd arch.
//
// Everything here has internal linkage (an unnamed namespace) and uses neither
// the standard library's algorithms nor its containers: a function that two
// translation units both emit out of line (std::min<long>, std::vector<float>::
// assign, ...) is one weak symbol to the linker, which keeps whichever copy it
// meets first. Had the AVX-512 file emitted such a copy, a CPU without AVX-512
// could run it from the generic path and die on an illegal instruction. The
// xsimd functions used here are all templates on the arch, so their names differ
// per instruction set. Scratch memory comes from the caller (conv_engine.cpp).
#pragma once

#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "ops/kernels/conv_engine_kernels.hpp"

namespace tg::detail {
namespace {

inline std::int64_t min_i64(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

// Keeps v in a register from here on. Without it, GCC's generic tuning (the
// -mavx2 -mfma of a portable build, not -march=native) folds each load of B in
// dot_block into every FMA that uses it: with AVX2's 2 x 4 block, 8 loads per
// 8 FMAs instead of 6, and the weight gradient ran 25 % slower (perf: the
// kernel's samples 1099 vs 874). An empty asm statement costs no instruction.
template <class V> inline void keep_in_register(V& v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+v"(v.data));
#else
  (void)v;
#endif
}

template <class A> struct Blocking {
  template <class T> using Vec = xsimd::batch<T, A>;
  template <class T> static constexpr int kLanes = int(Vec<T>::size);
  static constexpr bool kWideRegisterFile = sizeof(Vec<float>) >= 64;  // AVX-512: 32 vector registers
  template <class T> static constexpr int kMR = kWideRegisterFile ? 8 : (sizeof(Vec<T>) >= 32 ? 6 : 4);
  static constexpr int kNV = 2;  // vectors per tile row
  template <class T> static constexpr int kNR = kNV * kLanes<T>;
  // Weight-gradient blocks: R rows of A x S rows of B, R*S accumulators plus
  // min(R, S) resident vectors and one streamed (at most 29 of AVX-512's 32
  // registers, 11-13 of AVX2's 16). The first is the default; gemm_abt_segments
  // takes whichever pads M x N least (LeNet-5's first conv: 6 filters x 25 taps
  // run as 6 x 4, 1.12x the work, instead of 4 x 6 at 1.6x).
};

// The MR x NV*lanes tile of C at c (row stride ldc) = its start value + Σ_k ap[k][i] * B[k][j],
// where B's row k starts at b + k*ldb, or at b + offsets[k] (implicit GEMM:
// the rows are shifted views of one padded image).
template <class A, class T, int MR, int NV, bool kOffsets>
inline void micro_kernel(std::int64_t K, const T* ap, const T* b, std::int64_t ldb, const std::int64_t* offsets,
                         T* c, std::int64_t ldc, const T* bias, bool accumulate) {
  using V = xsimd::batch<T, A>;
  constexpr int L = int(V::size);
  V s[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      s[i][v] = accumulate ? V::load_unaligned(c + i * ldc + v * L) : V(bias ? bias[i] : T(0));
  for (std::int64_t k = 0; k < K; ++k) {
    const T* row = kOffsets ? b + offsets[k] : b + k * ldb;
    V bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = V::load_unaligned(row + v * L);
    const T* a = ap + k * MR;
    for (int i = 0; i < MR; ++i) {
      const V av(a[i]);
      for (int v = 0; v < NV; ++v) s[i][v] = xsimd::fma(av, bv[v], s[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) s[i][v].store_unaligned(c + i * ldc + v * L);
}

// R rows of A times S rows of B, dot products over `segments` pieces of length
// L (a multiple of the lanes): piece s pairs A rows at a[s] + i*lda with B rows
// at b[s] + boffsets[j]. The pieces are the images of a fold, so the lanes are
// summed once for all of them. Per vector of L: the smaller side's vectors are
// loaded and kept, the other side's streamed one at a time through R*S FMAs.
template <class A, class T, int R, int S>
inline void dot_block(std::int64_t segments, std::int64_t L, const T* const* a, std::int64_t lda, const T* const* b,
                      const std::int64_t* a_rows, const std::int64_t* b_offsets, T (&out)[R][S]) {
  using V = xsimd::batch<T, A>;
  V s[R][S];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < S; ++j) s[i][j] = V(T(0));
  for (std::int64_t seg = 0; seg < segments; ++seg) {
    const T* ar[R];
    const T* br[S];
    for (int i = 0; i < R; ++i) ar[i] = a[seg] + a_rows[i] * lda;
    for (int j = 0; j < S; ++j) br[j] = b[seg] + b_offsets[j];
    for (std::int64_t l = 0; l < L; l += std::int64_t(V::size)) {
      if (R <= S) {
        V av[R];
        for (int i = 0; i < R; ++i) av[i] = V::load_unaligned(ar[i] + l);
        for (int j = 0; j < S; ++j) {
          V bv = V::load_unaligned(br[j] + l);
          keep_in_register(bv);
          for (int i = 0; i < R; ++i) s[i][j] = xsimd::fma(av[i], bv, s[i][j]);
        }
      } else {
        V bv[S];
        for (int j = 0; j < S; ++j) bv[j] = V::load_unaligned(br[j] + l);
        for (int i = 0; i < R; ++i) {
          V av = V::load_unaligned(ar[i] + l);
          keep_in_register(av);
          for (int j = 0; j < S; ++j) s[i][j] = xsimd::fma(av, bv[j], s[i][j]);
        }
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < S; ++j) out[i][j] = xsimd::hadd(s[i][j]);
}

// gemm_abt_segments with R x S blocks.
template <class A, class T, int R, int S>
void gemm_abt_blocks(std::int64_t M, std::int64_t N, std::int64_t L, std::int64_t segments, const T* const* a,
                     std::int64_t lda, const T* const* b, const std::int64_t* b_offsets, T* c, std::int64_t ldc) {
  for (std::int64_t n0 = 0; n0 < N; n0 += S) {
    std::int64_t boff[S];
    // At the edge, the last row again (computed, not stored).
    for (int j = 0; j < S; ++j) boff[j] = b_offsets[min_i64(n0 + j, N - 1)];
    for (std::int64_t m0 = 0; m0 < M; m0 += R) {
      std::int64_t arow[R];
      for (int i = 0; i < R; ++i) arow[i] = min_i64(m0 + i, M - 1);
      T out[R][S];
      dot_block<A, T, R, S>(segments, L, a, lda, b, arow, boff, out);
      for (int i = 0; i < R && m0 + i < M; ++i)
        for (int j = 0; j < S && n0 + j < N; ++j) c[(m0 + i) * ldc + n0 + j] += out[i][j];
    }
  }
}

// Multiply-adds of an M x N block grid with R x S blocks (the edges padded).
inline std::int64_t padded_work(std::int64_t M, std::int64_t N, std::int64_t R, std::int64_t S) {
  return (M + R - 1) / R * R * ((N + S - 1) / S * S);
}

// C[M,N] += Σ_seg A_seg[M,L]·B_seg[N,L]ᵀ, A_seg row m at a[seg] + m*lda, B_seg row n at b[seg] + b_offsets[n],
// in the block shape that pads M x N least (ties: the earlier one).
template <class A, class T>
void gemm_abt_segments(std::int64_t M, std::int64_t N, std::int64_t L, std::int64_t segments, const T* const* a,
                       std::int64_t lda, const T* const* b, const std::int64_t* b_offsets, T* c, std::int64_t ldc) {
  if (Blocking<A>::kWideRegisterFile) {
    const std::int64_t w46 = padded_work(M, N, 4, 6), w64 = padded_work(M, N, 6, 4);
    const std::int64_t w38 = padded_work(M, N, 3, 8), w83 = padded_work(M, N, 8, 3);
    const std::int64_t best = min_i64(min_i64(w46, w64), min_i64(w38, w83));
    if (w46 == best) return gemm_abt_blocks<A, T, 4, 6>(M, N, L, segments, a, lda, b, b_offsets, c, ldc);
    if (w64 == best) return gemm_abt_blocks<A, T, 6, 4>(M, N, L, segments, a, lda, b, b_offsets, c, ldc);
    if (w38 == best) return gemm_abt_blocks<A, T, 3, 8>(M, N, L, segments, a, lda, b, b_offsets, c, ldc);
    return gemm_abt_blocks<A, T, 8, 3>(M, N, L, segments, a, lda, b, b_offsets, c, ldc);
  }
  const std::int64_t w24 = padded_work(M, N, 2, 4), w42 = padded_work(M, N, 4, 2), w33 = padded_work(M, N, 3, 3);
  const std::int64_t best = min_i64(w24, min_i64(w42, w33));
  if (w24 == best) return gemm_abt_blocks<A, T, 2, 4>(M, N, L, segments, a, lda, b, b_offsets, c, ldc);
  if (w42 == best) return gemm_abt_blocks<A, T, 4, 2>(M, N, L, segments, a, lda, b, b_offsets, c, ldc);
  return gemm_abt_blocks<A, T, 3, 3>(M, N, L, segments, a, lda, b, b_offsets, c, ldc);
}

// The weight gradient from a channels-last image (see gemm_channels_last in
// conv_engine_kernels.hpp): an MR x NV-vector tile of C[M, J*lanes] (row stride
// ldc) += Σ_{oh<OH, ow<OW} A[i][oh*OW + ow] * xt[oh*line + ow*step + boff[v] .. + lanes),
// A's rows at arow[i]. Per output pixel: NV loads of the image, MR broadcasts of
// the gradient, MR*NV FMAs; the tile stays in registers for the whole image.
template <class A, class T, int MR, int NV>
inline void channels_last_tile(std::int64_t OH, std::int64_t OW, const T* const* arow, const T* xt, std::int64_t line,
                               std::int64_t step, const std::int64_t* boff, T* c, std::int64_t ldc) {
  using V = xsimd::batch<T, A>;
  constexpr int L = int(V::size);
  V s[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) s[i][v] = V::load_unaligned(c + i * ldc + v * L);
  const T* ar[MR];
  for (int i = 0; i < MR; ++i) ar[i] = arow[i];
  std::int64_t off[NV];
  for (int v = 0; v < NV; ++v) off[v] = boff[v];
  for (std::int64_t oh = 0; oh < OH; ++oh) {
    const T* xl = xt + oh * line;
    for (std::int64_t ow = 0; ow < OW; ++ow) {
      const T* xp = xl + ow * step;
      V bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = V::load_unaligned(xp + off[v]);
      for (int i = 0; i < MR; ++i) {
        const V av(ar[i][ow]);
        for (int v = 0; v < NV; ++v) s[i][v] = xsimd::fma(av, bv[v], s[i][v]);
      }
    }
    for (int i = 0; i < MR; ++i) ar[i] += OW;
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) s[i][v].store_unaligned(c + i * ldc + v * L);
}

template <class A, class T>
void gemm_channels_last(std::int64_t M, std::int64_t J, std::int64_t OH, std::int64_t OW, const T* a,
                        std::int64_t lda, const T* xt, std::int64_t line, std::int64_t step, const std::int64_t* boff,
                        T* c, std::int64_t ldc) {
  using B = Blocking<A>;
  constexpr int MR = B::template kMR<T>, L = B::template kLanes<T>;
  constexpr int NV = B::kWideRegisterFile ? 3 : 2;  // 24 accumulators of 32 registers; 12 of 16
  std::int64_t j0 = 0;
  auto run_block = [&](auto nv) {
    constexpr int W = decltype(nv)::value;
    for (std::int64_t m0 = 0; m0 < M; m0 += MR) {
      const std::int64_t rows = min_i64(MR, M - m0);
      const T* arow[MR];
      for (int i = 0; i < MR; ++i) arow[i] = a + min_i64(m0 + i, M - 1) * lda;  // the last row again at the edge
      T* cij = c + m0 * ldc + j0 * L;
      if (rows == MR) {
        channels_last_tile<A, T, MR, W>(OH, OW, arow, xt, line, step, boff + j0, cij, ldc);
        continue;
      }
      alignas(64) T tile[MR * W * L] = {};
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < W * L; ++j) tile[i * W * L + j] = cij[i * ldc + j];
      channels_last_tile<A, T, MR, W>(OH, OW, arow, xt, line, step, boff + j0, tile, W * L);
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < W * L; ++j) cij[i * ldc + j] = tile[i * W * L + j];
    }
  };
  for (; j0 + NV <= J; j0 += NV) run_block(std::integral_constant<int, NV>{});
  for (; j0 < J; ++j0) run_block(std::integral_constant<int, 1>{});
}

// C[M, N] = packed A · B as engine_gemm, B's rows either strided (ldb) or at
// offsets. With whole_tiles, B may be read and C written up to N rounded up to
// the lanes (the implicit path's buffers have that slack); otherwise the last
// partial vector of columns goes through a zero-padded copy of B (in b_tail,
// K*lanes elements from the caller) and a local tile.
template <class A, class T, bool kOffsets>
void gemm_tiles(std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a, const T* b, std::int64_t ldb,
                const std::int64_t* offsets, T* c, std::int64_t ldc, const T* bias, bool accumulate,
                bool whole_tiles, T* b_tail) {
  using B = Blocking<A>;
  constexpr int MR = B::template kMR<T>, NR = B::template kNR<T>, L = B::template kLanes<T>;
  std::int64_t j0 = 0;
  auto run_block = [&](auto nv, const T* bj, std::int64_t ldbj, bool offs, std::int64_t cols) {
    constexpr int NV = decltype(nv)::value;
    constexpr int W = NV * L;
    for (std::int64_t m0 = 0; m0 < M; m0 += MR) {
      const std::int64_t rows = min_i64(MR, M - m0);
      const T* panel = packed_a + m0 * K;
      T* cij = c + m0 * ldc + j0;
      if (rows == MR && cols == W) {
        if (offs)
          micro_kernel<A, T, MR, NV, kOffsets>(K, panel, bj, ldbj, offsets, cij, ldc, bias ? bias + m0 : nullptr,
                                               accumulate);
        else
          micro_kernel<A, T, MR, NV, false>(K, panel, bj, ldbj, offsets, cij, ldc, bias ? bias + m0 : nullptr,
                                            accumulate);
        continue;
      }
      // An edge tile: computed whole in a local tile, only its valid part copied.
      alignas(64) T tile[MR * W] = {};
      T tile_bias[MR] = {};
      for (std::int64_t i = 0; i < rows; ++i) {
        if (accumulate)
          for (std::int64_t j = 0; j < cols; ++j) tile[i * W + j] = cij[i * ldc + j];
        if (bias) tile_bias[i] = bias[m0 + i];
      }
      if (offs)
        micro_kernel<A, T, MR, NV, kOffsets>(K, panel, bj, ldbj, offsets, tile, W, bias ? tile_bias : nullptr,
                                             accumulate);
      else
        micro_kernel<A, T, MR, NV, false>(K, panel, bj, ldbj, offsets, tile, W, bias ? tile_bias : nullptr,
                                          accumulate);
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j) cij[i * ldc + j] = tile[i * W + j];
    }
  };
  using Two = std::integral_constant<int, B::kNV>;  // a type only: no code of std's is emitted
  using One = std::integral_constant<int, 1>;
  for (; j0 + NR <= N; j0 += NR) run_block(Two{}, b + j0, ldb, true, NR);
  for (; j0 + L <= N; j0 += L) run_block(One{}, b + j0, ldb, true, L);  // one vector, B still read in place
  if (j0 < N && whole_tiles) {  // C and B have room for a whole vector past N
    run_block(One{}, b + j0, ldb, true, L);
    return;
  }
  if (j0 < N) {  // fewer than one vector of columns left: a zero-padded copy of them
    const std::int64_t cols = N - j0;
    for (std::int64_t k = 0; k < K; ++k) {
      const T* row = kOffsets ? b + offsets[k] : b + k * ldb;
      for (std::int64_t j = 0; j < L; ++j) b_tail[k * L + j] = j < cols ? row[j0 + j] : T(0);
    }
    run_block(One{}, b_tail, L, false, cols);
  }
}

template <class A, class T>
void pack_a(std::int64_t M, std::int64_t K, const T* a, std::int64_t row_stride, std::int64_t col_stride, T* packed) {
  constexpr int MR = Blocking<A>::template kMR<T>;
  for (std::int64_t m0 = 0; m0 < M; m0 += MR) {
    T* panel = packed + m0 * K;
    for (std::int64_t k = 0; k < K; ++k)
      for (int i = 0; i < MR; ++i)
        panel[k * MR + i] = m0 + i < M ? a[(m0 + i) * row_stride + k * col_stride] : T(0);
  }
}

template <class A, class T>
void gemm_strided(std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a, const T* b, std::int64_t ldb,
                  T* c, std::int64_t ldc, const T* bias, bool accumulate, T* tail) {
  gemm_tiles<A, T, false>(M, N, K, packed_a, b, ldb, nullptr, c, ldc, bias, accumulate, false, tail);
}

template <class A, class T>
void gemm_offsets(std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a, const T* b,
                  const std::int64_t* offsets, T* c, std::int64_t ldc, const T* bias, bool accumulate) {
  gemm_tiles<A, T, true>(M, N, K, packed_a, b, 0, offsets, c, ldc, bias, accumulate, true, nullptr);
}

template <class A, class T> constexpr EngineKernels<T> engine_kernels() {
  return {Blocking<A>::template kLanes<T>, Blocking<A>::template kMR<T>, &pack_a<A, T>, &gemm_strided<A, T>,
          &gemm_offsets<A, T>, &gemm_abt_segments<A, T>, &gemm_channels_last<A, T>};
}

// The table conv_engine_<isa>.cpp defines (a constant expression: initialised
// before any code runs, whatever the order of static initialisation).
template <class A> constexpr EngineIsaKernels engine_isa_kernels(const char* name) {
  return {name, Blocking<A>::kWideRegisterFile, engine_kernels<A, float>(), engine_kernels<A, double>()};
}

}  // namespace
}  // namespace tg::detail
