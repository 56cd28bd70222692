// tg::config() and the BLAS kernel check that runs before the first matrix
// product (see <tapegrad/ops/config.hpp>).
#include <tapegrad/ops/config.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TAPEGRAD_X86 1
#endif

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/parallel.hpp"
#include "ops/blas.hpp"
#include "ops/kernels/conv_engine.hpp"
#include <tapegrad/core/parallel.hpp>
#include <tapegrad/version.hpp>

extern "C" {
// OpenBLAS's exported entry points (<cblas.h> cannot be included beside xtensor-blas).
char* openblas_get_config(void);
char* openblas_get_corename(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
}

namespace tg {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The CPU's brand string from CPUID leaves 0x80000002-4 ("unknown" without them).
std::string cpu_brand() {
#ifndef TAPEGRAD_X86
  return "unknown";
#else
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000004u) return "unknown";
  char brand[49] = {};
  for (unsigned leaf = 0; leaf < 3; ++leaf) {
    __get_cpuid(0x80000002u + leaf, &a, &b, &c, &d);
    std::memcpy(brand + 16 * leaf, &a, 4);
    std::memcpy(brand + 16 * leaf + 4, &b, 4);
    std::memcpy(brand + 16 * leaf + 8, &c, 4);
    std::memcpy(brand + 16 * leaf + 12, &d, 4);
  }
  return trim(brand);
#endif
}

// AVX-512 here means the Skylake-X subset OpenBLAS's AVX-512 kernels use.
std::string cpu_isa() {
#ifndef TAPEGRAD_X86
  return "unknown";
#else
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "AVX-512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "AVX2+FMA";
  if (__builtin_cpu_supports("avx")) return "AVX";
  return "SSE2";
#endif
}

constexpr const char* kKernelIsa =
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
    "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
    "AVX2+FMA";
#elif defined(__AVX__)
    "AVX";
#else
    "SSE2";
#endif

// What the check before the first product decided, kept for config().
struct KernelChoice {
  std::string reason;
};

// Switches OpenBLAS to `name`: its dynamic-arch loader reads OPENBLAS_CORETYPE
// again on gotoblas_dynamic_init(). The variable is restored afterwards, so child
// processes see the environment the user gave. Returns what OpenBLAS runs now.
std::string switch_kernels(const std::string& name) {
  const char* old = std::getenv("OPENBLAS_CORETYPE");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("OPENBLAS_CORETYPE", name.c_str(), 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  if (saved)
    ::setenv("OPENBLAS_CORETYPE", saved->c_str(), 1);
  else
    ::unsetenv("OPENBLAS_CORETYPE");
  return openblas_get_corename();
}

KernelChoice choose_kernels() {
  const std::string current = openblas_get_corename();
  const char* override_env = std::getenv("TAPEGRAD_BLAS_KERNELS");
  const std::string wanted = override_env ? trim(override_env) : "";
  std::string target, why;
  if (!wanted.empty() && lower(wanted) != "auto") {
    if (lower(wanted) == "off") return {std::getenv("OPENBLAS_CORETYPE") ? "set by OPENBLAS_CORETYPE" : "chosen by OpenBLAS"};
    target = wanted;
    why = "TAPEGRAD_BLAS_KERNELS=" + wanted;
  } else if (std::getenv("OPENBLAS_CORETYPE")) {
    return {"set by OPENBLAS_CORETYPE"};
  } else {
    target = blas_kernels_upgrade(current, cpu_isa());
    if (target.empty()) return {"chosen by OpenBLAS"};
    why = "OpenBLAS chose " + current + ", which has no AVX2 kernels, on a " + cpu_isa() + " CPU";
  }
  if (lower(target) == lower(current)) return {why + " (already in use)"};
  const std::string now = switch_kernels(target);
  if (lower(now) != lower(target))
    return {"could not switch to " + target + " (" + why + "): OpenBLAS runs " + now};
  return {"switched from " + current + ": " + why};
}

const KernelChoice& kernel_choice() {
  static const KernelChoice choice = choose_kernels();  // once, thread-safe (C++11 statics)
  return choice;
}

}  // namespace

namespace detail {
void settle_blas_kernels() { (void)kernel_choice(); }
}  // namespace detail

std::string blas_kernels_upgrade(const std::string& current, const std::string& isa) {
  if (isa != "AVX-512" && isa != "AVX2+FMA") return "";
  // OpenBLAS 0.3.21's kernel sets with AVX2 (or wider) kernels.
  static const char* const kAvx2Sets[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"};
  const std::string name = lower(current);
  for (const char* set : kAvx2Sets)
    if (name == set) return "";
  return isa == "AVX-512" ? "SkylakeX" : "Haswell";
}

Config config() {
  Config c;
  c.version = tg::version();
  c.cpu = cpu_brand();
  c.cpu_isa = cpu_isa();
  c.kernel_isa = kKernelIsa;
  try {
    c.engine_isa = detail::engine_isa_name(detail::engine_isa());
    c.engine_isa_reason = detail::engine_isa_reason();
  } catch (const std::invalid_argument& e) {  // a bad TAPEGRAD_ISA: shown here, thrown by the first conv
    c.engine_isa = "none";
    c.engine_isa_reason = e.what();
  }
  c.blas_kernels_reason = kernel_choice().reason;
  c.blas = trim(openblas_get_config());
  c.blas_kernels = openblas_get_corename();
  c.threads = get_num_threads();
  c.blas_threads = 1;
  return c;
}

std::string config_text() {
  const Config c = config();
  std::string s = "tapegrad " + c.version + "\n";
  s += "  CPU: " + c.cpu + " (" + c.cpu_isa + ")\n";
  s += "  tapegrad kernels compiled for: " + c.kernel_isa + "\n";
  s += "  conv engine: " + c.engine_isa + " (" + c.engine_isa_reason + ")\n";
  s += "  BLAS: " + c.blas + "\n";
  s += "  BLAS kernel set: " + c.blas_kernels + " (" + c.blas_kernels_reason + ")\n";
  s += "  threads: " + std::to_string(c.threads) + " (tapegrad's pool";
  if (c.threads > 1) s += ", idle workers spin " + std::to_string(detail::worker_spin_microseconds()) + " us";
  s += "); OpenBLAS: " + std::to_string(c.blas_threads);
  if (c.threads > 1) s += ", or " + std::to_string(c.threads) + " for products above 512^3";
  return s + "\n";
}

}  // namespace tg
