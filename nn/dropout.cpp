// tg::nn::Dropout, inverted dropout as a mask multiplication:
//   train: y = x * m,  m_i = [u_i > p] / (1 - p),  u_i ~ U[0, 1) from the seeded generator
//   eval:  y = x
// E[m_i] = 1, so E[y] = x. The mask is a constant for the tape, so the
// backward of the recorded mul gives dx = dy * m.
#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {

Dropout::Dropout(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) tg::detail::fail("Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& input) {
  tg::detail::check_floating(input, "Dropout");
  if (!is_training() || p_ == 0.0) return input;
  if (p_ == 1.0) return input * 0.0;  // everything dropped; 1/(1-p) would be infinite
  Tensor mask;
  {
    NoGradGuard no_grad;
    mask = gt(rand(input.shape(), input.dtype()), p_) * (1.0 / (1.0 - p_));
  }
  return input * mask;
}

std::string Dropout::extra_repr() const { return tg::detail::cat("p=", p_); }

}  // namespace tg::nn
