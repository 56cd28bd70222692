// tapegrad — RMSprop, Adagrad and Adadelta (tg::optim): per-coordinate step sizes
// from running statistics of the squared gradient, as torch.optim's.
#pragma once

#include <initializer_list>
#include <vector>

#include <tapegrad/optim/optimizer.hpp>

namespace tg::optim {

/// RMSprop settings, chainable: RMSpropOptions(1e-2).alpha(0.9).momentum(0.9).centered(true).
/// Defaults (PyTorch's): lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered false.
class RMSpropOptions {
 public:
  /// The learning rate; every other setting at its default.
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, so RMSprop(params, 1e-2) works
  /// Setters: each changes one setting and returns *this for chaining.
  ///@{
  RMSpropOptions& lr(double v) { lr_ = v; return *this; }
  RMSpropOptions& alpha(double v) { alpha_ = v; return *this; }
  RMSpropOptions& eps(double v) { eps_ = v; return *this; }
  RMSpropOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  RMSpropOptions& momentum(double v) { momentum_ = v; return *this; }
  RMSpropOptions& centered(bool v) { centered_ = v; return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  double lr() const { return lr_; }
  double alpha() const { return alpha_; }
  double eps() const { return eps_; }
  double weight_decay() const { return weight_decay_; }
  double momentum() const { return momentum_; }
  bool centered() const { return centered_; }
  ///@}

 private:
  double lr_;
  double alpha_ = 0.99;
  double eps_ = 1e-8;
  double weight_decay_ = 0;
  double momentum_ = 0;
  bool centered_ = false;
};

/// RMSprop (torch.optim.RMSprop documentation), g = grad + weight_decay * w:
///   v <- alpha v + (1 - alpha) g^2
///   centered: a <- alpha a + (1 - alpha) g,  s = sqrt(v - a^2) + eps;  else s = sqrt(v) + eps
///   momentum > 0: b <- momentum b + g / s,  w <- w - lr b;   else w <- w - lr g / s
/// State per parameter: "square_avg", "momentum_buffer" (momentum > 0), "grad_avg" (centered).
class RMSprop : public Optimizer {
 public:
  /// Throws std::invalid_argument for the parameter lists Optimizer refuses and
  /// negative lr, alpha, eps, weight_decay or momentum.
  RMSprop(std::vector<Tensor> params, RMSpropOptions options = {});
  /// As above, for a braced list of parameters.
  RMSprop(std::initializer_list<Tensor> params, RMSpropOptions options = {})
      : RMSprop(std::vector<Tensor>(params), options) {}
  /// Parameter groups: overrides "lr", "alpha", "eps", "weight_decay", "momentum", "centered".
  RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults);
  using Optimizer::step;
  void step() override;
  /// The default settings given at construction.
  const RMSpropOptions& options() const { return options_; }
  /// The settings of parameter group `group`.
  const RMSpropOptions& group_options(std::size_t group) const { return group_options_.at(group); }

 private:
  RMSpropOptions options_;
  std::vector<RMSpropOptions> group_options_;
};

/// Adagrad settings, chainable. Defaults (PyTorch's): lr 1e-2, lr_decay 0,
/// weight_decay 0, initial_accumulator_value 0, eps 1e-10.
class AdagradOptions {
 public:
  /// The learning rate; every other setting at its default.
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, so Adagrad(params, 0.1) works
  /// Setters: each changes one setting and returns *this for chaining.
  ///@{
  AdagradOptions& lr(double v) { lr_ = v; return *this; }
  AdagradOptions& lr_decay(double v) { lr_decay_ = v; return *this; }
  AdagradOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  AdagradOptions& initial_accumulator_value(double v) { initial_accumulator_value_ = v; return *this; }
  AdagradOptions& eps(double v) { eps_ = v; return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  double lr() const { return lr_; }
  double lr_decay() const { return lr_decay_; }
  double weight_decay() const { return weight_decay_; }
  double initial_accumulator_value() const { return initial_accumulator_value_; }
  double eps() const { return eps_; }
  ///@}

 private:
  double lr_;
  double lr_decay_ = 0;
  double weight_decay_ = 0;
  double initial_accumulator_value_ = 0;
  double eps_ = 1e-10;
};

/// Adagrad (torch.optim.Adagrad documentation), t = the parameter's step count:
///   g = grad + weight_decay * w,  clr = lr / (1 + (t - 1) lr_decay)
///   s <- s + g^2  (s starts at initial_accumulator_value),  w <- w - clr g / (sqrt(s) + eps)
/// State per parameter: "sum".
class Adagrad : public Optimizer {
 public:
  /// Throws std::invalid_argument for the parameter lists Optimizer refuses and
  /// negative settings.
  Adagrad(std::vector<Tensor> params, AdagradOptions options = {});
  /// As above, for a braced list of parameters.
  Adagrad(std::initializer_list<Tensor> params, AdagradOptions options = {})
      : Adagrad(std::vector<Tensor>(params), options) {}
  /// Parameter groups: overrides "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps".
  Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults);
  using Optimizer::step;
  void step() override;
  /// The default settings given at construction.
  const AdagradOptions& options() const { return options_; }
  /// The settings of parameter group `group`.
  const AdagradOptions& group_options(std::size_t group) const { return group_options_.at(group); }

 private:
  AdagradOptions options_;
  std::vector<AdagradOptions> group_options_;
};

/// Adadelta settings, chainable. Defaults (PyTorch's): lr 1.0, rho 0.9, eps 1e-6, weight_decay 0.
class AdadeltaOptions {
 public:
  /// The learning rate; every other setting at its default.
  AdadeltaOptions(double lr = 1.0) : lr_(lr) {}  // NOLINT: implicit, so Adadelta(params, 1.0) works
  /// Setters: each changes one setting and returns *this for chaining.
  ///@{
  AdadeltaOptions& lr(double v) { lr_ = v; return *this; }
  AdadeltaOptions& rho(double v) { rho_ = v; return *this; }
  AdadeltaOptions& eps(double v) { eps_ = v; return *this; }
  AdadeltaOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  double lr() const { return lr_; }
  double rho() const { return rho_; }
  double eps() const { return eps_; }
  double weight_decay() const { return weight_decay_; }
  ///@}

 private:
  double lr_;
  double rho_ = 0.9;
  double eps_ = 1e-6;
  double weight_decay_ = 0;
};

/// Adadelta (torch.optim.Adadelta documentation), g = grad + weight_decay * w:
///   v <- rho v + (1 - rho) g^2
///   delta = sqrt(u + eps) / sqrt(v + eps) * g
///   u <- rho u + (1 - rho) delta^2,   w <- w - lr delta
/// State per parameter: "square_avg" (v), "acc_delta" (u).
class Adadelta : public Optimizer {
 public:
  /// Throws std::invalid_argument for the parameter lists Optimizer refuses,
  /// rho outside [0, 1] and negative lr, eps or weight_decay.
  Adadelta(std::vector<Tensor> params, AdadeltaOptions options = {});
  /// As above, for a braced list of parameters.
  Adadelta(std::initializer_list<Tensor> params, AdadeltaOptions options = {})
      : Adadelta(std::vector<Tensor>(params), options) {}
  /// Parameter groups: overrides "lr", "rho", "eps", "weight_decay".
  Adadelta(std::vector<ParamGroup> groups, AdadeltaOptions defaults);
  using Optimizer::step;
  void step() override;
  /// The default settings given at construction.
  const AdadeltaOptions& options() const { return options_; }
  /// The settings of parameter group `group`.
  const AdadeltaOptions& group_options(std::size_t group) const { return group_options_.at(group); }

 private:
  AdadeltaOptions options_;
  std::vector<AdadeltaOptions> group_options_;
};

}  // namespace tg::optim
