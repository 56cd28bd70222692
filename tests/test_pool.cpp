// max_pool2d / avg_pool2d and pad2d: hand-computed known answers and gradient
// routing. Gradient checks and shape errors are the ops' declarations
// (ops/pool.cpp, ops/pad.cpp, run by tests/test_op_declarations.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "ops/kernels/pool2d.hpp"
#include "test_helpers.hpp"

using namespace tg;

namespace {

void check_values(const Tensor& t, const std::vector<double>& expected) {
  testing::check_values(t, expected, 1e-12);
}

Tensor one_to(std::int64_t n, const Shape& shape) { return reshape(arange(n) + 1.0, shape.vec()).detach(); }

// A two-channel input: 1..16 and 17..32.
Tensor two_channels() { return one_to(32, {1, 2, 4, 4}).requires_grad_(); }

}  // namespace

TEST_CASE("2x2 max pool picks each window's maximum and routes the gradient to it", "[pool][known]") {
  Tensor x = tensor({1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4}, {1, 1, 4, 4}).requires_grad_();
  Tensor y = max_pool2d(x, 2);
  check_values(y, {6, 8, 3, 4});
  y.backward(tensor({10, 20, 30, 40}, {1, 1, 2, 2}));
  check_values(x.grad(), {0, 0, 0, 0, 0, 10, 0, 20, 30, 0, 0, 0, 0, 0, 0, 40});
}

TEST_CASE("max pool ties go to the first maximum, as np.argmax", "[pool]") {
  Tensor x = tensor({7, 7, 7, 7}, {1, 1, 2, 2}).requires_grad_();
  max_pool2d(x, 2).backward(ones({1, 1, 1, 1}));
  check_values(x.grad(), {1, 0, 0, 0});
}

TEST_CASE("max pool propagates NaN and handles all -inf windows", "[pool]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  Tensor x = tensor({1, nan, 5, 2, 9, 3, nan, 4, -inf, -inf, 0, 0, -inf, -inf, 0, 0}, {1, 1, 4, 4}, kFloat64)
                 .requires_grad_();
  Tensor y = max_pool2d(x, 2);
  const auto v = y.to_vector<double>();
  CHECK(std::isnan(v[0]));  // the NaN beats the 9 next to it
  CHECK(std::isnan(v[1]));
  CHECK(v[2] == -inf);
  CHECK(v[3] == 0);
  y.backward(tensor({1, 2, 3, 4}, {1, 1, 2, 2}, kFloat64));
  // Each gradient goes to the NaN / the first -inf / the first 0 of its window.
  check_values(x.grad(), {0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0});
}

TEST_CASE("pooling with stride 1 on the 4x4 image 1..16", "[pool][known]") {
  const Tensor x = one_to(16, {1, 1, 4, 4});
  check_values(max_pool2d(x, 2, Size2(1)), {6, 7, 8, 10, 11, 12, 14, 15, 16});
  check_values(avg_pool2d(x, 2, Size2(1)), {3.5, 4.5, 5.5, 7.5, 8.5, 9.5, 11.5, 12.5, 13.5});
}

TEST_CASE("max pooling forward and backward on the 4x4 image 1..16", "[pool][known]") {
  Tensor x = one_to(16, {1, 1, 4, 4}).requires_grad_();
  Tensor y = max_pool2d(x, {2, 2}, Size2{2, 2});
  check_values(y, {6, 8, 14, 16});
  y.backward(tensor({6, 8, 14, 16}, {1, 1, 2, 2}));
  check_values(x.grad(), {0, 0, 0, 0, 0, 6, 0, 8, 0, 0, 0, 0, 0, 14, 0, 16});

  Tensor xm = two_channels();
  Tensor ym = max_pool2d(xm, 2);
  check_values(ym, {6, 8, 14, 16, 22, 24, 30, 32});
  ym.backward(tensor({3, 4, 7, 8, 11, 12, 15, 16}, {1, 2, 2, 2}));
  check_values(xm.grad(), {0, 0, 0, 0, 0, 3,  0, 4,  0, 0, 0, 0, 0, 7,  0, 8,  //
                           0, 0, 0, 0, 0, 11, 0, 12, 0, 0, 0, 0, 0, 15, 0, 16});
}

TEST_CASE("average pooling forward and backward on the 4x4 image 1..16", "[pool][known]") {
  Tensor x = one_to(16, {1, 1, 4, 4}).requires_grad_();
  Tensor y = avg_pool2d(x, 2);
  check_values(y, {3.5, 5.5, 11.5, 13.5});
  y.backward(tensor({6, 8, 14, 16}, {1, 1, 2, 2}));
  check_values(x.grad(), {1.5, 1.5, 2, 2, 1.5, 1.5, 2, 2, 3.5, 3.5, 4, 4, 3.5, 3.5, 4, 4});

  Tensor xm = two_channels();
  Tensor ym = avg_pool2d(xm, 2);
  check_values(ym, {3.5, 5.5, 11.5, 13.5, 19.5, 21.5, 27.5, 29.5});
  ym.backward(tensor({3, 4, 7, 8, 11, 12, 15, 16}, {1, 2, 2, 2}));
  check_values(xm.grad(), {0.75, 0.75, 1, 1, 0.75, 0.75, 1, 1, 1.75, 1.75, 2, 2, 1.75, 1.75, 2, 2,  //
                           2.75, 2.75, 3, 3, 2.75, 2.75, 3, 3, 3.75, 3.75, 4, 4, 3.75, 3.75, 4, 4});
}

TEST_CASE("overlapping windows add their gradients up", "[pool]") {
  // 3x3 input, 2x2 windows, stride 1: the centre belongs to all four windows.
  Tensor x = tensor({0, 0, 0, 0, 9, 0, 0, 0, 0}, {1, 1, 3, 3}).requires_grad_();
  max_pool2d(x, 2, Size2(1)).backward(ones({1, 1, 2, 2}));
  check_values(x.grad(), {0, 0, 0, 0, 4, 0, 0, 0, 0});
  Tensor z = one_to(9, {1, 1, 3, 3}).requires_grad_();
  avg_pool2d(z, 2, Size2(1)).backward(ones({1, 1, 2, 2}));
  check_values(z.grad(), {0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25});
}

TEST_CASE("pooling with padding: -inf for max, zeros counted for avg", "[pool]") {
  const Tensor x = tensor({-1, -2, -3, -4}, {1, 2, 2});  // [C,H,W] works too
  // 2x2 windows, stride 2, padding 1 on a 2x2 plane: each window holds one real pixel.
  check_values(max_pool2d(x, 2, std::nullopt, 1), {-1, -2, -3, -4});
  check_values(avg_pool2d(x, 2, std::nullopt, 1), {-0.25, -0.5, -0.75, -1});
  CHECK(max_pool2d(ones({3, 2, 5, 7}), {3, 2}, Size2{2, 1}, {1, 0}).shape() == Shape{3, 2, 3, 6});
}

TEST_CASE("pooling on one thread and on two gives the same values", "[pool]") {
  manual_seed(20);
  const int before = get_num_threads();
  const Tensor x0 = randn({8, 16, 12, 12}, kFloat64), gy = randn({8, 16, 11, 11}, kFloat64);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor x = x0.clone().requires_grad_();
    Tensor y = max_pool2d(x, 2, Size2(1)) + avg_pool2d(x, 2, Size2(1));
    y.backward(gy);
    return std::vector<Tensor>{y, x.grad()};
  };
  const auto serial = run(1);
  const auto parallel = run(2);
  set_num_threads(before);
  check_values(parallel[0], serial[0].to_vector<double>());
  check_values(parallel[1], serial[1].to_vector<double>());
}

TEST_CASE("pad2d pads {left, right, top, bottom} and crops with negative pads", "[pool]") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {1, 2, 3}).requires_grad_();
  Tensor y = pad2d(x, {1, 0, 2, 1}, -1.0);
  REQUIRE(y.shape() == Shape{1, 5, 4});
  check_values(y, {-1, -1, -1, -1,  //
                   -1, -1, -1, -1,  //
                   -1, 1,  2,  3,   //
                   -1, 4,  5,  6,   //
                   -1, -1, -1, -1});
  y.backward(reshape(arange(20, kFloat64), {1, 5, 4}));
  check_values(x.grad(), {9, 10, 11, 13, 14, 15});
  check_values(pad2d(tensor({1, 2, 3, 4, 5, 6}, {2, 3}), {-1, 0, 0, -1}), {2, 3});
  CHECK(pad2d(tensor_i64({1, 2, 3, 4}, {2, 2}), {1, 1, 0, 0}).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 1, 2, 0, 0, 3, 4, 0});
}

namespace {

// The definition of max pooling, one window at a time: padding is -inf, each
// window scanned in row-major order from -inf at its first pixel inside the
// plane, a value takes over when strictly greater (ties keep the first, as
// np.argmax) or when it is NaN (NaN propagates; the last NaN of a window is
// where its gradient goes, as in PyTorch's CPU kernel). The
// gradient adds gy[o] at the maximum of every window o, in output order.
struct PoolCase {
  std::int64_t n, c, h, w, kh, kw, sh, sw, ph, pw;
  std::int64_t oh() const { return (h + 2 * ph - kh) / sh + 1; }
  std::int64_t ow() const { return (w + 2 * pw - kw) / sw + 1; }
};

void reference_max_pool(const PoolCase& s, const std::vector<double>& x, const std::vector<double>& gy,
                        std::vector<double>& y, std::vector<double>& gx) {
  const std::int64_t planes = s.n * s.c, OH = s.oh(), OW = s.ow();
  y.assign(static_cast<std::size_t>(planes * OH * OW), 0.0);
  gx.assign(x.size(), 0.0);
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t i = 0; i < OH; ++i)
      for (std::int64_t j = 0; j < OW; ++j) {
        double best = -std::numeric_limits<double>::infinity();
        std::int64_t at = -1;
        for (std::int64_t a = 0; a < s.kh; ++a)
          for (std::int64_t e = 0; e < s.kw; ++e) {
            const std::int64_t r = i * s.sh - s.ph + a, col = j * s.sw - s.pw + e;
            if (r < 0 || r >= s.h || col < 0 || col >= s.w) continue;
            const std::int64_t k = (p * s.h + r) * s.w + col;
            const double v = x[static_cast<std::size_t>(k)];
            if (at < 0) at = k;  // the window's first pixel inside the plane
            if (v > best || std::isnan(v)) {
              best = v;
              at = k;
            }
          }
        const std::size_t o = static_cast<std::size_t>((p * OH + i) * OW + j);
        y[o] = best;
        gx[static_cast<std::size_t>(at)] += gy[o];
      }
}

bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

TEST_CASE("max pooling matches its definition on random shapes, with ties, -inf, inf and NaN", "[pool][max-pool-random]") {
  std::mt19937 rng(7);
  auto pick = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  for (int trial = 0; trial < 300; ++trial) {
    PoolCase s{};
    s.n = pick(1, 2);
    s.c = pick(1, 3);
    if (trial % 3 == 0) {  // LeNet's pools: 2x2, stride 2, odd and even planes
      s.kh = s.kw = s.sh = s.sw = 2;
      s.ph = s.pw = 0;
    } else if (trial % 50 == 1) {  // more than 256 window positions: no offset table
      s.kh = 17;
      s.kw = 16;
      s.sh = pick(1, 3);
      s.sw = pick(1, 3);
      s.ph = pick(0, 8);
      s.pw = pick(0, 8);
    } else {
      s.kh = pick(1, 4);
      s.kw = pick(1, 4);
      s.sh = pick(1, 3);
      s.sw = pick(1, 3);
      s.ph = pick(0, s.kh / 2);
      s.pw = pick(0, s.kw / 2);
    }
    s.h = pick(std::max<std::int64_t>(1, s.kh - 2 * s.ph), s.kh + 9);
    s.w = pick(std::max<std::int64_t>(1, s.kw - 2 * s.pw), s.kw + 9);
    const std::int64_t numel = s.n * s.c * s.h * s.w, outputs = s.n * s.c * s.oh() * s.ow();
    std::vector<double> x(static_cast<std::size_t>(numel)), gy(static_cast<std::size_t>(outputs));
    const bool all_minus_inf = trial % 7 == 0;
    for (double& v : x) {
      const std::int64_t r = pick(0, 99);
      v = all_minus_inf ? (r < 90 ? -inf : 1.0) : r < 4 ? nan : r < 9 ? -inf : r < 11 ? inf : static_cast<double>(pick(-3, 3));
    }
    for (double& v : gy) v = static_cast<double>(pick(-1000, 1000)) / 64.0;  // exact in float32: sums are exact
    std::vector<double> y_ref, gx_ref;
    reference_max_pool(s, x, gy, y_ref, gx_ref);
    for (const Dtype dt : {kFloat32, kFloat64}) {
      INFO("trial " << trial << " " << dtype_name(dt) << " input [" << s.n << "," << s.c << "," << s.h << "," << s.w
                    << "] kernel " << s.kh << "x" << s.kw << " stride " << s.sh << "," << s.sw << " padding " << s.ph
                    << "," << s.pw);
      const Shape shape{s.n, s.c, s.h, s.w}, out_shape{s.n, s.c, s.oh(), s.ow()};
      Tensor xt = tensor(x, shape, dt).requires_grad_();
      Tensor y = max_pool2d(xt, {s.kh, s.kw}, Size2{s.sh, s.sw}, {s.ph, s.pw});
      REQUIRE(y.shape() == out_shape);
      const Tensor gyt = tensor(gy, out_shape, dt);
      y.backward(gyt);
      const auto yv = y.to_vector<double>(), gxv = xt.grad().to_vector<double>();
      bool y_same = true, gx_same = true;
      for (std::size_t i = 0; i < yv.size(); ++i) y_same = y_same && same_value(yv[i], y_ref[i]);
      for (std::size_t i = 0; i < gxv.size(); ++i) gx_same = gx_same && gxv[i] == gx_ref[i];
      CHECK(y_same);
      CHECK(gx_same);
      // The recorded gradient (create_graph: scatter_add at the maxima) routes the same way.
      Tensor x2 = tensor(x, shape, dt).requires_grad_();
      const Tensor g2 =
          autograd::grad({max_pool2d(x2, {s.kh, s.kw}, Size2{s.sh, s.sw}, {s.ph, s.pw})}, {x2}, {gyt}, true, true)[0];
      const auto g2v = g2.to_vector<double>();
      bool g2_same = true;
      for (std::size_t i = 0; i < g2v.size(); ++i) g2_same = g2_same && g2v[i] == gx_ref[i];
      CHECK(g2_same);
    }
  }
}

TEST_CASE("max pooling kernels agree with int32 and int64 window positions", "[pool][max-pool-random]") {
  // int64 positions serve windows of 2^31 positions or more, too large to test
  // through the op: the kernels are compared directly on ordinary geometries.
  std::mt19937 rng(11);
  auto pick = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 100; ++trial) {
    detail::PoolGeometry g;
    g.planes = pick(1, 4);
    g.kernel_h = pick(1, 4);
    g.kernel_w = trial % 4 == 0 ? 2 : pick(1, 4);
    if (trial % 4 == 0) g.kernel_h = g.stride_h = g.stride_w = 2;  // the 2x2 loops
    else {
      g.stride_h = pick(1, 3);
      g.stride_w = pick(1, 3);
      g.pad_top = pick(0, g.kernel_h / 2);
      g.pad_left = pick(0, g.kernel_w / 2);
    }
    g.in_h = pick(std::max<std::int64_t>(1, g.kernel_h - 2 * g.pad_top), g.kernel_h + 6);
    g.in_w = pick(std::max<std::int64_t>(1, g.kernel_w - 2 * g.pad_left), g.kernel_w + 6);
    g.out_h = (g.in_h + 2 * g.pad_top - g.kernel_h) / g.stride_h + 1;
    g.out_w = (g.in_w + 2 * g.pad_left - g.kernel_w) / g.stride_w + 1;
    std::vector<double> x(static_cast<std::size_t>(g.planes * g.in_plane()));
    std::vector<double> gy(static_cast<std::size_t>(g.planes * g.out_plane()));
    for (double& v : x) v = static_cast<double>(pick(-2, 2));  // ties
    for (double& v : gy) v = static_cast<double>(pick(-50, 50));
    std::vector<double> y32(gy.size()), y64(gy.size()), gx32(x.size()), gx64(x.size());
    std::vector<std::int32_t> at32(gy.size());
    std::vector<std::int64_t> at64(gy.size()), index32(gy.size()), index64(gy.size());
    detail::max_pool2d_forward(x.data(), g, y32.data(), at32.data());
    detail::max_pool2d_forward(x.data(), g, y64.data(), at64.data());
    detail::max_pool2d_backward(gy.data(), at32.data(), g, gx32.data());
    detail::max_pool2d_backward(gy.data(), at64.data(), g, gx64.data());
    detail::max_pool2d_plane_indices(at32.data(), g, index32.data());
    detail::max_pool2d_plane_indices(at64.data(), g, index64.data());
    INFO("trial " << trial);
    CHECK(y32 == y64);
    CHECK(std::vector<std::int64_t>(at32.begin(), at32.end()) == at64);
    CHECK(gx32 == gx64);
    CHECK(index32 == index64);
  }
}
