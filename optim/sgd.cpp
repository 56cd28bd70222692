// tg::optim::SGD. The update is one fused xtensor expression per parameter
// (xt::noalias over the flat buffers, vectorised by xsimd); every scalar is
// of the element type so nothing is promoted to double.
//
//   g = grad + wd * w
//   momentum 0:  w <- w - lr g
//   else:        b <- g (first step) | mu b + (1 - dampening) g
//                w <- w - lr (g + mu b)  (nesterov)  |  w - lr b
#include "core/dispatch.hpp"
#include "ops/xt.hpp"
#include <tapegrad/autograd.hpp>
#include <tapegrad/sgd.hpp>

namespace tg::optim {

using tg::detail::fail;
using tg::detail::flat;

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params), options.lr(), "SGD", {"momentum_buffer"}), options_(options) {
  if (!(options.momentum() >= 0)) fail("SGD: momentum must be >= 0, got ", options.momentum());
  if (!(options.weight_decay() >= 0)) fail("SGD: weight_decay must be >= 0, got ", options.weight_decay());
  if (!(options.dampening() >= 0)) fail("SGD: dampening must be >= 0, got ", options.dampening());
  if (options.nesterov() && (options.momentum() <= 0 || options.dampening() != 0))
    fail("SGD: nesterov momentum needs momentum > 0 and dampening 0, got momentum ", options.momentum(),
         " and dampening ", options.dampening());
}

void SGD::step() {
  NoGradGuard no_grad;
  const double mu = options_.momentum();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = grad_of(i);
    if (!g.defined()) continue;
    Tensor& p = params_[i];
    ParamState& s = state_[i];
    const bool first = !s.buffers[0].defined();
    Tensor* buf = mu != 0 ? &buffer(i, 0) : nullptr;
    const std::int64_t n = p.numel();
    tg::detail::dispatch_float(p.dtype(), "SGD::step", [&](auto tag) {
      using T = decltype(tag);
      const T lr = static_cast<T>(lr_), wd = static_cast<T>(options_.weight_decay());
      auto w = flat(static_cast<T*>(p.raw_data()), n);
      auto dw = flat(static_cast<const T*>(g.raw_data()), n);
      if (!buf) {
        xt::noalias(w) = w - lr * (dw + wd * w);
        return;
      }
      const T m = static_cast<T>(mu), damp = static_cast<T>(1 - options_.dampening());
      auto b = flat(static_cast<T*>(buf->raw_data()), n);
      if (first)
        xt::noalias(b) = dw + wd * w;
      else
        xt::noalias(b) = m * b + damp * (dw + wd * w);
      if (options_.nesterov())
        xt::noalias(w) = w - lr * ((dw + wd * w) + m * b);
      else
        xt::noalias(w) = w - lr * b;
    });
    ++s.step;
  }
}

}  // namespace tg::optim
