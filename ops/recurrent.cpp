// fused_lstm_cell: the element-wise part of an LSTM step as one op.
//
// Written with ops, the step after the gate product is four column slices of
// the gates (each a copy, whose backward scatters into a zero [B, 4H] tensor),
// three sigmoids, two tanh, four products and a sum: some fifteen tape nodes
// per step and as many passes over memory each way. Here the forward is one
// pass computing h' and c', and the backward one pass computing
//   gc~ = gc + gh o (1 - tanh(c')^2),
//   di = gc~ tanh(g) i (1 - i),  df = gc~ c f (1 - f),
//   dg = gc~ i (1 - tanh(g)^2),  do = gh tanh(c') o (1 - o),  dc = gc~ f
// (i, f, o the sigmoids of their pre-activations), recomputing the
// activations from the saved gates rather than keeping them. Under
// create_graph the backward is the same formula in differentiable ops on the
// saved inputs, so the gradient can be differentiated again.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/dispatch.hpp"
#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/xt.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/ops/recurrent.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

using detail::flat;

// sigmoid of an xtensor expression, vectorised by xsimd (ops/xt.hpp).
template <class E, class T> auto sigm(E&& x, T) { return T(1) / (T(1) + xt::exp(-std::forward<E>(x))); }

// Rows are independent; a thread takes at least this many elements of c.
constexpr std::int64_t kGrainElements = 2048;

std::int64_t row_grain(std::int64_t hidden) { return std::max<std::int64_t>(1, kGrainElements / std::max<std::int64_t>(hidden, 1)); }

void check_lstm_inputs(const Tensor& gates, const Tensor& c) {
  detail::check_floating(gates, "fused_lstm_cell");
  detail::check_floating(c, "fused_lstm_cell");
  if (c.dim() != 2)
    detail::fail("fused_lstm_cell: the cell state must be [B, H], got ", describe(c), " with gates ", describe(gates));
  if (gates.dim() != 2 || gates.size(0) != c.size(0) || gates.size(1) != 4 * c.size(1))
    detail::fail("fused_lstm_cell: gates must be [B, 4H] = [", c.size(0), ", ", 4 * c.size(1), "] for a cell state ",
                 describe(c), ", got ", describe(gates));
  if (gates.dtype() != c.dtype())
    detail::fail("fused_lstm_cell: gates ", describe(gates), " and cell state ", describe(c), " differ in dtype");
}

// The backward in differentiable ops (create_graph): activations recomputed from the inputs.
autograd::Grads composed_backward(const Tensor& ghc, const Tensor& gates, const Tensor& c,
                                  const autograd::NeedsGrad& needs) {
  const std::int64_t h = c.size(1);
  const Tensor i = sigmoid(narrow(gates, 1, 0, h)), f = sigmoid(narrow(gates, 1, h, h));
  const Tensor g = tanh(narrow(gates, 1, 2 * h, h)), o = sigmoid(narrow(gates, 1, 3 * h, h));
  const Tensor tc = tanh(f * c + i * g);
  const Tensor gh = narrow(ghc, 1, 0, h), gc = narrow(ghc, 1, h, h) + gh * o * (1.0 - tc * tc);
  autograd::Grads grads(2);
  if (needs[0])
    grads[0] = cat({gc * g * i * (1.0 - i), gc * c * f * (1.0 - f), gc * i * (1.0 - g * g), gh * tc * o * (1.0 - o)}, 1);
  if (needs[1]) grads[1] = gc * f;
  return grads;
}

autograd::Grads fused_backward(const Tensor& ghc, const Tensor& gates, const Tensor& c,
                               const autograd::NeedsGrad& needs) {
  const std::int64_t b = c.size(0), h = c.size(1);
  Tensor dgates = needs[0] ? detail::make_tensor(gates.shape(), gates.dtype()) : Tensor();
  Tensor dc = needs[1] ? detail::make_tensor(c.shape(), c.dtype()) : Tensor();
  const Tensor gy = ghc.dtype() == gates.dtype() ? ghc : ghc.to(gates.dtype());
  detail::dispatch_float(gates.dtype(), "fused_lstm_cell backward", [&](auto tag) {
    using T = decltype(tag);
    const T* gv = static_cast<const T*>(gates.raw_data());
    const T* cv = static_cast<const T*>(c.raw_data());
    const T* yv = static_cast<const T*>(gy.raw_data());
    T* dg = dgates.defined() ? static_cast<T*>(dgates.raw_data()) : nullptr;
    T* dcv = dc.defined() ? static_cast<T*>(dc.raw_data()) : nullptr;
    detail::parallel_for(b, row_grain(h), [&](std::int64_t first, std::int64_t last) {
      // The activations of one row, and gc~, computed once each.
      std::vector<T> scratch(static_cast<std::size_t>(6 * h));
      auto si = flat(scratch.data(), h), sf = flat(scratch.data() + h, h), sg = flat(scratch.data() + 2 * h, h);
      auto so = flat(scratch.data() + 3 * h, h), tc = flat(scratch.data() + 4 * h, h);
      auto gct = flat(scratch.data() + 5 * h, h);
      for (std::int64_t r = first; r < last; ++r) {
        const T* a = gv + r * 4 * h;
        auto c_in = flat(cv + r * h, h);
        auto gh = flat(yv + r * 2 * h, h), gc = flat(yv + r * 2 * h + h, h);
        xt::noalias(si) = sigm(flat(a, h), T{});
        xt::noalias(sf) = sigm(flat(a + h, h), T{});
        xt::noalias(sg) = xt::tanh(flat(a + 2 * h, h));
        xt::noalias(so) = sigm(flat(a + 3 * h, h), T{});
        xt::noalias(tc) = xt::tanh(sf * c_in + si * sg);
        xt::noalias(gct) = gc + gh * so * (T(1) - tc * tc);
        if (dg) {
          T* d = dg + r * 4 * h;
          xt::noalias(flat(d, h)) = gct * sg * si * (T(1) - si);
          xt::noalias(flat(d + h, h)) = gct * c_in * sf * (T(1) - sf);
          xt::noalias(flat(d + 2 * h, h)) = gct * si * (T(1) - sg * sg);
          xt::noalias(flat(d + 3 * h, h)) = gh * tc * so * (T(1) - so);
        }
        if (dcv) xt::noalias(flat(dcv + r * h, h)) = gct * sf;
      }
    });
  });
  return {dgates, dc};
}

}  // namespace

Tensor fused_lstm_cell(const Tensor& gates, const Tensor& c) {
  check_lstm_inputs(gates, c);
  const std::int64_t b = c.size(0), h = c.size(1);
  Tensor y = detail::make_tensor(Shape{b, 2 * h}, gates.dtype());
  detail::dispatch_float(gates.dtype(), "fused_lstm_cell", [&](auto tag) {
    using T = decltype(tag);
    const T* gv = static_cast<const T*>(gates.raw_data());
    const T* cv = static_cast<const T*>(c.raw_data());
    T* yv = static_cast<T*>(y.raw_data());
    detail::parallel_for(b, row_grain(h), [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t r = first; r < last; ++r) {
        const T* a = gv + r * 4 * h;
        auto i = flat(a, h), f = flat(a + h, h), g = flat(a + 2 * h, h), o = flat(a + 3 * h, h);
        auto c_in = flat(cv + r * h, h);
        auto h_out = flat(yv + r * 2 * h, h), c_out = flat(yv + r * 2 * h + h, h);
        xt::noalias(c_out) = sigm(f, T{}) * c_in + sigm(i, T{}) * xt::tanh(g);
        xt::noalias(h_out) = sigm(o, T{}) * xt::tanh(c_out);
      }
    });
  });
  if (autograd::needs_grad(gates, c))
    autograd::record("fused_lstm_cell", {gates, c}, y,
                     autograd::BackwardFn([gates = SavedTensor(gates), c = SavedTensor(c)](
                                              const Tensor& gy, const autograd::NeedsGrad& needs) -> autograd::Grads {
                       if (GradMode::is_enabled()) return composed_backward(gy, gates.get(), c.get(), needs);
                       return fused_backward(gy, gates.get(), c.get(), needs);
                     }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: samples and error inputs, checked by tests/test_op_declarations.cpp.
// ---------------------------------------------------------------------------
std::vector<OpInfo> recurrent_op_declarations() {
  using inputs::any;
  return {
      OpInfo("fused_lstm_cell")
          .sample("batch 2, hidden 3", {any({2, 12}), any({2, 3})},
                  [](const OpArgs& v) { return fused_lstm_cell(v[0], v[1]); })
          .sample("batch 1, hidden 1", {any({1, 4}), any({1, 1})},
                  [](const OpArgs& v) { return fused_lstm_cell(v[0], v[1]); })
          .error("gates not 4H", [] { fused_lstm_cell(ones({2, 10}), ones({2, 3})); },
                 {"fused_lstm_cell", "[2,10]", "[2,3]"})
          .error("1-D cell state", [] { fused_lstm_cell(ones({2, 12}), ones({3})); }, {"fused_lstm_cell", "[3]"})
          .error("int64 gates", [] { fused_lstm_cell(tensor_i64({1, 2, 3, 4}, {1, 4}), ones({1, 1})); },
                 {"fused_lstm_cell", "int64"}),
  };
}

}  // namespace tg
