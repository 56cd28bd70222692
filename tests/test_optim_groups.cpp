// Parameter groups, the state of the new optimizers and schedulers in checkpoints
// (a run interrupted and resumed continues bit-exactly), refusals of bad settings,
// and L-BFGS training the two-circles MLP.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using namespace tg::optim;
namespace F = tg::nn::functional;
using Catch::Contains;
using tg::testing::TempDir;
using V = std::vector<double>;

namespace {

Tensor param(const V& v) { return tensor(v, kFloat64).requires_grad_(); }

// Gradient c (a constant) for each parameter: loss = sum(c_i * p_i).
void constant_grads(Optimizer& opt, const std::vector<Tensor>& ps, const std::vector<V>& cs) {
  opt.zero_grad();
  Tensor loss = scalar_tensor(0.0, kFloat64);
  for (std::size_t i = 0; i < ps.size(); ++i) loss = loss + sum(ps[i] * tensor(cs[i], kFloat64));
  loss.backward();
}

std::vector<std::string> bytes_of(const std::vector<Tensor>& ts) {
  std::vector<std::string> out;
  for (const Tensor& t : ts)
    out.emplace_back(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * element_size(t.dtype()));
  return out;
}

std::shared_ptr<nn::Sequential> mlp() {
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 8), std::make_shared<nn::Tanh>(),
                                          std::make_shared<nn::Linear>(8, 2));
}

// Weights in one group, biases (no weight decay, half the lr) in another.
std::vector<ParamGroup> decay_groups(const nn::Module& model) {
  std::vector<Tensor> weights, biases;
  for (const auto& [name, p] : model.named_parameters()) (p.dim() > 1 ? weights : biases).push_back(p);
  return {ParamGroup(weights), ParamGroup(biases, {{"weight_decay", 0.0}})};
}

Tensor batch_loss(nn::Module& model, int seed) {
  manual_seed(static_cast<std::uint64_t>(seed));
  const Tensor x = randn({6, 3}), labels = randint(0, 2, {6});
  return F::cross_entropy(model(x), labels);
}

void train_steps(nn::Module& model, Optimizer& opt, int steps, int seed) {
  for (int i = 0; i < steps; ++i) {
    if (opt.name() == "LBFGS") {
      opt.step([&] {
        opt.zero_grad();
        Tensor loss = batch_loss(model, seed + i);
        loss.backward();
        return loss;
      });
      continue;
    }
    opt.zero_grad();
    batch_loss(model, seed + i).backward();
    opt.step();
  }
}

}  // namespace

TEST_CASE("parameter groups: each group its own lr and weight decay", "[optim][groups]") {
  Tensor w = param({1, -2}), b = param({0.5});
  SGD opt({ParamGroup({w}), ParamGroup({b}, {{"lr", 0.01}, {"weight_decay", 0.0}})}, SGDOptions(0.1).weight_decay(0.5));
  CHECK(opt.num_groups() == 2);
  CHECK(opt.lr() == 0.1);
  CHECK(opt.lr(1) == 0.01);
  CHECK(opt.group_parameters(1).size() == 1);
  CHECK(opt.group_parameters(1)[0].id() == b.id());
  CHECK(opt.parameters().size() == 2);
  CHECK(opt.group_options(0).weight_decay() == 0.5);
  CHECK(opt.group_options(1).weight_decay() == 0.0);
  constant_grads(opt, {w, b}, {{1, 1}, {1}});
  opt.step();
  // w <- w - 0.1 (1 + 0.5 w);   b <- b - 0.01 * 1 (no decay)
  CHECK(w.to_vector() == V{1 - 0.1 * 1.5, -2 - 0.1 * 0.0});
  CHECK(b.to_vector() == V{0.5 - 0.01});

  // A zero gradient: only the decayed group moves (the usual "no decay on biases").
  manual_seed(3);
  auto model = mlp();
  const std::vector<std::string> before = bytes_of(model->parameters());
  AdamW adamw(decay_groups(*model), AdamWOptions(0.1).weight_decay(0.5));
  adamw.zero_grad();
  (sum((*model)(randn({2, 3}))) * 0.0).backward();
  adamw.step();
  const auto named = model->named_parameters();
  for (std::size_t i = 0; i < named.size(); ++i) {
    INFO(named[i].first);
    const bool moved = bytes_of({named[i].second})[0] != before[i];
    CHECK(moved == (named[i].second.dim() > 1));
  }

  // set_lr on one group, and on all.
  opt.set_lr(1, 0.5);
  CHECK(opt.lr(0) == 0.1);
  CHECK(opt.lr(1) == 0.5);
  opt.set_lr(0.2);
  CHECK(opt.lr(0) == 0.2);
  CHECK(opt.lr(1) == 0.2);
  CHECK_THROWS_WITH(opt.set_lr(2, 0.1), Contains("SGD: no parameter group 2 (it has 2)"));
  CHECK_THROWS_WITH(opt.set_lr(1, -1), Contains("SGD parameter group 1: learning rate must be >= 0, got -1"));
}

TEST_CASE("Adagrad starts each group's sum at that group's initial_accumulator_value", "[optim][groups]") {
  // PyTorch 1.13 fills every sum from the constructor's value; tapegrad honours the group's.
  Tensor w = param({1}), b = param({1});
  Adagrad opt({ParamGroup({w}), ParamGroup({b}, {{"initial_accumulator_value", 3.0}})}, AdagradOptions(0.1).eps(0));
  constant_grads(opt, {w, b}, {{1}, {1}});
  opt.step();
  CHECK(w.to_vector() == V{1 - 0.1 / std::sqrt(1.0)});
  CHECK(b.to_vector() == V{1 - 0.1 / std::sqrt(4.0)});
  // step(closure) on an optimizer without a line search: one evaluation, then the step.
  int calls = 0;
  const Tensor loss = opt.step([&] {
    ++calls;
    opt.zero_grad();
    Tensor l = sum(w * 2.0) + sum(b * 0.0);
    l.backward();
    return l;
  });
  CHECK(calls == 1);
  CHECK(loss.item() == Approx(2 * 0.9));
  CHECK(w.to_vector()[0] == Approx(0.9 - 0.1 * 2 / std::sqrt(5.0)).epsilon(1e-14));
}

TEST_CASE("parameter groups: refusals name the group and the option", "[optim][groups]") {
  Tensor w = param({1}), b = param({2});
  CHECK_THROWS_WITH(SGD({ParamGroup({w}), ParamGroup({b}, {{"betas", 0.9}})}, SGDOptions(0.1)),
                    Contains("SGD parameter group 1: unknown option 'betas'") && Contains("momentum"));
  CHECK_THROWS_WITH(SGD({ParamGroup({w}), ParamGroup({b}, {{"momentum", -1.0}})}, SGDOptions(0.1)),
                    Contains("SGD parameter group 1: momentum must be >= 0, got -1"));
  CHECK_THROWS_WITH(SGD({ParamGroup({w}), ParamGroup({b}, {{"nesterov", 0.5}})}, SGDOptions(0.1)),
                    Contains("option 'nesterov' is a flag (0 or 1), got 0.5"));
  CHECK_THROWS_WITH(Adam({ParamGroup({w}, {{"beta2", 1.0}}), ParamGroup({b})}, AdamOptions()),
                    Contains("Adam parameter group 0: betas must be in [0, 1)"));
  CHECK_THROWS_WITH(RMSprop({ParamGroup({w}), ParamGroup({b}, {{"lr", -0.1}})}, RMSpropOptions()),
                    Contains("RMSprop parameter group 1: learning rate must be >= 0"));
  CHECK_THROWS_WITH(SGD({ParamGroup({w}), ParamGroup({w})}, SGDOptions(0.1)), Contains("parameter 1 appears more than once"));
  CHECK_THROWS_WITH(Adagrad(std::vector<ParamGroup>{ParamGroup({}), ParamGroup({})}, AdagradOptions()),
                    Contains("Adagrad: got no parameters to optimize"));
  // An empty group next to a non-empty one is allowed, as in PyTorch.
  SGD with_empty({ParamGroup({w}), ParamGroup({})}, SGDOptions(0.1));
  CHECK(with_empty.num_groups() == 2);
}

TEST_CASE("new optimizers and schedulers refuse bad hyper-parameters with clear messages", "[optim]") {
  Tensor w = param({1, 2});
  CHECK_THROWS_WITH(RMSprop({w}, RMSpropOptions().alpha(-0.1)), Contains("RMSprop: alpha must be >= 0, got -0.1"));
  CHECK_THROWS_WITH(RMSprop({w}, RMSpropOptions().momentum(NAN)), Contains("RMSprop: momentum must be >= 0, got nan"));
  CHECK_THROWS_WITH(RMSprop({w}, RMSpropOptions().eps(INFINITY)), Contains("RMSprop: eps must be finite"));
  CHECK_THROWS_WITH(Adagrad({w}, AdagradOptions().lr_decay(-1)), Contains("Adagrad: lr_decay must be >= 0, got -1"));
  CHECK_THROWS_WITH(Adagrad({w}, AdagradOptions().initial_accumulator_value(-1)),
                    Contains("Adagrad: initial_accumulator_value must be >= 0"));
  CHECK_THROWS_WITH(Adagrad({w}, AdagradOptions(-0.01)), Contains("Adagrad: learning rate must be >= 0, got -0.01"));
  CHECK_THROWS_WITH(Adadelta({w}, AdadeltaOptions().rho(1.5)), Contains("Adadelta: rho must be in [0, 1], got 1.5"));
  CHECK_THROWS_WITH(Adadelta({w}, AdadeltaOptions().weight_decay(-1)), Contains("Adadelta: weight_decay must be >= 0"));
  CHECK_THROWS_WITH(LBFGS({w}, LBFGSOptions().line_search_fn("backtracking")),
                    Contains("LBFGS: line_search_fn must be empty (none) or 'strong_wolfe', got 'backtracking'"));
  CHECK_THROWS_WITH(LBFGS({w}, LBFGSOptions().max_iter(0)), Contains("LBFGS: max_iter must be >= 1, got 0"));
  CHECK_THROWS_WITH(LBFGS({w}, LBFGSOptions().history_size(0)), Contains("LBFGS: history_size must be >= 1"));
  CHECK_THROWS_WITH(LBFGS({w}, LBFGSOptions().tolerance_grad(-1)), Contains("LBFGS: tolerance_grad must be >= 0"));
  LBFGS lbfgs({w});
  CHECK_THROWS_WITH(lbfgs.step(), Contains("LBFGS: step() needs a closure"));
  CHECK_THROWS_WITH(lbfgs.step([&] { return w * 1.0; }), Contains("LBFGS: the closure must return the loss as a one-element tensor"));
  CHECK(w.to_vector() == V{1, 2});

  SGD sgd({w}, 0.1);
  CHECK_THROWS_WITH(MultiStepLR(sgd, {3, -1}), Contains("MultiStepLR: milestones must be >= 0, got -1"));
  CHECK_THROWS_WITH(ExponentialLR(sgd, -0.5), Contains("ExponentialLR: gamma must be >= 0, got -0.5"));
  CHECK_THROWS_WITH(LinearLR(sgd, 0.0), Contains("LinearLR: start_factor must be in (0, 1], got 0"));
  CHECK_THROWS_WITH(LinearLR(sgd, 0.5, 1.5), Contains("LinearLR: end_factor must be in [0, 1], got 1.5"));
  CHECK_THROWS_WITH(LinearLR(sgd, 0.5, 1.0, 0), Contains("LinearLR: total_iters must be positive, got 0"));
  CHECK_THROWS_WITH(OneCycleLR(sgd, 1.0, 0), Contains("OneCycleLR: total_steps must be positive, got 0"));
  CHECK_THROWS_WITH(OneCycleLR(sgd, 1.0, 10, OneCycleLROptions().anneal_strategy("cosine")),
                    Contains("OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'cosine'"));
  CHECK_THROWS_WITH(OneCycleLR(sgd, 1.0, 10, OneCycleLROptions().pct_start(1.5)), Contains("pct_start must be in [0, 1]"));
  CHECK_THROWS_WITH(OneCycleLR(sgd, 1.0, 3), Contains("OneCycleLR: pct_start 0.3 with total_steps 3 leaves a phase without steps"));
  CHECK_THROWS_WITH(OneCycleLR(sgd, V{1.0, 2.0}, 10), Contains("OneCycleLR: got 2 max_lr values for 1 parameter groups"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(sgd, ReduceLROnPlateauOptions().mode("minimum")),
                    Contains("ReduceLROnPlateau: mode must be 'min' or 'max', got 'minimum'"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(sgd, ReduceLROnPlateauOptions().factor(1.0)),
                    Contains("ReduceLROnPlateau: factor must be in [0, 1), got 1"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(sgd, ReduceLROnPlateauOptions().threshold_mode("relative")),
                    Contains("threshold_mode must be 'rel' or 'abs'"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(sgd, ReduceLROnPlateauOptions().patience(-1)), Contains("patience must be >= 0"));
  CHECK_THROWS_WITH(ReduceLROnPlateau(sgd, ReduceLROnPlateauOptions().min_lr(V{0.1, 0.2})),
                    Contains("ReduceLROnPlateau: got 2 min_lr values for 1 parameter groups"));

  SGD other({param({3})}, 0.1);
  auto foreign = std::make_shared<StepLR>(other, 2);
  auto own = std::make_shared<StepLR>(sgd, 2);
  CHECK_THROWS_WITH(SequentialLR(sgd, {own, foreign}, {3}),
                    Contains("SequentialLR: scheduler 1 (StepLR) drives a different optimizer"));
  CHECK_THROWS_WITH(SequentialLR(sgd, {own, own}, {}), Contains("SequentialLR: 2 schedulers need 1 milestones, got 0"));
  CHECK_THROWS_WITH(SequentialLR(sgd, {own, own, own}, {3, 3}), Contains("milestones must be positive and increasing"));

  // OneCycleLR refuses to step past total_steps and leaves the lr and epoch as they were.
  SGD one({param({1})}, 0.1);
  OneCycleLR cycle(one, 1.0, 4, OneCycleLROptions().pct_start(0.5));
  for (int i = 0; i < 4; ++i) cycle.step();
  const double lr = one.lr();
  CHECK_THROWS_WITH(cycle.step(), Contains("OneCycleLR: stepped 5 times, more than total_steps (4)"));
  CHECK(one.lr() == lr);
  CHECK(cycle.epoch() == 4);
}

TEST_CASE("a scheduler scales each group's own base lr", "[optim][groups]") {
  Tensor w = param({1}), b = param({1});
  Adam opt({ParamGroup({w}), ParamGroup({b}, {{"lr", 0.5}})}, AdamOptions(2.0));
  StepLR sched(opt, 1, 0.5);
  CHECK(sched.base_lrs() == V{2.0, 0.5});
  sched.step();
  sched.step();
  CHECK(opt.lr(0) == 0.5);
  CHECK(opt.lr(1) == 0.125);
  // A second scheduler attached later still starts from the initial lrs (PyTorch's initial_lr).
  ExponentialLR later(opt, 0.1);
  CHECK(later.base_lrs() == V{2.0, 0.5});
  CHECK(opt.lr(0) == 2.0);
}

TEST_CASE("optimizer checkpoints of the new optimizers and of groups resume bit-exactly", "[optim][checkpoint]") {
  TempDir dir;
  using Make = std::function<std::unique_ptr<Optimizer>(nn::Module&)>;
  const std::vector<std::pair<std::string, Make>> makers = {
      {"RMSprop", [](nn::Module& m) {
         return std::make_unique<RMSprop>(m.parameters(), RMSpropOptions(0.01).momentum(0.9).centered(true).weight_decay(0.01));
       }},
      {"Adagrad", [](nn::Module& m) {
         return std::make_unique<Adagrad>(m.parameters(), AdagradOptions(0.1).lr_decay(0.01).initial_accumulator_value(0.1));
       }},
      {"Adadelta", [](nn::Module& m) { return std::make_unique<Adadelta>(m.parameters(), AdadeltaOptions(1.0).weight_decay(0.01)); }},
      {"LBFGS", [](nn::Module& m) {
         return std::make_unique<LBFGS>(m.parameters(), LBFGSOptions(1.0).max_iter(4).history_size(3).line_search_fn("strong_wolfe"));
       }},
      {"LBFGS", [](nn::Module& m) { return std::make_unique<LBFGS>(m.parameters(), LBFGSOptions(0.1).max_iter(3)); }},
      {"SGD", [](nn::Module& m) {
         return std::make_unique<SGD>(decay_groups(m), SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
       }},
      {"AdamW", [](nn::Module& m) { return std::make_unique<AdamW>(decay_groups(m), AdamWOptions(0.01)); }},
  };
  for (const auto& [name, make] : makers) {
    INFO(name);
    manual_seed(10);
    auto model = mlp();
    auto opt = make(*model);
    CHECK(opt->name() == name);
    train_steps(*model, *opt, 3, 100);
    opt->set_lr(opt->num_groups() - 1, opt->lr(opt->num_groups() - 1) * 0.5);  // as a scheduler would
    save(model, dir.file("m.tgc"));
    save(*opt, dir.file("o.tgc"));
    train_steps(*model, *opt, 3, 200);
    const std::vector<std::string> uninterrupted = bytes_of(model->parameters());

    manual_seed(11);
    auto resumed = mlp();
    auto opt2 = make(*resumed);
    load(resumed, dir.file("m.tgc"));
    load(*opt2, dir.file("o.tgc"));
    for (std::size_t g = 0; g < opt->num_groups(); ++g) CHECK(opt2->lr(g) == opt->lr(g));
    train_steps(*resumed, *opt2, 3, 200);
    CHECK(bytes_of(resumed->parameters()) == uninterrupted);
  }

  // A file of one optimizer refused by another, and a group count that differs.
  manual_seed(1);
  auto model = mlp();
  SGD grouped(decay_groups(*model), SGDOptions(0.1));
  save(grouped, dir.file("g.tgc"));
  SGD single(model->parameters(), SGDOptions(0.1));
  CHECK_THROWS_WITH(load(single, dir.file("g.tgc")),
                    Contains("tensor 'lr' must be a 0-d float64 tensor") && Contains("g.tgc"));
  RMSprop rms(model->parameters());
  CHECK_THROWS_WITH(load(rms, dir.file("g.tgc")), Contains("holds SGD optimizer state, not RMSprop optimizer state"));
}

TEST_CASE("scheduler checkpoints resume the lr sequence bit-exactly", "[optim][checkpoint]") {
  TempDir dir;
  using Make = std::function<std::unique_ptr<LRScheduler>(Optimizer&)>;
  const std::vector<Make> makers = {
      [](Optimizer& o) { return std::make_unique<MultiStepLR>(o, std::vector<std::int64_t>{2, 5}, 0.5); },
      [](Optimizer& o) { return std::make_unique<ExponentialLR>(o, 0.9); },
      [](Optimizer& o) { return std::make_unique<LinearLR>(o, 0.2, 1.0, 6); },
      [](Optimizer& o) { return std::make_unique<OneCycleLR>(o, V{1.0, 0.3}, 12, OneCycleLROptions().three_phase(true)); },
      [](Optimizer& o) {
        auto warmup = std::make_shared<LinearLR>(o, 0.1, 1.0, 3);
        auto cosine = std::make_shared<CosineAnnealingLR>(o, 6);
        return std::make_unique<SequentialLR>(o, std::vector<std::shared_ptr<LRScheduler>>{warmup, cosine},
                                              std::vector<std::int64_t>{3});
      },
  };
  for (const Make& make : makers) {
    Tensor w = param({1}), b = param({1});
    SGD opt({ParamGroup({w}), ParamGroup({b}, {{"lr", 0.01}})}, SGDOptions(0.1));
    auto sched = make(opt);
    INFO(sched->name());
    for (int e = 0; e < 4; ++e) sched->step();
    save(opt, dir.file("o.tgc"));
    save(*sched, dir.file("s.tgc"));
    V expected;
    for (int e = 0; e < 6; ++e) {
      sched->step();
      expected.push_back(opt.lr(0));
      expected.push_back(opt.lr(1));
    }
    Tensor w2 = param({1}), b2 = param({1});
    SGD opt2({ParamGroup({w2}), ParamGroup({b2}, {{"lr", 0.01}})}, SGDOptions(0.1));
    auto sched2 = make(opt2);
    load(opt2, dir.file("o.tgc"));
    load(*sched2, dir.file("s.tgc"));
    CHECK(sched2->epoch() == 4);
    V resumed;
    for (int e = 0; e < 6; ++e) {
      sched2->step();
      resumed.push_back(opt2.lr(0));
      resumed.push_back(opt2.lr(1));
    }
    CHECK(resumed == expected);
  }

  // ReduceLROnPlateau: best, bad epochs and cooldown survive the round trip.
  Tensor w = param({1});
  SGD opt({w}, 0.1);
  ReduceLROnPlateau plateau(opt, ReduceLROnPlateauOptions().patience(1).cooldown(1).factor(0.5));
  const V metrics = {1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.8, 0.85, 0.86, 0.87};
  for (int e = 0; e < 5; ++e) plateau.step(metrics[e]);
  save(opt, dir.file("o.tgc"));
  save(plateau, dir.file("p.tgc"));
  V expected;
  for (int e = 5; e < 10; ++e) {
    plateau.step(metrics[e]);
    expected.push_back(opt.lr());
  }
  SGD opt2({param({1})}, 0.1);
  ReduceLROnPlateau plateau2(opt2, ReduceLROnPlateauOptions().patience(1).cooldown(1).factor(0.5));
  load(opt2, dir.file("o.tgc"));
  load(plateau2, dir.file("p.tgc"));
  CHECK(plateau2.best() == 0.9);
  CHECK(plateau2.epoch() == 5);
  V resumed;
  for (int e = 5; e < 10; ++e) {
    plateau2.step(metrics[e]);
    resumed.push_back(opt2.lr());
  }
  CHECK(resumed == expected);
  CHECK(expected.back() < 0.05);  // it did reduce

  // Files of another kind or another scheduler are refused.
  StepLR step(opt2, 2);
  CHECK_THROWS_WITH(load(step, dir.file("p.tgc")),
                    Contains("holds ReduceLROnPlateau scheduler state, not StepLR scheduler state"));
  CHECK_THROWS_WITH(load(step, dir.file("o.tgc")), Contains("holds SGD optimizer state, not StepLR scheduler state"));
  SGD two({ParamGroup({param({1})}), ParamGroup({param({1})})}, SGDOptions(0.1));
  StepLR step2(two, 2);
  save(step, dir.file("s1.tgc"));
  CHECK_THROWS_WITH(load(step2, dir.file("s1.tgc")),
                    Contains("tensor 'base_lrs' must be a float64 tensor of 2 learning rates"));
}

TEST_CASE("LBFGS with the strong-Wolfe line search trains the two-circles MLP", "[optim][lbfgs]") {
  // 100 points on radius 1.1 (label 1), 100 on radius 3 (label 0), as examples/two_circles.
  V xs, ys;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 100; ++i) {
      const double phi = 2 * M_PI * i / 99, r = c == 0 ? 1.1 : 3.0;
      xs.push_back(r * std::sin(phi));
      xs.push_back(r * std::cos(phi));
      ys.push_back(c == 0 ? 1 : 0);
    }
  const Tensor x = tensor(xs, {200, 2}), y = tensor(ys, {200, 1});
  manual_seed(7);
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::ReLU>(),
                                              std::make_shared<nn::Linear>(16, 1), std::make_shared<nn::Sigmoid>());
  LBFGS opt(net->parameters(), LBFGSOptions(1.0).line_search_fn("strong_wolfe"));
  auto closure = [&] {
    opt.zero_grad();
    Tensor loss = F::binary_cross_entropy((*net)(x), y);
    loss.backward();
    return loss;
  };
  const double first = opt.step(closure).item();
  double last = first;
  for (int step = 0; step < 10; ++step) last = opt.step(closure).item();
  {
    NoGradGuard no_grad;
    last = F::binary_cross_entropy((*net)(x), y).item();
    CHECK(mean(eq(gt((*net)(x), 0.5), y)).item() == 1.0);
  }
  INFO("loss " << first << " -> " << last << " in " << opt.func_evals() << " evaluations");
  CHECK(first > 0.6);
  CHECK(last < 1e-3);
  CHECK(opt.func_evals() <= 11 * 25);
}

TEST_CASE("RMSprop, Adagrad, Adadelta and LBFGS in float32 follow their float64 runs", "[optim]") {
  using Make = std::function<std::unique_ptr<Optimizer>(const Tensor&)>;
  const std::vector<Make> makers = {
      [](const Tensor& w) { return std::make_unique<RMSprop>(std::vector<Tensor>{w}, RMSpropOptions(0.01).momentum(0.5).centered(true)); },
      [](const Tensor& w) { return std::make_unique<Adagrad>(std::vector<Tensor>{w}, AdagradOptions(0.1).lr_decay(0.1)); },
      [](const Tensor& w) { return std::make_unique<Adadelta>(std::vector<Tensor>{w}, AdadeltaOptions(1.0).weight_decay(0.1)); },
      [](const Tensor& w) { return std::make_unique<LBFGS>(std::vector<Tensor>{w}, LBFGSOptions(0.5).max_iter(3)); },
  };
  for (const Make& make : makers) {
    V result[2];
    for (int f64 = 0; f64 < 2; ++f64) {
      Tensor w = tensor({1, -2, 0.5}, f64 ? kFloat64 : kFloat32).requires_grad_();
      auto opt = make(w);
      INFO(opt->name());
      const Tensor c = tensor({1, 0.5, 2}, w.dtype());
      auto closure = [&] {
        opt->zero_grad();
        Tensor loss = sum(c * w * w) * 0.5;
        loss.backward();
        return loss;
      };
      for (int k = 0; k < 8; ++k) opt->step(closure);
      result[f64] = w.to_vector();
    }
    REQUIRE(result[0].size() == 3);
    for (int i = 0; i < 3; ++i) CHECK(result[0][i] == Approx(result[1][i]).margin(1e-5));
    CHECK(std::abs(result[1][0]) < 0.99);  // it moved towards the minimum at 0
  }
}
