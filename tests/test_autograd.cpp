// The tape: recording, backward, accumulation, freeing, grad mode.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

TEST_CASE("backward computes gradients of a small expression", "[autograd]") {
  // f(x, y) = x*y + x^2  ->  df/dx = y + 2x, df/dy = x
  Tensor x = tensor({3.0}, kFloat64).requires_grad_();
  Tensor y = tensor({4.0}, kFloat64).requires_grad_();
  Tensor f = sum(x * y + x * x);
  f.backward();
  CHECK(x.grad().item() == 10.0);
  CHECK(y.grad().item() == 3.0);
  CHECK(x.is_leaf());
  CHECK_FALSE(f.is_leaf());
  REQUIRE(f.grad_fn());
  CHECK(f.grad_fn()->name() == "sum");
}

TEST_CASE("gradients accumulate until zeroed", "[autograd]") {
  Tensor w = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  for (int i = 0; i < 3; ++i) sum(w * 2.0).backward();
  CHECK(w.grad().to_vector() == std::vector<double>{6, 6});
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
  sum(w * 2.0).backward();
  CHECK(w.grad().to_vector() == std::vector<double>{2, 2});
}

TEST_CASE("a tensor used twice receives the sum of both gradients", "[autograd]") {
  Tensor a = tensor({2.0}, kFloat64).requires_grad_();
  Tensor b = a * 3.0;
  Tensor c = b + b;  // dc/da = 6
  c.backward();
  CHECK(a.grad().item() == 6.0);
}

TEST_CASE("a gradient held by the user is never changed in place", "[autograd]") {
  Tensor w = tensor({1.0}, kFloat64).requires_grad_();
  sum(w * 2.0).backward();
  Tensor held = w.grad();
  sum(w * 5.0).backward();
  CHECK(held.item() == 2.0);
  CHECK(w.grad().item() == 7.0);
}

TEST_CASE("backward with an explicit gradient", "[autograd]") {
  Tensor x = tensor({1, 2, 3}, kFloat64).requires_grad_();
  Tensor y = x * x;
  y.backward(tensor({1, 0.5, 2}, kFloat64));
  CHECK(x.grad().to_vector() == std::vector<double>{2, 2, 12});
}

TEST_CASE("the graph is freed after backward; a second backward throws", "[autograd]") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor loss = sum(exp(x));
  loss.backward();
  CHECK(loss.grad_fn()->released());
  CHECK_THROWS_WITH(loss.backward(), Catch::Contains("second time") && Catch::Contains("retain_graph"));
}

TEST_CASE("retain_graph allows a second backward", "[autograd]") {
  Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor loss = sum(exp(x));
  loss.backward(true);
  loss.backward();
  CHECK(x.grad().to_vector()[0] == Approx(2 * std::exp(1.0)));
}

TEST_CASE("NoGradGuard records nothing and restores the mode", "[autograd]") {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard guard;
    CHECK_FALSE(GradMode::is_enabled());
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK_FALSE(y.grad_fn());
    {
      NoGradGuard nested;
    }
    CHECK_FALSE(GradMode::is_enabled());
  }
  CHECK(GradMode::is_enabled());
  CHECK((x * 2.0).requires_grad());
}

TEST_CASE("detach cuts the tape", "[autograd]") {
  Tensor x = tensor({3.0}, kFloat64).requires_grad_();
  Tensor y = x * x;
  Tensor z = y.detach() * x;  // dz/dx = y = 9 (y treated as a constant)
  z.backward();
  CHECK(x.grad().item() == 9.0);
}

TEST_CASE("only leaves keep gradients unless retain_grad is asked", "[autograd]") {
  Tensor x = tensor({2.0}, kFloat64).requires_grad_();
  Tensor h = x * 3.0;
  Tensor h2 = x * 4.0;
  h2.retain_grad();
  sum(h * h2).backward();
  CHECK_FALSE(h.grad().defined());
  REQUIRE(h2.grad().defined());
  CHECK(h2.grad().item() == 6.0);  // d(h*h2)/dh2 = h = 6
  CHECK(x.grad().item() == 48.0);  // 2 * 12 * x
}

TEST_CASE("requires_grad_ is refused on non-leaves and int64", "[autograd]") {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH(y.requires_grad_(), Catch::Contains("leaf"));
  CHECK_THROWS_WITH(tensor_i64({1}, {1}).requires_grad_(), Catch::Contains("int64"));
}

TEST_CASE("backward on a tensor that does not require grad throws", "[autograd]") {
  Tensor x = ones({1});
  CHECK_THROWS_WITH(sum(x).backward(), Catch::Contains("does not require grad"));
}

TEST_CASE("backward on a non-scalar without a gradient throws", "[autograd]") {
  Tensor x = ones({3}).requires_grad_();
  CHECK_THROWS_WITH((x * 2.0).backward(), Catch::Contains("one-element") && Catch::Contains("[3]"));
  CHECK_THROWS_WITH((x * 2.0).backward(ones({2})), Catch::Contains("[2]") && Catch::Contains("[3]"));
}

TEST_CASE("10000 forward+backward iterations leave no live nodes behind", "[autograd]") {
  const auto baseline = autograd::live_nodes();
  Tensor w = randn({4, 3}).requires_grad_();
  Tensor b = zeros({3}).requires_grad_();
  Tensor x = randn({8, 4});
  for (int i = 0; i < 10000; ++i) {
    {
      Tensor loss = mean(sigmoid(matmul(x, w) + b));
      REQUIRE(autograd::live_nodes() == baseline + 5);  // matmul, add, sigmoid, sum, mul_scalar
      loss.backward();
      w.zero_grad();
      b.zero_grad();
    }
    REQUIRE(autograd::live_nodes() == baseline);
  }
  CHECK(autograd::live_nodes() == baseline);
}

TEST_CASE("nodes are freed with the tensors that hold them", "[autograd]") {
  const auto baseline = autograd::live_nodes();
  {
    Tensor x = ones({2}).requires_grad_();
    Tensor y = exp(x * 2.0 + 1.0);
    CHECK(autograd::live_nodes() == baseline + 3);
  }
  CHECK(autograd::live_nodes() == baseline);
}

TEST_CASE("a very deep graph is built, run and freed without overflowing the stack", "[autograd]") {
  const auto baseline = autograd::live_nodes();
  {
    Tensor x = tensor({1.0}, kFloat64).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = y + 0.0;
    y.backward();
    CHECK(x.grad().item() == 1.0);
  }
  CHECK(autograd::live_nodes() == baseline);
}

TEST_CASE("float32 leaves receive float32 gradients from float64 computations", "[autograd]") {
  Tensor a = tensor({1.0, 2.0}).requires_grad_();  // float32
  Tensor b = tensor({3.0, 4.0}, kFloat64);
  Tensor s = sum(a * b);  // promoted to float64
  CHECK(s.dtype() == kFloat64);
  s.backward();
  CHECK(a.grad().dtype() == kFloat32);
  CHECK(a.grad().to_vector() == std::vector<double>{3, 4});
}
