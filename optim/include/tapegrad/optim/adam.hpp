// tapegrad — Adam and AdamW (tg::optim).
#pragma once

#include <initializer_list>
#include <vector>

#include <tapegrad/optim/optimizer.hpp>

namespace tg::optim {

/// Adam/AdamW settings, chainable: AdamOptions(1e-3).betas(0.9, 0.999).eps(1e-8).
/// Defaults (PyTorch's): betas (0.9, 0.999), eps 1e-8, weight_decay 0. Values
/// are checked by the Adam/AdamW constructor, not here.
class AdamOptions {
 public:
  /// The learning rate; every other setting at its default.
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, so Adam(params, 1e-3) works
  /// Setters: each changes one setting (betas: both) and returns *this for chaining.
  ///@{
  AdamOptions& lr(double v) { lr_ = v; return *this; }
  AdamOptions& betas(double beta1, double beta2) { beta1_ = beta1; beta2_ = beta2; return *this; }
  AdamOptions& eps(double v) { eps_ = v; return *this; }
  AdamOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  double lr() const { return lr_; }
  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }
  double eps() const { return eps_; }
  double weight_decay() const { return weight_decay_; }
  ///@}

 protected:
  /// The settings, protected so that AdamWOptions can change a default.
  ///@{
  double lr_;
  double beta1_ = 0.9;
  double beta2_ = 0.999;
  double eps_ = 1e-8;
  double weight_decay_ = 0;
  ///@}
};

/// AdamOptions with PyTorch's AdamW default weight_decay = 0.01.
class AdamWOptions : public AdamOptions {
 public:
  /// The learning rate; weight_decay 0.01, the rest as AdamOptions.
  AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { weight_decay_ = 1e-2; }  // NOLINT
};

/// Adam (torch.optim.Adam documentation), per parameter, t = its step count:
///   g <- grad + weight_decay * w          (L2 penalty folded into the gradient)
///   m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2
///   w <- w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
class Adam : public Optimizer {
 public:
  /// Throws std::invalid_argument for the parameter lists Optimizer refuses, a
  /// negative lr, eps or weight_decay, and betas outside [0, 1).
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  /// As above, for a braced list of parameters: Adam({w, b}, 1e-3).
  Adam(std::initializer_list<Tensor> params, AdamOptions options = {}) : Adam(std::vector<Tensor>(params), options) {}
  /// Parameter groups: each group's overrides ("lr", "beta1", "beta2", "eps",
  /// "weight_decay") replace `defaults` for that group.
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults);
  using Optimizer::step;
  void step() override;
  /// The default settings given at construction (their lr is not updated by set_lr; see lr()).
  const AdamOptions& options() const { return options_; }
  /// The settings of parameter group `group` (defaults with its overrides).
  const AdamOptions& group_options(std::size_t group) const { return group_options_.at(group); }

 protected:
  /// For AdamW: `name` for messages and checkpoints, `decoupled` for decoupled
  /// weight decay instead of the L2 term in the gradient.
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults, const char* name, bool decoupled);

 private:
  AdamOptions options_;
  std::vector<AdamOptions> group_options_;
  bool decoupled_;
};

/// AdamW (torch.optim.AdamW documentation): decoupled weight decay,
///   w <- w - lr * weight_decay * w, then the Adam update with g = grad.
class AdamW : public Adam {
 public:
  /// As Adam's constructor; the default options have weight_decay 0.01.
  AdamW(std::vector<Tensor> params, AdamOptions options = AdamWOptions());
  /// As above, for a braced list of parameters.
  AdamW(std::initializer_list<Tensor> params, AdamOptions options = AdamWOptions())
      : AdamW(std::vector<Tensor>(params), options) {}
  /// Parameter groups, as Adam's.
  AdamW(std::vector<ParamGroup> groups, AdamOptions defaults);
};

}  // namespace tg::optim
