// Dropout as functions (tg::nn::functional::dropout, dropout2d) and as the
// modules Dropout and Dropout2d, which call them with their training flag.
// Inverted dropout as a mask multiplication:
//   train: y = x * m,  m = [u > p] / (1 - p),  u ~ U[0, 1) from the seeded generator
//   eval:  y = x
// E[m] = 1, so E[y] = x. dropout draws one u per element; dropout2d one per
// channel, broadcast over the channel's H x W map. The mask is a constant for
// the tape, so the backward of the recorded mul gives dx = dy * m.
#include <cmath>

#include "core/dispatch.hpp"
#include "nn/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {
namespace {

void check_probability(double p, const char* name) {
  if (!(p >= 0.0 && p <= 1.0)) tg::detail::fail(name, ": p must be in [0, 1], got ", p);
}

// input * m with m of `mask_shape` (broadcast against input), each entry 0 with probability p.
Tensor drop(const Tensor& input, double p, const Shape& mask_shape) {
  if (p == 1.0) return input * 0.0;  // everything dropped; 1/(1-p) would be infinite
  Tensor mask;
  {
    NoGradGuard no_grad;
    mask = gt(rand(mask_shape, input.dtype()), p) * (1.0 / (1.0 - p));
  }
  return input * mask;
}

}  // namespace

namespace functional {

Tensor dropout(const Tensor& input, double p, bool training) {
  check_probability(p, "dropout");
  tg::detail::check_floating(input, "dropout");
  if (!training || p == 0.0) return input;
  return drop(input, p, input.shape());
}

Tensor dropout2d(const Tensor& input, double p, bool training) {
  check_probability(p, "dropout2d");
  tg::detail::check_floating(input, "dropout2d");
  if (input.dim() != 3 && input.dim() != 4)
    tg::detail::fail("dropout2d: expected an input [N, C, H, W] or [C, H, W], got ", input.shape().str());
  if (!training || p == 0.0) return input;
  Shape per_channel = input.shape();
  per_channel.set(input.dim() - 1, 1);
  per_channel.set(input.dim() - 2, 1);
  return drop(input, p, per_channel);
}

}  // namespace functional

Dropout::Dropout(double p) : p_(p) { check_probability(p, "Dropout"); }
Tensor Dropout::forward(const Tensor& input) { return functional::dropout(input, p_, is_training()); }
std::string Dropout::extra_repr() const { return tg::detail::cat("p=", p_); }

Dropout2d::Dropout2d(double p) : p_(p) { check_probability(p, "Dropout2d"); }
Tensor Dropout2d::forward(const Tensor& input) { return functional::dropout2d(input, p_, is_training()); }
std::string Dropout2d::extra_repr() const { return tg::detail::cat("p=", p_); }

// ---------------------------------------------------------------------------
// Declarations: the deterministic calls (eval mode, p = 0) and the error
// inputs; the random masks of training mode (and p = 1, whose gradient is all
// zero) are tested in tests/test_activations.cpp.
// ---------------------------------------------------------------------------
namespace functional {
std::vector<OpInfo> dropout_function_declarations() {
  using inputs::any;
  const double nan = std::nan("");
  return {
      OpInfo("dropout")
          .composite_of_other_ops()
          .sample("eval mode: the identity", {any({3, 4})}, [](const OpArgs& v) { return dropout(v[0], 0.5, false); })
          .sample("p = 0: the identity", {any({3, 4})}, [](const OpArgs& v) { return dropout(v[0], 0.0, true); })
          .error("p above 1", [] { dropout(ones({2}), 1.5); }, {"dropout", "[0, 1]", "1.5"})
          .error("negative p", [] { dropout(ones({2}), -0.25); }, {"dropout", "-0.25"})
          .error("NaN p", [nan] { dropout(ones({2}), nan, false); }, {"dropout", "nan"})
          .error("int64 input", [] { dropout(tensor_i64({1}, {1}), 0.5); }, {"dropout", "int64"}),
      OpInfo("dropout2d")
          .composite_of_other_ops()
          .sample("[N,C,H,W], eval mode", {any({2, 3, 2, 2})}, [](const OpArgs& v) { return dropout2d(v[0], 0.5, false); })
          .sample("[C,H,W], p = 0", {any({3, 2, 2})}, [](const OpArgs& v) { return dropout2d(v[0], 0.0); })
          .error("2-D input", [] { dropout2d(ones({4, 5}), 0.5); }, {"dropout2d", "[N, C, H, W]", "[4,5]"})
          .error("p above 1", [] { dropout2d(ones({1, 2, 2, 2}), 2.0); }, {"dropout2d", "[0, 1]", "2"})
          .error("int64 input", [] { dropout2d(tensor_i64({1}, {1, 1, 1}), 0.5); }, {"dropout2d", "int64"}),
  };
}
}  // namespace functional

}  // namespace tg::nn
