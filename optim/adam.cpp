// tg::optim::Adam and AdamW: PyTorch's documented updates with bias
// correction, one fused xtensor expression per moment and one for the weights
// (xt::noalias over the flat buffers, xsimd's sqrt; scalars in the element type).
//
//   Adam:  g = grad + wd w                       AdamW: w <- w (1 - lr wd), g = grad
//   m <- b1 m + (1 - b1) g
//   v <- b2 v + (1 - b2) g^2
//   w <- w - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#include <cmath>

#include "core/dispatch.hpp"
#include "ops/xt.hpp"
#include <tapegrad/adam.hpp>
#include <tapegrad/autograd.hpp>

namespace tg::optim {

using tg::detail::fail;
using tg::detail::flat;

Adam::Adam(std::vector<Tensor> params, AdamOptions options) : Adam(std::move(params), options, "Adam", false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, const char* name, bool decoupled)
    : Optimizer(std::move(params), options.lr(), name, {"exp_avg", "exp_avg_sq"}),
      options_(options),
      decoupled_(decoupled) {
  if (!(options.beta1() >= 0 && options.beta1() < 1) || !(options.beta2() >= 0 && options.beta2() < 1))
    fail(name, ": betas must be in [0, 1), got (", options.beta1(), ", ", options.beta2(), ")");
  if (!(options.eps() >= 0)) fail(name, ": eps must be >= 0, got ", options.eps());
  if (!(options.weight_decay() >= 0)) fail(name, ": weight_decay must be >= 0, got ", options.weight_decay());
}

AdamW::AdamW(std::vector<Tensor> params, AdamOptions options) : Adam(std::move(params), options, "AdamW", true) {}

void Adam::step() {
  NoGradGuard no_grad;
  const double b1 = options_.beta1(), b2 = options_.beta2();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = grad_of(i);
    if (!g.defined()) continue;
    Tensor& p = params_[i];
    ParamState& s = state_[i];
    Tensor& m_buf = buffer(i, 0);
    Tensor& v_buf = buffer(i, 1);
    const std::int64_t t = ++s.step;
    const double step_size = lr_ / (1 - std::pow(b1, static_cast<double>(t)));
    const double bc2_sqrt = std::sqrt(1 - std::pow(b2, static_cast<double>(t)));
    const std::int64_t n = p.numel();
    tg::detail::dispatch_float(p.dtype(), decoupled_ ? "AdamW::step" : "Adam::step", [&](auto tag) {
      using T = decltype(tag);
      auto w = flat(static_cast<T*>(p.raw_data()), n);
      auto dw = flat(static_cast<const T*>(g.raw_data()), n);
      auto m = flat(static_cast<T*>(m_buf.raw_data()), n);
      auto v = flat(static_cast<T*>(v_buf.raw_data()), n);
      const T beta1 = static_cast<T>(b1), beta2 = static_cast<T>(b2), one = T(1);
      const T wd = static_cast<T>(options_.weight_decay()), eps = static_cast<T>(options_.eps());
      if (decoupled_ || wd == T(0)) {
        if (decoupled_ && wd != T(0)) xt::noalias(w) = w * static_cast<T>(1 - lr_ * options_.weight_decay());
        xt::noalias(m) = beta1 * m + (one - beta1) * dw;
        xt::noalias(v) = beta2 * v + (one - beta2) * dw * dw;
      } else {
        xt::noalias(m) = beta1 * m + (one - beta1) * (dw + wd * w);
        xt::noalias(v) = beta2 * v + (one - beta2) * (dw + wd * w) * (dw + wd * w);
      }
      xt::noalias(w) = w - static_cast<T>(step_size) * m / (xt::sqrt(v) / static_cast<T>(bc2_sqrt) + eps);
    });
  }
}

}  // namespace tg::optim
