// Learning-rate schedules: closed forms of PyTorch's schedulers, applied to every
// parameter group, and ReduceLROnPlateau's bookkeeping.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "core/dispatch.hpp"
#include "optim/hyperparameter.hpp"
#include <tapegrad/optim/lr_scheduler.hpp>

namespace tg::optim {

using tg::detail::fail;

namespace {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Checks `state` holds exactly `names` (each once), and returns them in that order.
std::vector<Tensor> expect_state(const std::string& owner, const NamedTensors& state,
                                 const std::vector<std::string>& names, const std::string& source) {
  std::vector<Tensor> out(names.size());
  for (const auto& [n, t] : state) {
    const auto it = std::find(names.begin(), names.end(), n);
    if (it == names.end()) fail("load: ", owner, " state in '", source, "': tensor '", n, "' is not part of ", owner, "'s state");
    Tensor& slot = out[static_cast<std::size_t>(it - names.begin())];
    if (slot.defined()) fail("load: ", owner, " state in '", source, "': tensor '", n, "' appears more than once");
    if (!t.defined()) fail("load: ", owner, " state in '", source, "': tensor '", n, "' is undefined");
    slot = t;
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    if (!out[i].defined()) fail("load: ", owner, " state in '", source, "': tensor '", names[i], "' is missing");
  return out;
}

std::int64_t count_of(const std::string& owner, const std::string& n, const Tensor& t, const std::string& source) {
  if (t.dtype() != kInt64 || t.dim() != 0)
    fail("load: ", owner, " state in '", source, "': tensor '", n, "' must be a 0-d int64 tensor, found ", describe(t));
  const std::int64_t v = t.data<std::int64_t>()[0];
  if (v < 0) fail("load: ", owner, " state in '", source, "': tensor '", n, "' holds ", v, " (must be >= 0)");
  return v;
}

}  // namespace

// ---- LRScheduler -----------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer, std::string name)
    : optimizer_(optimizer), base_lrs_(optimizer.initial_lrs()), name_(std::move(name)) {}
LRScheduler::~LRScheduler() = default;

double LRScheduler::lr_at(std::int64_t epoch, std::size_t group) const {
  if (group >= base_lrs_.size()) fail(name_, ": no parameter group ", group, " (the optimizer has ", base_lrs_.size(), ")");
  if (epoch < 0) fail(name_, ": epoch must be >= 0, got ", epoch);
  return schedule(epoch, group);
}

void LRScheduler::apply() {
  // Every group's new lr first, so a refusal (OneCycleLR past its end) changes nothing.
  std::vector<double> lrs(base_lrs_.size());
  for (std::size_t g = 0; g < lrs.size(); ++g) lrs[g] = schedule(epoch_, g);
  for (std::size_t g = 0; g < lrs.size(); ++g) optimizer_.set_lr(g, lrs[g]);
}

void LRScheduler::step() {
  ++epoch_;
  try {
    apply();
  } catch (...) {
    --epoch_;
    throw;
  }
}

NamedTensors LRScheduler::state_dict() const {
  return {{"last_epoch", tensor_i64({epoch_}, Shape{})}, {"base_lrs", tensor(base_lrs_, kFloat64)}};
}

void LRScheduler::load_state_dict(const NamedTensors& state, const std::string& source) {
  const std::vector<Tensor> t = expect_state(name_, state, {"last_epoch", "base_lrs"}, source);
  const std::int64_t epoch = count_of(name_, "last_epoch", t[0], source);
  if (t[1].dtype() != kFloat64 || t[1].dim() != 1 || t[1].numel() != static_cast<std::int64_t>(base_lrs_.size()))
    fail("load: ", name_, " state in '", source, "': tensor 'base_lrs' must be a float64 tensor of ", base_lrs_.size(),
         " learning rates (one per parameter group), found ", describe(t[1]));
  std::vector<double> base = t[1].to_vector<double>();
  for (double lr : base)
    if (!(lr >= 0) || std::isinf(lr))
      fail("load: ", name_, " state in '", source, "': tensor 'base_lrs' holds ", lr, " (must be finite and >= 0)");
  epoch_ = epoch;
  base_lrs_ = std::move(base);
}

// ---- the closed forms ------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) fail("StepLR: step_size must be positive, got ", step_size);
  check_nonnegative("StepLR", "gamma", gamma);
  apply();
}

double StepLR::schedule(std::int64_t epoch, std::size_t group) const {
  return base_lrs_[group] * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
  for (std::int64_t m : milestones_)
    if (m < 0) fail("MultiStepLR: milestones must be >= 0, got ", m);
  check_nonnegative("MultiStepLR", "gamma", gamma);
  std::sort(milestones_.begin(), milestones_.end());
  apply();
}

double MultiStepLR::schedule(std::int64_t epoch, std::size_t group) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base_lrs_[group] * std::pow(gamma_, static_cast<double>(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer, "ExponentialLR"), gamma_(gamma) {
  check_nonnegative("ExponentialLR", "gamma", gamma);
  apply();
}

double ExponentialLR::schedule(std::int64_t epoch, std::size_t group) const {
  return base_lrs_[group] * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer, "CosineAnnealingLR"), t_max_(T_max), eta_min_(eta_min) {
  if (T_max <= 0) fail("CosineAnnealingLR: T_max must be positive, got ", T_max);
  check_nonnegative("CosineAnnealingLR", "eta_min", eta_min);
  apply();
}

double CosineAnnealingLR::schedule(std::int64_t epoch, std::size_t group) const {
  const double phase = M_PI * static_cast<double>(epoch) / static_cast<double>(t_max_);
  // The factor in [0, 1] first: (base - eta_min) * (1 + cos) would overflow to inf for a base near DBL_MAX.
  const double factor = (1 + std::cos(phase)) / 2;
  return eta_min_ + (base_lrs_[group] - eta_min_) * factor;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::int64_t total_iters)
    : LRScheduler(optimizer, "LinearLR"), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  if (!(start_factor > 0 && start_factor <= 1))
    fail("LinearLR: start_factor must be in (0, 1], got ", start_factor);
  if (!(end_factor >= 0 && end_factor <= 1)) fail("LinearLR: end_factor must be in [0, 1], got ", end_factor);
  if (total_iters <= 0) fail("LinearLR: total_iters must be positive, got ", total_iters);
  apply();
}

double LinearLR::schedule(std::int64_t epoch, std::size_t group) const {
  const double progress = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
  return base_lrs_[group] * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

// ---- OneCycleLR ------------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, OneCycleLROptions options)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.num_groups(), max_lr), total_steps, std::move(options)) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, std::int64_t total_steps,
                       OneCycleLROptions options)
    : LRScheduler(optimizer, "OneCycleLR"), max_lrs_(std::move(max_lrs)), total_steps_(total_steps),
      options_(std::move(options)) {
  if (total_steps <= 0) fail("OneCycleLR: total_steps must be positive, got ", total_steps);
  if (max_lrs_.size() != optimizer.num_groups())
    fail("OneCycleLR: got ", max_lrs_.size(), " max_lr values for ", optimizer.num_groups(), " parameter groups");
  for (double m : max_lrs_) check_nonnegative("OneCycleLR", "max_lr", m);
  if (!(options_.pct_start() >= 0 && options_.pct_start() <= 1))
    fail("OneCycleLR: pct_start must be in [0, 1], got ", options_.pct_start());
  if (options_.anneal_strategy() != "cos" && options_.anneal_strategy() != "linear")
    fail("OneCycleLR: anneal_strategy must be 'cos' or 'linear', got '", options_.anneal_strategy(), "'");
  if (!(options_.div_factor() > 0) || std::isinf(options_.div_factor()))
    fail("OneCycleLR: div_factor must be positive and finite, got ", options_.div_factor());
  if (!(options_.final_div_factor() > 0) || std::isinf(options_.final_div_factor()))
    fail("OneCycleLR: final_div_factor must be positive and finite, got ", options_.final_div_factor());
  // The phases' ends must increase, as PyTorch's interpolation divides by their differences.
  const double first_end = options_.pct_start() * static_cast<double>(total_steps) - 1;
  const double second_end = options_.three_phase() ? 2 * options_.pct_start() * static_cast<double>(total_steps) - 2 : first_end;
  if (!(first_end > 0) || !(second_end < static_cast<double>(total_steps) - 1) || (options_.three_phase() && !(second_end > first_end)))
    fail("OneCycleLR: pct_start ", options_.pct_start(), " with total_steps ", total_steps,
         " leaves a phase without steps");
  apply();
}

double OneCycleLR::schedule(std::int64_t epoch, std::size_t group) const {
  if (epoch > total_steps_)
    fail("OneCycleLR: stepped ", epoch, " times, more than total_steps (", total_steps_, ")");
  const double max_lr = max_lrs_[group];
  const double initial = max_lr / options_.div_factor();
  const double min_lr = initial / options_.final_div_factor();
  const double total = static_cast<double>(total_steps_), pct = options_.pct_start();
  struct Phase {
    double end, start_lr, end_lr;
  };
  const std::array<Phase, 3> phases =
      options_.three_phase()
          ? std::array<Phase, 3>{{{pct * total - 1, initial, max_lr}, {2 * pct * total - 2, max_lr, initial},
                                  {total - 1, initial, min_lr}}}
          : std::array<Phase, 3>{{{pct * total - 1, initial, max_lr}, {total - 1, max_lr, min_lr}, {}}};
  const std::size_t count = options_.three_phase() ? 3 : 2;
  const double step = static_cast<double>(epoch);
  double start = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const Phase& ph = phases[i];
    if (step <= ph.end || i + 1 == count) {
      const double fraction = (step - start) / (ph.end - start);
      // At epoch total_steps (after the last batch) the fraction passes 1 and PyTorch's linear
      // anneal goes below zero; an lr is never negative here.
      if (options_.anneal_strategy() == "linear") return std::max(0.0, (ph.end_lr - ph.start_lr) * fraction + ph.start_lr);
      return ph.end_lr + (ph.start_lr - ph.end_lr) / 2 * (std::cos(M_PI * fraction) + 1);
    }
    start = ph.end;
  }
  return min_lr;  // not reached: the last phase always answers
}

// ---- SequentialLR ----------------------------------------------------------------------

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : LRScheduler(optimizer, "SequentialLR"), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  if (schedulers_.empty()) fail("SequentialLR: got no schedulers");
  if (milestones_.size() + 1 != schedulers_.size())
    fail("SequentialLR: ", schedulers_.size(), " schedulers need ", schedulers_.size() - 1, " milestones, got ",
         milestones_.size());
  for (std::size_t i = 0; i < schedulers_.size(); ++i) {
    if (!schedulers_[i]) fail("SequentialLR: scheduler ", i, " is null");
    if (&schedulers_[i]->optimizer() != &optimizer)
      fail("SequentialLR: scheduler ", i, " (", schedulers_[i]->name(), ") drives a different optimizer");
  }
  for (std::size_t i = 0; i < milestones_.size(); ++i)
    if (milestones_[i] <= (i == 0 ? 0 : milestones_[i - 1]))
      fail("SequentialLR: milestones must be positive and increasing, got ", milestones_[i], " at position ", i);
  apply();
}

double SequentialLR::schedule(std::int64_t epoch, std::size_t group) const {
  const auto k = static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin());
  const std::int64_t local = k == 0 ? epoch : epoch - milestones_[k - 1];
  return schedulers_[k]->lr_at(local, group);
}

// ---- ReduceLROnPlateau -----------------------------------------------------------------

namespace {
const std::string kPlateau = "ReduceLROnPlateau";
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), options_(std::move(options)) {
  const auto& o = options_;
  if (o.mode() != "min" && o.mode() != "max") fail(kPlateau, ": mode must be 'min' or 'max', got '", o.mode(), "'");
  if (o.threshold_mode() != "rel" && o.threshold_mode() != "abs")
    fail(kPlateau, ": threshold_mode must be 'rel' or 'abs', got '", o.threshold_mode(), "'");
  if (!(o.factor() >= 0 && o.factor() < 1)) fail(kPlateau, ": factor must be in [0, 1), got ", o.factor());
  if (o.patience() < 0) fail(kPlateau, ": patience must be >= 0, got ", o.patience());
  if (o.cooldown() < 0) fail(kPlateau, ": cooldown must be >= 0, got ", o.cooldown());
  check_nonnegative(kPlateau, "threshold", o.threshold());
  check_nonnegative(kPlateau, "eps", o.eps());
  min_lrs_ = o.min_lrs();
  if (min_lrs_.size() == 1) min_lrs_.resize(optimizer.num_groups(), min_lrs_[0]);
  if (min_lrs_.size() != optimizer.num_groups())
    fail(kPlateau, ": got ", o.min_lrs().size(), " min_lr values for ", optimizer.num_groups(), " parameter groups");
  for (double m : min_lrs_) check_nonnegative(kPlateau, "min_lr", m);
  best_ = o.mode() == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

const std::string& ReduceLROnPlateau::name() const { return kPlateau; }

bool ReduceLROnPlateau::is_better(double metric) const {
  const double thr = options_.threshold();
  const bool rel = options_.threshold_mode() == "rel";
  if (options_.mode() == "min") return rel ? metric < best_ * (1 - thr) : metric < best_ - thr;
  return rel ? metric > best_ * (thr + 1) : metric > best_ + thr;
}

void ReduceLROnPlateau::step(double metric) {
  ++epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs during the cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience()) {
    for (std::size_t g = 0; g < optimizer_.num_groups(); ++g) {
      const double old_lr = optimizer_.lr(g);
      const double new_lr = std::max(old_lr * options_.factor(), min_lrs_[g]);
      if (old_lr - new_lr > options_.eps()) optimizer_.set_lr(g, new_lr);
    }
    cooldown_counter_ = options_.cooldown();
    num_bad_epochs_ = 0;
  }
}

NamedTensors ReduceLROnPlateau::state_dict() const {
  return {{"last_epoch", tensor_i64({epoch_}, Shape{})},
          {"best", scalar_tensor(best_, kFloat64)},
          {"num_bad_epochs", tensor_i64({num_bad_epochs_}, Shape{})},
          {"cooldown_counter", tensor_i64({cooldown_counter_}, Shape{})}};
}

void ReduceLROnPlateau::load_state_dict(const NamedTensors& state, const std::string& source) {
  const std::vector<Tensor> t =
      expect_state(kPlateau, state, {"last_epoch", "best", "num_bad_epochs", "cooldown_counter"}, source);
  const std::int64_t epoch = count_of(kPlateau, "last_epoch", t[0], source);
  if (t[1].dtype() != kFloat64 || t[1].dim() != 0)
    fail("load: ", kPlateau, " state in '", source, "': tensor 'best' must be a 0-d float64 tensor, found ", describe(t[1]));
  const double best = t[1].item();
  if (std::isnan(best)) fail("load: ", kPlateau, " state in '", source, "': tensor 'best' holds nan");
  const std::int64_t bad = count_of(kPlateau, "num_bad_epochs", t[2], source);
  const std::int64_t cooldown = count_of(kPlateau, "cooldown_counter", t[3], source);
  epoch_ = epoch;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
}

}  // namespace tg::optim
