// In-place ops: add_, sub_, mul_, div_ (tensor and scalar), relu_, zero_
// (copy_ and fill_ are Tensor members, in core/tensor.cpp).
//
// Each writes into self's buffer, bumps its version, and — when grad mode is on
// and self or `other` requires grad — records itself with
// autograd::record_inplace: self keeps its handle and gets a new grad_fn whose
// input 0 is self's values before the op. Refused, as in PyTorch, on a leaf
// that requires grad while grad mode is on. `other` broadcasts to self's shape,
// which never changes; it is converted to self's dtype. self comes as a const
// handle (as in ATen) and is returned: the tensor behind it is what changes.
#include <algorithm>

#include "core/dispatch.hpp"
#include "core/engine.hpp"
#include "core/tensor_impl.hpp"
#include "ops/broadcast.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

// `other` as the operand of self's in-place op: checked to broadcast to self's
// shape, in self's dtype (a differentiable conversion), and a copy when it
// shares self's buffer, so the kernel never reads an element it already wrote.
// Not copied when it is self's very elements (mul_(x, x)) and nothing is
// recorded: the kernel reads each element just before writing it. (Recorded,
// the op's input would be its own output.)
Tensor operand_for(const Tensor& self, const Tensor& other, const char* op) {
  detail::check_floating(self, op);
  detail::check_floating(other, op);
  if (other.shape() != self.shape() && broadcast_shapes(self.shape(), other.shape(), op) != self.shape())
    detail::fail(op, ": other of shape ", other.shape().str(), " cannot be broadcast to self's shape ",
                 self.shape().str(), " (an in-place op never changes self's shape)");
  Tensor o = other.dtype() == self.dtype() ? other : other.to(self.dtype());
  const TensorImpl &oi = TensorImpl::of(o), &si = TensorImpl::of(self);
  if (oi.storage == si.storage) {
    const bool same_elements = oi.offset_bytes == si.offset_bytes && o.shape() == self.shape();
    if (!same_elements || autograd::needs_grad(self, o)) o = o.clone();
  }
  return o;
}

enum class InplaceOp { Add, Sub, Mul, Div };

// self = self (op) other, other broadcast to self's shape.
template <InplaceOp op> void inplace_kernel(Tensor& self, const Tensor& other, const char* name) {
  detail::dispatch_float(self.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    T* s = static_cast<T*>(self.raw_data());
    const T* o = static_cast<const T*>(other.raw_data());
    if (other.shape() == self.shape()) {  // the common case, without a broadcast plan's allocations
      for (std::int64_t i = 0, n = self.numel(); i < n; ++i) {
        if constexpr (op == InplaceOp::Add) s[i] += o[i];
        if constexpr (op == InplaceOp::Sub) s[i] -= o[i];
        if constexpr (op == InplaceOp::Mul) s[i] *= o[i];
        if constexpr (op == InplaceOp::Div) s[i] /= o[i];
      }
      return;
    }
    const detail::BroadcastPlan plan = detail::make_broadcast_plan(self.shape(), other.shape(), self.shape());
    detail::for_each_row(plan, s, o, s, [](T* out, const T* x, const T* y, std::int64_t m, std::int64_t, std::int64_t sy) {
      for (std::int64_t i = 0; i < m; ++i) {
        if constexpr (op == InplaceOp::Add) out[i] = x[i] + y[i * sy];
        if constexpr (op == InplaceOp::Sub) out[i] = x[i] - y[i * sy];
        if constexpr (op == InplaceOp::Mul) out[i] = x[i] * y[i * sy];
        if constexpr (op == InplaceOp::Div) out[i] = x[i] / y[i * sy];
      }
    });
  });
}

// self = f(self) element-wise.
template <class F> void map_inplace(Tensor& self, const char* name, F f) {
  detail::dispatch_float(self.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    T* s = static_cast<T*>(self.raw_data());
    for (std::int64_t i = 0, n = self.numel(); i < n; ++i) s[i] = f(s[i]);
  });
}

}  // namespace

Tensor add_(const Tensor& target, const Tensor& other) {
  Tensor self = target;
  autograd::check_inplace(self, "add_", {other});
  const Tensor o = operand_for(self, other, "add_");
  inplace_kernel<InplaceOp::Add>(self, o, "add_");
  self.bump_version();
  if (autograd::needs_grad(self, o))
    autograd::record_inplace("add_", self, {o}, autograd::formulas(
        [](const Tensor& gy) { return gy; },
        [so = o.shape()](const Tensor& gy) { return sum_to(gy, so); }));
  return self;
}

Tensor add_(const Tensor& target, double other) {
  Tensor self = target;
  autograd::check_inplace(self, "add_");
  detail::check_floating(self, "add_");
  map_inplace(self, "add_", [other](auto v) { return v + static_cast<decltype(v)>(other); });
  self.bump_version();
  if (autograd::needs_grad(self)) {
    autograd::record_inplace("add_scalar_", self, {}, autograd::formulas([](const Tensor& gy) { return gy; }));
    autograd::set_attributes(self, autograd::OpAttributes().set_real("scalar", other));
  }
  return self;
}

Tensor sub_(const Tensor& target, const Tensor& other) {
  Tensor self = target;
  autograd::check_inplace(self, "sub_", {other});
  const Tensor o = operand_for(self, other, "sub_");
  inplace_kernel<InplaceOp::Sub>(self, o, "sub_");
  self.bump_version();
  if (autograd::needs_grad(self, o))
    autograd::record_inplace("sub_", self, {o}, autograd::formulas(
        [](const Tensor& gy) { return gy; },
        [so = o.shape()](const Tensor& gy) { return neg(sum_to(gy, so)); }));
  return self;
}

Tensor sub_(const Tensor& target, double other) {
  Tensor self = target;
  autograd::check_inplace(self, "sub_");
  detail::check_floating(self, "sub_");
  map_inplace(self, "sub_", [other](auto v) { return v - static_cast<decltype(v)>(other); });
  self.bump_version();
  if (autograd::needs_grad(self)) {
    autograd::record_inplace("sub_scalar_", self, {}, autograd::formulas([](const Tensor& gy) { return gy; }));
    autograd::set_attributes(self, autograd::OpAttributes().set_real("scalar", other));
  }
  return self;
}

Tensor mul_(const Tensor& target, const Tensor& other) {
  Tensor self = target;
  autograd::check_inplace(self, "mul_", {other});
  const Tensor o = operand_for(self, other, "mul_");
  // other's gradient reads self's values before the op: kept as a copy, as in
  // PyTorch, recorded (when self requires grad) for gradients of gradients.
  const bool record = autograd::needs_grad(self, o);
  const Tensor before = record && o.requires_grad() ? self.clone() : Tensor();
  inplace_kernel<InplaceOp::Mul>(self, o, "mul_");
  self.bump_version();
  if (record)
    autograd::record_inplace("mul_", self, {o}, autograd::formulas(
        [o = SavedTensor(self.requires_grad() ? o : Tensor())](const Tensor& gy) { return gy * o.get(); },
        [before = SavedTensor(before), so = o.shape()](const Tensor& gy) { return sum_to(gy * before.get(), so); }));
  return self;
}

Tensor mul_(const Tensor& target, double other) {
  Tensor self = target;
  autograd::check_inplace(self, "mul_");
  detail::check_floating(self, "mul_");
  map_inplace(self, "mul_", [other](auto v) { return v * static_cast<decltype(v)>(other); });
  self.bump_version();
  if (autograd::needs_grad(self)) {
    autograd::record_inplace("mul_scalar_", self, {}, autograd::formulas([other](const Tensor& gy) { return gy * other; }));
    autograd::set_attributes(self, autograd::OpAttributes().set_real("scalar", other));
  }
  return self;
}

Tensor div_(const Tensor& target, const Tensor& other) {
  Tensor self = target;
  autograd::check_inplace(self, "div_", {other});
  const Tensor o = operand_for(self, other, "div_");
  // other's gradient, -gy self / other^2, reads self's values before the op:
  // kept as a copy, as mul_ does.
  const bool record = autograd::needs_grad(self, o);
  const Tensor before = record && o.requires_grad() ? self.clone() : Tensor();
  inplace_kernel<InplaceOp::Div>(self, o, "div_");
  self.bump_version();
  if (record)
    autograd::record_inplace("div_", self, {o}, autograd::formulas(
        [o = SavedTensor(o)](const Tensor& gy) { return gy / o.get(); },
        [before = SavedTensor(before), o = SavedTensor(o), so = o.shape()](const Tensor& gy) {
          return sum_to(neg(gy * before.get()) / (o.get() * o.get()), so);
        }));
  return self;
}

Tensor div_(const Tensor& target, double other) {
  Tensor self = target;
  autograd::check_inplace(self, "div_");
  detail::check_floating(self, "div_");
  // Divided, not multiplied by 1 / other: the same values as x / other.
  map_inplace(self, "div_", [other](auto v) { return v / static_cast<decltype(v)>(other); });
  self.bump_version();
  if (autograd::needs_grad(self)) {
    autograd::record_inplace("div_scalar_", self, {}, autograd::formulas([other](const Tensor& gy) { return gy / other; }));
    autograd::set_attributes(self, autograd::OpAttributes().set_real("scalar", other));
  }
  return self;
}

Tensor relu_(const Tensor& target) {
  Tensor self = target;
  autograd::check_inplace(self, "relu_");
  detail::check_floating(self, "relu_");
  // v < 0 rather than max(v, 0): NaN stays NaN, as in PyTorch.
  map_inplace(self, "relu_", [](auto v) { return v < 0 ? decltype(v)(0) : v; });
  self.bump_version();
  // gy * [not x <= 0], read from the output (saved at its new version) as
  // [y > 0] + [y is NaN]: y is positive, 0 or NaN, and PyTorch passes the
  // gradient at NaN. eq(y, y) is 0 exactly at NaN.
  if (autograd::needs_grad(self))
    autograd::record_inplace("relu_", self, {}, autograd::formulas([y = SavedTensor::output(self)](const Tensor& gy) {
      const Tensor out = y.get();
      return gy * (gt(out, 0.0) + (1.0 - eq(out, out)));
    }));
  return self;
}

Tensor zero_(const Tensor& target) {
  Tensor self = target;
  autograd::check_inplace(self, "zero_");
  detail::dispatch_all(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::fill_n(static_cast<T*>(self.raw_data()), self.numel(), T(0));
  });
  self.bump_version();
  if (autograd::needs_grad(self))
    autograd::record_inplace("zero_", self, {}, autograd::formulas([](const Tensor& gy) { return zeros_like(gy); }));
  return self;
}

// ---------------------------------------------------------------------------
// Declarations. A sample cannot change its leaf inputs in place (refused), so
// each changes a non-leaf made from them (x * 1), as real code would.
// ---------------------------------------------------------------------------
std::vector<OpInfo> inplace_op_declarations() {
  using inputs::any;
  const auto nonleaf = [](const Tensor& x) { return x * 1.0; };
  return {
      OpInfo("add_")
          .sample("2x3 += 2x3", {any({2, 3}), any({2, 3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return add_(y, v[1]); })
          .sample("2x3 += 3 (broadcast)", {any({2, 3}), any({3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return add_(y, v[1]); })
          .sample("2x3 += 2.5", {any({2, 3})}, [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return add_(y, 2.5); })
          .error("other does not broadcast to self", [] { Tensor y = ones({2, 3}); add_(y, ones({4})); },
                 {"add_", "[4]", "[2,3]"})
          .error("other would grow self", [] { Tensor y = ones({3}); add_(y, ones({2, 3})); },
                 {"add_", "[2,3]", "[3]", "never changes self's shape"})
          .error("a leaf that requires grad", [] { Tensor w = ones({2}).requires_grad_(); add_(w, 1.0); },
                 {"add_", "leaf", "requires grad", "[2] float32"})
          .error("int64 self", [] { Tensor i = tensor_i64({1, 2}, {2}); add_(i, ones({2})); }, {"add_", "int64"})
          .error("an undefined self", [] { Tensor u; add_(u, 1.0); }, {"add_", "undefined"}),
      OpInfo("mul_")
          .sample("2x3 *= 2x3", {any({2, 3}), any({2, 3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return mul_(y, v[1]); })
          .sample("2x3 *= 2x1 (broadcast)", {any({2, 3}), any({2, 1})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return mul_(y, v[1]); })
          .sample("2x3 *= -1.5", {any({2, 3})}, [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return mul_(y, -1.5); })
          .error("other does not broadcast to self", [] { Tensor y = ones({2, 3}); mul_(y, ones({2})); },
                 {"mul_", "[2]", "[2,3]"})
          .error("a leaf that requires grad", [] { Tensor w = ones({2}).requires_grad_(); mul_(w, ones({2})); },
                 {"mul_", "leaf", "requires grad"}),
      OpInfo("sub_")
          .sample("2x3 -= 2x3", {any({2, 3}), any({2, 3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return sub_(y, v[1]); })
          .sample("2x3 -= 3 (broadcast)", {any({2, 3}), any({3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return sub_(y, v[1]); })
          .sample("2x3 -= 2.5", {any({2, 3})}, [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return sub_(y, 2.5); })
          .error("other does not broadcast to self", [] { Tensor y = ones({2, 3}); sub_(y, ones({4})); },
                 {"sub_", "[4]", "[2,3]"})
          .error("a leaf that requires grad", [] { Tensor w = ones({2}).requires_grad_(); sub_(w, 1.0); },
                 {"sub_", "leaf", "requires grad"})
          .error("int64 self", [] { Tensor i = tensor_i64({1, 2}, {2}); sub_(i, 1.0); }, {"sub_", "int64"}),
      OpInfo("div_")
          .sample("2x3 /= 2x3", {any({2, 3}), inputs::away_from_zero({2, 3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return div_(y, v[1]); })
          .sample("2x3 /= 2x1 (broadcast)", {any({2, 3}), inputs::away_from_zero({2, 1})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return div_(y, v[1]); })
          .sample("2x3 /= 0-d", {any({2, 3}), inputs::away_from_zero({})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return div_(y, v[1]); })
          .sample("2x3 /= -1.5", {any({2, 3})}, [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return div_(y, -1.5); })
          .error("other does not broadcast to self", [] { Tensor y = ones({2, 3}); div_(y, ones({2})); },
                 {"div_", "[2]", "[2,3]"})
          .error("a leaf that requires grad", [] { Tensor w = ones({2}).requires_grad_(); div_(w, ones({2})); },
                 {"div_", "leaf", "requires grad"})
          .error("int64 self", [] { Tensor i = tensor_i64({1, 2}, {2}); div_(i, 2.0); }, {"div_", "int64"}),
      OpInfo("relu_")
          .sample("2x3", {any({2, 3})}, [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return relu_(y); })
          .error("a leaf that requires grad", [] { Tensor w = ones({2}).requires_grad_(); relu_(w); },
                 {"relu_", "leaf", "requires grad"})
          .error("int64 self", [] { Tensor i = tensor_i64({1, 2}, {2}); relu_(i); }, {"relu_", "int64"}),
      OpInfo("zero_")
          .sample("2x3", {any({2, 3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return zero_(y) + v[0]; })
          .error("a leaf that requires grad", [] { Tensor w = ones({2}).requires_grad_(); zero_(w); },
                 {"zero_", "leaf", "requires grad"}),
      OpInfo("copy_")
          .sample("into a non-leaf, from a tensor of the other input", {any({2, 3}), any({2, 3})},
                  [nonleaf](const OpArgs& v) { Tensor y = nonleaf(v[0]); return y.copy_(v[1]) * v[0]; })
          .error("shapes differ", [] { ones({2}).copy_(ones({3})); }, {"copy_", "[3]", "[2]"})
          .error("a leaf that requires grad", [] { ones({2}).requires_grad_().copy_(ones({2})); },
                 {"copy_", "leaf", "requires grad"}),
  };
}

}  // namespace tg
