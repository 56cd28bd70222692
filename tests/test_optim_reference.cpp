// Optimizers and learning-rate schedules against PyTorch: the trajectories of
// tests/data/optimizers_reference.txt, written by tests/torch_reference/optimizers.py
// with PyTorch (never run here), replayed by case name on the same fixed problems
// through the shared runner (tests/torch_reference_file.hpp) and compared to a
// relative 1e-12 in float64.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "torch_reference_file.hpp"

using namespace tg;
using namespace tg::optim;
using V = std::vector<double>;

namespace {

using Named = std::vector<std::pair<std::string, Tensor>>;

// A [rows.size(), rows[0].size()] float64 tensor of the rows.
Tensor table(const std::vector<V>& rows) {
  V flat;
  for (const V& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return tensor(flat, {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(rows.at(0).size())}, kFloat64);
}

// The named tensors of optimizers.py's trajectory(): what each of 6 steps returned,
// and the parameters at the start and after each step.
Named trajectory(const std::function<V()>& values, const std::function<double()>& step) {
  V losses;
  std::vector<V> rows = {values()};
  for (int k = 1; k <= 6; ++k) {
    losses.push_back(step());
    rows.push_back(values());
  }
  return {{"loss", tensor(losses, {6}, kFloat64)}, {"params", table(rows)}};
}

// The fixed problem of optimizers.py:
//   loss = sum(0.5 cw w^2 + lw w) + sum(0.5 cb b^2 + lb b) + 0.1 sum(w) sum(b)
struct Problem {
  Tensor w = tensor({0.5, -1.5, 2.0, 0.25}, {2, 2}, kFloat64).requires_grad_();
  Tensor b = tensor({1.0, -0.75, 0.125}, kFloat64).requires_grad_();
  Tensor loss() const {
    const Tensor cw = tensor({1.0, 3.0, 0.5, 2.0}, {2, 2}, kFloat64), lw = tensor({0.25, -0.5, 0.0, 1.0}, {2, 2}, kFloat64);
    const Tensor cb = tensor({2.0, 0.25, 1.5}, kFloat64), lb = tensor({-0.5, 0.125, 0.0}, kFloat64);
    return sum(cw * w * w * 0.5 + lw * w) + sum(cb * b * b * 0.5 + lb * b) + sum(w) * sum(b) * 0.1;
  }
  V values() const {
    V v = w.to_vector();
    const V bv = b.to_vector();
    v.insert(v.end(), bv.begin(), bv.end());
    return v;
  }
};

using Make = std::function<std::unique_ptr<Optimizer>(const Tensor& w, const Tensor& b)>;

template <class O, class Opts> Make plain(Opts o) {
  return [o](const Tensor& w, const Tensor& b) { return std::make_unique<O>(std::vector<Tensor>{w, b}, o); };
}
template <class O, class Opts>
Make grouped(Opts defaults, std::map<std::string, double> w_options, std::map<std::string, double> b_options) {
  return [=](const Tensor& w, const Tensor& b) {
    return std::make_unique<O>(std::vector<ParamGroup>{ParamGroup({w}, w_options), ParamGroup({b}, b_options)}, defaults);
  };
}

// The same names and settings as OPTIMIZERS in optimizers.py.
const std::map<std::string, Make>& optimizers() {
  static const std::map<std::string, Make> all = {
      {"sgd", plain<SGD>(SGDOptions(0.1))},
      {"sgd_momentum_dampening_wd", plain<SGD>(SGDOptions(0.05).momentum(0.9).dampening(0.2).weight_decay(0.01))},
      {"sgd_nesterov", plain<SGD>(SGDOptions(0.05).momentum(0.8).nesterov(true))},
      {"adam", plain<Adam>(AdamOptions(0.1))},
      {"adam_betas_wd", plain<Adam>(AdamOptions(0.05).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1))},
      {"adamw", plain<AdamW>(AdamWOptions(0.1).weight_decay(0.05))},
      {"rmsprop", plain<RMSprop>(RMSpropOptions())},
      {"rmsprop_alpha_wd", plain<RMSprop>(RMSpropOptions(0.05).alpha(0.9).eps(1e-6).weight_decay(0.1))},
      {"rmsprop_momentum", plain<RMSprop>(RMSpropOptions(0.02).momentum(0.9))},
      {"rmsprop_centered_momentum",
       plain<RMSprop>(RMSpropOptions(0.01).alpha(0.95).momentum(0.5).centered(true).weight_decay(0.01))},
      {"adagrad", plain<Adagrad>(AdagradOptions(0.1))},
      {"adagrad_decay_init_wd",
       plain<Adagrad>(AdagradOptions(0.2).lr_decay(0.1).weight_decay(0.05).initial_accumulator_value(0.5).eps(1e-8))},
      {"adadelta", plain<Adadelta>(AdadeltaOptions())},
      {"adadelta_rho_wd", plain<Adadelta>(AdadeltaOptions(0.5).rho(0.8).eps(1e-4).weight_decay(0.1))},
      {"sgd_groups", grouped<SGD>(SGDOptions(0.1).momentum(0.9).weight_decay(0.05), {},
                                  {{"lr", 0.02}, {"weight_decay", 0.0}, {"nesterov", 1}})},
      {"adam_groups", grouped<Adam>(AdamOptions(0.1).weight_decay(0.1), {}, {{"lr", 0.01}, {"beta1", 0.5}, {"beta2", 0.9}})},
      {"adamw_groups", grouped<AdamW>(AdamWOptions(0.1).weight_decay(0.2), {}, {{"weight_decay", 0.0}})},
      {"rmsprop_groups", grouped<RMSprop>(RMSpropOptions(0.01), {{"centered", 1}}, {{"momentum", 0.5}, {"lr", 0.03}})},
      {"adagrad_groups", grouped<Adagrad>(AdagradOptions(0.1), {{"lr_decay", 0.5}}, {{"eps", 1e-3}, {"weight_decay", 0.2}})},
      {"adadelta_groups", grouped<Adadelta>(AdadeltaOptions(), {}, {{"rho", 0.5}, {"lr", 0.1}})},
  };
  return all;
}

// Rosenbrock's function of two one-element parameters, as in optimizers.py.
struct Rosenbrock {
  Tensor a = tensor({-1.5}, kFloat64).requires_grad_();
  Tensor b = tensor({2.0}, kFloat64).requires_grad_();
  Tensor loss() const {
    const Tensor one_minus_a = 1.0 - a, b_minus_a2 = b - a * a;
    return sum(one_minus_a * one_minus_a + b_minus_a2 * b_minus_a2 * 100.0);
  }
};

const std::map<std::string, LBFGSOptions>& lbfgs_cases() {
  static const std::map<std::string, LBFGSOptions> all = {
      {"lbfgs", LBFGSOptions().max_iter(4)},
      {"lbfgs_lr_history", LBFGSOptions(0.5).max_iter(4).history_size(2)},
      {"lbfgs_strong_wolfe", LBFGSOptions().line_search_fn("strong_wolfe")},
      {"lbfgs_strong_wolfe_short", LBFGSOptions().line_search_fn("strong_wolfe").max_iter(3).history_size(3)},
  };
  return all;
}

// Two groups, lr 0.1 and 0.02, as two_group_sgd() in optimizers.py.
struct TwoGroups {
  Tensor w = tensor({1.0}, kFloat64).requires_grad_();
  Tensor b = tensor({1.0}, kFloat64).requires_grad_();
  SGD opt{std::vector<ParamGroup>{ParamGroup({w}), ParamGroup({b}, {{"lr", 0.02}})}, SGDOptions(0.1)};
  V lrs() const { return {opt.lr(0), opt.lr(1)}; }
};

using MakeScheduler = std::function<std::unique_ptr<LRScheduler>(Optimizer&)>;
template <class S, class... Args> MakeScheduler sched(Args... args) {
  return [=](Optimizer& o) { return std::make_unique<S>(o, args...); };
}

const std::map<std::string, MakeScheduler>& schedulers() {
  using I = std::vector<std::int64_t>;
  static const std::map<std::string, MakeScheduler> all = {
      {"step", sched<StepLR>(std::int64_t{3}, 0.5)},
      {"cosine", sched<CosineAnnealingLR>(std::int64_t{8}, 0.001)},
      {"multistep", sched<MultiStepLR>(I{6, 2, 6, 9}, 0.5)},
      {"exponential", sched<ExponentialLR>(0.8)},
      {"linear_warmup", sched<LinearLR>(0.25, 1.0, std::int64_t{4})},
      {"linear_decay", sched<LinearLR>(1.0, 0.1, std::int64_t{7})},
      {"linear_default", [](Optimizer& o) { return std::make_unique<LinearLR>(o); }},
      {"onecycle", sched<OneCycleLR>(1.0, std::int64_t{12})},
      {"onecycle_per_group",
       sched<OneCycleLR>(V{0.5, 0.2}, std::int64_t{12}, OneCycleLROptions().pct_start(0.4).div_factor(10).final_div_factor(100))},
      {"onecycle_three_phase_linear",
       sched<OneCycleLR>(2.0, std::int64_t{12}, OneCycleLROptions().pct_start(0.25).anneal_strategy("linear").three_phase(true))},
      {"sequential_warmup_cosine",
       [](Optimizer& o) {
         auto warmup = std::make_shared<LinearLR>(o, 0.1, 1.0, 3);
         auto cosine = std::make_shared<CosineAnnealingLR>(o, 6);
         return std::make_unique<SequentialLR>(o, std::vector<std::shared_ptr<LRScheduler>>{warmup, cosine}, I{3});
       }},
      {"sequential_three",
       [](Optimizer& o) {
         auto e = std::make_shared<ExponentialLR>(o, 0.5);
         auto s = std::make_shared<StepLR>(o, 2, 0.1);
         auto l = std::make_shared<LinearLR>(o, 0.5, 1.0, 2);
         return std::make_unique<SequentialLR>(o, std::vector<std::shared_ptr<LRScheduler>>{e, s, l}, I{2, 7});
       }},
  };
  return all;
}

const std::map<std::string, ReduceLROnPlateauOptions>& plateaus() {
  static const std::map<std::string, ReduceLROnPlateauOptions> all = {
      {"plateau_default_patience2", ReduceLROnPlateauOptions().patience(2)},
      {"plateau_cooldown_min_lr", ReduceLROnPlateauOptions().factor(0.5).patience(1).cooldown(2).min_lr(V{0.02, 0.015})},
      {"plateau_abs_threshold", ReduceLROnPlateauOptions().patience(0).threshold(0.02).threshold_mode("abs").factor(0.8)},
      {"plateau_max_mode", ReduceLROnPlateauOptions().mode("max").patience(1).threshold(0.01).factor(0.5)},
      {"plateau_eps", ReduceLROnPlateauOptions().patience(0).factor(0.9).min_lr(0.0199).eps(1e-3)},
  };
  return all;
}

// All cases of the reference file, by name.
testing::ReferenceCases reference_cases() {
  using In = const std::vector<Tensor>&;
  testing::ReferenceCases all;
  for (const auto& [name, make] : optimizers())
    all[name] = [make = make](In) -> testing::ReferenceResult {
      Problem p;
      auto opt = make(p.w, p.b);
      return trajectory([&] { return p.values(); },
                        [&] {
                          opt->zero_grad();
                          Tensor loss = p.loss();
                          loss.backward();
                          opt->step();
                          return loss.item();
                        });
    };
  for (const auto& [name, options] : lbfgs_cases())
    all[name] = [options = options](In) -> testing::ReferenceResult {
      Rosenbrock r;
      LBFGS opt({r.a, r.b}, options);
      return trajectory([&] { return V{r.a.item(), r.b.item()}; },
                        [&] {
                          return opt
                              .step([&] {
                                opt.zero_grad();
                                Tensor l = r.loss();
                                l.backward();
                                return l;
                              })
                              .item();
                        });
    };
  for (const auto& [name, make] : schedulers())
    all[name] = [make = make](In) -> testing::ReferenceResult {
      TwoGroups g;
      auto s = make(g.opt);
      std::vector<V> rows = {g.lrs()};
      for (std::int64_t e = 1; e <= 12; ++e) {
        s->step();
        CHECK(s->epoch() == e);
        rows.push_back(g.lrs());
      }
      return Named{{"lr", table(rows)}};
    };
  for (const auto& [name, options] : plateaus())
    all[name] = [options = options](In in) -> testing::ReferenceResult {
      TwoGroups g;
      ReduceLROnPlateau s(g.opt, options);
      std::vector<V> rows = {g.lrs()};
      for (double metric : in.at(0).to_vector<double>()) {
        s.step(metric);
        rows.push_back(g.lrs());
      }
      return Named{{"lr", table(rows)}};
    };
  return all;
}

// Relative 1e-12 (Approx's epsilon with a 1e-300 margin, as before). Near the
// minimum L-BFGS's loss is a difference of nearly equal numbers: compared
// absolutely below 1e-2 (1e-14).
testing::Tolerance optim_tolerance(const std::string& name, Dtype, const std::string& what) {
  if (name.rfind("lbfgs", 0) == 0 && what == "named loss") return {1e-12, 0, 1e-2};
  return {1e-12, 0, 1e-288};
}

}  // namespace

TEST_CASE("optimizer trajectories and lr schedules agree with PyTorch's (float64, 1e-12)",
          "[optim][torch][torch_reference]") {
  // PyTorch's OneCycleLR extrapolates past its last phase at epoch total_steps (the step
  // after the last batch), to a negative lr in the linear three-phase case; tapegrad
  // stops at 0, and the reference records max(lr, 0) (see optimizers.py).
  testing::check_against_pytorch("tests/data/optimizers_reference.txt", reference_cases(), optim_tolerance);
}
