// Private: tapegrad's own matrix kernels for convolution (no BLAS packing).
//
// conv2d's three products for one image (P = OH*OW, K = C/groups*KH*KW):
//   forward      y  [F,P] = W [F,K] · col [K,P]          (+ bias, fused)
//   input grad   gcol[K,P] = Wᵀ[K,F] · gy [F,P]
//   weight grad  gW [F,K] += gy[F,L] · col[K,L]ᵀ       (L = the batch's pixels)
// are thin (F and K are 6..600, P 49..784) and repeat for every image, which is
// where a general BLAS pays most for packing and blocking. ops/kernels/conv2d.cpp
// calls these instead of gemm() for the shapes use_conv_engine() accepts;
// ops/kernels/conv_engine.cpp says why the blocking and thresholds are what they are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/kernels/conv2d.hpp"

namespace tg::detail {

/// Which kernels conv2d runs (tests and bench_conv compare the two; users keep Auto).
enum class ConvEngine {
  Auto,            // the engine for the float32 shapes use_conv_engine() accepts, im2col+BLAS otherwise
  Engine,          // the engine for every shape and both float types (implicit GEMM where it pays)
  EngineImplicit,  // the engine, implicit GEMM wherever the stride is 1 (tests)
  EngineIm2col,    // the engine's kernels on an im2col matrix only, never implicit (tests)
  Im2colBlas       // the im2col + OpenBLAS path only
};
void set_conv_engine(ConvEngine mode);
ConvEngine conv_engine();

/// The instruction sets the engine's kernels are compiled for (all of them in
/// every build; conv_engine.cpp picks one at first use).
enum class EngineIsa { Generic, Avx2, Avx512 };

/// What the CPU offers of them (CPUID, with the operating system's support of the registers).
struct IsaSupport {
  bool avx2 = false;    // AVX2 and FMA
  bool avx512 = false;  // AVX-512 F, DQ, BW and VL (and AVX2, FMA)
};
IsaSupport cpu_isa_support();

/// The instruction set for a TAPEGRAD_ISA value (null or "" or "auto": the best
/// `cpu` has; "avx512", "avx2", "generic", any case) on a CPU offering `cpu`.
/// Throws std::invalid_argument naming TAPEGRAD_ISA for an unknown value or one
/// the CPU lacks.
EngineIsa choose_engine_isa(const char* value, const IsaSupport& cpu);

/// The instruction set the engine runs: on first use choose_engine_isa(getenv("TAPEGRAD_ISA"),
/// cpu_isa_support()) (which may throw), or what set_engine_isa() forced.
EngineIsa engine_isa();
/// Forces the engine's instruction set (tests; bench). Throws std::invalid_argument
/// when this CPU lacks it.
void set_engine_isa(EngineIsa isa);
/// The instruction sets this CPU can run, widest last (Generic always).
std::vector<EngineIsa> supported_engine_isas();
/// "AVX-512", "AVX2+FMA" or "SSE2" (Config::cpu_isa's names).
const char* engine_isa_name(EngineIsa isa);
/// How engine_isa() was chosen, for tg::config(): "chosen at run time" (from
/// CPUID), "TAPEGRAD_ISA=avx2", "set by the program".
std::string engine_isa_reason();

/// Whether conv2d of geometry g with element type T runs on the engine (per the mode above).
template <class T> bool use_conv_engine(const ConvGeometry& g);
/// Whether conv2d's weight (and bias) gradient of geometry g runs on the engine
/// while the rest stays on im2col+BLAS (Auto mode: strided float32 convs whose
/// channels-last weight gradient is faster than BLAS's). True where use_conv_engine is.
template <class T> bool use_engine_weight_grad(const ConvGeometry& g);

// The kernels below are those of engine_isa() at the time of the call: a
// matrix packed by pack_a is for engine_gemm of the same instruction set.

/// Rows per panel of a packed A (the micro-kernel's register block height).
template <class T> std::int64_t engine_panel_rows();
/// Elements pack_a writes for an [M,K] matrix (M rounded up to whole panels).
template <class T> std::int64_t packed_a_size(std::int64_t M, std::int64_t K);
/// Packs A[m,k] = a[m*row_stride + k*col_stride] into panels of engine_panel_rows()
/// rows, k-major inside a panel (what the micro-kernel broadcasts from); the
/// strides let Wᵀ be packed straight from W.
template <class T>
void pack_a(std::int64_t M, std::int64_t K, const T* a, std::int64_t row_stride, std::int64_t col_stride, T* packed);

/// C[M,N] (row stride ldc) = A·B (+ C when accumulate, else + bias[m] when bias
/// is not null), with A packed by pack_a and B[k,n] = b[k*ldb + n].
template <class T>
void engine_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const T* packed_a, const T* b, std::int64_t ldb,
                 T* c, std::int64_t ldc, const T* bias, bool accumulate);

/// C[M,N] (row stride ldc) += A[M,L]·B[N,L]ᵀ, rows of A and B contiguous with row
/// strides lda and ldb; L must be a multiple of engine_lanes<T>() (callers pad with zeros).
template <class T>
void engine_gemm_abt(std::int64_t M, std::int64_t N, std::int64_t L, const T* a, std::int64_t lda, const T* b,
                     std::int64_t ldb, T* c, std::int64_t ldc);

/// SIMD lanes of T in engine_isa().
template <class T> std::int64_t engine_lanes();

/// The whole conv2d forward / backward on the engine (same contract as
/// conv2d_forward / conv2d_backward in conv2d.hpp).
template <class T> void engine_conv2d_forward(const T* x, const T* w, const T* b, const ConvGeometry& g, T* y);
template <class T>
void engine_conv2d_backward(const T* x, const T* w, const T* gy, const ConvGeometry& g, T* gx, T* gw, T* gb);

}  // namespace tg::detail
