// Private: the interface between the conv engine's orchestration
// (conv_engine.cpp, compiled with the library's flags) and its instruction-set
// dependent kernels (conv_engine_simd.hpp, compiled once per instruction set
// by conv_engine_avx512.cpp, conv_engine_avx2.cpp and conv_engine_generic.cpp).
// Only plain data crosses it: a table of function pointers and the register
// block sizes, so no inline function or std container is shared between code
// compiled for different instruction sets (see conv_engine.cpp for why).
#pragma once

#include <cstdint>

namespace tg::detail {

/// The kernels of one instruction set for element type T.
template <class T> struct EngineKernels {
  int lanes;       ///< SIMD lanes of T (the widths the kernels round to)
  int panel_rows;  ///< rows per panel of a packed A (the register block height)
  /// See pack_a in conv_engine.hpp.
  void (*pack_a)(std::int64_t M, std::int64_t K, const T* a, std::int64_t row_stride, std::int64_t col_stride,
                 T* packed);
  /// C[M,N] (row stride ldc) = packed A · B (+ C when accumulate, else + bias),
  /// B[k,n] = b[k*ldb + n]. When N is not a multiple of `lanes`, tail holds
  /// K*lanes elements of scratch (otherwise it may be null).
  void (*gemm)(std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a, const T* b, std::int64_t ldb, T* c,
               std::int64_t ldc, const T* bias, bool accumulate, T* tail);
  /// The same with B's row k at b + offsets[k] (implicit GEMM); B may be read
  /// and C written up to N rounded up to the lanes (the buffers have that slack).
  void (*gemm_offsets)(std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a, const T* b,
                       const std::int64_t* offsets, T* c, std::int64_t ldc, const T* bias, bool accumulate);
  /// C[M,N] += Σ_seg A_seg[M,L]·B_seg[N,L]ᵀ, A_seg row m at a[seg] + m*lda,
  /// B_seg row n at b[seg] + b_offsets[n]; L a multiple of the lanes.
  void (*gemm_abt)(std::int64_t M, std::int64_t N, std::int64_t L, std::int64_t segments, const T* const* a,
                   std::int64_t lda, const T* const* b, const std::int64_t* b_offsets, T* c, std::int64_t ldc);
  /// The weight gradient of one image from a channels-last copy of it:
  /// C[M, J*lanes] (row stride ldc) += Σ_{oh<OH, ow<OW} A[m][oh*OW + ow] ·
  /// xt[oh*line + ow*step + boff[j] + l] for column j*lanes + l, A row m at
  /// a + m*lda (the gradient's rows), boff[j] the offset of the j-th vector of
  /// columns (a kernel tap and a block of lanes channels).
  void (*gemm_channels_last)(std::int64_t M, std::int64_t J, std::int64_t OH, std::int64_t OW, const T* a,
                             std::int64_t lda, const T* xt, std::int64_t line, std::int64_t step,
                             const std::int64_t* boff, T* c, std::int64_t ldc);
};

/// Everything of one instruction set the orchestration needs.
struct EngineIsaKernels {
  const char* name;         ///< as Config::cpu_isa names it: "AVX-512", "AVX2+FMA", "SSE2"
  bool wide_register_file;  ///< 32 vector registers (AVX-512): the larger blocks and patch limit
  EngineKernels<float> f32;
  EngineKernels<double> f64;
};

template <class T> const EngineKernels<T>& kernels_of(const EngineIsaKernels& isa);
template <> inline const EngineKernels<float>& kernels_of<float>(const EngineIsaKernels& isa) { return isa.f32; }
template <> inline const EngineKernels<double>& kernels_of<double>(const EngineIsaKernels& isa) { return isa.f64; }

// One table per instruction set, constant-initialised (usable before main).
#if defined(__x86_64__) || defined(__i386__)
extern const EngineIsaKernels kEngineAvx512Kernels;  // conv_engine_avx512.cpp
extern const EngineIsaKernels kEngineAvx2Kernels;    // conv_engine_avx2.cpp
#endif
extern const EngineIsaKernels kEngineGenericKernels;  // conv_engine_generic.cpp

}  // namespace tg::detail
