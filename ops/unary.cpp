// Element-wise math: exp, log, sqrt, abs, pow, clamp.
//
// Forward kernels are xtensor expressions over adapted buffers, assigned with
// xt::noalias so xsimd vectorises them (same speed as a hand-written xsimd
// loop here, 10x a std::exp loop).
//
// Backward rules:
//   exp:   gx = gy * y
//   log:   gx = gy / x
//   sqrt:  gx = gy / (2 y)
//   abs:   gx = gy * sign(x)
//   pow:   gx = gy * p * x^(p-1)
//   clamp: gx = gy * [lo <= x <= hi]
#include <cmath>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/xt.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
namespace {

using autograd::Grads;
using detail::flat;

// y = f(x) element-wise; `f` maps an xtensor view of x to an expression.
template <class F> Tensor map(const Tensor& x, const char* name, F f) {
  detail::check_floating(x, name);
  Tensor y = detail::make_tensor(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const std::int64_t n = x.numel();
    auto xx = flat(static_cast<const T*>(x.raw_data()), n);
    auto xy = flat(static_cast<T*>(y.raw_data()), n);
    xt::noalias(xy) = f(xx, T{});
  });
  return y;
}

}  // namespace

Tensor exp(const Tensor& x) {
  Tensor y = map(x, "exp", [](const auto& v, auto) { return xt::exp(v); });
  if (autograd::needs_grad(x))
    autograd::record("exp", {x}, y, [y = y.detach()](const Tensor& gy) -> Grads { return {gy * y}; });
  return y;
}

Tensor log(const Tensor& x) {
  Tensor y = map(x, "log", [](const auto& v, auto) { return xt::log(v); });
  if (autograd::needs_grad(x))
    autograd::record("log", {x}, y, [x](const Tensor& gy) -> Grads { return {gy / x}; });
  return y;
}

Tensor sqrt(const Tensor& x) {
  Tensor y = map(x, "sqrt", [](const auto& v, auto) { return xt::sqrt(v); });
  if (autograd::needs_grad(x))
    autograd::record("sqrt", {x}, y,
                     [y = y.detach()](const Tensor& gy) -> Grads { return {gy / (y * 2.0)}; });
  return y;
}

Tensor abs(const Tensor& x) {
  Tensor y = map(x, "abs", [](const auto& v, auto) { return xt::abs(v); });
  if (autograd::needs_grad(x))
    autograd::record("abs", {x}, y, [x](const Tensor& gy) -> Grads {
      Tensor sign = map(x, "abs", [](const auto& v, auto t) {
        using T = decltype(t);
        return xt::cast<T>(v > T(0)) - xt::cast<T>(v < T(0));
      });
      return {gy * sign};
    });
  return y;
}

Tensor pow(const Tensor& x, double p) {
  Tensor y = map(x, "pow", [p](const auto& v, auto t) {
    using T = decltype(t);
    return xt::pow(v, static_cast<T>(p));
  });
  if (autograd::needs_grad(x))
    autograd::record("pow", {x}, y,
                     [x, p](const Tensor& gy) -> Grads { return {gy * pow(x, p - 1.0) * p}; });
  return y;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  // A NaN bound would silently turn every element into NaN (as PyTorch does): refuse it.
  if (std::isnan(lo) || std::isnan(hi)) detail::fail("clamp: bounds must not be NaN, got [", lo, ", ", hi, "]");
  if (lo > hi) detail::fail("clamp: lower bound ", lo, " is above upper bound ", hi);
  Tensor y = map(x, "clamp", [lo, hi](const auto& v, auto t) {
    using T = decltype(t);
    return xt::clip(v, static_cast<T>(lo), static_cast<T>(hi));
  });
  if (autograd::needs_grad(x))
    autograd::record("clamp", {x}, y, [x, lo, hi](const Tensor& gy) -> Grads {
      Tensor inside = map(x, "clamp", [lo, hi](const auto& v, auto t) {
        using T = decltype(t);
        return xt::cast<T>(v >= static_cast<T>(lo) && v <= static_cast<T>(hi));
      });
      return {gy * inside};
    });
  return y;
}

}  // namespace tg
