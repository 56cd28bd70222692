// Statistics and norms: var, std, logsumexp, norm.
//
// logsumexp and the 1-norm are compositions of other ops, so their gradients
// (and gradients of those) come from the ops they are made of. var, std and the
// 2- and inf-norms are ops of their own, to give PyTorch's gradients where a
// composition would give NaN: std and the 2-norm divide by the result, and
// PyTorch defines the gradient as 0 where that is 0 (a constant input, a zero
// vector); var divides by n - correction, which may be 0.
// Each gradient formula is built from differentiable ops; the samples and
// error inputs are declared at the bottom.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/dispatch.hpp"
#include "ops/declarations.hpp"
#include "ops/masks.hpp"
#include "ops/slicing.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

// The dimensions a reduction over `dims` covers (every one when `dims` is
// empty, as PyTorch's dim=None), counted from the front; throws naming `op`
// for one out of range or listed twice.
std::vector<int> reduced_dims(const Tensor& x, const std::vector<int>& dims, const char* op) {
  std::vector<int> out;
  if (dims.empty()) {
    for (int i = 0; i < x.dim(); ++i) out.push_back(i);
    return out;
  }
  for (int d : dims) {
    const int a = detail::wrap_dim(d, x.dim(), op, x);
    for (int seen : out)
      if (seen == a) detail::fail(op, ": dimension ", d, " is listed twice for ", describe(x));
    if (x.dim() > 0) out.push_back(a);
  }
  return out;
}

// x's shape with the reduced dimensions as 1: where a reduction's gradient is broadcast from.
Shape kept_shape(const Tensor& x, const std::vector<int>& dims) {
  Shape kept = x.shape();
  for (int d : dims) kept.set(d, 1);
  return kept;
}

// x's extents without the reduced dimensions: the shape of a reduction without keepdim.
std::vector<std::int64_t> without_dims(const Tensor& x, const std::vector<int>& dims) {
  std::vector<std::int64_t> out;
  for (int i = 0; i < x.dim(); ++i)
    if (std::find(dims.begin(), dims.end(), i) == dims.end()) out.push_back(x.shape()[i]);
  return out;
}

// The number of elements each result of the reduction combines.
double reduced_count(const Tensor& x, const std::vector<int>& dims) {
  double n = 1;
  for (int d : dims) n *= static_cast<double>(x.shape()[d]);
  return n;
}

Tensor scalar_like(double value, const Tensor& t) { return full(Shape{}, value, t.dtype()); }

// gy / y where y != 0, and 0 where y == 0: the factor the gradients of std
// and the 2-norm share, with PyTorch's 0 at a zero result.
Tensor divided_unless_zero(const Tensor& gy, const Tensor& y) {
  const Tensor zero = scalar_like(0, y);
  const Tensor is_zero = eq(y, zero);
  return where(is_zero, zero, gy / where(is_zero, scalar_like(1, y), y));
}

// The maximum over `dims` (keepdim), not recorded.
Tensor amax_kept(const Tensor& x, const std::vector<int>& dims) {
  NoGradGuard no_grad;
  Tensor m = x.detach();
  for (int d : dims) m = max(m, d, true).values;
  return m;
}

}  // namespace

Tensor var(const Tensor& x, const std::vector<int>& dims, double correction, bool keepdim) {
  detail::check_floating(x, "var");
  const std::vector<int> axes = reduced_dims(x, dims, "var");
  const double n = reduced_count(x, axes);
  if (n == 0) detail::fail("var: reducing ", describe(x), " over no element");
  // n <= correction divides by 0, giving inf or NaN as in PyTorch.
  const double divisor = std::max(n - correction, 0.0);
  Tensor y;
  {
    NoGradGuard no_grad;
    // Squared in place: the statistics of a whole data set (std(images) before
    // normalising it) would otherwise hold a second temporary of its size.
    Tensor centered = x.detach() - mean(x.detach(), axes, true);
    y = sum(mul_(centered, centered), axes, keepdim) / divisor;
  }
  // d var / dx = 2 (x - mean) / (n - correction). As a rule of its own rather
  // than through sum and mean, a zero divisor gives PyTorch's +-inf, not NaN.
  if (autograd::needs_grad(x))
    autograd::record("var", {x}, y, autograd::formulas(
        [x = SavedTensor(x), axes, kept = kept_shape(x, axes), divisor](const Tensor& gy) {
          return (x.get() - mean(x.get(), axes, true)) * (reshape(gy, kept.vec()) * (2.0 / divisor));
        }));
  return y;
}

Tensor var(const Tensor& x) { return var(x, {}); }

Tensor std(const Tensor& x, const std::vector<int>& dims, double correction, bool keepdim) {
  detail::check_floating(x, "std");
  const std::vector<int> axes = reduced_dims(x, dims, "std");
  const double n = reduced_count(x, axes);
  if (n == 0) detail::fail("std: reducing ", describe(x), " over no element");
  Tensor y;
  {
    NoGradGuard no_grad;
    y = sqrt(var(x.detach(), axes, correction, keepdim));
  }
  // d std / dx = (x - mean) / ((n - correction) std).
  if (autograd::needs_grad(x))
    autograd::record("std", {x}, y, autograd::formulas(
        [x = SavedTensor(x), y = SavedTensor::output(y), axes, kept = kept_shape(x, axes), n, correction](
            const Tensor& gy) {
          const Tensor scale = divided_unless_zero(reshape(gy, kept.vec()), reshape(y.get(), kept.vec()));
          return (x.get() - mean(x.get(), axes, true)) * scale / std::max(n - correction, 0.0);
        }));
  return y;
}

Tensor std(const Tensor& x) { return std(x, {}); }

Tensor logsumexp(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
  detail::check_floating(x, "logsumexp");
  const std::vector<int> axes = reduced_dims(x, dims, "logsumexp");
  // Any shift m gives log(sum(exp(x - m))) + m; the maximum keeps exp from
  // overflowing. An infinite maximum would turn x - m into NaN: shift by 0 there.
  Tensor m = reduced_count(x, axes) == 0 ? zeros(kept_shape(x, axes), x.dtype()) : amax_kept(x, axes).clone();
  detail::dispatch_float(m.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(m.raw_data());
    for (std::int64_t i = 0, k = m.numel(); i < k; ++i)
      if (!std::isfinite(p[i])) p[i] = 0;
  });
  const Tensor y = log(sum(exp(x - m), axes, true)) + m;
  return keepdim ? y : reshape(y, without_dims(x, axes));
}

namespace {

// The 2-norm: sqrt(sum(x^2)); its gradient x / norm is 0 at a zero norm.
Tensor norm2(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  Tensor y;
  {
    NoGradGuard no_grad;
    const Tensor d = x.detach();
    y = sqrt(sum(d * d, axes, keepdim));
  }
  if (autograd::needs_grad(x))
    autograd::record("norm", {x}, y, autograd::formulas(
        [x = SavedTensor(x), y = SavedTensor::output(y), kept = kept_shape(x, axes)](const Tensor& gy) {
          return x.get() * divided_unless_zero(reshape(gy, kept.vec()), reshape(y.get(), kept.vec()));
        }));
  return y;
}

// The inf-norm: max(|x|); its gradient sign(x) goes to the elements of largest
// magnitude, shared evenly between ties (0 at a zero vector, where sign is 0).
Tensor norm_inf(const Tensor& x, const std::vector<int>& axes, bool keepdim) {
  Tensor y;
  {
    NoGradGuard no_grad;
    y = amax_kept(abs(x.detach()), axes);
    if (!keepdim) y = reshape(y, without_dims(x, axes)).detach();
  }
  if (autograd::needs_grad(x))
    autograd::record("norm", {x}, y, autograd::formulas(
        [x = SavedTensor(x), y = SavedTensor::output(y), axes, kept = kept_shape(x, axes)](const Tensor& gy) {
          const Tensor ties = detail::tied_with(abs(x.get()), reshape(y.get(), kept.vec()));
          return sign(x.get()) * ties * (reshape(gy, kept.vec()) / sum(ties, axes, true));
        }));
  return y;
}

}  // namespace

Tensor norm(const Tensor& x, double p, const std::vector<int>& dims, bool keepdim) {
  detail::check_floating(x, "norm");
  const std::vector<int> axes = reduced_dims(x, dims, "norm");
  if (p == 1) return sum(abs(x), axes, keepdim);
  if (p == 2) return norm2(x, axes, keepdim);
  if (p == std::numeric_limits<double>::infinity()) {
    if (reduced_count(x, axes) == 0) detail::fail("norm: the inf-norm of ", describe(x), " reduces over no element");
    return norm_inf(x, axes, keepdim);
  }
  detail::fail("norm: p must be 1, 2 or inf, got ", p, " (for ", describe(x), ")");
}

Tensor norm(const Tensor& x, double p) { return norm(x, p, {}); }

// ---------------------------------------------------------------------------
// Declarations: each op's samples (with their domain) and error inputs; the
// generic test (tests/test_op_declarations.cpp) runs check_op over them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> statistics_op_declarations() {
  using inputs::any;
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor i64 = tensor_i64({1, 2, 3}, {3});
  return {
      OpInfo("var")
          .sample("all elements of 3x4", {any({3, 4})}, [](const OpArgs& v) { return var(v[0]); })
          .sample("2x3x4 over dims 0 and 2, correction 0", {any({2, 3, 4})},
                  [](const OpArgs& v) { return var(v[0], {0, -1}, 0); })
          .sample("3x4 over dim 1, keepdim, correction 2", {any({3, 4})},
                  [](const OpArgs& v) { return var(v[0], {1}, 2, true); })
          .error("dimension out of range", [] { var(ones({2, 3}), {2}); }, {"var", "dimension 2", "[2,3]"})
          .error("dimension listed twice", [] { var(ones({2, 3}), {1, -1}); }, {"var", "twice", "[2,3]"})
          .error("over no element", [] { var(zeros({0, 3}), {0}); }, {"var", "no element", "[0,3]"})
          .error("int64 input", [i64] { var(i64); }, {"var", "int64"}),
      OpInfo("std")
          .sample("all elements of 3x4", {any({3, 4})}, [](const OpArgs& v) { return std(v[0]); })
          .sample("2x3x4 over dim 1, keepdim", {any({2, 3, 4})}, [](const OpArgs& v) { return std(v[0], {1}, 1, true); })
          .sample("3x4 over dims 0 and 1, correction 0", {any({3, 4})},
                  [](const OpArgs& v) { return std(v[0], {0, 1}, 0); })
          .error("dimension out of range", [] { std(ones({2, 3}), {-3}); }, {"std", "dimension -3", "[2,3]"})
          .error("int64 input", [i64] { std(i64); }, {"std", "int64"}),
      OpInfo("logsumexp")
          .composite_of_other_ops()
          .sample("3x4 over dim 1", {any({3, 4})}, [](const OpArgs& v) { return logsumexp(v[0], {1}); })
          .sample("2x3x4 over dims 0 and 2, keepdim", {any({2, 3, 4})},
                  [](const OpArgs& v) { return logsumexp(v[0], {0, 2}, true); })
          .sample("large values (stability)", {inputs::given(tensor({1000, 1001, -1000, 999}, {2, 2}, kFloat64))},
                  [](const OpArgs& v) { return logsumexp(v[0], {-1}); })
          .error("dimension out of range", [] { logsumexp(ones({2, 3}), {5}); }, {"logsumexp", "dimension 5", "[2,3]"})
          .error("int64 input", [i64] { logsumexp(i64, {0}); }, {"logsumexp", "int64"}),
      OpInfo("norm")
          .sample("2-norm of all elements", {any({3, 4})}, [](const OpArgs& v) { return norm(v[0]); })
          .sample("2-norm over dim 1, keepdim", {any({3, 4})}, [](const OpArgs& v) { return norm(v[0], 2, {1}, true); })
          .sample("inf-norm over dim 0", {any({3, 4})}, [inf](const OpArgs& v) { return norm(v[0], inf, {0}); })
          .sample("inf-norm of all elements", {any({2, 3})}, [inf](const OpArgs& v) { return norm(v[0], inf); })
          .error("p = 3", [] { norm(ones({2, 3}), 3); }, {"norm", "p must be 1, 2 or inf", "3", "[2,3]"})
          .error("dimension out of range", [] { norm(ones({2, 3}), 2, {2}); }, {"norm", "dimension 2", "[2,3]"})
          .error("inf-norm of an empty tensor", [inf] { norm(zeros({0}), inf); }, {"norm", "no element", "[0]"})
          .error("int64 input", [i64] { norm(i64); }, {"norm", "int64"}),
      OpInfo("norm (p = 1)")
          .composite_of_other_ops()
          .sample("1-norm over dims 0 and 2", {inputs::away_from_zero({2, 3, 4})},
                  [](const OpArgs& v) { return norm(v[0], 1, {0, 2}); }),
  };
}

}  // namespace tg
