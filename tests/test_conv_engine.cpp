// The convolution engine (ops/kernels/conv_engine.cpp) against the
// im2col + OpenBLAS path it replaces for most float32 shapes: forward and all
// three gradients on random geometries (strides, padding, dilation, groups, odd
// sizes, batch 1 and many, tails of every register block), float64 gradchecks
// and gradgradchecks with the engine forced, and the kernels on their own
// against a naive product -- each for every instruction set this CPU runs
// (AVX-512, AVX2, generic SSE2), forced through detail::set_engine_isa. Then
// the choice of the instruction set: TAPEGRAD_ISA's values, and (ctests
// conv_engine_isa_*) a process started with TAPEGRAD_ISA set.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <random>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "ops/kernels/conv_engine.hpp"  // private: the engine switch and its kernels
#include "test_helpers.hpp"

using namespace tg;
using detail::ConvEngine;
using detail::EngineIsa;
using Catch::Matchers::Contains;

namespace {

// Sets the engine mode for a scope.
struct EngineMode {
  ConvEngine before = detail::conv_engine();
  explicit EngineMode(ConvEngine mode) { detail::set_conv_engine(mode); }
  ~EngineMode() { detail::set_conv_engine(before); }
};

// Forces the engine's instruction set for a scope.
struct IsaScope {
  EngineIsa before = detail::engine_isa();
  explicit IsaScope(EngineIsa isa) { detail::set_engine_isa(isa); }
  ~IsaScope() { detail::set_engine_isa(before); }
};

// Every instruction set this CPU runs (generic always).
const std::vector<EngineIsa>& isas() {
  static const std::vector<EngineIsa> all = detail::supported_engine_isas();
  return all;
}

// Every way the engine can run, each compared with im2col + BLAS.
const ConvEngine kEngineModes[] = {ConvEngine::EngineImplicit, ConvEngine::EngineIm2col, ConvEngine::Engine,
                                   ConvEngine::Auto};

struct Case {
  std::int64_t n = 1, c = 1, h = 1, w = 1, f = 1, kh = 1, kw = 1, groups = 1;
  Size2 stride = 1, padding = 0, dilation = 1;
  bool bias = false;
};

// y, gx, gw, gb of conv2d on (x, w, b) with the given mode, gy fixed.
std::vector<Tensor> run(ConvEngine mode, const Case& k, const Tensor& x0, const Tensor& w0, const Tensor& b0,
                        const Tensor& gy) {
  EngineMode m(mode);
  Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
  Tensor b = k.bias ? b0.clone().requires_grad_() : Tensor();
  Tensor y = conv2d(x, w, b, k.stride, Padding(k.padding.h, k.padding.w), k.dilation, k.groups);
  y.backward(gy);
  return {y.detach(), x.grad(), w.grad(), k.bias ? b.grad() : zeros({1}, x0.dtype())};
}

// |a - b| <= tol * max|b| for every element: the float32 sums of the two paths
// run in different orders, so an element near zero can differ by more than
// tol relative to itself, never relative to the tensor's scale.
void check_close(const Tensor& got, const Tensor& want, double tol) {
  const auto a = got.to_vector<double>(), b = want.to_vector<double>();
  REQUIRE(a.size() == b.size());
  double scale = 0, worst = 0;
  for (double v : b) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  INFO("max |difference| " << worst << ", max |reference| " << scale);
  CHECK(worst <= tol * std::max(scale, 1e-30));
}

Case random_case(std::mt19937& rng) {
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  Case k{};
  k.groups = pick(0, 3) == 0 ? pick(2, 3) : 1;
  k.c = k.groups * pick(1, 7);
  k.f = k.groups * pick(1, 21);  // crosses the 8-row panel and 4/6-row dot blocks
  k.n = pick(0, 2) == 0 ? 1 : pick(2, 9);
  k.kh = pick(1, 5);
  k.kw = pick(1, 5);
  k.stride = Size2(pick(1, 2), pick(1, 3));
  k.dilation = Size2(pick(1, 2), pick(1, 2));
  k.padding = Size2(pick(0, 2), pick(0, 2));
  const std::int64_t span_h = (k.kh - 1) * k.dilation.h + 1, span_w = (k.kw - 1) * k.dilation.w + 1;
  k.h = std::max<std::int64_t>(span_h - 2 * k.padding.h, 1) + pick(0, 30);
  k.w = std::max<std::int64_t>(span_w - 2 * k.padding.w, 1) + pick(0, 40);  // odd widths: column tails
  k.bias = pick(0, 1) == 1;
  return k;
}

}  // namespace

TEST_CASE("conv engine matches im2col+BLAS in float32 on random geometries", "[conv_engine]") {
  std::mt19937 rng(2024);
  const int before = get_num_threads();
  for (int trial = 0; trial < 60; ++trial) {
    const Case k = random_case(rng);
    const int threads = trial % 2 == 0 ? 1 : 2;  // the batch-parallel slices too
    set_num_threads(threads);
    manual_seed(trial);
    const Tensor x = randn({k.n, k.c, k.h, k.w});
    const Tensor w = randn({k.f, k.c / k.groups, k.kh, k.kw});
    const Tensor b = randn({k.f});
    Tensor y_shape = conv2d(x, w, Tensor(), k.stride, Padding(k.padding.h, k.padding.w), k.dilation, k.groups);
    const Tensor gy = randn(y_shape.shape());
    INFO("trial " << trial << ": x [" << k.n << "," << k.c << "," << k.h << "," << k.w << "] w [" << k.f << ","
                  << k.c / k.groups << "," << k.kh << "," << k.kw << "] groups " << k.groups << " stride ("
                  << k.stride.h << "," << k.stride.w << ") padding (" << k.padding.h << "," << k.padding.w
                  << ") dilation (" << k.dilation.h << "," << k.dilation.w << ") threads " << threads);
    const auto blas = run(ConvEngine::Im2colBlas, k, x, w, b, gy);
    for (EngineIsa isa : isas()) {
      IsaScope forced(isa);
      for (ConvEngine mode : kEngineModes) {
        const auto engine = run(mode, k, x, w, b, gy);
        for (std::size_t i = 0; i < engine.size(); ++i) {
          INFO(detail::engine_isa_name(isa) << ", mode " << int(mode) << " (see ConvEngine), tensor " << i
                                            << " (y, gx, gw, gb)");
          REQUIRE(engine[i].dtype() == kFloat32);
          check_close(engine[i], blas[i], 1e-5);
        }
      }
    }
  }
  set_num_threads(before);
}

TEST_CASE("conv engine matches im2col+BLAS on the benchmark and LeNet-5 layers", "[conv_engine]") {
  const std::vector<Case> cases = {
      {64, 16, 28, 28, 32, 3, 3, 1, 1, 1, 1, true},  // bench_conv's layer
      {32, 1, 28, 28, 6, 5, 5, 1, 1, 0, 1, true},    // LeNet-5 conv1
      {32, 6, 12, 12, 16, 5, 5, 1, 1, 0, 1, true},   // LeNet-5 conv2
      {8, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, false},    // a ResNet block at 7x7
      {8, 32, 14, 14, 64, 1, 1, 1, 2, 0, 1, false},  // a ResNet downsampling shortcut
      {4, 16, 9, 9, 16, 1, 1, 1, 1, 0, 1, true},     // pointwise: no im2col
  };
  for (const Case& k : cases) {
    manual_seed(k.c * 100 + k.f);
    const Tensor x = randn({k.n, k.c, k.h, k.w}), w = randn({k.f, k.c / k.groups, k.kh, k.kw}) * 0.2, b = randn({k.f});
    Tensor y_shape = conv2d(x, w, Tensor(), k.stride, Padding(k.padding.h, k.padding.w), k.dilation, k.groups);
    const Tensor gy = randn(y_shape.shape());
    INFO("x [" << k.n << "," << k.c << "," << k.h << "," << k.w << "] -> " << k.f << " filters " << k.kh << "x"
               << k.kw);
    const auto blas = run(ConvEngine::Im2colBlas, k, x, w, b, gy);
    for (EngineIsa isa : isas()) {
      IsaScope forced(isa);
      for (ConvEngine mode : kEngineModes) {
        const auto engine = run(mode, k, x, w, b, gy);
        for (std::size_t i = 0; i < engine.size(); ++i) {
          INFO(detail::engine_isa_name(isa) << ", mode " << int(mode) << ", tensor " << i << " (y, gx, gw, gb)");
          check_close(engine[i], blas[i], 1e-5);
        }
      }
    }
  }
}

TEST_CASE("conv engine agrees with im2col+BLAS in float64 to rounding", "[conv_engine]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 12; ++trial) {
    const Case k = random_case(rng);
    manual_seed(100 + trial);
    const Tensor x = randn({k.n, k.c, k.h, k.w}, kFloat64), w = randn({k.f, k.c / k.groups, k.kh, k.kw}, kFloat64);
    const Tensor b = randn({k.f}, kFloat64);
    Tensor y_shape = conv2d(x, w, Tensor(), k.stride, Padding(k.padding.h, k.padding.w), k.dilation, k.groups);
    const Tensor gy = randn(y_shape.shape(), kFloat64);
    INFO("trial " << trial);
    const auto blas = run(ConvEngine::Im2colBlas, k, x, w, b, gy);
    for (EngineIsa isa : isas()) {
      IsaScope forced(isa);
      for (ConvEngine mode : {ConvEngine::EngineImplicit, ConvEngine::EngineIm2col}) {
        const auto engine = run(mode, k, x, w, b, gy);
        for (std::size_t i = 0; i < engine.size(); ++i) {
          INFO(detail::engine_isa_name(isa) << ", mode " << int(mode) << ", tensor " << i << " (y, gx, gw, gb)");
          REQUIRE(engine[i].dtype() == kFloat64);
          check_close(engine[i], blas[i], 1e-12);
        }
      }
    }
  }
}

// Channels per group a multiple of every instruction set's lanes (16 floats at
// most): the weight gradient runs on channels-last copies of the images
// (conv_engine.cpp, "the weight gradient from channels-last images"), in both
// dtypes, with strides, dilation, uneven padding, groups, filter counts that
// leave partial register panels, and 1x1 kernels that are not pointwise.
TEST_CASE("conv engine weight gradient from channels-last images matches im2col+BLAS", "[conv_engine]") {
  const std::vector<Case> cases = {
      // n, c, h, w, f, kh, kw, groups, stride, padding, dilation, bias
      {3, 16, 9, 11, 5, 3, 3, 1, 1, 1, 1, true},          // 5 filters: one partial panel
      {2, 32, 10, 7, 13, 3, 2, 1, {2, 1}, {1, 0}, 1, false},  // stride, uneven kernel, no side padding
      {1, 16, 12, 12, 19, 3, 3, 1, 1, 2, 2, true},        // dilation 2, padding 2
      {2, 32, 8, 9, 6, 2, 3, 2, {1, 3}, {0, 1}, {2, 1}, true},  // groups of 16 channels
      {4, 16, 7, 7, 17, 1, 1, 1, 2, 0, 1, false},         // 1x1 stride 2 (a downsampling shortcut)
      {2, 48, 5, 6, 8, 3, 3, 1, 1, 1, 1, true},           // three vectors of channels per tap
  };
  const int before = get_num_threads();
  int index = 0;
  for (const Case& k : cases) {
    for (Dtype dt : {kFloat32, kFloat64}) {
      set_num_threads(index++ % 2 == 0 ? 1 : 2);
      manual_seed(k.c * 10 + k.f);
      const Tensor x = randn({k.n, k.c, k.h, k.w}, dt), w = randn({k.f, k.c / k.groups, k.kh, k.kw}, dt) * 0.2;
      const Tensor b = randn({k.f}, dt);
      Tensor y_shape = conv2d(x, w, Tensor(), k.stride, Padding(k.padding.h, k.padding.w), k.dilation, k.groups);
      const Tensor gy = randn(y_shape.shape(), dt);
      INFO("x [" << k.n << "," << k.c << "," << k.h << "," << k.w << "] -> " << k.f << " filters " << k.kh << "x"
                 << k.kw << " groups " << k.groups << " " << (dt == kFloat32 ? "float32" : "float64"));
      const auto blas = run(ConvEngine::Im2colBlas, k, x, w, b, gy);
      for (EngineIsa isa : isas()) {
        IsaScope forced(isa);
        for (ConvEngine mode : {ConvEngine::Engine, ConvEngine::EngineImplicit}) {
          const auto engine = run(mode, k, x, w, b, gy);
          for (std::size_t i = 0; i < engine.size(); ++i) {
            INFO(detail::engine_isa_name(isa) << ", mode " << int(mode) << ", tensor " << i << " (y, gx, gw, gb)");
            check_close(engine[i], blas[i], dt == kFloat32 ? 1e-5 : 1e-12);
          }
        }
      }
    }
  }
  set_num_threads(before);
  // Auto mode: a strided float32 conv keeps im2col+BLAS for y and gx and takes
  // the weight and bias gradients from the engine (not for 1x1 kernels or float64).
  {
    EngineMode automatic(ConvEngine::Auto);
    const Case k{4, 16, 28, 28, 32, 3, 3, 1, 2, 1, 1, true};
    manual_seed(77);
    const Tensor x = randn({k.n, k.c, k.h, k.w}), w = randn({k.f, k.c, k.kh, k.kw}) * 0.2, b = randn({k.f});
    const Tensor gy = randn({k.n, k.f, 14, 14});
    detail::ConvGeometry g;
    g.batch = k.n;
    g.channels = k.c;
    g.in_h = g.in_w = 28;
    g.out_h = g.out_w = 14;
    g.filters = k.f;
    g.kernel_h = g.kernel_w = 3;
    g.stride_h = g.stride_w = 2;
    g.pad_top = g.pad_left = 1;
    for (EngineIsa isa : isas()) {
      IsaScope forced(isa);
      INFO(detail::engine_isa_name(isa));
      CHECK_FALSE(detail::use_conv_engine<float>(g));
      CHECK(detail::use_engine_weight_grad<float>(g));
      CHECK_FALSE(detail::use_engine_weight_grad<double>(g));
      detail::ConvGeometry shortcut = g;
      shortcut.kernel_h = shortcut.kernel_w = 1;
      shortcut.pad_top = shortcut.pad_left = 0;
      CHECK_FALSE(detail::use_engine_weight_grad<float>(shortcut));
      const auto blas = run(ConvEngine::Im2colBlas, k, x, w, b, gy);
      const auto mixed = run(ConvEngine::Auto, k, x, w, b, gy);
      for (std::size_t i = 0; i < mixed.size(); ++i) {
        INFO("tensor " << i << " (y, gx, gw, gb)");
        check_close(mixed[i], blas[i], 1e-5);
      }
    }
    EngineMode blas_only(ConvEngine::Im2colBlas);
    CHECK_FALSE(detail::use_engine_weight_grad<float>(g));
  }
  // gradcheck through the channels-last weight gradient (8 channels: whole
  // vectors of float64 on every instruction set).
  EngineMode engine(ConvEngine::Engine);
  manual_seed(41);
  const Tensor x = randn({2, 8, 5, 6}, kFloat64).requires_grad_();
  const Tensor w = randn({3, 8, 2, 3}, kFloat64).requires_grad_();
  auto f = [&](const std::vector<Tensor>& in) {
    return conv2d(in[0], in[1], Tensor(), Size2(2, 1), Padding(1, 0), Size2(1, 2), 1);
  };
  testing::check_gradcheck(f, {x, w});
}

TEST_CASE("conv engine passes gradcheck and gradgradcheck in float64", "[conv_engine]") {
  for (ConvEngine mode : {ConvEngine::EngineImplicit, ConvEngine::EngineIm2col}) {
    EngineMode engine(mode);
    struct Geometry {
      Shape x, w;
      Size2 stride, padding, dilation;
      std::int64_t groups;
    };
    const std::vector<Geometry> geometries = {
        {{2, 3, 6, 7}, {9, 3, 3, 3}, 1, 1, 1, 1},          // 9 filters: a full panel and a 1-row tail
        {{1, 4, 7, 5}, {6, 2, 2, 3}, {2, 1}, {1, 0}, 1, 2},  // groups, stride, uneven padding
        {{3, 2, 8, 8}, {5, 2, 3, 2}, 1, 2, 2, 1},          // dilation
        {{2, 6, 4, 5}, {4, 6, 1, 1}, 1, 0, 1, 1},          // pointwise
    };
    for (const Geometry& gm : geometries) {
      manual_seed(31);
      const Tensor x = randn(gm.x, kFloat64).requires_grad_();
      const Tensor w = randn(gm.w, kFloat64).requires_grad_();
      const Tensor b = randn({gm.w[0]}, kFloat64).requires_grad_();
      auto f = [&](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in[2], gm.stride, Padding(gm.padding.h, gm.padding.w), gm.dilation, gm.groups);
      };
      INFO("x " << gm.x.str() << " w " << gm.w.str());
      testing::check_gradcheck(f, {x, w, b});
      GradcheckResult second = gradgradcheck(f, {x, w, b});
      INFO(second.message);
      CHECK(second.passed);
    }
  }
}

TEST_CASE("conv engine kernels equal a naive product, every tail", "[conv_engine]") {
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  for (EngineIsa isa : isas()) {
    IsaScope forced(isa);
    INFO(detail::engine_isa_name(isa));
    const std::int64_t lanes = detail::engine_lanes<double>();
    // M and N also pick each weight-gradient block shape (4x6, 6x4, 3x8, 8x3; 2x4, 4x2, 3x3).
    for (std::int64_t M : {1, 3, 5, 6, 8, 13, 17})
      for (std::int64_t N : {1, 3, 7, 16, 25, 33, 50})
        for (std::int64_t K : {1, 3, 20}) {
          std::vector<double> a(M * K), b(K * N), c(M * N), bias(M);
          for (auto* v : {&a, &b, &c, &bias})
            for (double& e : *v) e = normal(rng);
          // C = A·B + bias through a transposed view of A (row stride 1, column stride M).
          std::vector<double> at(K * M);
          for (std::int64_t m = 0; m < M; ++m)
            for (std::int64_t k = 0; k < K; ++k) at[k * M + m] = a[m * K + k];
          std::vector<double> packed(detail::packed_a_size<double>(M, K));
          detail::pack_a<double>(M, K, at.data(), 1, M, packed.data());
          std::vector<double> got(M * (N + 3), -7.0);  // row stride N + 3: the gap must stay untouched
          detail::engine_gemm<double>(M, N, K, packed.data(), b.data(), N, got.data(), N + 3, bias.data(), false);
          std::vector<double> acc = c;  // accumulate mode, no bias
          detail::engine_gemm<double>(M, N, K, packed.data(), b.data(), N, acc.data(), N, nullptr, true);
          for (std::int64_t m = 0; m < M; ++m) {
            for (std::int64_t n = 0; n < N; ++n) {
              double s = 0;
              for (std::int64_t k = 0; k < K; ++k) s += a[m * K + k] * b[k * N + n];
              INFO("M " << M << " N " << N << " K " << K << " at " << m << "," << n);
              CHECK(got[m * (N + 3) + n] == Approx(s + bias[m]).margin(1e-12));
              CHECK(acc[m * N + n] == Approx(s + c[m * N + n]).margin(1e-12));
            }
            for (std::int64_t n = N; n < N + 3; ++n) CHECK(got[m * (N + 3) + n] == -7.0);
          }
          // C[M,N] += A[M,L]·B[N,L]ᵀ with L a multiple of the lanes.
          const std::int64_t L = lanes * (K % 3 + 1);
          std::vector<double> p(M * L), q(N * L), r(M * N);
          for (auto* v : {&p, &q, &r})
            for (double& e : *v) e = normal(rng);
          std::vector<double> dot = r;
          detail::engine_gemm_abt<double>(M, N, L, p.data(), L, q.data(), L, dot.data(), N);
          for (std::int64_t m = 0; m < M; ++m)
            for (std::int64_t n = 0; n < N; ++n) {
              double s = r[m * N + n];
              for (std::int64_t l = 0; l < L; ++l) s += p[m * L + l] * q[n * L + l];
              INFO("abt M " << M << " N " << N << " L " << L);
              CHECK(dot[m * N + n] == Approx(s).margin(1e-12));
            }
        }
  }
}

TEST_CASE("conv engine is what float32 uses by default, float64 keeps im2col+BLAS", "[conv_engine]") {
  EngineMode automatic(ConvEngine::Auto);
  detail::ConvGeometry g;
  g.batch = 64;
  g.channels = 16;
  g.in_h = g.in_w = g.out_h = g.out_w = 28;
  g.filters = 32;
  g.kernel_h = g.kernel_w = 3;
  g.pad_top = g.pad_left = 1;
  CHECK(detail::use_conv_engine<float>(g));
  CHECK_FALSE(detail::use_conv_engine<double>(g));
  {
    EngineMode forced(ConvEngine::Im2colBlas);
    CHECK_FALSE(detail::use_conv_engine<float>(g));
  }
}

TEST_CASE("conv engine size limits with AVX-512: whole convs to K = 1600, weight gradients to K = 2304",
          "[conv_engine]") {
  // The limits of use_conv_engine / use_engine_weight_grad (measured against
  // OpenBLAS's AVX-512 kernels, see conv_engine.cpp); the narrower instruction
  // sets keep theirs.
  if (std::find(isas().begin(), isas().end(), EngineIsa::Avx512) == isas().end()) return;
  IsaScope forced(EngineIsa::Avx512);
  EngineMode automatic(ConvEngine::Auto);
  auto square = [](std::int64_t n, std::int64_t c, std::int64_t f, std::int64_t hw, std::int64_t k) {
    detail::ConvGeometry g;
    g.batch = n;
    g.channels = c;
    g.filters = f;
    g.in_h = g.in_w = g.out_h = g.out_w = hw;
    g.kernel_h = g.kernel_w = k;
    g.pad_top = g.pad_left = k / 2;
    return g;
  };
  for (const detail::ConvGeometry& g : {square(16, 128, 128, 14, 3), square(1, 128, 128, 14, 3),
                                        square(16, 64, 128, 28, 5)}) {
    INFO("K = " << g.patch_size() << ", batch " << g.batch);
    CHECK(detail::use_conv_engine<float>(g));
    CHECK(detail::use_engine_weight_grad<float>(g));
  }
  const detail::ConvGeometry c256 = square(8, 256, 256, 14, 3), c512 = square(8, 512, 512, 7, 3);
  CHECK_FALSE(detail::use_conv_engine<float>(c256));
  CHECK(detail::use_engine_weight_grad<float>(c256));
  CHECK_FALSE(detail::use_conv_engine<float>(c512));
  CHECK_FALSE(detail::use_engine_weight_grad<float>(c512));
  detail::ConvGeometry strided = square(16, 128, 256, 14, 3);
  strided.stride_h = strided.stride_w = 2;
  strided.out_h = strided.out_w = 7;
  CHECK_FALSE(detail::use_conv_engine<float>(strided));
  CHECK(detail::use_engine_weight_grad<float>(strided));
  // Auto mode on the 256-channel conv: im2col+BLAS forward and input gradient,
  // the engine's weight and bias gradients, against im2col+BLAS throughout.
  const Case k{2, 256, 6, 6, 16, 3, 3, 1, 1, 1, 1, true};
  manual_seed(78);
  const Tensor x = randn({k.n, k.c, k.h, k.w}), w = randn({k.f, k.c, k.kh, k.kw}) * 0.05, b = randn({k.f});
  const Tensor gy = randn({k.n, k.f, 6, 6});
  const auto blas = run(ConvEngine::Im2colBlas, k, x, w, b, gy);
  const auto mixed = run(ConvEngine::Auto, k, x, w, b, gy);
  for (std::size_t i = 0; i < mixed.size(); ++i) {
    INFO("tensor " << i << " (y, gx, gw, gb)");
    check_close(mixed[i], blas[i], 1e-5);
  }
}

TEST_CASE("conv engine instruction sets: register blocks of each, generic always there", "[conv_engine][isa]") {
  REQUIRE_FALSE(isas().empty());
  CHECK(isas().front() == EngineIsa::Generic);
  for (EngineIsa isa : isas()) {
    IsaScope forced(isa);
    CHECK(detail::engine_isa() == isa);
    const std::string name = detail::engine_isa_name(isa);
    INFO(name);
    // float lanes and panel rows: AVX-512 16 x 8, AVX2 8 x 6, SSE2 4 x 4.
    const std::int64_t lanes = detail::engine_lanes<float>(), rows = detail::engine_panel_rows<float>();
    if (isa == EngineIsa::Avx512) CHECK((lanes == 16 && rows == 8));
    if (isa == EngineIsa::Avx2) CHECK((lanes == 8 && rows == 6));
    if (isa == EngineIsa::Generic && name == "SSE2") CHECK((lanes == 4 && rows == 4));
    CHECK(detail::engine_lanes<double>() * 2 == detail::engine_lanes<float>());
    CHECK(detail::engine_isa_reason() == "set by the program");
    const Config c = config();
    CHECK(c.engine_isa == name);
    CHECK_THAT(config_text(), Contains("  conv engine: " + name + " (set by the program)\n"));
  }
  // The CPU's widest by default.
  const detail::IsaSupport cpu = detail::cpu_isa_support();
  CHECK(detail::choose_engine_isa(nullptr, cpu) == isas().back());
}

TEST_CASE("TAPEGRAD_ISA: each value on each kind of CPU; unknown or unsupported values refused", "[conv_engine][isa]") {
  detail::IsaSupport none, avx2, avx512;
  avx2.avx2 = true;
  avx512.avx2 = avx512.avx512 = true;
  // Unset, empty or "auto": the widest the CPU has.
  CHECK(detail::choose_engine_isa(nullptr, avx512) == EngineIsa::Avx512);
  CHECK(detail::choose_engine_isa("", avx2) == EngineIsa::Avx2);
  CHECK(detail::choose_engine_isa("auto", none) == EngineIsa::Generic);
  // A narrower one than the CPU's widest, any case and spacing.
  CHECK(detail::choose_engine_isa("avx2", avx512) == EngineIsa::Avx2);
  CHECK(detail::choose_engine_isa(" AVX512 ", avx512) == EngineIsa::Avx512);
  CHECK(detail::choose_engine_isa("generic", avx512) == EngineIsa::Generic);
  CHECK(detail::choose_engine_isa("Generic", none) == EngineIsa::Generic);
  // Instructions the CPU lacks: refused, naming the variable, the value and what the CPU has.
  CHECK_THROWS_MATCHES(detail::choose_engine_isa("avx512", avx2), std::invalid_argument,
                       Catch::Matchers::Message("TAPEGRAD_ISA=avx512: this CPU has no AVX-512 (the widest it offers "
                                                "is AVX2+FMA); unset TAPEGRAD_ISA or choose that one"));
  CHECK_THROWS_WITH(detail::choose_engine_isa("avx2", none), Contains("TAPEGRAD_ISA=avx2: this CPU has no AVX2+FMA"));
  // Unknown names.
  for (const char* bad : {"avx", "sse2", "avx-512", "native", "avx512f"})
    CHECK_THROWS_MATCHES(detail::choose_engine_isa(bad, avx512), std::invalid_argument,
                         Catch::Matchers::Message("TAPEGRAD_ISA=" + std::string(bad) +
                                                  ": unknown instruction set for the conv engine (expected avx512, "
                                                  "avx2, generic or auto)"));
}

// Run by the ctests conv_engine_isa_* in a fresh process with TAPEGRAD_ISA set
// (the choice is made once per process); TAPEGRAD_EXPECT_ISA says the outcome:
// an instruction-set name, or "refused". In the full suite it checks nothing.
TEST_CASE("TAPEGRAD_ISA in the environment of a process", "[conv_engine][isa_env]") {
  const char* expected = std::getenv("TAPEGRAD_EXPECT_ISA");
  if (!expected) {
    SUCCEED("checked by the ctests conv_engine_isa_*");
    return;
  }
  const std::string value = std::getenv("TAPEGRAD_ISA") ? std::getenv("TAPEGRAD_ISA") : "";
  manual_seed(3);
  const Tensor x = randn({8, 16, 14, 14}), w = randn({32, 16, 3, 3});  // a shape the engine takes
  if (std::string(expected) == "refused") {
    CHECK_THROWS_AS(conv2d(x, w, Tensor(), 1, 1), std::invalid_argument);
    CHECK_THROWS_WITH(conv2d(x, w, Tensor(), 1, 1), Contains("TAPEGRAD_ISA=" + value));
    const Config c = config();
    CHECK(c.engine_isa == "none");
    CHECK_THAT(c.engine_isa_reason, Contains("TAPEGRAD_ISA=" + value));
    return;
  }
  const Config c = config();
  CHECK(c.engine_isa == expected);
  CHECK(c.engine_isa_reason == "TAPEGRAD_ISA=" + value);
  CHECK_THAT(config_text(), Contains("  conv engine: " + std::string(expected) + " (TAPEGRAD_ISA=" + value + ")\n"));
  Tensor y;
  {
    EngineMode blas(ConvEngine::Im2colBlas);
    y = conv2d(x, w, Tensor(), 1, 1);
  }
  EngineMode engine(ConvEngine::Engine);
  check_close(conv2d(x, w, Tensor(), 1, 1), y, 1e-5);
}
