// tg::config() and the BLAS kernel check before the first matrix product
// (<tapegrad/ops/config.hpp>). The ctests blas_kernels_* run the "[blas_kernels]"
// case with OpenBLAS forced onto its generic Prescott kernels, and say through
// TAPEGRAD_EXPECT_BLAS_KERNELS which set must be running afterwards.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

TEST_CASE("blas_kernels_upgrade: only a set without AVX2 kernels on an AVX2 CPU is replaced", "[config]") {
  // OpenBLAS's generic or pre-AVX2 sets on modern CPUs: switched.
  CHECK(blas_kernels_upgrade("Prescott", "AVX-512") == "SkylakeX");
  CHECK(blas_kernels_upgrade("Prescott", "AVX2+FMA") == "Haswell");
  CHECK(blas_kernels_upgrade("Core2", "AVX-512") == "SkylakeX");
  CHECK(blas_kernels_upgrade("Sandybridge", "AVX2+FMA") == "Haswell");
  CHECK(blas_kernels_upgrade("Katmai", "AVX2+FMA") == "Haswell");
  // Sets with AVX2 kernels are OpenBLAS's (or the user's) informed choice: kept,
  // even Haswell on an AVX-512 CPU (it is the faster one on some AMD hosts).
  for (const char* set : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SAPPHIRERAPIDS", "excavator"}) {
    CHECK(blas_kernels_upgrade(set, "AVX-512") == "");
    CHECK(blas_kernels_upgrade(set, "AVX2+FMA") == "");
  }
  // A CPU without AVX2 and FMA has nothing better to offer.
  CHECK(blas_kernels_upgrade("Prescott", "AVX") == "");
  CHECK(blas_kernels_upgrade("Prescott", "SSE2") == "");
}

TEST_CASE("config: the CPU, the kernels and the threads, as config_text prints them", "[config]") {
  const Config c = config();
  CHECK(c.version == tg::version());
  CHECK_FALSE(c.cpu.empty());
  CHECK_FALSE(c.cpu_isa.empty());
  CHECK_FALSE(c.kernel_isa.empty());
  CHECK_THAT(c.blas, StartsWith("OpenBLAS"));
  CHECK_FALSE(c.blas_kernels.empty());
  CHECK_FALSE(c.blas_kernels_reason.empty());
  CHECK(c.threads == get_num_threads());
  const std::string text = config_text();
  CHECK_THAT(text, StartsWith("tapegrad " + c.version + "\n"));
  CHECK_THAT(text, Contains("  CPU: " + c.cpu + " (" + c.cpu_isa + ")\n"));
  CHECK_THAT(text, Contains("  BLAS kernel set: " + c.blas_kernels + " (" + c.blas_kernels_reason + ")\n"));
  // The conv engine's instruction set, one of the three it is compiled for.
  CHECK((c.engine_isa == "AVX-512" || c.engine_isa == "AVX2+FMA" || c.engine_isa == "SSE2"));
  CHECK_FALSE(c.engine_isa_reason.empty());
  CHECK_THAT(text, Contains("  conv engine: " + c.engine_isa + " (" + c.engine_isa_reason + ")\n"));
}

TEST_CASE("BLAS kernels: the set running after the check, and products computed right with it", "[config][blas_kernels]") {
  const Config c = config();
  if (const char* expected = std::getenv("TAPEGRAD_EXPECT_BLAS_KERNELS")) {
    CHECK(c.blas_kernels == expected);
    const char* forced = std::getenv("TAPEGRAD_BLAS_KERNELS");
    if (forced && *forced && std::string(forced) == expected)
      CHECK_THAT(c.blas_kernels_reason, StartsWith("switched from Prescott: TAPEGRAD_BLAS_KERNELS=" + std::string(expected)));
    else if (std::getenv("OPENBLAS_CORETYPE"))
      CHECK(c.blas_kernels_reason == "set by OPENBLAS_CORETYPE");
  }
  // A product through the switched kernels against a plain triple loop, at sizes
  // that take OpenBLAS's packed paths (and the tail handling of its micro-kernels).
  manual_seed(5);
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    const std::int64_t M = 67, K = 130, N = 45;
    const Tensor a = randn({M, K}, dtype), b = randn({K, N}, dtype);
    const std::vector<double> av = a.to_vector(), bv = b.to_vector(), cv = matmul(a, b).to_vector();
    double worst = 0;
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (std::int64_t k = 0; k < K; ++k) s += av[i * K + k] * bv[k * N + j];
        worst = std::max(worst, std::abs(s - cv[i * N + j]));
      }
    CHECK(worst < (dtype == kFloat32 ? 1e-3 : 1e-11));
  }
}
