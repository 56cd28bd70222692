// Reductions and element-wise math beyond what tests/test_reduction_reference.cpp
// compares with PyTorch in float64: float32 stability, NaN, and the gradient
// rules at ties and zeros in float32.
#include <cmath>
#include <limits>

#include "test_helpers.hpp"

using namespace tg;
using tg::testing::check_values;

TEST_CASE("logsumexp stays finite in float32 where exp overflows", "[ops][reductions]") {
  // e^100 is above float32's maximum (3.4e38): an unshifted sum would be inf.
  const Tensor x = tensor({100, 100, 89, -3}, {2, 2});
  const Tensor y = logsumexp(x, {1});
  CHECK(y.dtype() == kFloat32);
  check_values(y, {100 + std::log(2.0), 89 + std::log1p(std::exp(-92.0))}, 1e-4);
  const Tensor all = logsumexp(tensor({-1000, -1000}, {2}), {0});
  check_values(all, {-1000 + std::log(2.0)}, 1e-3);
}

TEST_CASE("max and min propagate NaN, in the values and the indices", "[ops][reductions]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor x = tensor({1, nan, 3, 4, 2, 0}, {2, 3});
  const MaxResult hi = max(x, 1);
  const MinResult lo = min(x, 1);
  CHECK(std::isnan(hi.values.to_vector<double>()[0]));
  CHECK(hi.values.to_vector<double>()[1] == 4);
  CHECK(hi.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  CHECK(std::isnan(lo.values.to_vector<double>()[0]));
  CHECK(lo.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});
  CHECK(std::isnan(max(x).item<float>()));
  CHECK(argmin(x).item<std::int64_t>() == 1);
  for (double v : maximum(tensor({nan, 1}, {2}), tensor({0, nan}, {2})).to_vector<double>()) CHECK(std::isnan(v));
}

TEST_CASE("gradients at ties and zeros in float32", "[ops][reductions]") {
  // Two tied maxima share the gradient; prod at one zero gives the product of the others.
  Tensor x = tensor({2, 5, 5, -1}, {4}).requires_grad_();
  max(x).backward();
  check_values(x.grad(), {0, 0.5, 0.5, 0});

  Tensor z = tensor({3, 0, -2, 0.5}, {4}).requires_grad_();
  prod(z).backward();
  check_values(z.grad(), {0, -3, 0, 0});

  // A constant row: std 0 and gradient 0 (not NaN); the 2-norm of zeros likewise.
  Tensor c = tensor({1.5, 1.5, 1.5}, {3}).requires_grad_();
  (tg::std(c) + norm(c - 1.5)).backward();
  check_values(c.grad(), {0, 0, 0});

  // pow(x, 0) at x = 0: gradient 0, as in PyTorch (p x^(p-1) would be 0 * inf = NaN).
  Tensor p = tensor({0, 2}, {2}).requires_grad_();
  sum(pow(p, 0.0)).backward();
  check_values(p.grad(), {0, 0});
}
