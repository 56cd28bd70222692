// Activations: sigmoid, tanh, relu, softmax, log_softmax, and PyTorch's
// element-wise family (leaky_relu, elu, selu, gelu, silu, mish, softplus,
// softsign, hardtanh, hardsigmoid, hardswish, logsigmoid, prelu).
//
// sigmoid/tanh/relu run forward and backward as fused xtensor expressions
// (xt::noalias + xsimd); softmax/log_softmax are raw loops over rows
// (a row softmax in xtensor measured 12x slower than the loop here).
// The element-wise family runs its forward as one xtensor expression (max(x, 0)
// spelt where(x > 0, x, 0): xt::maximum beside log1p falls off the xsimd path,
// measured 10-20x slower) and writes its gradient as a composition of
// differentiable ops on the saved input (masks from gt/lt are constants), so
// the gradient itself can be differentiated again.
//
// Each op's gradient is the formula passed to autograd::formulas in its
// definition; its samples and error inputs are declared at the bottom.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "core/accumulate.hpp"
#include "core/dispatch.hpp"
#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/xt.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

using detail::flat;

// out = f(a, b) element-wise over two same-shape tensors, as one xtensor
// expression, written into `out` (of a's shape and dtype; it may be a itself:
// element i of the result reads element i of a and b only).
template <class F> Tensor fused_into(Tensor out, const Tensor& a, const Tensor& b, const char* name, F f) {
  detail::dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    detail::for_each_block(a.numel(), [&](std::int64_t begin, std::int64_t count) {
      auto xa = flat(pa + begin, count);
      auto xb = flat(pb + begin, count);
      auto xo = flat(po + begin, count);
      xt::noalias(xo) = f(xa, xb, T{});
    });
  });
  return out;
}

// The same into a new tensor.
template <class F> Tensor fused(const Tensor& a, const Tensor& b, const char* name, F f) {
  return fused_into(detail::make_tensor(a.shape(), a.dtype()), a, b, name, f);
}

// Where a backward kernel of (gy, y) writes its result: over gy itself when
// nothing is being recorded and nobody but this backward pass can see gy's
// buffer, else a new tensor. The engine hands each rule the gradient it summed
// for the rule's output and drops it once the rule returns, so in a plain
// backward() the gradient flowing into relu, sigmoid or tanh is usually theirs
// alone: writing over it saves a tensor-sized allocation and one of the three
// memory streams of the pass (LeNet-5's first relu at batch 256: 3.5 MB).
// Anyone else holding it -- a tensor hook that kept it, retain_grad() or
// autograd::grad capturing it, a seed the caller passed, another node's saved
// tensor or a view -- holds a handle or the storage too, and then a new
// tensor is made. Under create_graph the result is recorded, so never. Only
// the rules of sigmoid, tanh and relu themselves allow it: they have one
// formula, the only reader of gy. (The recorded *_backward ops do not: the
// second formula of sigmoid_backward reads the gy the first would overwrite.)
Tensor backward_output(const Tensor& gy, const Tensor& y, bool may_overwrite_gy) {
  if (may_overwrite_gy && !GradMode::is_enabled() && gy.dtype() == y.dtype() && !gy.requires_grad() &&
      detail::owns_its_buffer(gy)) {
    Tensor out = gy;
    out.bump_version();
    return out;
  }
  return detail::make_tensor(gy.shape(), gy.dtype());
}

// A value of v's kind (an element or an xsimd batch) loaded from p.
template <class T> T load_as(const T* p, T) { return *p; }
template <class T, class A> xsimd::batch<T, A> load_as(const T* p, xsimd::batch<T, A>) {
  return xsimd::batch<T, A>::load_unaligned(p);
}

inline void store_to(float* p, float v) { *p = v; }
inline void store_to(double* p, double v) { *p = v; }
template <class T, class A> void store_to(T* p, const xsimd::batch<T, A>& v) { v.store_unaligned(p); }

// out[i] = f(i, v) for i in [first, last): f gets a batch tag for xsimd-wide
// steps and an element tag for the tail, and returns a batch or an element.
template <class T, class F> void simd_map(std::int64_t first, std::int64_t last, F&& f, T* out) {
  using B = xsimd::batch<T>;
  constexpr std::int64_t W = static_cast<std::int64_t>(B::size);
  std::int64_t i = first;
  for (; i + W <= last; i += W) f(i, B(T(0))).store_unaligned(out + i);
  for (; i < last; ++i) out[i] = f(i, T(0));
}

// fn(first, last) over n elements, split over the pool in chunks of at least kElementGrain.
void for_chunks(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn) {
  detail::parallel_for(n, detail::kElementGrain, fn);
}

// x viewed as [outer, n, inner] around `axis`: outer * inner rows of n values,
// `inner` apart.
struct Rows {
  std::int64_t outer = 1, n = 1, inner = 1;
  std::int64_t count() const { return outer * inner; }
  std::int64_t offset(std::int64_t r) const { return (r / inner) * n * inner + r % inner; }
};

Rows rows_along(const Shape& s, int ax, int dim) {
  Rows r;
  r.n = dim == 0 ? 1 : s[ax];
  for (int i = 0; i < ax; ++i) r.outer *= s[i];
  for (int i = ax + 1; i < dim; ++i) r.inner *= s[i];
  return r;
}

// fn(first, last) over the rows, split over the pool when there is enough work
// (kElementGrain elements per chunk).
void for_rows(const Rows& r, const std::function<void(std::int64_t, std::int64_t)>& fn) {
  detail::parallel_for(r.count(), detail::grain_for_rows(r.n), fn);
}

// The row kernels of softmax and log-softmax, forward and backward. A row of
// contiguous values (inner == 1, the last axis: attention scores, logits) runs
// in xsimd batches with xsimd::exp; a strided row runs the scalar loop. Sums
// reduce in the element type, as PyTorch's CPU kernels.
template <class T> struct SoftmaxRows {
  using B = xsimd::batch<T>;
  static constexpr std::int64_t W = static_cast<std::int64_t>(B::size);

  // softmax (or log-softmax) of in[0], in[stride], ... into out.
  static void forward(const T* in, T* out, std::int64_t n, std::int64_t stride, bool log_space) {
    T m = -std::numeric_limits<T>::infinity();
    std::int64_t j = 0;
    if (stride == 1 && n >= W) {
      B vm = B::load_unaligned(in);
      for (j = W; j + W <= n; j += W) vm = xsimd::max(vm, B::load_unaligned(in + j));
      T lanes[W];
      vm.store_unaligned(lanes);
      for (const T v : lanes) m = std::max(m, v);
    }
    for (; j < n; ++j) m = std::max(m, in[j * stride]);
    if (!std::isfinite(m)) m = T(0);  // all -inf (or inf/NaN): let the arithmetic show it
    T total = 0;
    j = 0;
    if (stride == 1) {
      const B bm(m);
      B acc(T(0));
      for (; j + W <= n; j += W) {
        const B e = xsimd::exp(B::load_unaligned(in + j) - bm);
        if (!log_space) e.store_unaligned(out + j);
        acc += e;
      }
      total = xsimd::hadd(acc);
    }
    for (; j < n; ++j) {
      const T e = std::exp(in[j * stride] - m);
      if (!log_space) out[j * stride] = e;
      total += e;
    }
    // log-softmax as (x - m) - log(total): subtracting m first keeps float32
    // precision for large logits.
    const T c = log_space ? std::log(total) : T(1) / total;
    j = 0;
    if (stride == 1) {
      const B bm(m), bc(c);
      for (; j + W <= n; j += W) {
        const B v = log_space ? (B::load_unaligned(in + j) - bm) - bc : B::load_unaligned(out + j) * bc;
        v.store_unaligned(out + j);
      }
    }
    for (; j < n; ++j) out[j * stride] = log_space ? (in[j * stride] - m) - c : out[j * stride] * c;
  }

  // softmax: gx = y (gy - sum(gy y)); log-softmax: gx = gy - exp(y) sum(gy).
  // gx may be gy itself: each element is written after the sum read it.
  static void backward(const T* gy, const T* y, T* gx, std::int64_t n, std::int64_t stride, bool log_space) {
    T total = 0;
    std::int64_t j = 0;
    if (stride == 1) {
      B acc(T(0));
      for (; j + W <= n; j += W)
        acc += log_space ? B::load_unaligned(gy + j) : B::load_unaligned(gy + j) * B::load_unaligned(y + j);
      total = xsimd::hadd(acc);
    }
    for (; j < n; ++j) total += log_space ? gy[j * stride] : gy[j * stride] * y[j * stride];
    j = 0;
    if (stride == 1) {
      const B bt(total);
      for (; j + W <= n; j += W) {
        const B g = B::load_unaligned(gy + j), v = B::load_unaligned(y + j);
        (log_space ? g - xsimd::exp(v) * bt : v * (g - bt)).store_unaligned(gx + j);
      }
    }
    for (; j < n; ++j) {
      const T g = gy[j * stride], v = y[j * stride];
      gx[j * stride] = log_space ? g - std::exp(v) * total : v * (g - total);
    }
  }
};

// Row-wise softmax or log-softmax along `axis`.
Tensor softmax_kernel(const Tensor& x, int axis, bool log_space, const char* name) {
  detail::check_floating(x, name);
  const int ax = normalize_axis(axis, x.dim(), name);
  const Rows r = rows_along(x.shape(), ax, x.dim());
  Tensor y = detail::make_tensor(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for_rows(r, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t row = first; row < last; ++row) {
        const std::int64_t o = r.offset(row);
        SoftmaxRows<T>::forward(px + o, py + o, r.n, r.inner, log_space);
      }
    });
  });
  return y;
}

}  // namespace

namespace {
// The gradients of sigmoid, tanh and relu as fused kernels of (gy, y). Each is
// recorded as an op of its own when one of its inputs requires grad (under
// create_graph), with its own gradient formulas, so gradients of gradients
// come out right and the first-order backward stays one pass over memory.

// gy s (1 - s):  d/dgy = s (1 - s),  d/ds = gy (1 - 2 s)
Tensor sigmoid_backward(const Tensor& gy, const Tensor& s, bool may_overwrite_gy = false) {
  Tensor gx = fused_into(backward_output(gy, s, may_overwrite_gy), gy, s, "sigmoid backward", [](const auto& g, const auto& y, auto t) {
    using T = decltype(t);
    return g * y * (T(1) - y);
  });
  if (autograd::needs_grad(gy, s))
    autograd::record("sigmoid_backward", {gy, s}, gx, autograd::formulas(
        [s = SavedTensor(s)](const Tensor& g) { return sigmoid_backward(g, s.get()); },
        [gy = SavedTensor(gy), s = SavedTensor(s)](const Tensor& g) { return g * gy.get() * (1.0 - 2.0 * s.get()); }));
  return gx;
}

// gy (1 - t²):  d/dgy = 1 - t²,  d/dt = -2 gy t
Tensor tanh_backward(const Tensor& gy, const Tensor& t, bool may_overwrite_gy = false) {
  Tensor gx = fused_into(backward_output(gy, t, may_overwrite_gy), gy, t, "tanh backward", [](const auto& g, const auto& y, auto tag) {
    using T = decltype(tag);
    return g * (T(1) - y * y);
  });
  if (autograd::needs_grad(gy, t))
    autograd::record("tanh_backward", {gy, t}, gx, autograd::formulas(
        [t = SavedTensor(t)](const Tensor& g) { return tanh_backward(g, t.get()); },
        [gy = SavedTensor(gy), t = SavedTensor(t)](const Tensor& g) { return g * gy.get() * t.get() * -2.0; }));
  return gx;
}

// gy [not r <= 0] (so gy at NaN, as PyTorch's threshold_backward): linear in gy; the mask has zero derivative (r is not an input).
Tensor relu_backward(const Tensor& gy, const Tensor& r, bool may_overwrite_gy = false) {
  Tensor gx = fused_into(backward_output(gy, r, may_overwrite_gy), gy, r, "relu backward", [](const auto& g, const auto& y, auto t) {
    using T = decltype(t);
    return xt::where(y <= T(0), T(0), g);  // at a NaN output the gradient passes, as in PyTorch
  });
  if (autograd::needs_grad(gy))
    autograd::record("relu_backward", {gy}, gx, autograd::formulas(
        [r = SavedTensor(r.detach())](const Tensor& g) { return relu_backward(g, r.get()); }));
  return gx;
}

// The gradients of softmax and log_softmax along `axis` as one pass per row
// (sum, then the gradient), recorded as ops of their own under create_graph:
//   softmax:      gx = y (gy - sum(gy y))
//     d/dgy: G -> y (G - sum(G y)), the same kernel;  d/dy: G (gy - sum(gy y)) - gy sum(G y)
//   log_softmax:  gx = gy - e^y sum(gy)
//     d/dgy: G -> G - sum(G e^y);  d/dy: -G e^y sum(gy)
// (sums along `axis`, kept for broadcasting.)
Tensor softmax_backward(const Tensor& gy, const Tensor& y, int axis, bool log_space, bool may_overwrite_gy = false) {
  const char* name = log_space ? "log_softmax backward" : "softmax backward";
  const Tensor g = gy.dtype() == y.dtype() ? gy : gy.to(y.dtype());
  Tensor gx = backward_output(g, y, may_overwrite_gy);
  const Rows r = rows_along(y.shape(), normalize_axis(axis, y.dim(), name), y.dim());
  detail::dispatch_float(y.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T* pg = static_cast<const T*>(g.raw_data());
    const T* py = static_cast<const T*>(y.raw_data());
    T* px = static_cast<T*>(gx.raw_data());
    for_rows(r, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t row = first; row < last; ++row) {
        const std::int64_t o = r.offset(row);
        SoftmaxRows<T>::backward(pg + o, py + o, px + o, r.n, r.inner, log_space);
      }
    });
  });
  if (autograd::needs_grad(gy, y)) {
    if (log_space)
      autograd::record("log_softmax_backward", {gy, y}, gx, autograd::formulas(
          [y = SavedTensor(y), axis](const Tensor& gg) { return gg - sum(gg * exp(y.get()), {axis}, true); },
          [gy = SavedTensor(gy), y = SavedTensor(y), axis](const Tensor& gg) {
            return -(gg * exp(y.get()) * sum(gy.get(), {axis}, true));
          }));
    else
      autograd::record("softmax_backward", {gy, y}, gx, autograd::formulas(
          [y = SavedTensor(y), axis](const Tensor& gg) { return softmax_backward(gg, y.get(), axis, false); },
          [gy = SavedTensor(gy), y = SavedTensor(y), axis](const Tensor& gg) {
            const Tensor& g = gy.get();
            const Tensor& v = y.get();
            return gg * (g - sum(g * v, {axis}, true)) - g * sum(gg * v, {axis}, true);
          }));
  }
  return gx;
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
      return sigmoid_backward(gy, y.get(), /*may_overwrite_gy=*/true);
    }));
  return y;
}

Tensor tanh(const Tensor& x) {
  detail::check_floating(x, "tanh");
  Tensor y = fused(x, x, "tanh", [](const auto& v, const auto&, auto) { return xt::tanh(v); });
  if (autograd::needs_grad(x))
    autograd::record("tanh", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) {
      return tanh_backward(gy, y.get(), /*may_overwrite_gy=*/true);
    }));
  return y;
}

Tensor relu(const Tensor& x) {
  detail::check_floating(x, "relu");
  Tensor y = fused(x, x, "relu", [](const auto& v, const auto&, auto t) {
    using T = decltype(t);
    // 0 first: x86's max returns its second operand when either is NaN, and so
    // does xtensor's scalar (a > b ? a : b), so NaN propagates as in PyTorch.
    return xt::maximum(T(0), v);
  });
  // gy * [x > 0], read as [y > 0]: saving y lets x's buffer be freed.
  if (autograd::needs_grad(x))
    autograd::record("relu", {x}, y, autograd::formulas([y = SavedTensor::output(y)](const Tensor& gy) {
      return relu_backward(gy, y.get(), /*may_overwrite_gy=*/true);
    }));
  return y;
}

Tensor softmax(const Tensor& x, int axis) {
  Tensor y = softmax_kernel(x, axis, false, "softmax");
  if (autograd::needs_grad(x)) {
    autograd::record("softmax", {x}, y, autograd::formulas([y = SavedTensor::output(y), axis](const Tensor& gy) {
      return softmax_backward(gy, y.get(), axis, false, /*may_overwrite_gy=*/true);
    }));
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dim", {axis}));
  }
  return y;
}

Tensor log_softmax(const Tensor& x, int axis) {
  Tensor y = softmax_kernel(x, axis, true, "log_softmax");
  if (autograd::needs_grad(x)) {
    autograd::record("log_softmax", {x}, y, autograd::formulas([y = SavedTensor::output(y), axis](const Tensor& gy) {
      return softmax_backward(gy, y.get(), axis, true, /*may_overwrite_gy=*/true);
    }));
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dim", {axis}));
  }
  return y;
}

// ---------------------------------------------------------------------------
// PyTorch's element-wise activations.
// ---------------------------------------------------------------------------
namespace {

template <class F> Tensor map(const Tensor& x, const char* name, F f) { return detail::map_floating(x, name, f); }

// `above` where x > 0 and `elsewhere` where not (x = 0 included, as PyTorch's backward kernels).
Tensor by_sign(const Tensor& x, double above, const Tensor& elsewhere) {
  const Tensor positive = gt(x, 0.0);
  return positive * above + (1.0 - positive) * elsewhere;
}
Tensor by_sign(const Tensor& x, double above, double elsewhere) { return gt(x, 0.0) * (above - elsewhere) + elsewhere; }

// [lo < x < hi] in x's dtype: where hardtanh and friends pass the gradient (their bounds get none).
Tensor strictly_inside(const Tensor& x, double lo, double hi) { return gt(x, lo) * lt(x, hi); }

constexpr double kSqrtHalf = 0.70710678118654752440;      // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;    // 1/sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;   // sqrt(2/pi), gelu's tanh form
constexpr double kGeluCubic = 0.044715;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// The standard normal density exp(-x^2/2) / sqrt(2 pi).
Tensor normal_pdf(const Tensor& x) { return exp(x * x * -0.5) * kInvSqrt2Pi; }

// gelu's gradient gy (Phi(x) + x phi(x)), Phi(x) = erfc(-x/sqrt(2)) / 2 (erfc
// keeps its relative precision for x << 0), as one fused pass (a composition of
// ops made eight passes over memory), recorded as an op of its own under
// create_graph:
//   d/dgy: G -> G (Phi(x) + x phi(x)), the same kernel;  d/dx: G gy phi(x) (2 - x^2)
// `cdf`, when given, is Phi(x) as the forward computed it (erfc is most of the
// cost); it is a cache of a function of x only, so the recorded op does not read it.
Tensor gelu_backward(const Tensor& gy, const Tensor& x, bool may_overwrite_gy = false, const Tensor& cdf = Tensor()) {
  const Tensor g = gy.dtype() == x.dtype() ? gy : gy.to(x.dtype());
  Tensor gx = backward_output(g, x, may_overwrite_gy);
  detail::dispatch_float(x.dtype(), "gelu backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pg = static_cast<const T*>(g.raw_data());
    const T* px = static_cast<const T*>(x.raw_data());
    const T* pc = cdf.defined() ? static_cast<const T*>(cdf.raw_data()) : nullptr;
    T* po = static_cast<T*>(gx.raw_data());
    for_chunks(x.numel(), [&](std::int64_t first, std::int64_t last) {
      simd_map(first, last, [&](std::int64_t i, auto v) {
        using std::erfc, std::exp, xsimd::erfc, xsimd::exp;  // for an element and for a batch
        using V = decltype(v);
        const V gv = load_as(pg + i, v), xv = load_as(px + i, v);
        const V phi = pc ? load_as(pc + i, v) : V(T(0.5) * erfc(xv * static_cast<T>(-kSqrtHalf)));
        return gv * (phi + xv * exp(xv * xv * T(-0.5)) * static_cast<T>(kInvSqrt2Pi));
      }, po);
    });
  });
  if (autograd::needs_grad(gy, x))
    autograd::record("gelu_backward", {gy, x}, gx, autograd::formulas(
        [x = SavedTensor(x)](const Tensor& gg) { return gelu_backward(gg, x.get()); },
        [gy = SavedTensor(gy), x = SavedTensor(x)](const Tensor& gg) {
          const Tensor& v = x.get();
          return gg * gy.get() * normal_pdf(v) * (2.0 - v * v);
        }));
  return gx;
}

// scale * (x > 0 ? x : alpha (e^x - 1)): elu and selu.
Tensor scaled_elu(const Tensor& x, double alpha, double scale, const char* name) {
  Tensor y = map(x, name, [alpha, scale](const auto& v, auto t) {
    using T = decltype(t);
    return static_cast<T>(scale) * xt::where(v > T(0), v, static_cast<T>(alpha) * xt::expm1(v));
  });
  if (autograd::needs_grad(x))
    autograd::record(name, {x}, y, autograd::formulas([x = SavedTensor(x), alpha, scale](const Tensor& gy) {
      // e^min(x, 0): the unused branch must stay finite, or 0 * inf would poison the gradient.
      const Tensor negative_branch = exp(clamp(x.get(), -std::numeric_limits<double>::infinity(), 0.0)) * (alpha * scale);
      return gy * by_sign(x.get(), scale, negative_branch);
    }));
  return y;
}

void check_not_nan(double value, const char* op, const char* argument) {
  if (std::isnan(value)) detail::fail(op, ": ", argument, " must not be NaN, got ", value);
}

}  // namespace

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  check_not_nan(negative_slope, "leaky_relu", "negative_slope");
  Tensor y = map(x, "leaky_relu", [negative_slope](const auto& v, auto t) {
    using T = decltype(t);
    return xt::where(v > T(0), v, v * static_cast<T>(negative_slope));
  });
  if (autograd::needs_grad(x))
    autograd::record("leaky_relu", {x}, y, autograd::formulas([x = SavedTensor(x), negative_slope](const Tensor& gy) {
      return gy * by_sign(x.get(), 1.0, negative_slope);
    }));
  return y;
}

Tensor elu(const Tensor& x, double alpha) {
  check_not_nan(alpha, "elu", "alpha");
  return scaled_elu(x, alpha, 1.0, "elu");
}

Tensor selu(const Tensor& x) { return scaled_elu(x, kSeluAlpha, kSeluScale, "selu"); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate == "none") {
    detail::check_floating(x, "gelu");
    Tensor y = detail::make_tensor(x.shape(), x.dtype());
    // Phi(x) is kept for the backward when there is one.
    const bool keep_cdf = autograd::needs_grad(x);
    Tensor cdf = keep_cdf ? detail::make_tensor(x.shape(), x.dtype()) : Tensor();
    detail::dispatch_float(x.dtype(), "gelu", [&](auto tag) {
      using T = decltype(tag);
      const T* px = static_cast<const T*>(x.raw_data());
      T* py = static_cast<T*>(y.raw_data());
      T* pc = keep_cdf ? static_cast<T*>(cdf.raw_data()) : nullptr;
      for_chunks(x.numel(), [&](std::int64_t first, std::int64_t last) {
        simd_map(first, last, [&](std::int64_t i, auto v) {
          using std::erfc, xsimd::erfc;  // for an element and for a batch
          using V = decltype(v);
          const V xv = load_as(px + i, v);
          const V phi = T(0.5) * erfc(xv * static_cast<T>(-kSqrtHalf));
          if (pc) store_to(pc + i, phi);
          return xv * phi;
        }, py);
      });
    });
    if (keep_cdf)
      autograd::record("gelu", {x}, y, autograd::formulas([x = SavedTensor(x), cdf = SavedTensor(cdf)](const Tensor& gy) {
        return gelu_backward(gy, x.get(), /*may_overwrite_gy=*/true, cdf.get());
      }));
    return y;
  }
  if (approximate == "tanh") {
    Tensor y = map(x, "gelu", [](const auto& v, auto t) {
      using T = decltype(t);
      return T(0.5) * v * (T(1) + xt::tanh(static_cast<T>(kSqrt2OverPi) * (v + static_cast<T>(kGeluCubic) * v * v * v)));
    });
    if (autograd::needs_grad(x))
      autograd::record("gelu", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) {
        const Tensor& v = x.get();
        const Tensor th = tanh((v + v * v * v * kGeluCubic) * kSqrt2OverPi);
        const Tensor inner_slope = (v * v * (3.0 * kGeluCubic) + 1.0) * kSqrt2OverPi;
        return gy * ((th + 1.0) * 0.5 + v * (1.0 - th * th) * inner_slope * 0.5);
      }));
    return y;
  }
  detail::check_floating(x, "gelu");
  detail::fail("gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
}

Tensor silu(const Tensor& x) {
  Tensor y = map(x, "silu", [](const auto& v, auto t) {
    using T = decltype(t);
    return v / (T(1) + xt::exp(-v));
  });
  if (autograd::needs_grad(x))
    autograd::record("silu", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) {
      const Tensor s = sigmoid(x.get());
      return gy * s * (x.get() * (1.0 - s) + 1.0);
    }));
  return y;
}

Tensor mish(const Tensor& x) {
  Tensor y = map(x, "mish", [](const auto& v, auto t) {
    using T = decltype(t);
    return v * xt::tanh(xt::where(v > T(0), v, T(0)) + xt::log1p(xt::exp(-xt::abs(v))));  // softplus, stable
  });
  if (autograd::needs_grad(x))
    autograd::record("mish", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) {
      const Tensor& v = x.get();
      const Tensor th = tanh(softplus(v, 1.0, std::numeric_limits<double>::infinity()));
      return gy * (th + v * sigmoid(v) * (1.0 - th * th));
    }));
  return y;
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (beta == 0.0 || std::isnan(beta)) detail::fail("softplus: beta must be non-zero, got ", beta);
  check_not_nan(threshold, "softplus", "threshold");
  Tensor y = map(x, "softplus", [beta, threshold](const auto& v, auto t) {
    using T = decltype(t);
    // log(1 + e^z) as max(z, 0) + log(1 + e^-|z|), which cannot overflow. (Scalars
    // are spelt as temporaries: xtensor would hold a named local by reference.)
    const auto b = [beta] { return static_cast<T>(beta); };
    return xt::where(v * b() > static_cast<T>(threshold), v,
                     (xt::where(v * b() > T(0), v * b(), T(0)) + xt::log1p(xt::exp(-xt::abs(v * b())))) / b());
  });
  if (autograd::needs_grad(x))
    autograd::record("softplus", {x}, y, autograd::formulas([x = SavedTensor(x), beta, threshold](const Tensor& gy) {
      const Tensor z = x.get() * beta;
      const Tensor linear = gt(z, threshold);
      return gy * (linear + (1.0 - linear) * sigmoid(z));
    }));
  return y;
}

Tensor softsign(const Tensor& x) {
  Tensor y = map(x, "softsign", [](const auto& v, auto t) {
    using T = decltype(t);
    return v / (T(1) + xt::abs(v));
  });
  if (autograd::needs_grad(x))
    autograd::record("softsign", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) {
      return gy / pow(abs(x.get()) + 1.0, 2.0);
    }));
  return y;
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  if (std::isnan(min_val) || std::isnan(max_val))
    detail::fail("hardtanh: bounds must not be NaN, got [", min_val, ", ", max_val, "]");
  // PyTorch returns max_val everywhere here; an inverted range is almost surely a swapped call.
  if (min_val > max_val) detail::fail("hardtanh: min_val ", min_val, " is above max_val ", max_val);
  Tensor y = map(x, "hardtanh", [min_val, max_val](const auto& v, auto t) {
    using T = decltype(t);
    return xt::clip(v, static_cast<T>(min_val), static_cast<T>(max_val));
  });
  if (autograd::needs_grad(x))
    autograd::record("hardtanh", {x}, y, autograd::formulas([x = SavedTensor(x), min_val, max_val](const Tensor& gy) {
      return gy * strictly_inside(x.get(), min_val, max_val);
    }));
  return y;
}

Tensor hardsigmoid(const Tensor& x) {
  Tensor y = map(x, "hardsigmoid", [](const auto& v, auto t) {
    using T = decltype(t);
    return xt::clip(v + T(3), T(0), T(6)) / T(6);
  });
  if (autograd::needs_grad(x))
    autograd::record("hardsigmoid", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) {
      return gy * strictly_inside(x.get(), -3.0, 3.0) * (1.0 / 6.0);
    }));
  return y;
}

Tensor hardswish(const Tensor& x) {
  Tensor y = map(x, "hardswish", [](const auto& v, auto t) {
    using T = decltype(t);
    return v * xt::clip(v + T(3), T(0), T(6)) / T(6);
  });
  // 0 below -3, x/3 + 1/2 on [-3, 3), 1 from 3 on (PyTorch's ends: -1/2 at -3, 1 at 3).
  if (autograd::needs_grad(x))
    autograd::record("hardswish", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) {
      const Tensor& v = x.get();
      const Tensor below_3 = lt(v, 3.0);
      const Tensor middle = below_3 - lt(v, -3.0);
      return gy * (middle * (v / 3.0 + 0.5) + (1.0 - below_3));
    }));
  return y;
}

Tensor logsigmoid(const Tensor& x) {
  // min(x, 0) - log(1 + e^-|x|): exact for large |x| of either sign.
  Tensor y = map(x, "logsigmoid", [](const auto& v, auto t) {
    using T = decltype(t);
    return xt::where(v < T(0), v, T(0)) - xt::log1p(xt::exp(-xt::abs(v)));
  });
  if (autograd::needs_grad(x))
    autograd::record("logsigmoid", {x}, y, autograd::formulas([x = SavedTensor(x)](const Tensor& gy) { return gy * sigmoid(-x.get()); }));
  return y;
}

namespace {
// PReLU's weight shaped to broadcast against x: [1, C, 1, ...] (or as is for one weight).
Tensor prelu_weight_for(const Tensor& x, const Tensor& weight) {
  detail::check_defined(weight, "prelu");
  detail::check_floating(weight, "prelu");
  if (weight.dtype() != x.dtype())
    detail::fail("prelu: weight is ", dtype_name(weight.dtype()), " but input is ", dtype_name(x.dtype()));
  if (weight.dim() > 1) detail::fail("prelu: weight must be 0-d or 1-D, got ", weight.shape().str());
  const std::int64_t channels = x.dim() >= 2 ? x.shape()[1] : 1;
  if (weight.numel() == 1) return reshape(weight, {});
  if (weight.numel() != channels)
    detail::fail("prelu: weight ", weight.shape().str(), " has ", weight.numel(), " elements; input ", x.shape().str(),
                 " needs 1 or ", channels, " (its channels, dim 1)");
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[1] = channels;
  return reshape(weight, shape);
}
}  // namespace

Tensor prelu(const Tensor& x, const Tensor& weight) {
  detail::check_defined(x, "prelu");
  detail::check_floating(x, "prelu");
  Tensor y;
  {
    NoGradGuard no_grad;
    y = x.detach() * by_sign(x.detach(), 1.0, prelu_weight_for(x, weight.detach()));
  }
  if (autograd::needs_grad(x, weight))
    autograd::record("prelu", {x, weight}, y, autograd::formulas(
        [x = SavedTensor(x), weight = SavedTensor(weight)](const Tensor& gy) {
          return gy * by_sign(x.get(), 1.0, prelu_weight_for(x.get(), weight.get()));
        },
        [x = SavedTensor(x), weight = SavedTensor(weight)](const Tensor& gy) {
          const Tensor& v = x.get();
          const Tensor& w = weight.get();
          const Tensor per_element = gy * v * (1.0 - gt(v, 0.0));
          return reshape(sum_to(per_element, prelu_weight_for(v, w).shape()), w.shape().vec());
        }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: each op's samples (with their domain) and error inputs; the
// generic test (tests/test_op_declarations.cpp) runs check_op over them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> activation_op_declarations() {
  using inputs::any;
  using inputs::away_from_zero;
  using inputs::given;
  const double nan = std::numeric_limits<double>::quiet_NaN();
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
          .sample("2x37, last axis: xsimd batches and a tail", {any({2, 37})},
                  [](const OpArgs& v) { return softmax(v[0], -1); })
          .error("axis out of range", [] { softmax(ones({2, 3}), 3); }, {"softmax", "axis 3"}),
      OpInfo("log_softmax")
          .sample("3x5, last axis", {any({3, 5})}, [](const OpArgs& v) { return log_softmax(v[0]); })
          .sample("2x3x4, axis 1", {any({2, 3, 4})}, [](const OpArgs& v) { return log_softmax(v[0], 1); })
          .sample("2x37, last axis: xsimd batches and a tail", {any({2, 37})},
                  [](const OpArgs& v) { return log_softmax(v[0], -1); })
          .error("axis out of range", [] { log_softmax(ones({2, 3}), -3); }, {"log_softmax", "axis -3"}),
      OpInfo("leaky_relu")
          .sample("3x4, default slope, away from the kink", {away_from_zero({3, 4})},
                  [](const OpArgs& v) { return leaky_relu(v[0]); })
          .sample("slope 0.2", {away_from_zero({5})}, [](const OpArgs& v) { return leaky_relu(v[0], 0.2); })
          .error("int64 input", [] { leaky_relu(tensor_i64({1, 2}, {2})); }, {"leaky_relu", "int64"})
          .error("NaN slope", [nan] { leaky_relu(ones({2}), nan); }, {"leaky_relu", "negative_slope", "NaN"}),
      OpInfo("elu")
          .sample("3x4, alpha 1", {away_from_zero({3, 4})}, [](const OpArgs& v) { return elu(v[0]); })
          .sample("alpha 0.5, 0-d", {away_from_zero({})}, [](const OpArgs& v) { return elu(v[0], 0.5); })
          .sample("large |x|", {given(tensor({-40, -3, -0.5, 0.25, 2, 40}, {6}))},
                  [](const OpArgs& v) { return elu(v[0], 1.5); })
          .error("int64 input", [] { elu(tensor_i64({1}, {1})); }, {"elu", "int64"})
          .error("NaN alpha", [nan] { elu(ones({2}), nan); }, {"elu", "alpha", "NaN"}),
      OpInfo("selu")
          .sample("3x4", {away_from_zero({3, 4})}, [](const OpArgs& v) { return selu(v[0]); })
          .error("int64 input", [] { selu(tensor_i64({1}, {1})); }, {"selu", "int64"}),
      OpInfo("gelu")
          .sample("3x4, exact (erf)", {any({3, 4})}, [](const OpArgs& v) { return gelu(v[0]); })
          .sample("3x4, tanh approximation", {any({3, 4})}, [](const OpArgs& v) { return gelu(v[0], "tanh"); })
          .sample("large |x|, exact", {given(tensor({-12, -4.5, 4.5, 12}, {4}))}, [](const OpArgs& v) { return gelu(v[0]); })
          .error("unknown approximation", [] { gelu(ones({2}), "fast"); }, {"gelu", "approximate", "\"fast\""})
          .error("int64 input", [] { gelu(tensor_i64({1}, {1}), "tanh"); }, {"gelu", "int64"}),
      OpInfo("silu")
          .sample("3x4", {any({3, 4})}, [](const OpArgs& v) { return silu(v[0]); })
          .sample("large |x|", {given(tensor({-60, -9, 9, 60}, {4}))}, [](const OpArgs& v) { return silu(v[0]); })
          .error("int64 input", [] { silu(tensor_i64({1}, {1})); }, {"silu", "int64"}),
      OpInfo("mish")
          .sample("3x4", {any({3, 4})}, [](const OpArgs& v) { return mish(v[0]); })
          .sample("large |x|", {given(tensor({-60, -9, 9, 60}, {4}))}, [](const OpArgs& v) { return mish(v[0]); })
          .error("int64 input", [] { mish(tensor_i64({1}, {1})); }, {"mish", "int64"}),
      OpInfo("softplus")
          .sample("3x4, beta 1, threshold 20", {any({3, 4})}, [](const OpArgs& v) { return softplus(v[0]); })
          // beta x crosses the threshold between 0.75 and 1.25: both branches.
          .sample("beta 2, threshold 2, both branches", {given(tensor({-1.5, -0.25, 0.5, 0.75, 1.25, 3}, {6}))},
                  [](const OpArgs& v) { return softplus(v[0], 2.0, 2.0); })
          .sample("negative beta", {any({4})}, [](const OpArgs& v) { return softplus(v[0], -0.5, 20.0); })
          .error("beta 0", [] { softplus(ones({2}), 0.0); }, {"softplus", "beta", "0"})
          .error("NaN threshold", [nan] { softplus(ones({2}), 1.0, nan); }, {"softplus", "threshold", "NaN"})
          .error("int64 input", [] { softplus(tensor_i64({1}, {1})); }, {"softplus", "int64"}),
      OpInfo("softsign")
          .sample("3x4", {any({3, 4})}, [](const OpArgs& v) { return softsign(v[0]); })
          .error("int64 input", [] { softsign(tensor_i64({1}, {1})); }, {"softsign", "int64"}),
      OpInfo("hardtanh")
          .sample("default bounds, away from the kinks", {given(tensor({-1.75, -1.25, -0.5, 0.25, 0.75, 1.5}, {2, 3}))},
                  [](const OpArgs& v) { return hardtanh(v[0]); })
          .sample("[-0.5, 2], away from the kinks", {given(tensor({-1.25, -0.75, -0.25, 1.75, 2.5}, {5}))},
                  [](const OpArgs& v) { return hardtanh(v[0], -0.5, 2.0); })
          .error("min_val above max_val", [] { hardtanh(ones({2}), 1.0, -1.0); }, {"hardtanh", "min_val 1", "max_val -1"})
          .error("NaN bound", [nan] { hardtanh(ones({2}), nan, 1.0); }, {"hardtanh", "NaN"})
          .error("int64 input", [] { hardtanh(tensor_i64({1}, {1})); }, {"hardtanh", "int64"}),
      OpInfo("hardsigmoid")
          .sample("all three pieces, away from the kinks at -3 and 3",
                  {given(tensor({-4.5, -3.5, -2.5, -0.75, 0.5, 2.75, 3.25, 5}, {2, 4}))},
                  [](const OpArgs& v) { return hardsigmoid(v[0]); })
          .error("int64 input", [] { hardsigmoid(tensor_i64({1}, {1})); }, {"hardsigmoid", "int64"}),
      OpInfo("hardswish")
          .sample("all three pieces, away from the kinks at -3 and 3",
                  {given(tensor({-4.5, -3.5, -2.5, -0.75, 0.5, 2.75, 3.25, 5}, {2, 4}))},
                  [](const OpArgs& v) { return hardswish(v[0]); })
          .sample("3x4", {any({3, 4})}, [](const OpArgs& v) { return hardswish(v[0]); })
          .error("int64 input", [] { hardswish(tensor_i64({1}, {1})); }, {"hardswish", "int64"}),
      OpInfo("logsigmoid")
          .sample("3x4", {any({3, 4})}, [](const OpArgs& v) { return logsigmoid(v[0]); })
          .sample("large |x|", {given(tensor({-80, -30, 30, 80}, {4}))}, [](const OpArgs& v) { return logsigmoid(v[0]); })
          .error("int64 input", [] { logsigmoid(tensor_i64({1}, {1})); }, {"logsigmoid", "int64"}),
      OpInfo("prelu")
          .sample("[2,3,2,2], one weight per channel", {away_from_zero({2, 3, 2, 2}), any({3})},
                  [](const OpArgs& v) { return prelu(v[0], v[1]); })
          .sample("[4,3], one shared weight", {away_from_zero({4, 3}), any({1})},
                  [](const OpArgs& v) { return prelu(v[0], v[1]); })
          .sample("1-D input, 0-d weight", {away_from_zero({5}), any({})}, [](const OpArgs& v) { return prelu(v[0], v[1]); })
          .error("weight size is not the channel count", [] { prelu(ones({2, 4, 5}), ones({3})); },
                 {"prelu", "[3]", "[2,4,5]", "1 or 4"})
          .error("2-D weight", [] { prelu(ones({2, 4}), ones({1, 4})); }, {"prelu", "0-d or 1-D", "[1,4]"})
          .error("float64 weight, float32 input", [] { prelu(ones({2, 4}), ones({1}, kFloat64)); },
                 {"prelu", "float64", "float32"})
          .error("int64 input", [] { prelu(tensor_i64({1}, {1}), ones({1})); }, {"prelu", "int64"}),
  };
}

}  // namespace tg
