// The conv engine's kernels for AVX2 with FMA (6 x 16-float tiles):
// conv_engine_simd.hpp compiled with -mavx2 -mfma (set for this file alone in
// CMakeLists.txt). Run only where the CPU has them (conv_engine.cpp checks CPUID first).
#if defined(__x86_64__) || defined(__i386__)
#if !(defined(__AVX2__) && defined(__FMA__))
#error "conv_engine_avx2.cpp needs its AVX2 flags (see CMakeLists.txt)"
#endif

#include "ops/kernels/conv_engine_simd.hpp"

namespace tg::detail {
const EngineIsaKernels kEngineAvx2Kernels = engine_isa_kernels<xsimd::fma3<xsimd::avx2>>("AVX2+FMA");
}  // namespace tg::detail
#endif
