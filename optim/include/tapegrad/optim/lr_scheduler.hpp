// tapegrad — learning-rate schedules (tg::optim).
//
// @code
//   auto model = std::make_shared<tg::nn::Linear>(3, 2);
//   tg::optim::SGD opt(model->parameters(), tg::optim::SGDOptions(0.1));
//   tg::optim::StepLR sched(opt, /*step_size=*/30, /*gamma=*/0.1);
//   for (int epoch = 0; epoch < 90; ++epoch) {
//     // ... train one epoch with opt ...
//     sched.step();   // lr 0.1 for epochs 0-29, 0.01 for 30-59, 0.001 for 60-89
//   }
//   // Five epochs of linear warm-up, then cosine annealing:
//   tg::optim::SGD opt2(model->parameters(), tg::optim::SGDOptions(0.1));
//   auto warmup = std::make_shared<tg::optim::LinearLR>(opt2, 0.1, 1.0, 5);
//   auto cosine = std::make_shared<tg::optim::CosineAnnealingLR>(opt2, 85);
//   tg::optim::SequentialLR schedule(opt2, {warmup, cosine}, {5});
// @endcode
//
// A scheduler takes each parameter group's initial lr (the optimizer's lr when
// the first scheduler was attached, PyTorch's "initial_lr") as that group's
// base_lr. Its constructor sets the lr for epoch 0 and each step() the lr for
// the next epoch, from a closed form (PyTorch's documented formulas), for every
// group. The optimizer must outlive the scheduler. state_dict() holds the epoch
// count and base lrs for checkpoints (tg::save / tg::load); the lrs themselves
// are part of the optimizer's state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/optim/optimizer.hpp>

namespace tg::optim {

/// Base of the epoch-indexed schedules: subclasses give schedule(), the closed form.
class LRScheduler {
 public:
  virtual ~LRScheduler();
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;
  /// Ends an epoch: epoch() + 1, and each group's lr becomes lr_at(epoch(), group).
  void step();
  /// Epochs completed so far (0 after construction).
  std::int64_t epoch() const { return epoch_; }
  /// The lr of the first group set by the last step (or by the constructor).
  double last_lr() const { return optimizer_.lr(); }
  /// The first group's base lr.
  double base_lr() const { return base_lrs_[0]; }
  /// Each group's base lr.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The schedule's lr for `epoch` in parameter group `group`.
  double lr_at(std::int64_t epoch, std::size_t group = 0) const;
  /// "StepLR", "CosineAnnealingLR", ...: names checkpoints and messages.
  const std::string& name() const { return name_; }
  /// The optimizer whose lrs this scheduler sets.
  const Optimizer& optimizer() const { return optimizer_; }

  /// Named tensors for checkpoints: "last_epoch" (int64) and "base_lrs" (float64, one per group).
  virtual std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Restores state_dict(); checks names, dtypes and the group count before changing anything.
  /// Does not change the optimizer's lrs (they are restored with the optimizer's state).
  virtual void load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state,
                               const std::string& source = "state_dict");

 protected:
  /// Remembers `optimizer` (which must outlive the scheduler) and its initial lrs as base lrs.
  LRScheduler(Optimizer& optimizer, std::string name);
  /// The closed form: group `group`'s lr at `epoch`.
  virtual double schedule(std::int64_t epoch, std::size_t group) const = 0;
  /// Sets every group's lr to schedule(epoch(), group); constructors call it for epoch 0.
  void apply();

  Optimizer& optimizer_;           ///< the optimizer whose lrs step() sets
  std::vector<double> base_lrs_;   ///< see base_lrs()
  std::int64_t epoch_ = 0;         ///< see epoch()

 private:
  std::string name_;
};

/// lr = base_lr * gamma^floor(epoch / step_size); step_size > 0.
class StepLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument unless step_size > 0 and gamma >= 0.
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

 protected:
  double schedule(std::int64_t epoch, std::size_t group) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// lr = base_lr * gamma^(number of milestones <= epoch); milestones need not be sorted,
/// and a milestone given twice counts twice (as PyTorch's Counter).
class MultiStepLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument for a negative milestone or gamma.
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);

 protected:
  double schedule(std::int64_t epoch, std::size_t group) const override;

 private:
  std::vector<std::int64_t> milestones_;  // sorted
  double gamma_;
};

/// lr = base_lr * gamma^epoch.
class ExponentialLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument for a negative or infinite gamma.
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  double schedule(std::int64_t epoch, std::size_t group) const override;

 private:
  double gamma_;
};

/// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2; T_max > 0.
class CosineAnnealingLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument unless T_max > 0 and eta_min >= 0. The formula
  /// continues past T_max (the lr rises again), as PyTorch's closed form does.
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);

 protected:
  double schedule(std::int64_t epoch, std::size_t group) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up (or decay): lr = base_lr * (start_factor + (end_factor - start_factor)
/// * min(epoch, total_iters) / total_iters). PyTorch's defaults: 1/3, 1.0, 5.
class LinearLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument unless 0 < start_factor <= 1, 0 <= end_factor <= 1, total_iters > 0.
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, std::int64_t total_iters = 5);

 protected:
  double schedule(std::int64_t epoch, std::size_t group) const override;

 private:
  double start_factor_, end_factor_;
  std::int64_t total_iters_;
};

/// OneCycleLR settings, chainable. Defaults (PyTorch's): pct_start 0.3, anneal_strategy
/// "cos", div_factor 25, final_div_factor 1e4, three_phase false.
class OneCycleLROptions {
 public:
  /// Setters: each changes one setting and returns *this for chaining.
  ///@{
  OneCycleLROptions& pct_start(double v) { pct_start_ = v; return *this; }
  OneCycleLROptions& anneal_strategy(std::string v) { anneal_strategy_ = std::move(v); return *this; }
  OneCycleLROptions& div_factor(double v) { div_factor_ = v; return *this; }
  OneCycleLROptions& final_div_factor(double v) { final_div_factor_ = v; return *this; }
  OneCycleLROptions& three_phase(bool v) { three_phase_ = v; return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  double pct_start() const { return pct_start_; }
  const std::string& anneal_strategy() const { return anneal_strategy_; }
  double div_factor() const { return div_factor_; }
  double final_div_factor() const { return final_div_factor_; }
  bool three_phase() const { return three_phase_; }
  ///@}

 private:
  double pct_start_ = 0.3;
  std::string anneal_strategy_ = "cos";
  double div_factor_ = 25;
  double final_div_factor_ = 1e4;
  bool three_phase_ = false;
};

/// The 1cycle policy, stepped once per batch: from max_lr / div_factor up to max_lr
/// over the first pct_start of total_steps, then down to initial_lr / final_div_factor
/// (three_phase: back to the initial lr first, then down), each phase a cosine or linear
/// anneal. PyTorch's phase boundaries: the first phase ends at step pct_start * total_steps - 1.
/// Unlike PyTorch, momentum is not cycled (PyTorch's cycle_momentum=False).
class OneCycleLR : public LRScheduler {
 public:
  /// One max_lr for every group. Throws std::invalid_argument unless total_steps > 0,
  /// 0 <= pct_start <= 1, anneal_strategy is "cos" or "linear", max_lr >= 0 and the
  /// div factors are > 0.
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, OneCycleLROptions options = {});
  /// One max_lr per parameter group.
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, std::int64_t total_steps,
             OneCycleLROptions options = {});

 protected:
  /// Throws std::invalid_argument past total_steps.
  double schedule(std::int64_t epoch, std::size_t group) const override;

 private:
  std::vector<double> max_lrs_;
  std::int64_t total_steps_;
  OneCycleLROptions options_;
};

/// Several schedules one after another: schedulers[0] until milestones[0], then
/// schedulers[1] restarted at its epoch 0, and so on (PyTorch's SequentialLR). The
/// schedulers must drive the same optimizer.
class SequentialLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument unless there is one milestone fewer than schedulers,
  /// the milestones increase and are positive, and every scheduler drives `optimizer`.
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);

 protected:
  double schedule(std::int64_t epoch, std::size_t group) const override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<std::int64_t> milestones_;
};

/// ReduceLROnPlateau settings, chainable. Defaults (PyTorch's): mode "min", factor 0.1,
/// patience 10, threshold 1e-4, threshold_mode "rel", cooldown 0, min_lr 0, eps 1e-8.
class ReduceLROnPlateauOptions {
 public:
  /// Setters: each changes one setting and returns *this for chaining.
  ///@{
  ReduceLROnPlateauOptions& mode(std::string v) { mode_ = std::move(v); return *this; }
  ReduceLROnPlateauOptions& factor(double v) { factor_ = v; return *this; }
  ReduceLROnPlateauOptions& patience(std::int64_t v) { patience_ = v; return *this; }
  ReduceLROnPlateauOptions& threshold(double v) { threshold_ = v; return *this; }
  ReduceLROnPlateauOptions& threshold_mode(std::string v) { threshold_mode_ = std::move(v); return *this; }
  ReduceLROnPlateauOptions& cooldown(std::int64_t v) { cooldown_ = v; return *this; }
  ReduceLROnPlateauOptions& min_lr(double v) { min_lrs_ = {v}; return *this; }
  /// One min_lr per parameter group.
  ReduceLROnPlateauOptions& min_lr(std::vector<double> v) { min_lrs_ = std::move(v); return *this; }
  ReduceLROnPlateauOptions& eps(double v) { eps_ = v; return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  const std::string& mode() const { return mode_; }
  double factor() const { return factor_; }
  std::int64_t patience() const { return patience_; }
  double threshold() const { return threshold_; }
  const std::string& threshold_mode() const { return threshold_mode_; }
  std::int64_t cooldown() const { return cooldown_; }
  const std::vector<double>& min_lrs() const { return min_lrs_; }
  double eps() const { return eps_; }
  ///@}

 private:
  std::string mode_ = "min";
  double factor_ = 0.1;
  std::int64_t patience_ = 10;
  double threshold_ = 1e-4;
  std::string threshold_mode_ = "rel";
  std::int64_t cooldown_ = 0;
  std::vector<double> min_lrs_ = {0.0};
  double eps_ = 1e-8;
};

/// Multiplies every group's lr by factor (not below its min_lr) when the metric
/// given to step() has not improved for more than `patience` epochs, then waits
/// `cooldown` epochs (PyTorch's ReduceLROnPlateau). "Improved" means below
/// best * (1 - threshold) (mode "min", threshold_mode "rel"), below best - threshold
/// ("abs"), or above best * (1 + threshold) / best + threshold in mode "max". A
/// reduction smaller than eps is skipped.
class ReduceLROnPlateau {
 public:
  /// Throws std::invalid_argument for an unknown mode or threshold_mode, factor not
  /// in [0, 1), negative patience, threshold, cooldown, min_lr or eps, or a min_lr
  /// list whose length is not the number of groups.
  explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;
  /// Ends an epoch whose validation metric was `metric`. A NaN metric counts as no improvement.
  void step(double metric);
  /// Epochs completed so far.
  std::int64_t epoch() const { return epoch_; }
  /// The best metric so far (+inf in mode "min", -inf in mode "max" before any step).
  double best() const { return best_; }
  /// Epochs since the last improvement (reset by a reduction and during cooldown).
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  /// "ReduceLROnPlateau".
  const std::string& name() const;
  /// The optimizer whose lrs this scheduler sets.
  const Optimizer& optimizer() const { return optimizer_; }

  /// Named tensors for checkpoints: "last_epoch", "best", "num_bad_epochs", "cooldown_counter".
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Restores state_dict(), checking every tensor before changing anything.
  void load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state,
                       const std::string& source = "state_dict");

 private:
  bool is_better(double metric) const;

  Optimizer& optimizer_;
  ReduceLROnPlateauOptions options_;
  std::vector<double> min_lrs_;  // one per group
  double best_;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::int64_t epoch_ = 0;
};

}  // namespace tg::optim
