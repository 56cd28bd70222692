// tg::optim::SGD. One fused pass per parameter over raw buffers: the loop has
// no calls, so GCC vectorises it. Measured (float32, one core): SGD with
// momentum on LeNet-5's 61 706 parameters takes 8-13 us this way against 20 us
// as two xt::noalias passes (b, then w); 180-240 us against 450 us at 1M.
//
//   g = grad + wd * w
//   momentum 0:  w <- w - lr g
//   else:        b <- g (first step) | mu b + (1 - dampening) g
//                w <- w - lr (g + mu b)  (nesterov)  |  w - lr b
#include "core/dispatch.hpp"
#include "optim/hyperparameter.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/optim/sgd.hpp>

namespace tg::optim {
namespace {

template <class T>
void plain_step(T* __restrict w, const T* __restrict g, std::int64_t n, T lr, T wd) {
  for (std::int64_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
}

template <class T>
void momentum_step(T* __restrict w, const T* __restrict g, T* __restrict b, std::int64_t n, T lr, T wd, T mu,
                   T damp, bool first, bool nesterov) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T gi = g[i] + wd * w[i];
    const T bi = first ? gi : mu * b[i] + damp * gi;
    b[i] = bi;
    w[i] -= lr * (nesterov ? gi + mu * bi : bi);
  }
}

}  // namespace

using tg::detail::fail;

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params), options.lr(), "SGD", {"momentum_buffer"}), options_(options) {
  check_nonnegative("SGD", "momentum", options.momentum());
  check_nonnegative("SGD", "weight_decay", options.weight_decay());
  check_nonnegative("SGD", "dampening", options.dampening());
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
      T* w = static_cast<T*>(p.raw_data());
      const T* dw = static_cast<const T*>(g.raw_data());
      const T lr = static_cast<T>(lr_), wd = static_cast<T>(options_.weight_decay());
      if (!buf)
        plain_step(w, dw, n, lr, wd);
      else
        momentum_step(w, dw, static_cast<T*>(buf->raw_data()), n, lr, wd, static_cast<T>(mu),
                      static_cast<T>(1 - options_.dampening()), first, options_.nesterov());
    });
    p.bump_version();  // a backward that saved p must not run on the stepped values
    ++s.step;
  }
}

}  // namespace tg::optim
