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
// @endcode
//
// A scheduler remembers the optimizer's lr at construction as base_lr and,
// on each step(), sets the lr for the next epoch from a closed form (PyTorch's
// documented formulas). The optimizer must outlive the scheduler.
#pragma once

#include <cstdint>

#include <tapegrad/optim/optimizer.hpp>

namespace tg::optim {

/// Base of the schedules: subclasses give lr_at(), the closed form.
class LRScheduler {
 public:
  virtual ~LRScheduler();
  /// Ends an epoch: epoch() + 1, and the optimizer's lr becomes lr_at(epoch()).
  void step();
  /// Epochs completed so far (0 after construction).
  std::int64_t epoch() const { return epoch_; }
  /// The lr set by the last step (base_lr before any step).
  double last_lr() const { return optimizer_.lr(); }
  /// The optimizer's lr when the scheduler was constructed.
  double base_lr() const { return base_lr_; }
  /// The schedule's lr for `epoch`.
  virtual double lr_at(std::int64_t epoch) const = 0;

 protected:
  /// Remembers `optimizer` (which must outlive the scheduler) and its current lr as base_lr.
  explicit LRScheduler(Optimizer& optimizer);
  Optimizer& optimizer_;    ///< the optimizer whose lr step() sets
  double base_lr_;          ///< see base_lr()
  std::int64_t epoch_ = 0;  ///< see epoch()
};

/// lr = base_lr * gamma^floor(epoch / step_size); step_size > 0.
class StepLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument unless step_size > 0 and gamma >= 0.
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  double lr_at(std::int64_t epoch) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2; T_max > 0.
class CosineAnnealingLR : public LRScheduler {
 public:
  /// Throws std::invalid_argument unless T_max > 0 and eta_min >= 0. The formula
  /// continues past T_max (the lr rises again), as PyTorch's closed form does.
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);
  double lr_at(std::int64_t epoch) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

}  // namespace tg::optim
