// tapegrad — what this process computes on: the CPU, the instruction set of
// tapegrad's own kernels and the one its convolution engine chose at run time,
// the BLAS library and the kernel set it runs, and the thread counts (the idea
// of torch.__config__.show()). Print it beside any speed figure: a figure
// without its CPU and kernels means little.
//
// <!-- snippet: run -->
// @code
//   std::cout << tg::config_text();
//   // tapegrad 0.1.0
//   //   CPU: AMD EPYC 9R14 96-Core Processor (AVX-512)
//   //   tapegrad kernels compiled for: AVX-512
//   //   conv engine: AVX-512 (chosen at run time)
//   //   BLAS: OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64
//   //   BLAS kernel set: Haswell (set by OPENBLAS_CORETYPE)
//   //   threads: 2 (tapegrad's pool); OpenBLAS: 1, or 2 for products above 512^3
// @endcode
//
// BLAS kernels. OpenBLAS picks its kernel set from a table of CPU models when it
// loads; a model newer than its table gets the generic SSE3 "Prescott" kernels,
// 3-4x slower on an AVX2 or AVX-512 CPU (Debian's 0.3.21 on Intel Xeon Emerald
// Rapids, for one). So before its first matrix product tapegrad checks the set
// in use: when it has no AVX2 kernels but the CPU has AVX2 and FMA, tapegrad
// switches OpenBLAS to SkylakeX (CPUs with AVX-512) or Haswell (AVX2) — through
// OpenBLAS's own gotoblas_dynamic_quit()/gotoblas_dynamic_init(), which read
// OPENBLAS_CORETYPE again. It leaves the choice alone when the user set
// OPENBLAS_CORETYPE. TAPEGRAD_BLAS_KERNELS overrides both: "off" never switches,
// a kernel-set name (Haswell, SkylakeX, Cooperlake, Zen, ...) always switches to it.
//
// Convolution engine. tapegrad's own conv kernels are compiled for AVX-512,
// AVX2+FMA and SSE2 in every build; the widest the CPU has is chosen when the
// first conv runs (so a build without -march=native still runs AVX-512 or AVX2
// tiles). TAPEGRAD_ISA=avx512|avx2|generic forces one; a value that is unknown,
// or names instructions the CPU lacks, is refused: the first conv throws
// std::invalid_argument saying why, and config() shows it as engine "none".
#pragma once

#include <string>

namespace tg {

/// The machine and libraries as this process uses them (see the top of this file).
struct Config {
  std::string version;       ///< tapegrad's version, "0.1.0"
  std::string cpu;           ///< the CPU's brand string ("unknown" when it has none)
  std::string cpu_isa;       ///< the widest vector instructions the CPU offers: "AVX-512", "AVX2+FMA", "AVX", "SSE2"
  std::string kernel_isa;    ///< the widest that tapegrad's own kernels were compiled for (same names)
  std::string engine_isa;    ///< what the conv engine's kernels run: "AVX-512", "AVX2+FMA", "SSE2" ("none": refused)
  /// Why: "chosen at run time" (the CPU's widest), "TAPEGRAD_ISA=avx2", "set by
  /// the program", or why TAPEGRAD_ISA was refused.
  std::string engine_isa_reason;
  std::string blas;          ///< the BLAS library's build description (openblas_get_config())
  std::string blas_kernels;  ///< the kernel set OpenBLAS runs now (openblas_get_corename())
  /// Why that set: "chosen by OpenBLAS", "set by OPENBLAS_CORETYPE",
  /// "switched from Prescott: ...", or why a switch failed.
  std::string blas_kernels_reason;
  int threads = 1;       ///< tapegrad's thread pool (tg::get_num_threads())
  int blas_threads = 1;  ///< OpenBLAS's threads for most products (tapegrad splits medium ones over its pool)
};

/// The configuration now (settles the BLAS kernel choice first, if no matrix
/// product has yet).
Config config();
/// config() as the lines shown at the top of this file.
std::string config_text();

/// The kernel set tapegrad switches OpenBLAS to when OpenBLAS chose `current`
/// on a CPU offering `cpu_isa` (a Config::cpu_isa name): "SkylakeX" or "Haswell"
/// when `current` has no AVX2 kernels but the CPU has AVX2 and FMA; otherwise ""
/// (keep `current`). The rule behind the automatic switch, for tests and tools.
std::string blas_kernels_upgrade(const std::string& current, const std::string& cpu_isa);

}  // namespace tg
