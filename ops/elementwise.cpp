// + - * /, maximum, minimum and atan2 with NumPy broadcasting, tensor-scalar
// variants, comparisons, and the engine's gradient accumulation.
//
// Kernels: same-shape operands go through xtensor (xt::noalias over adapted
// buffers, vectorised by xsimd); broadcast operands through the raw row loop
// in ops/broadcast.hpp (xtensor's broadcasting measured 30x slower).
//
// Each op's gradient is the formula passed to autograd::formulas in its
// definition (a broadcast operand's gradient is summed back with sum_to); the
// samples and error inputs are declared at the bottom.
#include <algorithm>
#include <cmath>

#include "core/dispatch.hpp"
#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/broadcast.hpp"
#include "ops/declarations.hpp"
#include "ops/xt.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

using detail::flat;

// NotBelow/NotAbove: the share of maximum's and minimum's gradient that goes to
// an operand x against the other, y: 0 where x loses, 1/2 at a tie, 1 where it
// wins -- and 1 where either is NaN (both get the gradient there, as in PyTorch).
enum class BinOp { Add, Sub, Mul, Div, Eq, Maximum, Minimum, NotBelow, NotAbove, Atan2 };

template <BinOp op, class T> inline T apply(T x, T y) {
  if constexpr (op == BinOp::Add) return x + y;
  if constexpr (op == BinOp::Sub) return x - y;
  if constexpr (op == BinOp::Mul) return x * y;
  if constexpr (op == BinOp::Div) return x / y;
  if constexpr (op == BinOp::Eq) return static_cast<T>(x == y);
  // x != x: x is NaN, which wins both maximum and minimum (as in PyTorch).
  if constexpr (op == BinOp::Maximum) return (x > y || x != x) ? x : y;
  if constexpr (op == BinOp::Minimum) return (x < y || x != x) ? x : y;
  if constexpr (op == BinOp::NotBelow) return static_cast<T>(x < y ? 0.0 : x == y ? 0.5 : 1.0);
  if constexpr (op == BinOp::NotAbove) return static_cast<T>(x > y ? 0.0 : x == y ? 0.5 : 1.0);
  if constexpr (op == BinOp::Atan2) return static_cast<T>(std::atan2(x, y));
}

// The ops with an xtensor same-shape fast path.
constexpr bool is_arithmetic(BinOp op) {
  return op == BinOp::Add || op == BinOp::Sub || op == BinOp::Mul || op == BinOp::Div;
}

// out = a (op) b, where out has the broadcast shape of a and b.
template <BinOp op, class T> void binary_kernel(const Tensor& a, const Tensor& b, Tensor& out) {
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* po = static_cast<T*>(out.raw_data());
  const std::int64_t n = out.numel();
  if (a.shape() == b.shape() && is_arithmetic(op)) {
    detail::for_each_block(n, [&](std::int64_t begin, std::int64_t count) {
      auto xa = flat(pa + begin, count);
      auto xb = flat(pb + begin, count);
      auto xo = flat(po + begin, count);
      if constexpr (op == BinOp::Add) xt::noalias(xo) = xa + xb;
      if constexpr (op == BinOp::Sub) xt::noalias(xo) = xa - xb;
      if constexpr (op == BinOp::Mul) xt::noalias(xo) = xa * xb;
      if constexpr (op == BinOp::Div) xt::noalias(xo) = xa / xb;
    });
    return;
  }
  const detail::BroadcastPlan plan = detail::make_broadcast_plan(a.shape(), b.shape(), out.shape());
  // Rows split over the pool when there is work for two (a bias add over a
  // [2048, 512] activation); each row is written by one thread, so the result
  // does not depend on the split.
  const std::int64_t row_length = plan.ndim == 0 ? 1 : std::max<std::int64_t>(plan.extent[plan.ndim - 1], 1);
  const std::int64_t row_count = plan.ndim == 0 ? 1 : plan.numel / row_length;
  const bool split = n >= 2 * detail::kElementGrain && row_count > 1;
  const std::int64_t grain = detail::grain_for_rows(row_length);
  if (plan.ndim == 2 && plan.stride_a[0] == plan.extent[1] && plan.stride_a[1] == 1 && plan.stride_b[0] == 0 &&
      plan.stride_b[1] == 1) {
    // [R, C] (op) [C], a bias added to a batch: one loop nest over a new
    // output (restrict), instead of R calls of the row loop with their alias checks.
    const std::int64_t C = plan.extent[1];
    const auto nest = [&](std::int64_t first, std::int64_t last) {
      T* __restrict o = po;
      for (std::int64_t r = first; r < last; ++r) {
        const T* __restrict x = pa + r * C;
        for (std::int64_t i = 0; i < C; ++i) o[r * C + i] = apply<op>(x[i], pb[i]);
      }
    };
    if (split)
      detail::parallel_for(plan.extent[0], grain, nest);
    else
      nest(0, plan.extent[0]);
    return;
  }
  const auto rows = [&](std::int64_t first, std::int64_t last) {
    detail::for_each_row(plan, pa, pb, po,
                       [](T* o, const T* x, const T* y, std::int64_t m, std::int64_t sx, std::int64_t sy) {
                         if (sx == 1 && sy == 1) {
                           for (std::int64_t i = 0; i < m; ++i) o[i] = apply<op>(x[i], y[i]);
                         } else if (sx == 1 && sy == 0) {
                           const T v = *y;
                           for (std::int64_t i = 0; i < m; ++i) o[i] = apply<op>(x[i], v);
                         } else if (sx == 0 && sy == 1) {
                           const T v = *x;
                           for (std::int64_t i = 0; i < m; ++i) o[i] = apply<op>(v, y[i]);
                         } else {
                           for (std::int64_t i = 0; i < m; ++i) o[i] = apply<op>(x[i * sx], y[i * sy]);
                         }
                       }, first, last);
  };
  if (split)
    detail::parallel_for(row_count, grain, rows);
  else
    rows(0, -1);
}

template <BinOp op> Tensor binary_forward(const Tensor& a, const Tensor& b, const char* name) {
  Tensor out = detail::make_tensor(broadcast_shapes(a.shape(), b.shape(), name), a.dtype());
  detail::dispatch_all(a.dtype(), [&](auto tag) { binary_kernel<op, decltype(tag)>(a, b, out); });
  return out;
}

// ---- tensor (op) scalar --------------------------------------------------------
enum class ScalarOp { Add, Mul, Div, RSub, RDiv, Gt, Lt };

template <ScalarOp op> Tensor scalar_forward(const Tensor& x, double s, const char* name) {
  detail::check_floating(x, name);
  Tensor out = detail::make_tensor(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(s);
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    detail::for_each_block(x.numel(), [&](std::int64_t begin, std::int64_t n) {
      auto xx = flat(px + begin, n);
      auto xo = flat(po + begin, n);
      if constexpr (op == ScalarOp::Add) xt::noalias(xo) = xx + v;
      if constexpr (op == ScalarOp::Mul) xt::noalias(xo) = xx * v;
      if constexpr (op == ScalarOp::Div) xt::noalias(xo) = xx / v;
      if constexpr (op == ScalarOp::RSub) xt::noalias(xo) = v - xx;
      if constexpr (op == ScalarOp::RDiv) xt::noalias(xo) = v / xx;
      if constexpr (op == ScalarOp::Gt || op == ScalarOp::Lt) {
        // A plain loop: comparisons in xtensor yield bool expressions that do not vectorise into T.
        for (std::int64_t i = begin; i < begin + n; ++i)
          po[i] = static_cast<T>(op == ScalarOp::Gt ? px[i] > v : px[i] < v);
      }
    });
  });
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Tensor (op) Tensor
// ---------------------------------------------------------------------------
Tensor add(const Tensor& a0, const Tensor& b0) {
  const auto [a, b] = detail::promote_floating(a0, b0, "add");
  Tensor y = binary_forward<BinOp::Add>(a, b, "add");
  if (autograd::needs_grad(a, b))
    autograd::record("add", {a, b}, y, autograd::formulas(
        [sa = a.shape()](const Tensor& gy) { return sum_to(gy, sa); },
        [sb = b.shape()](const Tensor& gy) { return sum_to(gy, sb); }));
  return y;
}

Tensor sub(const Tensor& a0, const Tensor& b0) {
  const auto [a, b] = detail::promote_floating(a0, b0, "sub");
  Tensor y = binary_forward<BinOp::Sub>(a, b, "sub");
  if (autograd::needs_grad(a, b))
    autograd::record("sub", {a, b}, y, autograd::formulas(
        [sa = a.shape()](const Tensor& gy) { return sum_to(gy, sa); },
        [sb = b.shape()](const Tensor& gy) { return sum_to(neg(gy), sb); }));
  return y;
}

Tensor mul(const Tensor& a0, const Tensor& b0) {
  const auto ab = detail::promote_floating(a0, b0, "mul");
  const Tensor &a = ab.first, &b = ab.second;
  Tensor y = binary_forward<BinOp::Mul>(a, b, "mul");
  // Each formula keeps only the operand it reads: b for a's gradient, a for b's.
  if (autograd::needs_grad(a, b))
    autograd::record("mul", {a, b}, y, autograd::formulas(
        [b = SavedTensor(a.requires_grad() ? b : Tensor()), sa = a.shape()](const Tensor& gy) { return sum_to(gy * b.get(), sa); },
        [a = SavedTensor(b.requires_grad() ? a : Tensor()), sb = b.shape()](const Tensor& gy) { return sum_to(gy * a.get(), sb); }));
  return y;
}

Tensor div(const Tensor& a0, const Tensor& b0) {
  const auto ab = detail::promote_floating(a0, b0, "div");
  const Tensor &a = ab.first, &b = ab.second;
  Tensor y = binary_forward<BinOp::Div>(a, b, "div");
  // d(a/b)/db = -a/b^2 = -y/b: the output is saved instead of a.
  if (autograd::needs_grad(a, b))
    autograd::record("div", {a, b}, y, autograd::formulas(
        [b = SavedTensor(b), sa = a.shape()](const Tensor& gy) { return sum_to(gy / b.get(), sa); },
        [b = SavedTensor(b), y = b.requires_grad() ? SavedTensor::output(y) : SavedTensor(), sb = b.shape()](const Tensor& gy) {
          return sum_to(neg(gy * y.get() / b.get()), sb);
        }));
  return y;
}

// ---- maximum, minimum, atan2 ------------------------------------------------------
namespace {
// maximum or minimum: each operand's gradient is gy times its share (kShareA of
// a against b, kShareB of b against a), summed back to its shape.
template <BinOp kPick, BinOp kShareA, BinOp kShareB> Tensor pick(const Tensor& a0, const Tensor& b0, const char* name) {
  const auto [a, b] = detail::promote_floating(a0, b0, name);
  Tensor y = binary_forward<kPick>(a, b, name);
  if (autograd::needs_grad(a, b))
    autograd::record(name, {a, b}, y, autograd::formulas(
        [wa = SavedTensor(a.requires_grad() ? binary_forward<kShareA>(a, b, name) : Tensor()), sa = a.shape()](
            const Tensor& gy) { return sum_to(gy * wa.get(), sa); },
        [wb = SavedTensor(b.requires_grad() ? binary_forward<kShareB>(a, b, name) : Tensor()), sb = b.shape()](
            const Tensor& gy) { return sum_to(gy * wb.get(), sb); }));
  return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return pick<BinOp::Maximum, BinOp::NotBelow, BinOp::NotAbove>(a, b, "maximum");
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return pick<BinOp::Minimum, BinOp::NotAbove, BinOp::NotBelow>(a, b, "minimum");
}

Tensor atan2(const Tensor& a0, const Tensor& b0) {
  const auto ab = detail::promote_floating(a0, b0, "atan2");
  const Tensor &a = ab.first, &b = ab.second;
  Tensor y = binary_forward<BinOp::Atan2>(a, b, "atan2");
  // d atan2(a, b) = (b da - a db) / (a^2 + b^2).
  if (autograd::needs_grad(a, b))
    autograd::record("atan2", {a, b}, y, autograd::formulas(
        [a = SavedTensor(a), b = SavedTensor(b)](const Tensor& gy) {
          return sum_to(gy * b.get() / (a.get() * a.get() + b.get() * b.get()), a.get().shape());
        },
        [a = SavedTensor(a), b = SavedTensor(b)](const Tensor& gy) {
          return sum_to(gy * neg(a.get()) / (a.get() * a.get() + b.get() * b.get()), b.get().shape());
        }));
  return y;
}

// ---------------------------------------------------------------------------
// Tensor (op) scalar
// ---------------------------------------------------------------------------
Tensor add(const Tensor& a, double s) {
  Tensor y = scalar_forward<ScalarOp::Add>(a, s, "add");
  if (autograd::needs_grad(a)) {
    autograd::record("add_scalar", {a}, y, autograd::formulas([](const Tensor& gy) { return gy; }));
    autograd::set_attributes(y, autograd::OpAttributes().set_real("scalar", s));
  }
  return y;
}

Tensor sub(const Tensor& a, double s) { return add(a, -s); }

Tensor mul(const Tensor& a, double s) {
  Tensor y = scalar_forward<ScalarOp::Mul>(a, s, "mul");
  if (autograd::needs_grad(a)) {
    autograd::record("mul_scalar", {a}, y, autograd::formulas([s](const Tensor& gy) { return gy * s; }));
    autograd::set_attributes(y, autograd::OpAttributes().set_real("scalar", s));
  }
  return y;
}

Tensor div(const Tensor& a, double s) {
  Tensor y = scalar_forward<ScalarOp::Div>(a, s, "div");
  if (autograd::needs_grad(a)) {
    autograd::record("div_scalar", {a}, y, autograd::formulas([s](const Tensor& gy) { return gy / s; }));
    autograd::set_attributes(y, autograd::OpAttributes().set_real("scalar", s));
  }
  return y;
}

Tensor rsub(double s, const Tensor& b) {
  Tensor y = scalar_forward<ScalarOp::RSub>(b, s, "rsub");
  if (autograd::needs_grad(b)) {
    autograd::record("rsub_scalar", {b}, y, autograd::formulas([](const Tensor& gy) { return neg(gy); }));
    autograd::set_attributes(y, autograd::OpAttributes().set_real("scalar", s));
  }
  return y;
}

Tensor rdiv(double s, const Tensor& b) {
  Tensor y = scalar_forward<ScalarOp::RDiv>(b, s, "rdiv");
  if (autograd::needs_grad(b)) {  // d(s/b)/db = -s/b^2 = -y/b
    autograd::record("rdiv_scalar", {b}, y,
                     autograd::formulas([b = SavedTensor(b), y = SavedTensor::output(y)](const Tensor& gy) { return neg(gy * y.get() / b.get()); }));
    autograd::set_attributes(y, autograd::OpAttributes().set_real("scalar", s));
  }
  return y;
}

Tensor neg(const Tensor& x) {
  Tensor y = scalar_forward<ScalarOp::Mul>(x, -1.0, "neg");
  if (autograd::needs_grad(x))
    autograd::record("neg", {x}, y, autograd::formulas([](const Tensor& gy) { return neg(gy); }));
  return y;
}

// ---------------------------------------------------------------------------
// Comparisons (never recorded)
// ---------------------------------------------------------------------------
Tensor gt(const Tensor& a, double b) { return scalar_forward<ScalarOp::Gt>(a, b, "gt"); }
Tensor lt(const Tensor& a, double b) { return scalar_forward<ScalarOp::Lt>(a, b, "lt"); }

Tensor eq(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "eq");
  detail::check_defined(b, "eq");
  if (a.dtype() != b.dtype())
    detail::fail("eq: dtypes differ: ", describe(a), " and ", describe(b));
  return binary_forward<BinOp::Eq>(a, b, "eq");
}

// ---------------------------------------------------------------------------
// Declarations: samples (with their domain) and error inputs of this file's ops.
// ---------------------------------------------------------------------------
namespace {
// Shape pairs every binary op is sampled with: same shape, and each way of broadcasting.
const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 5}}, {{2, 3, 4}, {3, 1}}, {{5}, {}}};

// `op` sampled over kBinaryShapes (b from `b_domain`), with the errors every binary op shares.
OpInfo binary_op(const char* name, Tensor (*op)(const Tensor&, const Tensor&), InputSpec (*b_domain)(const Shape&)) {
  OpInfo info(name);
  for (const auto& [sa, sb] : kBinaryShapes)
    info.sample(sa.str() + " and " + sb.str(), {inputs::any(sa), b_domain(sb)},
                [op](const OpArgs& v) { return op(v[0], v[1]); });
  const std::string n = name;
  return info
      .error("shapes do not broadcast", [op] { op(ones({2, 3}), ones({4})); }, {n, "[2,3]", "[4]"})
      .error("3-D against 2-D, inner extents differ", [op] { op(ones({2, 3, 4}), ones({3, 5})); },
             {n, "[2,3,4]", "[3,5]"})
      .error("an undefined tensor", [op] { op(Tensor(), ones({2, 3})); }, {n, "undefined"})
      .error("int64 and float32", [op] { op(tensor_i64({1, 2}, {2}), ones({2})); }, {n, "int64"});
}
}  // namespace

std::vector<OpInfo> elementwise_op_declarations() {
  using inputs::any;
  using inputs::given;
  using inputs::positive;
  auto unary = [](const char* name, OpCall call, InputSpec (*domain)(const Shape&) = any) {
    return OpInfo(name).sample("2x3", {domain({2, 3})}, std::move(call));
  };
  return {
      binary_op("add", add, any),
      binary_op("sub", sub, any),
      binary_op("mul", mul, any),
      binary_op("div", div, positive),
      binary_op("maximum", maximum, any),
      binary_op("minimum", minimum, any),
      binary_op("atan2", atan2, any),
      OpInfo("maximum (ties)")
          .sample("equal elements share the gradient", {given(tensor({1, -2, 0.5}, {3})), given(tensor({1, 3, 0.5}, {3}))},
                  [](const OpArgs& v) { return maximum(v[0], v[1]) * tensor({1, 2, 3}, {3}, v[0].dtype()); })
          .gradient_jumps_here()
          .sample("a broadcast tie", {given(tensor({0.5, -1.5}, {2, 1})), given(tensor({0.5}, {1}))},
                  [](const OpArgs& v) { return minimum(v[0], v[1]); })
          .gradient_jumps_here(),
      unary("add_scalar", [](const OpArgs& v) { return v[0] + 3.0; }),
      unary("sub_scalar", [](const OpArgs& v) { return v[0] - 3.0; }),
      unary("mul_scalar", [](const OpArgs& v) { return v[0] * -2.5; }),
      unary("div_scalar", [](const OpArgs& v) { return v[0] / 4.0; }),
      unary("rsub_scalar", [](const OpArgs& v) { return 2.0 - v[0]; }),
      unary("rdiv_scalar", [](const OpArgs& v) { return 2.0 / v[0]; }, positive),
      unary("neg", [](const OpArgs& v) { return -v[0]; }),
      OpInfo("gt")
          .not_differentiable()
          .sample("2x3 against 0.5", {any({2, 3})}, [](const OpArgs& v) { return gt(v[0], 0.5); }),
      OpInfo("lt")
          .not_differentiable()
          .sample("2x3 against 0.5", {any({2, 3})}, [](const OpArgs& v) { return lt(v[0], 0.5); }),
      OpInfo("eq")
          .not_differentiable()
          .sample("values against themselves, broadcast", {inputs::given(tensor({1, 2, 3, 4, 5, 6}, {2, 3})),
                                                          inputs::given(tensor({1, 5, 3}, {3}))},
                  [](const OpArgs& v) { return eq(v[0], v[1]); })
          .sample("int64 labels", {inputs::indices({6}, 3), inputs::indices({6}, 3)},
                  [](const OpArgs& v) { return eq(v[0], v[1]); })
          .error("shapes do not broadcast", [] { eq(ones({2}), ones({3})); }, {"eq", "[2]", "[3]"}),
  };
}

}  // namespace tg
