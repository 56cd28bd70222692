// tapegrad — stochastic gradient descent (tg::optim::SGD).
#pragma once

#include <initializer_list>
#include <vector>

#include <tapegrad/optim/optimizer.hpp>

namespace tg::optim {

/// SGD settings, chainable as in libtorch: SGDOptions(0.1).momentum(0.9).nesterov(true).
/// Defaults: momentum 0, dampening 0, weight_decay 0, nesterov false. Values
/// are checked by the SGD constructor, not here.
class SGDOptions {
 public:
  /// The learning rate; every other setting at its default.
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit, so SGD(params, 0.1) works
  /// Setters: each changes one setting and returns *this for chaining.
  ///@{
  SGDOptions& lr(double v) { lr_ = v; return *this; }
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  double lr() const { return lr_; }
  double momentum() const { return momentum_; }
  double dampening() const { return dampening_; }
  double weight_decay() const { return weight_decay_; }
  bool nesterov() const { return nesterov_; }
  ///@}

 private:
  double lr_;
  double momentum_ = 0;
  double dampening_ = 0;
  double weight_decay_ = 0;
  bool nesterov_ = false;
};

/// PyTorch's SGD (torch.optim.SGD documentation), with g = grad + weight_decay * w:
///   momentum 0:  w <- w - lr * g                      (= w - lr (dw + lambda w))
///   otherwise:   b <- g on the first step, else momentum * b + (1 - dampening) * g
///                w <- w - lr * (g + momentum * b)  with nesterov, else  w - lr * b
/// Nesterov needs momentum > 0 and dampening 0. Negative settings are refused.
class SGD : public Optimizer {
 public:
  /// Throws std::invalid_argument for the parameter lists Optimizer refuses, a
  /// negative lr, momentum, dampening or weight_decay, and nesterov without
  /// momentum > 0 and dampening 0.
  SGD(std::vector<Tensor> params, SGDOptions options);
  /// As above, for a braced list of parameters: SGD({w, b}, 0.1).
  SGD(std::initializer_list<Tensor> params, SGDOptions options) : SGD(std::vector<Tensor>(params), options) {}
  /// Parameter groups: each group's overrides ("lr", "momentum", "dampening",
  /// "weight_decay", "nesterov") replace `defaults` for that group.
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults);
  using Optimizer::step;
  void step() override;
  /// The default settings given at construction (their lr is not updated by set_lr; see lr()).
  const SGDOptions& options() const { return options_; }
  /// The settings of parameter group `group` (defaults with its overrides).
  const SGDOptions& group_options(std::size_t group) const { return group_options_.at(group); }

 private:
  SGDOptions options_;
  std::vector<SGDOptions> group_options_;
};

}  // namespace tg::optim
