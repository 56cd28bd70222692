// Users add ops without editing tapegrad: the Function API and autograd::record.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Inputs = std::vector<Tensor>;

namespace {

// swish(x) = x * sigmoid(x);  d/dx = s + x s (1 - s)
struct Swish : autograd::Function<Swish> {
  static constexpr const char* name = "swish";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    Tensor s = sigmoid(x);
    ctx.save_for_backward({x, s});
    return x * s;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) {
    const Tensor& x = ctx.saved()[0];
    const Tensor& s = ctx.saved()[1];
    return {gy * (s + x * s * (1.0 - s))};
  }
};

// A 1-D three-tap smoothing op with a non-tensor argument: y_i = a x_{i-1} + (1-2a) x_i + a x_{i+1}
// (zero outside). Its transpose is itself, so the backward rule is the same smoothing.
Tensor smooth(const Tensor& x, double a) {
  auto kernel = [](const Tensor& v, double w) {
    const std::int64_t n = v.numel();
    std::vector<double> in = v.to_vector(), out(n);
    for (std::int64_t i = 0; i < n; ++i)
      out[i] = (1 - 2 * w) * in[i] + (i > 0 ? w * in[i - 1] : 0) + (i + 1 < n ? w * in[i + 1] : 0);
    return tensor(out, v.shape(), v.dtype());
  };
  Tensor y = kernel(x, a);
  if (autograd::needs_grad(x))
    autograd::record("smooth", {x}, y, [kernel, a](const Tensor& gy) -> autograd::Grads { return {kernel(gy, a)}; });
  return y;
}

}  // namespace

TEST_CASE("a Function-based custom op records itself and passes gradcheck", "[custom]") {
  Tensor x = tensor({-2, -0.5, 0.1, 1, 3}, kFloat64).requires_grad_();
  Tensor y = Swish::apply(x);
  REQUIRE(y.grad_fn());
  CHECK(y.grad_fn()->name() == "swish");
  CHECK(y.to_vector()[3] == Approx(1.0 / (1.0 + std::exp(-1.0))));
  GradcheckResult r = gradcheck([](const Inputs& v) { return Swish::apply(v[0]); }, {x});
  INFO(r.message);
  CHECK(r.passed);
}

TEST_CASE("a record-based custom op with a parameter passes gradcheck inside a model", "[custom]") {
  manual_seed(3);
  Tensor w = randn({4, 6}, kFloat64).requires_grad_();
  Tensor x = randn({4}, kFloat64);
  GradcheckResult r = gradcheck(
      [x](const Inputs& v) {
        Tensor h = matmul(reshape(x, {1, 4}), v[0]);
        return sum(Swish::apply(smooth(reshape(h, {6}), 0.25)));
      },
      {w});
  INFO(r.message);
  CHECK(r.passed);
}

TEST_CASE("custom ops do not run backward rules for inputs without grad", "[custom]") {
  Tensor x = tensor({1.0, 2.0}, kFloat64);
  Tensor y = Swish::apply(x);
  CHECK_FALSE(y.requires_grad());
  CHECK_FALSE(y.grad_fn());
}

namespace {
// Records which gradients the engine asked a custom Function for.
struct Scale2 : autograd::Function<Scale2> {
  static constexpr const char* name = "scale2";
  static inline std::vector<bool> asked;
  static Tensor forward(autograd::Context& ctx, const Tensor& a, const Tensor& b) {
    ctx.save_for_backward({a, b});
    return a * b;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) {
    asked = {ctx.needs_input_grad(0), ctx.needs_input_grad(1)};
    // Computes both regardless: Function drops the one nobody asked for.
    return {gy * ctx.saved()[1], gy * ctx.saved()[0]};
  }
};
}  // namespace

TEST_CASE("a custom Function sees which inputs need a gradient (ctx.needs_input_grad)", "[custom_op]") {
  Tensor a = tensor({2.0, 3.0}, kFloat64).requires_grad_(), b = tensor({5.0, 7.0}, kFloat64);
  sum(Scale2::apply(a, b)).backward();
  CHECK(Scale2::asked == std::vector<bool>{true, false});
  CHECK(a.grad().to_vector() == std::vector<double>{5.0, 7.0});
  CHECK_FALSE(b.grad().defined());
}
