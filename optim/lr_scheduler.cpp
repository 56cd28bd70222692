// Learning-rate schedules: closed forms of PyTorch's StepLR and CosineAnnealingLR.
#include <cmath>

#include "core/dispatch.hpp"
#include "optim/hyperparameter.hpp"
#include <tapegrad/optim/lr_scheduler.hpp>

namespace tg::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}
LRScheduler::~LRScheduler() = default;

void LRScheduler::step() {
  ++epoch_;
  optimizer_.set_lr(lr_at(epoch_));
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) tg::detail::fail("StepLR: step_size must be positive, got ", step_size);
  check_nonnegative("StepLR", "gamma", gamma);
}

double StepLR::lr_at(std::int64_t epoch) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  if (T_max <= 0) tg::detail::fail("CosineAnnealingLR: T_max must be positive, got ", T_max);
  check_nonnegative("CosineAnnealingLR", "eta_min", eta_min);
}

double CosineAnnealingLR::lr_at(std::int64_t epoch) const {
  const double phase = M_PI * static_cast<double>(epoch) / static_cast<double>(t_max_);
  // The factor in [0, 1] first: (base - eta_min) * (1 + cos) would overflow to inf for a base near DBL_MAX.
  const double factor = (1 + std::cos(phase)) / 2;
  return eta_min_ + (base_lr_ - eta_min_) * factor;
}

}  // namespace tg::optim
