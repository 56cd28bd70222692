// tg::optim::RMSprop, Adagrad, Adadelta: one pass per parameter over raw
// buffers, in the order of operations of torch.optim's single-tensor updates
// (so float64 trajectories agree with PyTorch's to rounding).
#include <cmath>

#include "core/dispatch.hpp"
#include "optim/hyperparameter.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/optim/adaptive.hpp>

namespace tg::optim {

using tg::detail::fail;

// ---- RMSprop ---------------------------------------------------------------------------

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : RMSprop(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults)
    : Optimizer(std::move(groups), defaults.lr(), "RMSprop", {"square_avg", "momentum_buffer", "grad_avg"}),
      options_(defaults) {
  using O = RMSpropOptions;
  using Setter = void (*)(O&, double, const std::string&);
  static const std::map<std::string, Setter> setters = {
      {"lr", [](O& o, double v, const std::string&) { o.lr(v); }},
      {"alpha", [](O& o, double v, const std::string&) { o.alpha(v); }},
      {"eps", [](O& o, double v, const std::string&) { o.eps(v); }},
      {"weight_decay", [](O& o, double v, const std::string&) { o.weight_decay(v); }},
      {"momentum", [](O& o, double v, const std::string&) { o.momentum(v); }},
      {"centered", [](O& o, double v, const std::string& owner) { o.centered(as_flag(owner, "centered", v)); }},
  };
  for (std::size_t g = 0; g < num_groups(); ++g) {
    const std::string owner = group_owner(g);
    const O o = with_overrides(owner, defaults, group_overrides(g), setters);
    check_nonnegative(owner, "alpha", o.alpha());
    check_nonnegative(owner, "eps", o.eps());
    check_nonnegative(owner, "weight_decay", o.weight_decay());
    check_nonnegative(owner, "momentum", o.momentum());
    group_options_.push_back(o);
  }
}

void RMSprop::step() {
  update_each([&](std::size_t grp, std::size_t i, const Tensor& grad) {
    const RMSpropOptions& o = group_options_[grp];
    Tensor& p = params_[i];
    Tensor& sq = buffer(i, 0);
    Tensor* mom = o.momentum() > 0 ? &buffer(i, 1) : nullptr;
    Tensor* avg = o.centered() ? &buffer(i, 2) : nullptr;
    tg::detail::dispatch_float(p.dtype(), "RMSprop::step", [&](auto tag) {
      using T = decltype(tag);
      T* w = static_cast<T*>(p.raw_data());
      const T* dw = static_cast<const T*>(grad.raw_data());
      T* v = static_cast<T*>(sq.raw_data());
      T* b = mom ? static_cast<T*>(mom->raw_data()) : nullptr;
      T* a = avg ? static_cast<T*>(avg->raw_data()) : nullptr;
      const T lr = static_cast<T>(group_lr_[grp]), alpha = static_cast<T>(o.alpha()), eps = static_cast<T>(o.eps());
      const T wd = static_cast<T>(o.weight_decay()), mu = static_cast<T>(o.momentum());
      for (std::int64_t k = 0, n = p.numel(); k < n; ++k) {
        const T g = wd != 0 ? dw[k] + wd * w[k] : dw[k];
        v[k] = v[k] * alpha + (1 - alpha) * g * g;
        T s;
        if (a) {
          a[k] = a[k] * alpha + (1 - alpha) * g;
          s = std::sqrt(v[k] - a[k] * a[k]) + eps;
        } else {
          s = std::sqrt(v[k]) + eps;
        }
        if (b) {
          b[k] = b[k] * mu + g / s;
          w[k] -= lr * b[k];
        } else {
          w[k] -= lr * (g / s);
        }
      }
    });
    ++state_[i].step;
  });
}

// ---- Adagrad ---------------------------------------------------------------------------

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults)
    : Optimizer(std::move(groups), defaults.lr(), "Adagrad", {"sum"}), options_(defaults) {
  using O = AdagradOptions;
  using Setter = void (*)(O&, double, const std::string&);
  static const std::map<std::string, Setter> setters = {
      {"lr", [](O& o, double v, const std::string&) { o.lr(v); }},
      {"lr_decay", [](O& o, double v, const std::string&) { o.lr_decay(v); }},
      {"weight_decay", [](O& o, double v, const std::string&) { o.weight_decay(v); }},
      {"initial_accumulator_value", [](O& o, double v, const std::string&) { o.initial_accumulator_value(v); }},
      {"eps", [](O& o, double v, const std::string&) { o.eps(v); }},
  };
  for (std::size_t g = 0; g < num_groups(); ++g) {
    const std::string owner = group_owner(g);
    const O o = with_overrides(owner, defaults, group_overrides(g), setters);
    check_nonnegative(owner, "lr_decay", o.lr_decay());
    check_nonnegative(owner, "weight_decay", o.weight_decay());
    check_nonnegative(owner, "initial_accumulator_value", o.initial_accumulator_value());
    check_nonnegative(owner, "eps", o.eps());
    group_options_.push_back(o);
  }
}

void Adagrad::step() {
  update_each([&](std::size_t grp, std::size_t i, const Tensor& grad) {
    const AdagradOptions& o = group_options_[grp];
    Tensor& p = params_[i];
    if (!state_[i].buffers[0].defined())
      state_[i].buffers[0] = full(p.shape(), o.initial_accumulator_value(), p.dtype());
    Tensor& sum = buffer(i, 0);
    const std::int64_t t = ++state_[i].step;
    const double clr = group_lr_[grp] / (1 + static_cast<double>(t - 1) * o.lr_decay());
    tg::detail::dispatch_float(p.dtype(), "Adagrad::step", [&](auto tag) {
      using T = decltype(tag);
      T* w = static_cast<T*>(p.raw_data());
      const T* dw = static_cast<const T*>(grad.raw_data());
      T* s = static_cast<T*>(sum.raw_data());
      const T step_size = static_cast<T>(clr), eps = static_cast<T>(o.eps()), wd = static_cast<T>(o.weight_decay());
      for (std::int64_t k = 0, n = p.numel(); k < n; ++k) {
        const T g = wd != 0 ? dw[k] + wd * w[k] : dw[k];
        s[k] += g * g;
        w[k] -= step_size * (g / (std::sqrt(s[k]) + eps));
      }
    });
  });
}

// ---- Adadelta --------------------------------------------------------------------------

Adadelta::Adadelta(std::vector<Tensor> params, AdadeltaOptions options)
    : Adadelta(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options) {}

Adadelta::Adadelta(std::vector<ParamGroup> groups, AdadeltaOptions defaults)
    : Optimizer(std::move(groups), defaults.lr(), "Adadelta", {"square_avg", "acc_delta"}), options_(defaults) {
  using O = AdadeltaOptions;
  using Setter = void (*)(O&, double, const std::string&);
  static const std::map<std::string, Setter> setters = {
      {"lr", [](O& o, double v, const std::string&) { o.lr(v); }},
      {"rho", [](O& o, double v, const std::string&) { o.rho(v); }},
      {"eps", [](O& o, double v, const std::string&) { o.eps(v); }},
      {"weight_decay", [](O& o, double v, const std::string&) { o.weight_decay(v); }},
  };
  for (std::size_t g = 0; g < num_groups(); ++g) {
    const std::string owner = group_owner(g);
    const O o = with_overrides(owner, defaults, group_overrides(g), setters);
    if (!(o.rho() >= 0 && o.rho() <= 1)) fail(owner, ": rho must be in [0, 1], got ", o.rho());
    check_nonnegative(owner, "eps", o.eps());
    check_nonnegative(owner, "weight_decay", o.weight_decay());
    group_options_.push_back(o);
  }
}

void Adadelta::step() {
  update_each([&](std::size_t grp, std::size_t i, const Tensor& grad) {
    const AdadeltaOptions& o = group_options_[grp];
    Tensor& p = params_[i];
    Tensor& sq = buffer(i, 0);
    Tensor& acc = buffer(i, 1);
    tg::detail::dispatch_float(p.dtype(), "Adadelta::step", [&](auto tag) {
      using T = decltype(tag);
      T* w = static_cast<T*>(p.raw_data());
      const T* dw = static_cast<const T*>(grad.raw_data());
      T* v = static_cast<T*>(sq.raw_data());
      T* u = static_cast<T*>(acc.raw_data());
      const T lr = static_cast<T>(group_lr_[grp]), rho = static_cast<T>(o.rho()), eps = static_cast<T>(o.eps());
      const T wd = static_cast<T>(o.weight_decay());
      for (std::int64_t k = 0, n = p.numel(); k < n; ++k) {
        const T g = wd != 0 ? dw[k] + wd * w[k] : dw[k];
        v[k] = v[k] * rho + (1 - rho) * g * g;
        const T delta = std::sqrt(u[k] + eps) / std::sqrt(v[k] + eps) * g;
        u[k] = u[k] * rho + (1 - rho) * delta * delta;
        w[k] -= lr * delta;
      }
    });
    ++state_[i].step;
  });
}

}  // namespace tg::optim
