// The conv engine's kernels for AVX-512 (8 x 32-float tiles): conv_engine_simd.hpp
// compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma (set for
// this file alone in CMakeLists.txt). Run only where the CPU has them
// (conv_engine.cpp checks CPUID first).
#if defined(__x86_64__) || defined(__i386__)
#if !(defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
      defined(__FMA__))
#error "conv_engine_avx512.cpp needs its AVX-512 flags (see CMakeLists.txt)"
#endif

#include "ops/kernels/conv_engine_simd.hpp"

namespace tg::detail {
const EngineIsaKernels kEngineAvx512Kernels = engine_isa_kernels<xsimd::avx512bw>("AVX-512");
}  // namespace tg::detail
#endif
