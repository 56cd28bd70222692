// Optimizers against hand-computed updates from their documented equations,
// schedulers, gradient clipping, refusals, and one end-to-end training run.
#include <catch2/catch.hpp>
#include <cmath>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using namespace tg::optim;
namespace F = tg::nn::functional;
using Catch::Contains;
using V = std::vector<double>;

namespace {

Tensor param(const V& v, Dtype dtype = kFloat64) { return tensor(v, dtype).requires_grad_(); }

// f(w) = sum(c * w): a constant gradient c.
void linear_loss(Optimizer& opt, const Tensor& w, const V& c) {
  opt.zero_grad();
  sum(w * tensor(c, w.dtype())).backward();
}
// f(w) = 0.5 * sum(c * w^2): the gradient c * w.
void quadratic_loss(Optimizer& opt, const Tensor& w, const V& c) {
  opt.zero_grad();
  (sum(w * w * tensor(c, w.dtype())) * 0.5).backward();
}

void check_near(const Tensor& t, const V& expected, double tol = 1e-12) {
  const V v = t.to_vector();
  REQUIRE(v.size() == expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(v[i] == Approx(expected[i]).epsilon(tol).margin(tol));
}

}  // namespace

TEST_CASE("SGD with momentum 0 is the rule w <- w - lr (dw + lambda w)", "[optim]") {
  Tensor w = param({1, -2});
  SGD opt({w}, SGDOptions(0.1).weight_decay(0.01));
  // Constant gradient c = [0.5, 1.5]:
  linear_loss(opt, w, {0.5, 1.5});
  opt.step();
  check_near(w, {1 - 0.1 * (0.5 + 0.01 * 1), -2 - 0.1 * (1.5 + 0.01 * -2)});  // [0.949, -2.148]
  linear_loss(opt, w, {0.5, 1.5});
  opt.step();
  check_near(w, {0.949 - 0.1 * (0.5 + 0.01 * 0.949), -2.148 - 0.1 * (1.5 + 0.01 * -2.148)});  // [0.898051, -2.295852]

  // Gradient c * w: each step multiplies w by (1 - lr (c + lambda)), so w_k = w_0 (1 - lr (c + lambda))^k.
  Tensor u = param({1, -2});
  SGD sgd({u}, SGDOptions(0.1).weight_decay(0.2));
  for (int k = 0; k < 5; ++k) {
    quadratic_loss(sgd, u, {1, 0.5});
    sgd.step();
  }
  check_near(u, {std::pow(0.88, 5), -2 * std::pow(0.93, 5)});
}

TEST_CASE("SGD momentum, dampening and Nesterov follow torch.optim.SGD", "[optim]") {
  // torch.optim.SGD: b_1 = g; b_t = mu b_{t-1} + (1 - dampening) g;
  //                  w <- w - lr (g + mu b_t) with nesterov, else w - lr b_t.
  // Constant g = 0.5, mu = 0.9, lr = 0.1, w_0 = 1.
  Tensor w = param({1});
  SGD heavy({w}, SGDOptions(0.1).momentum(0.9));
  const V expected = {0.95, 0.855, 0.7195};  // b = 0.5, 0.95, 1.355
  for (double e : expected) {
    linear_loss(heavy, w, {0.5});
    heavy.step();
    check_near(w, {e});
  }
  Tensor n = param({1});
  SGD nesterov({n}, SGDOptions(0.1).momentum(0.9).nesterov(true));
  for (double e : {1 - 0.1 * (0.5 + 0.9 * 0.5), 0.905 - 0.1 * (0.5 + 0.9 * 0.95)}) {  // 0.905, 0.7695
    linear_loss(nesterov, n, {0.5});
    nesterov.step();
    check_near(n, {e});
  }
  Tensor d = param({1});
  SGD damped({d}, SGDOptions(0.1).momentum(0.9).dampening(0.1));
  for (double e : {0.95, 0.95 - 0.1 * (0.9 * 0.5 + 0.9 * 0.5)}) {  // the first step is not dampened
    linear_loss(damped, d, {0.5});
    damped.step();
    check_near(d, {e});
  }
  // Weight decay enters g before the momentum: g = 0.5 + 0.1 w.
  Tensor m = param({1});
  SGD decayed({m}, SGDOptions(0.1).momentum(0.9).weight_decay(0.1));
  linear_loss(decayed, m, {0.5});
  decayed.step();
  check_near(m, {1 - 0.1 * 0.6});  // b = 0.6
  linear_loss(decayed, m, {0.5});
  decayed.step();
  check_near(m, {0.94 - 0.1 * (0.9 * 0.6 + (0.5 + 0.1 * 0.94))});
}

TEST_CASE("Adam follows torch.optim.Adam, with bias correction", "[optim]") {
  // torch.optim.Adam: g = grad (+ wd w); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  //   w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).   lr 0.1, b = (0.9, 0.999), eps 1e-8.
  // Gradient c * w with c = [1, 0.5], w_0 = [1, -2]: g_1 = [1, -1].
  Tensor w = param({1, -2});
  Adam adam({w}, AdamOptions(0.1));
  quadratic_loss(adam, w, {1, 0.5});
  adam.step();
  // Step 1: m_hat = g, v_hat = g^2, so w_1 = w_0 - lr g / (|g| + eps).
  check_near(w, {1 - 0.1 / (1 + 1e-8), -2 + 0.1 / (1 + 1e-8)});
  // Step 2, by component: g = c w_1, m = 0.9 * 0.1 g_1 + 0.1 g, v = 0.999 * 0.001 g_1^2 + 0.001 g^2.
  V expected;
  const V g1 = {1, -1}, c = {1, 0.5}, w1 = {1 - 0.1 / (1 + 1e-8), -2 + 0.1 / (1 + 1e-8)};
  for (int i = 0; i < 2; ++i) {
    const double g = c[i] * w1[i];
    const double m = 0.9 * 0.1 * g1[i] + 0.1 * g, v = 0.999 * 0.001 * g1[i] * g1[i] + 0.001 * g * g;
    expected.push_back(w1[i] - 0.1 * (m / (1 - 0.9 * 0.9)) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8));
  }
  quadratic_loss(adam, w, {1, 0.5});
  adam.step();
  check_near(w, expected);
  check_near(w, {0.8004122297123382, -1.8001664876318761}, 1e-10);

  // L2 weight decay folds into g: step 1 has g = c w + 0.1 w = [1.1, -1.2], still a step of about lr * sign(g).
  Tensor u = param({1, -2});
  Adam l2({u}, AdamOptions(0.1).weight_decay(0.1));
  quadratic_loss(l2, u, {1, 0.5});
  l2.step();
  check_near(u, {1 - 0.1 * 1.1 / (1.1 + 1e-8), -2 + 0.1 * 1.2 / (1.2 + 1e-8)});
}

TEST_CASE("AdamW decouples the weight decay (torch.optim.AdamW)", "[optim]") {
  // torch.optim.AdamW: w <- w - lr wd w first, then the Adam step with g = grad (no wd in g).
  Tensor w = param({1, -2});
  AdamW adamw({w}, AdamWOptions(0.1).weight_decay(0.1));
  quadratic_loss(adamw, w, {1, 0.5});
  adamw.step();
  check_near(w, {1 * (1 - 0.01) - 0.1 / (1 + 1e-8), -2 * (1 - 0.01) + 0.1 / (1 + 1e-8)});  // [0.89, -1.88]
  quadratic_loss(adamw, w, {1, 0.5});
  adamw.step();
  const V g1 = {1, -1}, c = {1, 0.5}, w1 = {0.99 - 0.1 / (1 + 1e-8), -1.98 + 0.1 / (1 + 1e-8)};
  V expected;
  for (int i = 0; i < 2; ++i) {
    const double g = c[i] * w1[i];
    const double m = 0.09 * g1[i] + 0.1 * g, v = 0.000999 * g1[i] * g1[i] + 0.001 * g * g;
    expected.push_back(w1[i] * 0.99 - 0.1 * (m / 0.19) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8));
  }
  check_near(w, expected);
  CHECK(AdamWOptions().weight_decay() == 0.01);  // PyTorch's default
  CHECK(adamw.name() == "AdamW");
}

TEST_CASE("optimizers in float32 match float64 closely", "[optim]") {
  Tensor w32 = param({1, -2}, kFloat32), w64 = param({1, -2});
  Adam a32({w32}, AdamOptions(0.05)), a64({w64}, AdamOptions(0.05));
  SGD s32({w32}, SGDOptions(0.05).momentum(0.5)), s64({w64}, SGDOptions(0.05).momentum(0.5));
  for (int k = 0; k < 10; ++k) {
    quadratic_loss(a32, w32, {1, 0.5});
    a32.step();
    quadratic_loss(a64, w64, {1, 0.5});
    a64.step();
    quadratic_loss(s32, w32, {1, 0.5});
    s32.step();
    quadratic_loss(s64, w64, {1, 0.5});
    s64.step();
  }
  check_near(w32, w64.to_vector(), 1e-5);
  CHECK(w64.to_vector()[0] < 0.6);  // it moved
}

TEST_CASE("parameters without a gradient are skipped; zero_grad drops gradients", "[optim]") {
  Tensor a = param({1}), b = param({2});
  Adam opt({a, b}, AdamOptions(0.1));
  sum(a * 3.0).backward();
  opt.step();
  CHECK(a.to_vector()[0] == Approx(0.9));
  CHECK(b.to_vector()[0] == 2.0);
  std::vector<std::string> names;
  for (const auto& [name, t] : opt.state_dict()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"lr", "num_params", "step.0", "exp_avg.0", "exp_avg_sq.0"});
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("optimizers refuse bad parameters and settings", "[optim]") {
  CHECK_THROWS_WITH(SGD({}, 0.1), Contains("SGD: got no parameters to optimize"));
  CHECK_THROWS_WITH(Adam({}), Contains("Adam: got no parameters to optimize"));
  CHECK_THROWS_WITH(AdamW({}), Contains("AdamW: got no parameters"));
  Tensor w = param({1, 2});
  CHECK_THROWS_WITH(SGD({w, w}, 0.1), Contains("parameter 1 appears more than once"));
  CHECK_THROWS_WITH(SGD({w * 2.0}, 0.1), Contains("not a leaf"));
  CHECK_THROWS_WITH(SGD({tensor_i64({1}, {1})}, 0.1), Contains("SGD: parameter 0") && Contains("int64"));
  CHECK_THROWS_WITH(SGD({w}, -0.1), Contains("SGD: learning rate must be >= 0, got -0.1"));
  CHECK_THROWS_WITH(SGD({w}, SGDOptions(0.1).nesterov(true)), Contains("nesterov") && Contains("momentum > 0"));
  CHECK_THROWS_WITH(SGD({w}, SGDOptions(0.1).momentum(-1)), Contains("momentum must be >= 0"));
  CHECK_THROWS_WITH(Adam({w}, AdamOptions().betas(0.9, 1.0)), Contains("Adam: betas must be in [0, 1)"));
  CHECK_THROWS_WITH(Adam({w}, AdamOptions().eps(-1)), Contains("eps must be >= 0"));
}

TEST_CASE("StepLR and CosineAnnealingLR follow PyTorch's formulas", "[optim]") {
  Tensor w = param({1});
  SGD opt({w}, 1.0);
  StepLR step(opt, 2, 0.5);
  V lrs = {opt.lr()};
  for (int e = 0; e < 5; ++e) {
    step.step();
    lrs.push_back(opt.lr());
  }
  CHECK(lrs == V{1, 1, 0.5, 0.5, 0.25, 0.25});
  CHECK(step.epoch() == 5);

  SGD opt2({w}, 0.1);
  CosineAnnealingLR cosine(opt2, 4, 0.01);
  // eta_min + (base - eta_min) (1 + cos(pi e / T_max)) / 2
  const V expected = {0.01 + 0.09 * (1 + std::cos(M_PI / 4)) / 2, 0.055, 0.01 + 0.09 * (1 - std::cos(M_PI / 4)) / 2, 0.01};
  for (double e : expected) {
    cosine.step();
    CHECK(opt2.lr() == Approx(e).epsilon(1e-12));
  }
  CHECK(cosine.last_lr() == Approx(0.01));
  CHECK_THROWS_WITH(StepLR(opt, 0), Contains("StepLR: step_size must be positive"));
  CHECK_THROWS_WITH(CosineAnnealingLR(opt, 0), Contains("T_max must be positive"));
}

TEST_CASE("clip_grad_norm returns the total norm and scales every gradient once", "[optim]") {
  Tensor a = param({0, 0}), b = param({0});
  sum(a * tensor({3, 4}, kFloat64)).backward();
  sum(b * 12.0).backward();
  // ||(3, 4, 12)|| = 13; scale 6.5 / (13 + 1e-6)
  CHECK(clip_grad_norm({a, b}, 6.5) == Approx(13));
  const double s = 6.5 / (13 + 1e-6);
  CHECK(a.grad().to_vector() == V{3 * s, 4 * s});
  CHECK(b.grad().to_vector() == V{12 * s});
  // Under the limit: unchanged. Max-abs norm.
  CHECK(clip_grad_norm({a, b}, 100) == Approx(6.5).epsilon(1e-6));
  CHECK(b.grad().to_vector() == V{12 * s});
  CHECK(clip_grad_norm({a, b}, 100, INFINITY) == Approx(12 * s));
  CHECK(clip_grad_norm({a, b}, 100, 1) == Approx(19 * s));

  // x + y hands the same gradient tensor to both leaves: each must be scaled exactly once.
  Tensor x = param({0, 0}), y = param({0, 0});
  sum((x + y) * tensor({3, 4}, kFloat64)).backward();
  CHECK(clip_grad_norm({x, y}, 1) == Approx(std::sqrt(50.0)));
  const double k = 1 / (std::sqrt(50.0) + 1e-6);
  CHECK(x.grad().to_vector() == V{3 * k, 4 * k});
  CHECK(y.grad().to_vector() == V{3 * k, 4 * k});
  Tensor none = param({1});
  CHECK(clip_grad_norm({none}, 1) == 0.0);  // no gradients at all
  CHECK_THROWS_WITH(clip_grad_norm({a}, -1), Contains("clip_grad_norm: max_norm must be >= 0"));
}

TEST_CASE("a Sequential trained with BCE + L2 + SGD or Adam separates two circles", "[optim][nn]") {
  // 60 points on radius 1.1 (label 1) and 60 on radius 3 (label 0).
  V xs, ys;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 60; ++i) {
      const double phi = 2 * M_PI * i / 60, r = c == 0 ? 1.1 : 3.0;
      xs.push_back(r * std::sin(phi));
      xs.push_back(r * std::cos(phi));
      ys.push_back(c == 0 ? 1 : 0);
    }
  const Tensor x = tensor(xs, {120, 2}), y = tensor(ys, {120, 1});
  for (int use_adam = 0; use_adam < 2; ++use_adam) {
    manual_seed(3);
    auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Linear>(16, 1), std::make_shared<nn::Sigmoid>());
    std::unique_ptr<Optimizer> opt;
    if (use_adam)
      opt = std::make_unique<Adam>(net->parameters(), AdamOptions(0.05));
    else
      opt = std::make_unique<SGD>(net->parameters(), SGDOptions(0.1).momentum(0.9));
    double first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
      opt->zero_grad();
      Tensor loss = F::binary_cross_entropy((*net)(x), y) + F::l2_penalty(1e-4, net->parameters());
      if (step == 0) first = loss.item();
      last = loss.item();
      loss.backward();
      opt->step();
    }
    INFO((use_adam ? "Adam" : "SGD") << ": loss " << first << " -> " << last);
    CHECK(last < 0.1 * first);
    NoGradGuard no_grad;
    CHECK(mean(eq(gt((*net)(x), 0.5), y)).item() == 1.0);
  }
}
