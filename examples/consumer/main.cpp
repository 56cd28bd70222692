// Trains the two-circles MLP using only tapegrad's installed headers.
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <tapegrad/tapegrad.hpp>

int main() {
  using namespace tg;
  manual_seed(0);
  std::vector<double> xs, ys;
  for (int i = 0; i < 200; ++i) {
    const double r = i < 100 ? 1.1 : 3.0, phi = 2 * M_PI * (i % 100) / 99.0;
    xs.insert(xs.end(), {r * std::sin(phi), r * std::cos(phi)});
    ys.push_back(i < 100 ? 1.0 : 0.0);
  }
  Tensor x = tensor(xs, {200, 2}), y = tensor(ys, {200, 1});
  Tensor w1 = (randn({2, 16}) * 0.5).detach().requires_grad_(), b1 = zeros({16}).requires_grad_();
  Tensor w2 = (randn({16, 1}) * 0.5).detach().requires_grad_(), b2 = zeros({1}).requires_grad_();
  auto predict = [&](const Tensor& in) { return sigmoid(matmul(relu(matmul(in, w1) + b1), w2) + b2); };
  for (int step = 0; step < 2000; ++step) {
    Tensor p = clamp(predict(x), 1e-7, 1 - 1e-7);
    Tensor loss = -mean(y * log(p) + (1.0 - y) * log(1.0 - p));
    for (Tensor* t : {&w1, &b1, &w2, &b2}) t->zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor* t : {&w1, &b1, &w2, &b2}) t->copy_(*t - t->grad() * 0.1);
  }
  NoGradGuard no_grad;
  const double acc = mean(eq(gt(predict(x), 0.5), y)).item();
  std::printf("tapegrad %s: two-circles accuracy %.1f%%\n", version(), 100 * acc);
  // The data layer's picture reader links libstb: a static tapegrad must bring it along.
  try {
    data::read_image("no-such-picture.png");
    return 1;
  } catch (const std::invalid_argument& e) {
    std::printf("read_image refuses a missing file: %s\n", e.what());
  }
  return acc == 1.0 ? 0 : 1;
}
