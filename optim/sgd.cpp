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

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults)
    : Optimizer(std::move(groups), defaults.lr(), "SGD", {"momentum_buffer"}), options_(defaults) {
  using Setter = void (*)(SGDOptions&, double, const std::string&);
  static const std::map<std::string, Setter> setters = {
      {"lr", [](SGDOptions& o, double v, const std::string&) { o.lr(v); }},
      {"momentum", [](SGDOptions& o, double v, const std::string&) { o.momentum(v); }},
      {"dampening", [](SGDOptions& o, double v, const std::string&) { o.dampening(v); }},
      {"weight_decay", [](SGDOptions& o, double v, const std::string&) { o.weight_decay(v); }},
      {"nesterov", [](SGDOptions& o, double v, const std::string& owner) { o.nesterov(as_flag(owner, "nesterov", v)); }},
  };
  for (std::size_t g = 0; g < num_groups(); ++g) {
    const std::string owner = group_owner(g);
    const SGDOptions o = with_overrides(owner, defaults, group_overrides(g), setters);
    check_nonnegative(owner, "momentum", o.momentum());
    check_nonnegative(owner, "weight_decay", o.weight_decay());
    check_nonnegative(owner, "dampening", o.dampening());
    if (o.nesterov() && (o.momentum() <= 0 || o.dampening() != 0))
      fail(owner, ": nesterov momentum needs momentum > 0 and dampening 0, got momentum ", o.momentum(),
           " and dampening ", o.dampening());
    group_options_.push_back(o);
  }
}

void SGD::step() {
  update_each([&](std::size_t grp, std::size_t i, const Tensor& g) {
    const SGDOptions& o = group_options_[grp];
    const double mu = o.momentum(), lr = group_lr_[grp];
    Tensor& p = params_[i];
    ParamState& s = state_[i];
    const bool first = !s.buffers[0].defined();
    Tensor* buf = mu != 0 ? &buffer(i, 0) : nullptr;
    const std::int64_t n = p.numel();
    tg::detail::dispatch_float(p.dtype(), "SGD::step", [&](auto tag) {
      using T = decltype(tag);
      T* w = static_cast<T*>(p.raw_data());
      const T* dw = static_cast<const T*>(g.raw_data());
      const T lr_t = static_cast<T>(lr), wd = static_cast<T>(o.weight_decay());
      if (!buf)
        plain_step(w, dw, n, lr_t, wd);
      else
        momentum_step(w, dw, static_cast<T*>(buf->raw_data()), n, lr_t, wd, static_cast<T>(mu),
                      static_cast<T>(1 - o.dampening()), first, o.nesterov());
    });
    ++s.step;
  });
}

}  // namespace tg::optim
