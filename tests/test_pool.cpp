// max_pool2d / avg_pool2d and pad2d: hand-computed known answers and gradient
// routing. Gradient checks and shape errors are the ops' declarations
// (ops/pool.cpp, ops/pad.cpp, run by tests/test_op_declarations.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <tapegrad/tapegrad.hpp>

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
  // Each gradient goes to the first NaN / the first -inf / the first 0 of its window.
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
