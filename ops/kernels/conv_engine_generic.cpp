// The conv engine's fallback kernels for CPUs with neither AVX2 nor AVX-512
// (4 x 8-float tiles): conv_engine_simd.hpp on SSE2, which every x86-64 CPU
// has. Explicitly SSE2 rather than xsimd's default arch, which in a
// -march=native build would be this machine's widest.
#include "ops/kernels/conv_engine_simd.hpp"

namespace tg::detail {
#if defined(__x86_64__) || defined(__i386__)
const EngineIsaKernels kEngineGenericKernels = engine_isa_kernels<xsimd::sse2>("SSE2");
#else
const EngineIsaKernels kEngineGenericKernels = engine_isa_kernels<xsimd::default_arch>("generic");
#endif
}  // namespace tg::detail
