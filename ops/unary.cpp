// Element-wise math: exp, log, sqrt, abs, pow, clamp, floor, ceil, round, sign,
// erf, log1p, expm1, rsqrt.
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

template <class F> Tensor map(const Tensor& x, const char* name, F f) { return detail::map_floating(x, name, f); }

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

Tensor abs(const Tensor& x) {
  Tensor y = map(x, "abs", [](const auto& v, auto) { return xt::abs(v); });
  if (autograd::needs_grad(x))
    autograd::record("abs", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) { return gy * sign(x.get()); }));
  return y;
}

Tensor pow(const Tensor& x, double p) {
  Tensor y = map(x, "pow", [p](const auto& v, auto t) {
    using T = decltype(t);
    return xt::pow(v, static_cast<T>(p));
  });
  // x^0 is 1 everywhere: its gradient is 0, also at x = 0 where p x^(p-1) would be 0 * inf.
  if (autograd::needs_grad(x) && p == 0)
    autograd::record("pow", {x}, y, autograd::formulas([](const Tensor& gy) { return zeros_like(gy); }));
  else if (autograd::needs_grad(x))
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

// ---- piecewise constant: zero gradient, as in PyTorch ----------------------------
namespace {
// y = f(x), recorded with a zero gradient (the output still requires grad, as in PyTorch).
template <class F> Tensor piecewise_constant(const Tensor& x, const char* name, F f) {
  Tensor y = map(x, name, f);
  if (autograd::needs_grad(x)) autograd::record(name, {x}, y, autograd::formulas([](const Tensor& gy) { return zeros_like(gy); }));
  return y;
}
}  // namespace

Tensor floor(const Tensor& x) {
  return piecewise_constant(x, "floor", [](const auto& v, auto) { return xt::floor(v); });
}

Tensor ceil(const Tensor& x) {
  return piecewise_constant(x, "ceil", [](const auto& v, auto) { return xt::ceil(v); });
}

// nearbyint rounds in the default rounding mode, to nearest with ties to even.
Tensor round(const Tensor& x) {
  return piecewise_constant(x, "round", [](const auto& v, auto) { return xt::nearbyint(v); });
}

Tensor sign(const Tensor& x) {
  return piecewise_constant(x, "sign", [](const auto& v, auto t) {
    using T = decltype(t);
    return xt::cast<T>(v > T(0)) - xt::cast<T>(v < T(0));
  });
}

// ---- erf, log1p, expm1, rsqrt ----------------------------------------------------
Tensor erf(const Tensor& x) {
  Tensor y = map(x, "erf", [](const auto& v, auto) { return xt::erf(v); });
  if (autograd::needs_grad(x))  // d erf / dx = 2/sqrt(pi) e^(-x^2)
    autograd::record("erf", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) {
      return gy * exp(x.get() * x.get() * -1.0) * 1.1283791670955126;  // 2 / sqrt(pi)
    }));
  return y;
}

Tensor log1p(const Tensor& x) {
  Tensor y = map(x, "log1p", [](const auto& v, auto) { return xt::log1p(v); });
  if (autograd::needs_grad(x))
    autograd::record("log1p", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) { return gy / (x.get() + 1.0); }));
  return y;
}

Tensor expm1(const Tensor& x) {
  Tensor y = map(x, "expm1", [](const auto& v, auto) { return xt::expm1(v); });
  if (autograd::needs_grad(x))  // d(e^x - 1)/dx = e^x = y + 1
    autograd::record("expm1", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) { return gy * (y.get() + 1.0); }));
  return y;
}

Tensor rsqrt(const Tensor& x) {
  Tensor y = map(x, "rsqrt", [](const auto& v, auto t) {
    using T = decltype(t);
    return T(1) / xt::sqrt(v);
  });
  if (autograd::needs_grad(x))  // d x^(-1/2) / dx = -x^(-3/2) / 2 = -y^3 / 2
    autograd::record("rsqrt", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) {
      return gy * y.get() * y.get() * y.get() * -0.5;
    }));
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
      OpInfo("pow (exponent 0)")
          .sample("at 0 and around it", {inputs::given(tensor({0, -1.5, 2}, {3}, kFloat64))},
                  [](const OpArgs& v) { return pow(v[0], 0.0) * v[0]; }),
      // A zero gradient alone would make gradcheck vacuous: each sample multiplies
      // by x, so the check sees f(x) from the product and 0 from the op itself.
      OpInfo("floor")
          .sample("times x", {any({3, 2})}, [](const OpArgs& v) { return floor(v[0]) * v[0]; })
          .error("int64 input", [] { floor(tensor_i64({1}, {1})); }, {"floor", "int64"}),
      OpInfo("ceil").sample("times x", {any({3, 2})}, [](const OpArgs& v) { return ceil(v[0]) * v[0]; }),
      OpInfo("round")
          .sample("times x", {any({3, 2})}, [](const OpArgs& v) { return round(v[0] * 3.0) * v[0]; })
          .error("int64 input", [] { round(tensor_i64({1}, {1})); }, {"round", "int64"}),
      OpInfo("sign")
          .sample("times x, away from 0", {inputs::away_from_zero({3, 2})},
                  [](const OpArgs& v) { return sign(v[0]) * v[0]; })
          .error("int64 input", [] { sign(tensor_i64({1}, {1})); }, {"sign", "int64"}),
      OpInfo("erf")
          .sample("3x2", {any({3, 2})}, [](const OpArgs& v) { return erf(v[0]); })
          .error("int64 input", [] { erf(tensor_i64({1}, {1})); }, {"erf", "int64"}),
      OpInfo("log1p")
          .sample("3x2, positive", {positive({3, 2})}, [](const OpArgs& v) { return log1p(v[0]); })
          .sample("small values", {inputs::given(tensor({1e-10, -1e-7, 0.25}, {3}, kFloat64))},
                  [](const OpArgs& v) { return log1p(v[0]); })
          .error("int64 input", [] { log1p(tensor_i64({1}, {1})); }, {"log1p", "int64"}),
      OpInfo("expm1")
          .sample("3x2", {any({3, 2})}, [](const OpArgs& v) { return expm1(v[0]); })
          .error("int64 input", [] { expm1(tensor_i64({1}, {1})); }, {"expm1", "int64"}),
      OpInfo("rsqrt")
          .sample("3x2, positive", {positive({3, 2})}, [](const OpArgs& v) { return rsqrt(v[0]); })
          .error("int64 input", [] { rsqrt(tensor_i64({1}, {1})); }, {"rsqrt", "int64"}),
  };
}

}  // namespace tg
