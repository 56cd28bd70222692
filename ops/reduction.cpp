// Reductions: sum, mean, max/min/argmax/argmin, prod, cumsum, and sum_to (the
// adjoint of broadcasting).
//
// Raw loops: xtensor's lazy reductions measured 10-90x slower here (sum over
// axis 0 of 4096x1024: 31 ms vs 0.34 ms; over (0,2,3) of 64x32x28x28: ~1 ms
// vs 0.07 ms).
//
// Each op's gradient is the formula passed to autograd::formulas in its
// definition (mean and sum_to are built from sum and reshape), made of
// differentiable ops so that gradients of gradients work; the samples and error
// inputs are declared at the bottom.
#include <algorithm>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/broadcast.hpp"
#include "ops/declarations.hpp"
#include "ops/kernels/row_sum.hpp"
#include "ops/masks.hpp"
#include "ops/slicing.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

using detail::row_sum;

// Marks the axes to reduce; throws on duplicates or out-of-range axes.
std::vector<bool> reduced_axes(const Shape& shape, const std::vector<int>& axes, const char* op) {
  std::vector<bool> reduce(shape.size(), false);
  for (int a : axes) {
    const int ax = normalize_axis(a, shape.size(), op);
    if (reduce[ax]) detail::fail(op, ": axis ", a, " is listed twice for shape ", shape.str());
    reduce[ax] = true;
  }
  return reduce;
}

// out[keepdim shape] = sum of x over the marked axes.
// Sums in T: floats accumulate a run in double (row_sum); int64 adds exactly,
// wrapping around on overflow as PyTorch's int64 sum does (computed in unsigned
// arithmetic, where wrapping is defined).
template <class T> T plus(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return a + b;
  else
    return static_cast<T>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

template <class T> T row_total(const T* v, std::int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(row_sum(v, n));
  } else {
    T s = 0;
    for (std::int64_t i = 0; i < n; ++i) s = plus(s, v[i]);
    return s;
  }
}

// `as`, when given: the shape of the result instead of the keepdim one (the
// same elements in the same order, e.g. sum_to's [16] for a kept [1,16]).
Tensor sum_kernel(const Tensor& x, const std::vector<bool>& reduce, const Shape* as = nullptr) {
  Shape kept;
  for (int i = 0; i < x.dim(); ++i) kept.push_back(reduce[i] ? 1 : x.shape()[i]);
  Tensor out = zeros(as ? *as : kept, x.dtype());
  detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    const detail::BroadcastPlan plan = detail::make_broadcast_plan(x.shape(), kept, x.shape());
    if (plan.ndim == 2 && plan.stride_a[0] == plan.extent[1] && plan.stride_a[1] == 1 && plan.stride_b[0] == 0 &&
        plan.stride_b[1] == 1) {
      // The rows of an [R, C] matrix summed into one row (a bias's gradient
      // over a batch): four rows per pass over the output, each element's adds
      // in the same order as one row at a time, so a short row (C = 16) does
      // not wait on its own stores 140 times.
      const std::int64_t R = plan.extent[0], C = plan.extent[1];
      T* __restrict o = po;  // a new tensor: no input aliases it
      std::int64_t r = 0;
      for (; r + 4 <= R; r += 4) {
        const T* __restrict a = px + r * C;
        for (std::int64_t i = 0; i < C; ++i)
          o[i] = plus(plus(plus(plus(o[i], a[i]), a[C + i]), a[2 * C + i]), a[3 * C + i]);
      }
      for (; r < R; ++r) {
        const T* __restrict a = px + r * C;
        for (std::int64_t i = 0; i < C; ++i) o[i] = plus(o[i], a[i]);
      }
      return;
    }
    detail::for_each_row(plan, px, po, px,
                         [](const T*, const T* in, T* acc, std::int64_t n, std::int64_t, std::int64_t s_acc) {
                           if (s_acc == 0) {
                             *acc = plus(*acc, row_total(in, n));
                           } else if (s_acc == 1) {  // the same adds, spelt so that they vectorise
                             for (std::int64_t i = 0; i < n; ++i) acc[i] = plus(acc[i], in[i]);
                           } else {
                             for (std::int64_t i = 0; i < n; ++i) acc[i * s_acc] = plus(acc[i * s_acc], in[i]);
                           }
                         });
  });
  return out;
}

Shape drop_axes(const Shape& kept, const std::vector<bool>& reduce) {
  Shape s;
  for (int i = 0; i < kept.size(); ++i)
    if (!reduce[i]) s.push_back(kept[i]);
  return s;
}

}  // namespace

Tensor sum(const Tensor& x) {
  detail::check_defined(x, "sum");
  Tensor y = detail::make_tensor(Shape{}, x.dtype());
  detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    *static_cast<T*>(y.raw_data()) = row_total(static_cast<const T*>(x.raw_data()), x.numel());
  });
  if (autograd::needs_grad(x)) {
    autograd::record("sum", {x}, y,
                     autograd::formulas([shape = x.shape()](const Tensor& gy) { return broadcast_to(gy, shape); }));
    std::vector<std::int64_t> all(static_cast<std::size_t>(x.dim()));
    for (int i = 0; i < x.dim(); ++i) all[static_cast<std::size_t>(i)] = i;
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dims", std::move(all)).set_ints("keepdim", {0}));
  }
  return y;
}

Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  detail::check_defined(x, "sum");
  const std::vector<bool> reduce = reduced_axes(x.shape(), axes, "sum");
  Tensor kept = sum_kernel(x, reduce);
  Tensor y = keepdim ? kept : detail::make_view(kept, drop_axes(kept.shape(), reduce));
  // The reduced axes come back as 1s, then broadcast to x's shape.
  if (autograd::needs_grad(x)) {
    autograd::record("sum", {x}, y, autograd::formulas([shape = x.shape(), kept = kept.shape()](const Tensor& gy) {
      return broadcast_to(reshape(gy, kept.vec()), shape);
    }));
    // For exporters: the reduced axes, counted from 0, and keepdim.
    std::vector<std::int64_t> dims;
    for (int i = 0; i < x.dim(); ++i)
      if (reduce[static_cast<std::size_t>(i)]) dims.push_back(i);
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dims", std::move(dims)).set_ints("keepdim", {keepdim}));
  }
  return y;
}

Tensor mean(const Tensor& x) {
  detail::check_floating(x, "mean");
  if (x.numel() == 0) detail::fail("mean: the tensor ", describe(x), " is empty");
  return sum(x) * (1.0 / static_cast<double>(x.numel()));
}

Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  detail::check_floating(x, "mean");
  const std::vector<bool> reduce = reduced_axes(x.shape(), axes, "mean");
  std::int64_t count = 1;
  for (int i = 0; i < x.dim(); ++i)
    if (reduce[i]) count *= x.shape()[i];
  if (count == 0) detail::fail("mean: reducing ", describe(x), " over empty axes");
  return sum(x, axes, keepdim) * (1.0 / static_cast<double>(count));
}

namespace {

// A scalar of t's dtype, to compare or combine with t (eq, where broadcast it).
Tensor scalar_like(double value, const Tensor& t) { return full(Shape{}, value, t.dtype()); }

// x's shape with dimension `ax` of extent 1: the keepdim shape of a reduction along it.
Shape kept_shape(const Shape& s, int ax) {
  Shape kept = s;
  kept.set(ax, 1);
  return kept;
}

// The extents of x before, at and after dimension `ax`.
struct Around {
  std::int64_t outer = 1, n = 1, inner = 1;
};
Around around(const Shape& s, int ax) {
  Around a;
  for (int i = 0; i < ax; ++i) a.outer *= s[i];
  a.n = s[ax];
  for (int i = ax + 1; i < s.size(); ++i) a.inner *= s[i];
  return a;
}

// True when v should replace the extreme so far: strictly beyond it (ties keep
// the first), or NaN where the current one is not (NaN propagates, as in PyTorch).
template <bool kMax, class T> bool beats(T v, T current) {
  if (v != v) return current == current;
  return kMax ? v > current : v < current;
}

// max/min along `axis` and their indices, nothing recorded; `op` names the
// function the user called in error messages.
template <bool kMax> MaxResult extreme_kernel(const Tensor& x, int axis, bool keepdim, const char* op) {
  detail::check_floating(x, op);
  const int ax = detail::wrap_dim(axis, x.dim(), op, x);
  const Around a = around(x.shape(), ax);
  if (a.n == 0) detail::fail(op, ": cannot reduce over the empty dimension ", ax, " of ", describe(x));
  const Shape kept = kept_shape(x.shape(), ax);
  const Shape out_shape = keepdim ? kept : drop_axes(kept, reduced_axes(x.shape(), {ax}, op));
  Tensor values = detail::make_tensor(out_shape, x.dtype());
  Tensor indices = detail::make_tensor(out_shape, kInt64);
  detail::dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* pv = static_cast<T*>(values.raw_data());
    std::int64_t* pi = indices.data<std::int64_t>();
    for (std::int64_t o = 0; o < a.outer; ++o) {
      const T* base = px + o * a.n * a.inner;
      T* v = pv + o * a.inner;
      std::int64_t* idx = pi + o * a.inner;
      std::copy(base, base + a.inner, v);
      std::fill(idx, idx + a.inner, 0);
      for (std::int64_t j = 1; j < a.n; ++j)
        for (std::int64_t i = 0; i < a.inner; ++i)
          if (beats<kMax>(base[j * a.inner + i], v[i])) {
            v[i] = base[j * a.inner + i];
            idx[i] = j;
          }
    }
  });
  return {values, indices};
}

// max(x, dim) / min(x, dim): the gradient goes to the index of each extreme,
// scattered back with scatter_add (itself differentiable).
template <bool kMax> MaxResult extreme_along(const Tensor& x, int dim, bool keepdim, const char* op) {
  detail::check_floating(x, op);
  if (x.dim() == 0) {  // a 0-d tensor has one dimension to reduce, as in PyTorch
    detail::wrap_dim(dim, 0, op, x);
    return extreme_along<kMax>(reshape(x, {1}), 0, false, op);
  }
  MaxResult r = extreme_kernel<kMax>(x, dim, keepdim, op);
  const int ax = detail::wrap_dim(dim, x.dim(), op, x);
  if (autograd::needs_grad(x))
    autograd::record(op, {x}, r.values, autograd::formulas(
        [shape = x.shape(), ax, indices = SavedTensor(reshape(r.indices, kept_shape(x.shape(), ax).vec()))](
            const Tensor& gy) {
          const Tensor& idx = indices.get();
          return scatter_add(zeros(shape, gy.dtype()), ax, idx, reshape(gy, idx.shape().vec()));
        }));
  return r;
}

// max(x) / min(x) of all elements: the gradient is shared evenly between the
// elements equal to the result (the NaN elements, when it is NaN).
template <bool kMax> Tensor extreme_all(const Tensor& x, const char* op) {
  detail::check_floating(x, op);
  if (x.numel() == 0) detail::fail(op, ": the tensor ", describe(x), " is empty");
  Tensor y = extreme_kernel<kMax>(reshape(x.detach(), {-1}), 0, false, op).values;
  if (autograd::needs_grad(x))
    autograd::record(op, {x}, y, autograd::formulas([x = SavedTensor(x), y = SavedTensor::output(y)](const Tensor& gy) {
      const Tensor ties = detail::tied_with(x.get(), y.get());
      return ties * (gy / sum(ties));
    }));
  return y;
}

// The index of the extreme of all elements of x (0-d int64).
template <bool kMax> Tensor arg_extreme_all(const Tensor& x, const char* op) {
  detail::check_floating(x, op);
  if (x.numel() == 0) detail::fail(op, ": the tensor ", describe(x), " is empty");
  return extreme_kernel<kMax>(reshape(x.detach(), {-1}), 0, false, op).indices;
}

}  // namespace

MaxResult max(const Tensor& x, int dim, bool keepdim) { return extreme_along<true>(x, dim, keepdim, "max"); }
MinResult min(const Tensor& x, int dim, bool keepdim) { return extreme_along<false>(x, dim, keepdim, "min"); }
Tensor max(const Tensor& x) { return extreme_all<true>(x, "max"); }
Tensor min(const Tensor& x) { return extreme_all<false>(x, "min"); }

Tensor argmax(const Tensor& x, int dim, bool keepdim) {
  NoGradGuard no_grad;
  return extreme_along<true>(x, dim, keepdim, "argmax").indices;
}

Tensor argmin(const Tensor& x, int dim, bool keepdim) {
  NoGradGuard no_grad;
  return extreme_along<false>(x, dim, keepdim, "argmin").indices;
}

Tensor argmax(const Tensor& x) { return arg_extreme_all<true>(x, "argmax"); }
Tensor argmin(const Tensor& x) { return arg_extreme_all<false>(x, "argmin"); }

// ---- prod ---------------------------------------------------------------------
namespace {

// The product along dimension `ax` of a tensor with at least one dimension, keeping it as size 1.
Tensor prod_kept(const Tensor& x, int ax) {
  const Around a = around(x.shape(), ax);
  Tensor y = detail::make_tensor(kept_shape(x.shape(), ax), x.dtype());
  detail::dispatch_float(x.dtype(), "prod", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for (std::int64_t o = 0; o < a.outer; ++o) {
      T* row = py + o * a.inner;
      std::fill(row, row + a.inner, T(1));
      for (std::int64_t j = 0; j < a.n; ++j)
        for (std::int64_t i = 0; i < a.inner; ++i) row[i] *= px[(o * a.n + j) * a.inner + i];
    }
  });
  // d y / d x_i is the product of the other elements: y / x_i when the slice
  // holds no zero; at its one zero, the product of the non-zero elements; 0
  // everywhere when it holds two zeros or more (PyTorch's rule, without dividing by 0).
  if (autograd::needs_grad(x))
    autograd::record("prod", {x}, y, autograd::formulas([x = SavedTensor(x), ax](const Tensor& gy) {
      const Tensor zero = scalar_like(0, x.get());
      const Tensor is_zero = eq(x.get(), zero);
      const Tensor nonzero = where(is_zero, scalar_like(1, x.get()), x.get());
      const Tensor others = prod_kept(nonzero, ax) * gy;  // gy times the product of the non-zero elements
      const Tensor zeros_in_slice = sum(is_zero, {ax}, true);
      auto count_is = [&](double n) { return eq(zeros_in_slice, scalar_like(n, x.get())); };
      // The slice's zeros summed: 0, but it carries their derivative, so the
      // gradient below is right to first order too (double backward) at a
      // product that one or two zeros make 0.
      const Tensor zero_sum = sum(where(is_zero, x.get(), zero), {ax}, true);
      const Tensor at_nonzero = where(count_is(0), others / nonzero, where(count_is(1), zero_sum * others / nonzero, zero));
      const Tensor at_zero = where(count_is(1), others, where(count_is(2), (zero_sum - x.get()) * others, zero));
      return where(is_zero, at_zero, at_nonzero);
    }));
  return y;
}

}  // namespace

Tensor prod(const Tensor& x) {
  detail::check_floating(x, "prod");
  return reshape(prod_kept(reshape(x, {-1}), 0), {});
}

Tensor prod(const Tensor& x, int dim, bool keepdim) {
  detail::check_floating(x, "prod");
  if (x.dim() == 0) {
    detail::wrap_dim(dim, 0, "prod", x);
    return reshape(prod_kept(reshape(x, {1}), 0), {});
  }
  const int ax = detail::wrap_dim(dim, x.dim(), "prod", x);
  const Tensor y = prod_kept(x, ax);
  return keepdim ? y : squeeze(y, ax);
}

// ---- cumsum -------------------------------------------------------------------
namespace {

// Running sum along `ax`, from the front, or from the back when `reverse`
// (the adjoint of the other: each one's gradient is the other of the gradient).
Tensor running_sum(const Tensor& x, int ax, bool reverse) {
  const Around a = around(x.shape(), ax);
  Tensor y = detail::make_tensor(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), "cumsum", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for (std::int64_t o = 0; o < a.outer; ++o)
      for (std::int64_t i = 0; i < a.inner; ++i) {
        T acc = 0;
        for (std::int64_t k = 0; k < a.n; ++k) {
          const std::int64_t j = reverse ? a.n - 1 - k : k;
          const std::int64_t at = (o * a.n + j) * a.inner + i;
          acc += px[at];
          py[at] = acc;
        }
      }
  });
  if (autograd::needs_grad(x))
    autograd::record(reverse ? "cumsum_reversed" : "cumsum", {x}, y,
                     autograd::formulas([ax, reverse](const Tensor& gy) { return running_sum(gy, ax, !reverse); }));
  return y;
}

}  // namespace

Tensor cumsum(const Tensor& x, int dim) {
  detail::check_floating(x, "cumsum");
  if (x.dim() == 0) {
    detail::wrap_dim(dim, 0, "cumsum", x);
    return reshape(running_sum(reshape(x, {1}), 0, false), {});
  }
  return running_sum(x, detail::wrap_dim(dim, x.dim(), "cumsum", x), false);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int lead = x.dim() - shape.size();
  if (lead < 0) detail::fail("sum_to: cannot reduce ", describe(x), " to the larger shape ", shape.str());
  std::vector<int> axes;
  std::vector<bool> reduce(static_cast<std::size_t>(x.dim()), false);
  for (int i = 0; i < x.dim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) {
      axes.push_back(i);
      reduce[static_cast<std::size_t>(i)] = true;
    } else if (shape[i - lead] != x.shape()[i]) {
      detail::fail("sum_to: shape ", x.shape().str(), " does not broadcast from ", shape.str());
    }
  }
  // Nothing to record (a plain backward pass summing a broadcast operand's
  // gradient, e.g. a bias's): the same sum written straight in `shape`, without
  // the keepdim tensor and the reshape's view.
  if (!autograd::needs_grad(x)) return sum_kernel(x, reduce, &shape);
  return reshape(sum(x, axes, true), shape.vec());
}

// ---------------------------------------------------------------------------
// Declarations: each op's samples (with their domain) and error inputs; the
// generic test (tests/test_op_declarations.cpp) runs check_op over them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> reduction_op_declarations() {
  using inputs::any;
  using inputs::given;
  return {
      OpInfo("sum")
          .sample("all elements of 3x4", {any({3, 4})}, [](const OpArgs& v) { return sum(v[0]); })
          .sample("3x4 over axis 0", {any({3, 4})}, [](const OpArgs& v) { return sum(v[0], {0}); })
          .sample("3x4 over axis 1, keepdim", {any({3, 4})}, [](const OpArgs& v) { return sum(v[0], {1}, true); })
          .sample("2x3x4 over axes 0 and 2", {any({2, 3, 4})}, [](const OpArgs& v) { return sum(v[0], {0, 2}); })
          .error("axis out of range", [] { sum(ones({2, 3}), {2}); }, {"sum", "axis 2"})
          .error("undefined input", [] { sum(Tensor()); }, {"sum"}),
      OpInfo("mean")
          .composite_of_other_ops()
          .sample("all elements of 3x4", {any({3, 4})}, [](const OpArgs& v) { return mean(v[0]); })
          .sample("2x3x4 over the last axis", {any({2, 3, 4})}, [](const OpArgs& v) { return mean(v[0], {-1}); })
          .error("an empty tensor", [] { mean(ones({0})); }, {"mean", "empty", "[0]"})
          .error("over an empty axis", [] { mean(zeros({0, 3}), {0}); }, {"mean", "empty", "[0,3]"})
          .error("int64 input", [] { mean(tensor_i64({1, 2}, {2})); }, {"mean", "int64"}),
      // Random inputs hold no ties, so each maximum is unique (and differentiable).
      OpInfo("max")
          .sample("3x5 along dim 1", {any({3, 5})}, [](const OpArgs& v) { return max(v[0], 1).values; })
          .sample("3x5 along dim 0, keepdim", {any({3, 5})}, [](const OpArgs& v) { return max(v[0], 0, true).values; })
          .sample("2x3x4 along dim -2", {any({2, 3, 4})}, [](const OpArgs& v) { return max(v[0], -2).values; })
          .sample("0-d along dim 0", {any({})}, [](const OpArgs& v) { return max(v[0], 0).values; })
          .error("dimension out of range", [] { max(ones({2, 3}), 2); }, {"max", "dimension 2", "[2,3]"})
          .error("along an empty dimension", [] { max(zeros({0, 3}), 0); }, {"max", "empty", "[0,3]"})
          .error("int64 input", [] { max(tensor_i64({1, 2}, {2}), 0); }, {"max", "int64"}),
      OpInfo("min")
          .sample("3x5 along dim 1", {any({3, 5})}, [](const OpArgs& v) { return min(v[0], 1).values; })
          .sample("2x3x4 along dim 2, keepdim", {any({2, 3, 4})}, [](const OpArgs& v) { return min(v[0], 2, true).values; })
          .error("dimension out of range", [] { min(ones({2, 3}), -3); }, {"min", "dimension -3", "[2,3]"})
          .error("along an empty dimension", [] { min(zeros({2, 0}), 1); }, {"min", "empty", "[2,0]"}),
      // A two-way tie: each element gets half the gradient, which is also what a
      // central difference sees (one side moves the maximum, the other does not).
      // Wider ties are checked against PyTorch (tests/test_reduction_reference.cpp).
      OpInfo("max (all elements)")
          .sample("4x3", {any({4, 3})}, [](const OpArgs& v) { return max(v[0]); })
          .sample("a tie", {given(tensor({1, 3, -2, 3, 0.5, 2}, {2, 3}))}, [](const OpArgs& v) { return max(v[0]); })
          .gradient_jumps_here()
          .error("an empty tensor", [] { max(ones({0})); }, {"max", "empty", "[0]"})
          .error("int64 input", [] { max(tensor_i64({1, 2}, {2})); }, {"max", "int64"}),
      OpInfo("min (all elements)")
          .sample("4x3", {any({4, 3})}, [](const OpArgs& v) { return min(v[0]); })
          .sample("a tie", {given(tensor({-1, 3, -1}, {3}))}, [](const OpArgs& v) { return min(v[0]); })
          .gradient_jumps_here()
          .error("an empty tensor", [] { min(zeros({2, 0})); }, {"min", "empty", "[2,0]"}),
      OpInfo("argmax")
          .not_differentiable()
          .sample("3x5 along dim 1", {any({3, 5})}, [](const OpArgs& v) { return argmax(v[0], 1); })
          .sample("3x5 along dim 0, keepdim", {any({3, 5})}, [](const OpArgs& v) { return argmax(v[0], 0, true); })
          .sample("all elements", {any({3, 5})}, [](const OpArgs& v) { return argmax(v[0]); })
          .error("along an empty dimension", [] { argmax(zeros({0, 3}), 0); }, {"argmax", "empty", "[0,3]"})
          .error("of an empty tensor", [] { argmax(zeros({0, 3})); }, {"argmax", "empty", "[0,3]"})
          .error("int64 input", [] { argmax(tensor_i64({1, 2}, {2}), 0); }, {"argmax", "int64"}),
      OpInfo("argmin")
          .not_differentiable()
          .sample("3x5 along dim -1", {any({3, 5})}, [](const OpArgs& v) { return argmin(v[0], -1); })
          .sample("all elements", {any({3, 5})}, [](const OpArgs& v) { return argmin(v[0]); })
          .error("of an empty tensor", [] { argmin(zeros({0})); }, {"argmin", "empty", "[0]"})
          .error("dimension out of range", [] { argmin(ones({2, 3}), 3); }, {"argmin", "dimension 3", "[2,3]"}),
      OpInfo("prod")
          .sample("all elements of 3x2", {any({3, 2})}, [](const OpArgs& v) { return prod(v[0]); })
          .sample("2x3x4 along dim 1", {any({2, 3, 4})}, [](const OpArgs& v) { return prod(v[0], 1); })
          .sample("3x4 along dim -1, keepdim", {any({3, 4})}, [](const OpArgs& v) { return prod(v[0], -1, true); })
          // Rows with no zero, one zero and two zeros: the gradient is exact at each.
          .sample("zeros in the input", {given(tensor({0, 2, 3, 1.5, -2, 0.5, 0, 4, 0}, {3, 3}))},
                  [](const OpArgs& v) { return prod(v[0], 1); })
          .sample("one zero among all elements", {given(tensor({0.5, 0, -3, 2}, {4}))},
                  [](const OpArgs& v) { return prod(v[0]); })
          .error("dimension out of range", [] { prod(ones({2, 3}), 2); }, {"prod", "dimension 2", "[2,3]"})
          .error("int64 input", [] { prod(tensor_i64({1, 2}, {2})); }, {"prod", "int64"}),
      OpInfo("cumsum")
          .sample("3x4 along dim 1", {any({3, 4})}, [](const OpArgs& v) { return cumsum(v[0], 1); })
          .sample("2x3x4 along dim 0", {any({2, 3, 4})}, [](const OpArgs& v) { return cumsum(v[0], 0); })
          .sample("0-d", {any({})}, [](const OpArgs& v) { return cumsum(v[0], -1); })
          .error("dimension out of range", [] { cumsum(ones({2, 3}), -3); }, {"cumsum", "dimension -3", "[2,3]"})
          .error("int64 input", [] { cumsum(tensor_i64({1, 2}, {2}), 0); }, {"cumsum", "int64"}),
      OpInfo("sum_to")
          .composite_of_other_ops()
          .sample("2x3x4 to 3x1", {any({2, 3, 4})}, [](const OpArgs& v) { return sum_to(v[0], {3, 1}); }),
  };
}

}  // namespace tg
