// A user-defined op without editing tapegrad: swish(x) = x * sigmoid(x),
// written with the Function API, gradient-checked, then used in a model.
#include <cstdio>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

struct Swish : autograd::Function<Swish> {
  static constexpr const char* name = "swish";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    Tensor s = sigmoid(x);
    ctx.save_for_backward({x, s});
    return x * s;
  }
  // d/dx x·s(x) = s + x·s·(1 - s)
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) {
    const Tensor& x = ctx.saved()[0];
    const Tensor& s = ctx.saved()[1];
    return {gy * (s + x * s * (1.0 - s))};
  }
};

int main() {
  manual_seed(0);
  // 1. Check the backward rule against finite differences (float64).
  Tensor probe = randn({3, 4}, kFloat64).requires_grad_();
  GradcheckResult check = gradcheck([](const std::vector<Tensor>& in) { return Swish::apply(in[0]); }, {probe});
  std::printf("gradcheck(swish): %s\n", check.passed ? "passed" : check.message.c_str());
  if (!check.passed) return 1;

  // 2. Use it: fit y = |x| - 0.5 on [-1, 1] with a 1-32-1 network whose hidden layer is swish.
  Tensor x = reshape(arange(-1.0, 1.0, 0.02), {-1, 1});
  Tensor y = abs(x) - 0.5;
  Tensor w1 = randn({1, 32}).requires_grad_(), b1 = zeros({32}).requires_grad_();
  Tensor w2 = (randn({32, 1}) * 0.1).detach().requires_grad_(), b2 = zeros({1}).requires_grad_();
  std::vector<Tensor> params = {w1, b1, w2, b2};
  double first = 0, last = 0;
  for (int step = 0; step < 2000; ++step) {
    Tensor pred = matmul(Swish::apply(matmul(x, w1) + b1), w2) + b2;
    Tensor loss = mean(pow(pred - y, 2.0));
    if (step == 0) first = loss.item();
    last = loss.item();
    for (Tensor& p : params) p.zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& p : params) p.copy_(p - p.grad() * 0.05);
  }
  std::printf("mse: %.4f at the start, %.5f after 2000 steps\n", first, last);
  return last < first / 10 ? 0 : 1;
}
