// Seed 000 §2: a 2-16-1 MLP (ReLU, Sigmoid) separates two concentric circles.
// Binary NLL + the L2 term λ/2 Σ‖w‖² through autodiff, SGD lr 0.1, λ = 1e-4,
// 5000 full-batch iterations; the loss is printed every 500 steps.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

namespace {

// 100 points on a circle of radius 1.1 (label 1) and 100 on radius 3 (label 0),
// as the seed's generate_2_circles; then a seeded 70/30 split.
void two_circles(Tensor& x_train, Tensor& y_train, Tensor& x_test, Tensor& y_test) {
  const int n = 100;
  std::vector<double> xs, ys;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < n; ++i) {
      const double phi = 2 * M_PI * i / (n - 1);
      const double r = c == 0 ? 1.1 : 3.0;
      xs.push_back(r * std::sin(phi));
      xs.push_back(r * std::cos(phi));
      ys.push_back(c == 0 ? 1.0 : 0.0);
    }
  const std::vector<std::int64_t> order = randperm(2 * n);
  const std::int64_t n_train = static_cast<std::int64_t>(2 * n * 0.7);
  std::vector<double> xtr, ytr, xte, yte;
  for (std::int64_t k = 0; k < 2 * n; ++k) {
    const std::int64_t i = order[k];
    auto& xd = k < n_train ? xtr : xte;
    auto& yd = k < n_train ? ytr : yte;
    xd.push_back(xs[2 * i]);
    xd.push_back(xs[2 * i + 1]);
    yd.push_back(ys[i]);
  }
  x_train = tensor(xtr, {n_train, 2});
  y_train = tensor(ytr, {n_train, 1});
  x_test = tensor(xte, {2 * n - n_train, 2});
  y_test = tensor(yte, {2 * n - n_train, 1});
}

// -mean(y log p + (1-y) log(1-p)), with p clamped away from 0 and 1.
Tensor binary_nll(const Tensor& p, const Tensor& y) {
  Tensor q = clamp(p, 1e-7, 1 - 1e-7);
  return -mean(y * log(q) + (1.0 - y) * log(1.0 - q));
}

double accuracy(const Tensor& p, const Tensor& y) {
  NoGradGuard no_grad;
  return mean(eq(gt(p, 0.5), y)).item();
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 5000;
  const double lr = 0.1, weight_decay = 1e-4;
  manual_seed(0);
  Tensor x_train, y_train, x_test, y_test;
  two_circles(x_train, y_train, x_test, y_test);

  // Dense layers as in the seed: W ~ N(0, 0.01²) of shape (in, out), b = 0.
  Tensor w1 = (randn({2, 16}) * 0.01).detach().requires_grad_();
  Tensor b1 = zeros({16}).requires_grad_();
  Tensor w2 = (randn({16, 1}) * 0.01).detach().requires_grad_();
  Tensor b2 = zeros({1}).requires_grad_();
  std::vector<Tensor> params = {w1, b1, w2, b2};
  auto model = [&](const Tensor& x) { return sigmoid(matmul(relu(matmul(x, w1) + b1), w2) + b2); };

  for (int step = 0; step < iterations; ++step) {
    Tensor l2 = zeros({});
    for (const Tensor& p : params) l2 = l2 + sum(p * p);
    Tensor loss = binary_nll(model(x_train), y_train) + l2 * (weight_decay / 2);
    if (step % 500 == 0) std::printf("Step: %d, \tLoss = %.2f\n", step, loss.item());
    for (Tensor& p : params) p.zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& p : params) p.copy_(p - p.grad() * lr);
  }
  const double train_acc = accuracy(model(x_train), y_train);
  const double test_acc = accuracy(model(x_test), y_test);
  std::printf("train accuracy %.1f%%, test accuracy %.1f%%\n", 100 * train_acc, 100 * test_acc);
  return test_acc == 1.0 ? 0 : 1;
}
