// Ops not yet declared with samples, composite expressions, and the checks
// gradcheck itself must make: wrong backward rules, vacuous checks, float32.
// Declared ops are gradchecked by tests/test_op_declarations.cpp.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Inputs = std::vector<Tensor>;

namespace {

Tensor leaf(const Shape& s, double scale = 1.0, double shift = 0.0) {
  return (randn(s, kFloat64) * scale + shift).detach().requires_grad_();
}

// Asserts gradcheck passes, printing its message otherwise.
void check(const GradcheckFunction& f, const Inputs& in) {
  GradcheckResult r = gradcheck(f, in);
  INFO(r.message);
  CHECK(r.passed);
}

}  // namespace

TEST_CASE("gradcheck: a composite expression (2-layer MLP with loss)", "[gradcheck]") {
  manual_seed(8);
  Tensor x = randn({5, 3}, kFloat64);
  check(
      [x](const Inputs& v) {
        Tensor h = relu(matmul(x, v[0]) + v[1]);
        Tensor p = sigmoid(matmul(h, v[2]) + v[3]);
        return mean(p * p);
      },
      {leaf({3, 4}), leaf({4}), leaf({4, 1}), leaf({1})});
}

// A deliberately wrong op: forward is x^2, backward claims x (missing the 2).
Tensor wrong_square(const Tensor& x) {
  Tensor y = x * x;
  Tensor out = y.detach();
  if (autograd::needs_grad(x))
    autograd::record("wrong_square", {x}, out, [x](const Tensor& gy) -> autograd::Grads { return {gy * x}; });
  return out;
}

TEST_CASE("gradcheck catches a wrong backward rule and names the worst element", "[gradcheck]") {
  Tensor x = tensor({1.0, -2.0, 3.0}, kFloat64).requires_grad_();
  GradcheckResult r = gradcheck([](const Inputs& v) { return wrong_square(v[0]); }, {x});
  CHECK_FALSE(r.passed);
  CHECK(r.input == 0);
  CHECK(r.input_element == 2);  // |3 - 6| is the largest error
  CHECK(r.analytic == Approx(3.0));
  CHECK(r.numeric == Approx(6.0));
  CHECK_THAT(r.message, Catch::Contains("input 0") && Catch::Contains("element 2"));
}

TEST_CASE("gradcheck reports an all-zero Jacobian as vacuous", "[gradcheck]") {
  Tensor x = tensor({-1.0, -2.0}, kFloat64).requires_grad_();
  GradcheckResult r = gradcheck([](const Inputs& v) { return relu(v[0]); }, {x});
  CHECK_FALSE(r.passed);
  CHECK_THAT(r.message, Catch::Contains("vacuous"));
  GradcheckOptions allow;
  allow.allow_vacuous = true;
  CHECK(gradcheck([](const Inputs& v) { return relu(v[0]); }, {x}, allow).passed);
}

TEST_CASE("gradcheck refuses float32 unless asked to convert", "[gradcheck]") {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  GradcheckResult r = gradcheck([](const Inputs& v) { return exp(v[0]); }, {x});
  CHECK_FALSE(r.passed);
  CHECK_THAT(r.message, Catch::Contains("float64"));
  GradcheckOptions convert;
  convert.convert_float32 = true;
  CHECK(gradcheck([](const Inputs& v) { return exp(v[0]); }, {x}, convert).passed);
}

TEST_CASE("gradcheck leaves the caller's tensors untouched", "[gradcheck]") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  CHECK(gradcheck([](const Inputs& v) { return exp(v[0]); }, {x}).passed);
  CHECK_FALSE(x.grad().defined());
  CHECK(x.to_vector() == std::vector<double>{1.0, 2.0});
}
