// Activations: sigmoid, tanh, relu, softmax, log_softmax.
//
// sigmoid/tanh/relu run forward and backward as fused xtensor expressions
// (xt::noalias + xsimd); softmax/log_softmax are raw loops over rows
// (a row softmax in xtensor measured 12x slower than the loop here).
//
// Each op's gradient is the formula passed to autograd::formulas in its
// definition; its samples and error inputs are declared at the bottom.
#include <algorithm>
#include <cmath>

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

// out = f(a, b) element-wise over two same-shape tensors, as one xtensor expression.
template <class F> Tensor fused(const Tensor& a, const Tensor& b, const char* name, F f) {
  Tensor out = detail::make_tensor(a.shape(), a.dtype());
  detail::dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const std::int64_t n = a.numel();
    auto xa = flat(static_cast<const T*>(a.raw_data()), n);
    auto xb = flat(static_cast<const T*>(b.raw_data()), n);
    auto xo = flat(static_cast<T*>(out.raw_data()), n);
    xt::noalias(xo) = f(xa, xb, T{});
  });
  return out;
}

// Row-wise softmax or log-softmax along `axis`, viewing x as [outer, n, inner].
Tensor softmax_kernel(const Tensor& x, int axis, bool log_space, const char* name) {
  detail::check_floating(x, name);
  const int ax = normalize_axis(axis, x.dim(), name);
  const Shape& s = x.shape();
  const std::int64_t n = x.dim() == 0 ? 1 : s[ax];
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < ax; ++i) outer *= s[i];
  for (int i = ax + 1; i < x.dim(); ++i) inner *= s[i];
  Tensor y = detail::make_tensor(s, x.dtype());
  detail::dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t i = 0; i < inner; ++i) {
        const T* in = px + o * n * inner + i;
        T* out = py + o * n * inner + i;
        T m = -std::numeric_limits<T>::infinity();
        for (std::int64_t j = 0; j < n; ++j) m = std::max(m, in[j * inner]);
        if (!std::isfinite(m)) m = T(0);  // all -inf (or inf/NaN): let the arithmetic show it
        T total = 0;
        for (std::int64_t j = 0; j < n; ++j) {
          const T e = std::exp(in[j * inner] - m);
          if (!log_space) out[j * inner] = e;
          total += e;
        }
        if (log_space) {
          // (x - m) - log(total): subtracting m first keeps float32 precision for large logits.
          const T log_total = std::log(total);
          for (std::int64_t j = 0; j < n; ++j) out[j * inner] = (in[j * inner] - m) - log_total;
        } else {
          const T inv = T(1) / total;
          for (std::int64_t j = 0; j < n; ++j) out[j * inner] *= inv;
        }
      }
  });
  return y;
}

}  // namespace

Tensor sigmoid(const Tensor& x) {
  detail::check_floating(x, "sigmoid");
  Tensor y = fused(x, x, "sigmoid", [](const auto& v, const auto&, auto t) {
    using T = decltype(t);
    return T(1) / (T(1) + xt::exp(-v));
  });
  if (autograd::needs_grad(x))
    autograd::record("sigmoid", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) {
      return fused(gy, y.get(), "sigmoid backward", [](const auto& g, const auto& s, auto t) {
        using T = decltype(t);
        return g * s * (T(1) - s);
      });
    }));
  return y;
}

Tensor tanh(const Tensor& x) {
  detail::check_floating(x, "tanh");
  Tensor y = fused(x, x, "tanh", [](const auto& v, const auto&, auto) { return xt::tanh(v); });
  if (autograd::needs_grad(x))
    autograd::record("tanh", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) {
      return fused(gy, y.get(), "tanh backward", [](const auto& g, const auto& t, auto tag) {
        using T = decltype(tag);
        return g * (T(1) - t * t);
      });
    }));
  return y;
}

Tensor relu(const Tensor& x) {
  detail::check_floating(x, "relu");
  Tensor y = fused(x, x, "relu", [](const auto& v, const auto&, auto t) {
    using T = decltype(t);
    return xt::maximum(v, T(0));
  });
  // gy * [x > 0], read as [y > 0]: saving y lets x's buffer be freed.
  if (autograd::needs_grad(x))
    autograd::record("relu", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) {
      return fused(gy, y.get(), "relu backward", [](const auto& g, const auto& r, auto t) {
        using T = decltype(t);
        return xt::where(r > T(0), g, T(0));
      });
    }));
  return y;
}

Tensor softmax(const Tensor& x, int axis) {
  Tensor y = softmax_kernel(x, axis, false, "softmax");
  if (autograd::needs_grad(x)) {
    autograd::record("softmax", {x}, y, autograd::formulas([y = SavedTensor::output(y), axis](const Tensor& gy) {
      return y.get() * (gy - sum(gy * y.get(), {axis}, true));
    }));
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dim", {axis}));
  }
  return y;
}

Tensor log_softmax(const Tensor& x, int axis) {
  Tensor y = softmax_kernel(x, axis, true, "log_softmax");
  if (autograd::needs_grad(x)) {
    autograd::record("log_softmax", {x}, y, autograd::formulas([y = SavedTensor::output(y), axis](const Tensor& gy) {
      return gy - exp(y.get()) * sum(gy, {axis}, true);
    }));
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dim", {axis}));
  }
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: each op's samples (with their domain) and error inputs; the
// generic test (tests/test_op_declarations.cpp) runs check_op over them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> activation_op_declarations() {
  using inputs::any;
  return {
      OpInfo("sigmoid").sample("3x4", {any({3, 4})}, [](const OpArgs& v) { return sigmoid(v[0]); }),
      OpInfo("tanh").sample("3x4", {any({3, 4})}, [](const OpArgs& v) { return tanh(v[0]); }),
      OpInfo("relu")
          .sample("3x4, away from the kink at 0", {inputs::away_from_zero({3, 4})},
                  [](const OpArgs& v) { return relu(v[0]); })
          .error("an undefined tensor", [] { relu(Tensor()); }, {"relu", "undefined"})
          .error("int64 input", [] { relu(tensor_i64({1, 2}, {2})); }, {"relu", "int64"}),
      OpInfo("softmax")
          .sample("3x4, last axis", {any({3, 4})}, [](const OpArgs& v) { return softmax(v[0]); })
          .sample("3x4, axis 0", {any({3, 4})}, [](const OpArgs& v) { return softmax(v[0], 0); })
          .error("axis out of range", [] { softmax(ones({2, 3}), 3); }, {"softmax", "axis 3"}),
      OpInfo("log_softmax")
          .sample("3x5, last axis", {any({3, 5})}, [](const OpArgs& v) { return log_softmax(v[0]); })
          .sample("2x3x4, axis 1", {any({2, 3, 4})}, [](const OpArgs& v) { return log_softmax(v[0], 1); })
          .error("axis out of range", [] { log_softmax(ones({2, 3}), -3); }, {"log_softmax", "axis -3"}),
  };
}

}  // namespace tg
