// Losses: known answers, and gradients against finite differences behind
// Sequentials (gradcheck_module). Each loss alone is gradchecked, and its
// refusals checked, by its declaration (ops/loss.cpp, nn/loss.cpp; run by
// tests/test_op_declarations.cpp).
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using namespace tg::nn;
namespace F = tg::nn::functional;
using V = std::vector<double>;

namespace {

bool near(const V& a, const V& b, double tol = 1e-9) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > tol * (1 + std::abs(b[i]))) return false;
  return true;
}

Tensor leaf(const V& v, const Shape& s) { return tensor(v, s, kFloat64).requires_grad_(); }

// loss(model(x)) as a module, so gradcheck_module sees the model's parameters.
struct LossOf : Module {
  ModulePtr model;
  std::function<Tensor(const Tensor&)> loss;
  LossOf(ModulePtr m, std::function<Tensor(const Tensor&)> l) : loss(std::move(l)) {
    model = register_module("model", std::move(m));
  }
  Tensor forward(const Tensor& x) override { return loss((*model)(x)); }
};

void check_loss_behind(ModulePtr model, std::function<Tensor(const Tensor&)> loss, const Tensor& x) {
  LossOf wrapped(std::move(model), std::move(loss));
  wrapped.to(kFloat64);
  GradcheckResult r = gradcheck_module(wrapped, x);
  INFO(r.message);
  CHECK(r.passed);
}

}  // namespace

TEST_CASE("binary_cross_entropy is the Bernoulli NLL", "[nn]") {
  Tensor p = leaf({0.9, 0.2, 0.6}, {3, 1});
  Tensor y = tensor({1, 0, 1}, {3, 1}, kFloat64);
  Tensor loss = F::binary_cross_entropy(p, y);
  CHECK(loss.dim() == 0);
  CHECK(loss.item() == Approx(-(std::log(0.9) + std::log(0.8) + std::log(0.6)) / 3).epsilon(1e-12));
  loss.backward();
  // d/dp of -(y log p + (1-y) log(1-p)) / N  =  -1/(N p) for y = 1,  1/(N (1-p)) for y = 0
  CHECK(near(p.grad().to_vector(), {-1 / (3 * 0.9), 1 / (3 * 0.8), -1 / (3 * 0.6)}));
  CHECK(F::binary_cross_entropy(p, y, Reduction::Sum).item() ==
        Approx(-(std::log(0.9) + std::log(0.8) + std::log(0.6))));
  CHECK(near(F::binary_cross_entropy(p, y, Reduction::None).to_vector(), {-std::log(0.9), -std::log(0.8), -std::log(0.6)}));
  CHECK(BCELoss{}(p, y).item() == loss.item());
  // Soft targets are allowed.
  CHECK(F::binary_cross_entropy(tensor({0.5}), tensor({0.5})).item() == Approx(std::log(2.0)));
}

TEST_CASE("binary_cross_entropy at p = 0 and p = 1 is large and finite, gradient included", "[nn]") {
  Tensor p = leaf({0, 1}, {2});
  Tensor wrong = F::binary_cross_entropy(p, tensor({1, 0}, kFloat64));
  CHECK(wrong.item() == Approx(100.0));  // each log is clamped at -100
  wrong.backward();
  const V g = p.grad().to_vector();
  CHECK(std::isfinite(g[0]));
  CHECK(std::isfinite(g[1]));
  CHECK(g[0] < -1e9);  // (p - y) / max(p(1-p), 1e-12) / N = -1e12 / 2: pushes p up
  CHECK(g[1] > 1e9);
  // Confident and right: zero loss, no NaN from 0 * log(0).
  CHECK(F::binary_cross_entropy(tensor({0, 1}), tensor({0, 1})).item() == 0.0);
  // float32 too.
  CHECK(std::isfinite(F::binary_cross_entropy(tensor({0.0f, 1.0f}), tensor({1, 0})).item()));
}

TEST_CASE("nll_loss and cross_entropy", "[nn]") {
  Tensor logits = tensor({1, 2, 3, 1000, 0, -1000}, {2, 3}, kFloat64).requires_grad_();
  Tensor labels = tensor_i64({2, 0}, {2});
  // Row 0: -log(e^3 / (e + e^2 + e^3)) = log(1 + e^-1 + e^-2); row 1 is already certain: 0.
  const double row0 = std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  Tensor ce = F::cross_entropy(logits, labels);
  CHECK(ce.item() == Approx(row0 / 2).epsilon(1e-12));
  CHECK(F::cross_entropy(logits, tensor_i64({2, 1}, {2}), Reduction::Sum).item() == Approx(row0 + 1000));
  CHECK(F::nll_loss(log_softmax(logits, 1), labels).item() == ce.item());
  CHECK(NLLLoss{}(log_softmax(logits, 1), labels).item() == ce.item());
  CHECK(CrossEntropyLoss{Reduction::None}(logits, labels).shape() == Shape{2});
  // d ce / d logits = (softmax - onehot) / N
  ce.backward();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(near(logits.grad().to_vector(),
             {std::exp(1.0) / z / 2, std::exp(2.0) / z / 2, (std::exp(3.0) / z - 1) / 2, 0, 0, 0}, 1e-12));
}

TEST_CASE("hinge_loss for targets in {-1, +1}", "[nn]") {
  Tensor s = leaf({0.5, 0.5, 2}, {3, 1});
  Tensor y = tensor({1, -1, 1}, {3, 1}, kFloat64);
  // max(0, 1 - 0.5) + max(0, 1 + 0.5) + max(0, 1 - 2) = 0.5 + 1.5 + 0
  Tensor loss = F::hinge_loss(s, y);
  CHECK(loss.item() == Approx(2.0 / 3));
  loss.backward();
  CHECK(near(s.grad().to_vector(), {-1.0 / 3, 1.0 / 3, 0}));  // -y / N where the margin is violated
  CHECK(HingeLoss{Reduction::Sum}(s, y).item() == Approx(2.0));
  CHECK(F::hinge_loss(s, tensor_i64({1, -1, 1}, {3, 1})).item() == Approx(2.0 / 3));  // int labels are fine
}

TEST_CASE("mse_loss", "[nn]") {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor t = tensor({1, 0, 5, 3}, {2, 2}, kFloat64);
  Tensor loss = F::mse_loss(x, t);
  CHECK(loss.item() == Approx((0 + 4 + 4 + 1) / 4.0));
  loss.backward();
  CHECK(near(x.grad().to_vector(), {0, 1, -1, 0.5}));  // 2 (x - t) / N
  CHECK(MSELoss{Reduction::Sum}(x, t).item() == Approx(9.0));
  CHECK(F::mse_loss(x, t, Reduction::None).to_vector() == V{0, 4, 4, 1});
}

TEST_CASE("l2_penalty is lambda/2 sum ||w||^2: 108.25, gradient lambda * w", "[nn]") {
  Tensor w = leaf({5, 3, 7, 5, 0.5}, {5});
  Tensor penalty = F::l2_penalty(2, {w});
  CHECK(penalty.item() == Approx(108.25));  // 2/2 * (25 + 9 + 49 + 25 + 0.25)
  penalty.backward();
  CHECK(w.grad().to_vector() == V{10, 6, 14, 10, 1});
  // Several tensors add up; none gives 0.
  Tensor a = leaf({1, 2}, {2}), b = leaf({3}, {1, 1});
  CHECK(F::l2_penalty(0.5, {a, b}).item() == Approx(0.25 * 14));
  CHECK(F::l2_penalty(0.5, {}).item() == 0.0);
}

TEST_CASE("every loss behind a Sequential matches finite differences", "[nn]") {
  manual_seed(21);
  const Tensor x = randn({4, 3}, kFloat64);
  auto mlp = [](std::int64_t out, ModulePtr last) {
    auto seq = std::make_shared<Sequential>(std::make_shared<Linear>(3, 5), std::make_shared<Tanh>(),
                                            std::make_shared<Linear>(5, out));
    if (last) seq->add(last);
    return seq;
  };
  const Tensor soft_targets = tensor({0, 1, 0.3, 1}, {4, 1}, kFloat64);
  check_loss_behind(mlp(1, std::make_shared<Sigmoid>()),
                    [=](const Tensor& p) { return F::binary_cross_entropy(p, soft_targets); }, x);
  const Tensor labels = tensor_i64({0, 2, 1, 2}, {4});
  check_loss_behind(mlp(3, std::make_shared<LogSoftmax>(1)), [=](const Tensor& lp) { return F::nll_loss(lp, labels); }, x);
  check_loss_behind(mlp(3, nullptr), [=](const Tensor& z) { return F::cross_entropy(z, labels); }, x);
  const Tensor signs = tensor({1, -1, -1, 1}, {4, 1}, kFloat64);
  check_loss_behind(mlp(1, nullptr), [=](const Tensor& s) { return F::hinge_loss(s, signs); }, x);
  const Tensor goal = tensor({0.5, -1, 2, 0}, {4, 1}, kFloat64);
  check_loss_behind(mlp(1, std::make_shared<Sigmoid>()), [=](const Tensor& y) { return F::mse_loss(y, goal); }, x);
  // The penalty on the model's own parameters, through the tape like any loss.
  auto model = mlp(1, nullptr);
  check_loss_behind(model, [=](const Tensor& y) { return F::mse_loss(y, goal) + F::l2_penalty(0.1, model->parameters()); },
                    x);
}
