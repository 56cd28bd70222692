// Element-wise math: exp, log, sqrt, abs, pow, clamp.
//
// Forward kernels are xtensor expressions over adapted buffers, assigned with
// xt::noalias so xsimd vectorises them (same speed as a hand-written xsimd
// loop here, 10x a std::exp loop).
//
// Each op's gradient is the formula passed to autograd::formulas in its
// definition; its samples and error inputs are declared at the bottom.
#include <cmath>
#include <limits>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/xt.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

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
    autograd::record("exp", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) { return gy * y.get(); }));
  return y;
}

Tensor log(const Tensor& x) {
  Tensor y = map(x, "log", [](const auto& v, auto) { return xt::log(v); });
  if (autograd::needs_grad(x))
    autograd::record("log", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) { return gy / x.get(); }));
  return y;
}

Tensor sqrt(const Tensor& x) {
  Tensor y = map(x, "sqrt", [](const auto& v, auto) { return xt::sqrt(v); });
  if (autograd::needs_grad(x))
    autograd::record("sqrt", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) { return gy / (y.get() * 2.0); }));
  return y;
}

namespace {
// sign(x) as a tensor of x's dtype: -1, 0 or 1.
Tensor sign_of(const Tensor& x) {
  return map(x, "sign", [](const auto& v, auto t) {
    using T = decltype(t);
    return xt::cast<T>(v > T(0)) - xt::cast<T>(v < T(0));
  });
}
}  // namespace

Tensor abs(const Tensor& x) {
  Tensor y = map(x, "abs", [](const auto& v, auto) { return xt::abs(v); });
  if (autograd::needs_grad(x))
    autograd::record("abs", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) { return gy * sign_of(x); }));
  return y;
}

Tensor pow(const Tensor& x, double p) {
  Tensor y = map(x, "pow", [p](const auto& v, auto t) {
    using T = decltype(t);
    return xt::pow(v, static_cast<T>(p));
  });
  if (autograd::needs_grad(x))
    autograd::record("pow", {x}, y, autograd::formulas([x = SavedTensor(x), p](const Tensor& gy) { return gy * pow(x.get(), p - 1.0) * p; }));
  return y;
}

namespace {
// [lo <= x <= hi] as a tensor of x's dtype.
Tensor inside(const Tensor& x, double lo, double hi) {
  return map(x, "clamp", [lo, hi](const auto& v, auto t) {
    using T = decltype(t);
    return xt::cast<T>(v >= static_cast<T>(lo) && v <= static_cast<T>(hi));
  });
}
}  // namespace

Tensor clamp(const Tensor& x, double lo, double hi) {
  // A NaN bound would silently turn every element into NaN (as PyTorch does): refuse it.
  if (std::isnan(lo) || std::isnan(hi)) detail::fail("clamp: bounds must not be NaN, got [", lo, ", ", hi, "]");
  if (lo > hi) detail::fail("clamp: lower bound ", lo, " is above upper bound ", hi);
  Tensor y = map(x, "clamp", [lo, hi](const auto& v, auto t) {
    using T = decltype(t);
    return xt::clip(v, static_cast<T>(lo), static_cast<T>(hi));
  });
  if (autograd::needs_grad(x))
    autograd::record("clamp", {x}, y, autograd::formulas([x = SavedTensor(x), lo, hi](const Tensor& gy) { return gy * inside(x, lo, hi); }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: each op's samples (with their domain) and error inputs; the
// generic test (tests/test_op_declarations.cpp) runs check_op over them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> unary_op_declarations() {
  using inputs::any;
  using inputs::positive;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {
      OpInfo("exp")
          .sample("3x2", {any({3, 2})}, [](const OpArgs& v) { return exp(v[0]); })
          .sample("0-d", {any({})}, [](const OpArgs& v) { return exp(v[0]); })
          .error("int64 input", [] { exp(tensor_i64({1, 2}, {2})); }, {"exp", "int64"}),
      OpInfo("log")
          .sample("3x2, positive", {positive({3, 2})}, [](const OpArgs& v) { return log(v[0]); })
          .error("int64 input", [] { log(tensor_i64({1}, {1})); }, {"log", "int64"}),
      OpInfo("sqrt").sample("3x2, positive", {positive({3, 2})}, [](const OpArgs& v) { return sqrt(v[0]); }),
      OpInfo("abs").sample("3x2, away from the kink at 0", {inputs::away_from_zero({3, 2})},
                           [](const OpArgs& v) { return abs(v[0]); }),
      OpInfo("pow")
          .sample("cube", {any({3, 2})}, [](const OpArgs& v) { return pow(v[0], 3.0); })
          .sample("square root, positive", {positive({3, 2})}, [](const OpArgs& v) { return pow(v[0], 0.5); }),
      OpInfo("clamp")
          .sample("[-0.5, 0.5]", {any({4, 3})}, [](const OpArgs& v) { return clamp(v[0], -0.5, 0.5); })
          .sample("lower bound only", {any({4, 3})}, [](const OpArgs& v) { return clamp(v[0], 0.1); })
          .error("lower bound above upper bound", [] { clamp(ones({2}), 1, 0); }, {"clamp", "lower bound 1", "0"})
          .error("NaN bound", [nan] { clamp(ones({2}), nan, 1); }, {"clamp", "NaN", "nan"}),
  };
}

}  // namespace tg
