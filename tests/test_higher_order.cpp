// Gradients of gradients (create_graph, autograd::grad, gradgradcheck) and
// gradient hooks (Tensor::register_hook).
#include <catch2/catch.hpp>

#include <cmath>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST_CASE("a Hessian-vector product of a quadratic is A v", "[higher_order]") {
  // f(x) = 1/2 x^T A x with A symmetric: grad f = A x, and the gradient of
  // <grad f, v> with respect to x is A v.
  const Tensor A = tensor({4.0, 1.0, -2.0, 1.0, 3.0, 0.5, -2.0, 0.5, 5.0}, {3, 3}, kFloat64);
  Tensor x = tensor({1.0, -1.0, 2.0}, {3, 1}, kFloat64).requires_grad_();
  const Tensor v = tensor({0.5, 2.0, -1.0}, {3, 1}, kFloat64);
  Tensor f = sum(x * matmul(A, x)) * 0.5;
  std::vector<Tensor> g = autograd::grad({f}, {x}, {}, std::nullopt, /*create_graph=*/true);
  REQUIRE(g[0].requires_grad());
  CHECK(values(g[0]) == values(matmul(A, x.detach())));  // A x = (1, 0, 7.5)
  std::vector<Tensor> hv = autograd::grad({sum(g[0] * v)}, {x});
  const std::vector<double> expected = {4 * 0.5 + 1 * 2 - 2 * -1.0, 1 * 0.5 + 3 * 2 + 0.5 * -1.0,
                                        -2 * 0.5 + 0.5 * 2 + 5 * -1.0};
  CHECK(values(hv[0]) == expected);
  CHECK_FALSE(x.grad().defined());  // autograd::grad returns gradients, it does not accumulate them
}

TEST_CASE("the second derivative of tanh matches its closed form", "[higher_order]") {
  // d/dx tanh = 1 - tanh^2;  d2/dx2 tanh = -2 tanh (1 - tanh^2).
  const std::vector<double> xs = {-2.0, -0.5, 0.0, 0.3, 1.7};
  Tensor x = tensor(xs, {5}, kFloat64).requires_grad_();
  Tensor first = autograd::grad({sum(tanh(x))}, {x}, {}, std::nullopt, true)[0];
  Tensor second = autograd::grad({sum(first)}, {x})[0];
  const std::vector<double> d1 = values(first), d2 = values(second);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double t = std::tanh(xs[i]);
    CHECK(d1[i] == Approx(1 - t * t).epsilon(1e-14));
    CHECK(d2[i] == Approx(-2 * t * (1 - t * t)).margin(1e-15).epsilon(1e-13));
  }
}

TEST_CASE("backward(create_graph) leaves differentiable gradients in grad()", "[higher_order]") {
  // y = x^3: x.grad() = 3x^2 with a graph; its backward adds 6x to x.grad().
  Tensor x = tensor({2.0}, kFloat64).requires_grad_();
  Tensor y = sum(x * x * x);
  y.backward(std::nullopt, /*create_graph=*/true);
  Tensor g = x.grad();
  REQUIRE(g.requires_grad());
  CHECK(g.item() == 12.0);
  g.backward();
  CHECK(x.grad().item() == 12.0 + 12.0);
  x.zero_grad();  // the create_graph gradient holds x through its graph
}

TEST_CASE("a WGAN-GP gradient penalty is differentiable and trains", "[higher_order]") {
  // penalty(W) = mean_i (|| d critic(x_i) / d x_i || - 1)^2 for a two-layer critic.
  const Tensor x = tensor({0.5, -1.0, 1.5, 0.2, -0.7, 0.9, 2.0, -1.2, 0.1, 0.4, -0.3, -1.8}, {6, 2}, kFloat64);
  auto penalty = [&](const Tensor& w1, const Tensor& w2) {
    Tensor xi = x.detach().clone().requires_grad_();
    Tensor critic = matmul(tanh(matmul(xi, w1)), w2);
    Tensor gx = autograd::grad({sum(critic)}, {xi}, {}, std::nullopt, /*create_graph=*/true)[0];
    Tensor norms = sqrt(sum(gx * gx, {1}) + 1e-12);
    return mean((norms - 1.0) * (norms - 1.0));
  };
  Tensor w1 = tensor({0.8, -0.5, 0.3, 1.1, 0.6, -0.9}, {2, 3}, kFloat64).requires_grad_();
  Tensor w2 = tensor({1.5, -0.7, 0.9}, {3, 1}, kFloat64).requires_grad_();

  // The gradient of the penalty with respect to the weights needs the double
  // backward of matmul and tanh: finite differences agree with it.
  GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& w) { return penalty(w[0], w[1]); }, {w1, w2});
  INFO(r.message);
  CHECK(r.passed);

  optim::SGD opt({w1, w2}, 0.3);
  const double first = penalty(w1, w2).item();
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    penalty(w1, w2).backward();
    opt.step();
  }
  const double last = penalty(w1, w2).item();
  CHECK(first > 0.1);
  INFO("penalty " << first << " -> " << last);
  CHECK(last < 0.05 * first);  // 0.273 -> 0.0057 in 200 steps
}

TEST_CASE("autograd::grad runs only what it needs and refuses what it cannot answer", "[higher_order]") {
  Tensor a = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor b = tensor({3.0, 4.0}, kFloat64).requires_grad_();
  Tensor c = tensor({5.0, 6.0}, kFloat64).requires_grad_();
  Tensor y = sum(a * b);
  SECTION("a gradient per input, nothing accumulated") {
    std::vector<Tensor> g = autograd::grad({y}, {b, a});
    CHECK(values(g[0]) == std::vector<double>{1, 2});
    CHECK(values(g[1]) == std::vector<double>{3, 4});
    CHECK_FALSE(a.grad().defined());
    CHECK_FALSE(b.grad().defined());
  }
  SECTION("an unused input") {
    CHECK_THROWS_WITH(autograd::grad({y}, {c}), Catch::Contains("input 0") && Catch::Contains("allow_unused"));
    std::vector<Tensor> g = autograd::grad({y}, {a, c}, {}, std::nullopt, false, /*allow_unused=*/true);
    CHECK(values(g[0]) == std::vector<double>{3, 4});
    CHECK_FALSE(g[1].defined());
  }
  SECTION("a non-leaf input gets the gradient flowing into it") {
    Tensor ab = a * b;
    Tensor z = sum(ab * ab);
    CHECK(values(autograd::grad({z}, {ab})[0]) == std::vector<double>{6, 16});
  }
  SECTION("several outputs, with grad_outputs") {
    Tensor y2 = a * c;
    std::vector<Tensor> g = autograd::grad({y, y2}, {a}, {Tensor(), tensor({1.0, -1.0}, kFloat64)});
    CHECK(values(g[0]) == std::vector<double>{3 + 5, 4 - 6});
  }
  SECTION("errors") {
    Tensor fixed = tensor({1.0, 2.0}, kFloat64);
    CHECK_THROWS_WITH(autograd::grad({y}, {fixed}), Catch::Contains("does not require grad"));
    CHECK_THROWS_WITH(autograd::grad({a * b}, {a}), Catch::Contains("one-element outputs"));
    CHECK_THROWS_WITH(autograd::grad({y}, {a}, {tensor({1.0, 2.0}, kFloat64)}),
                      Catch::Contains("grad_outputs[0] has shape [2]"));
    autograd::grad({y}, {a});  // frees the graph (retain_graph defaults to create_graph, false)
    CHECK_THROWS_WITH(autograd::grad({y}, {a}), Catch::Contains("second time"));
  }
}

namespace {
// x^3 with a backward made of tapegrad ops on the saved input: twice differentiable.
struct Cube : autograd::Function<Cube> {
  static constexpr const char* name = "cube";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x * x;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) {
    const Tensor x = ctx.saved()[0];
    return {gy * x * x * 3.0};
  }
};
// The same op with a backward that cuts its input off the tape: its first
// derivative is right, its second is not.
struct CubeDetached : autograd::Function<CubeDetached> {
  static constexpr const char* name = "cube_detached";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x * x;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) {
    const Tensor x = ctx.saved()[0].detach();
    return {gy * x * x * 3.0};
  }
};
// exp with its output saved: the double backward goes through the op itself.
struct Exp : autograd::Function<Exp> {
  static constexpr const char* name = "custom_exp";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    Tensor y = exp(x);
    ctx.save_for_backward({y});
    return y;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) { return {gy * ctx.saved()[0]}; }
};
}  // namespace

TEST_CASE("gradgradcheck checks second derivatives, of custom ops too", "[higher_order][gradcheck]") {
  const Tensor x = tensor({0.7, -1.3, 0.4}, kFloat64).requires_grad_();
  CHECK(gradgradcheck([](const std::vector<Tensor>& in) { return Cube::apply(in[0]); }, {x}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& in) { return Exp::apply(in[0]); }, {x}));
  CHECK(gradgradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]) * in[0]; }, {x}));

  // A first derivative that is right does not make the second right.
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return CubeDetached::apply(in[0]); }, {x}));
  GradcheckResult r = gradgradcheck([](const std::vector<Tensor>& in) { return CubeDetached::apply(in[0]); }, {x});
  CHECK_FALSE(r.passed);
  CHECK_THAT(r.message, Catch::StartsWith("gradgradcheck: Jacobian mismatch for input 0"));
}

TEST_CASE("a gradient hook can inspect or replace a gradient, until removed", "[hooks]") {
  Tensor w = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  SECTION("a leaf's hook sees the gradient summed over its uses, once") {
    int calls = 0;
    std::vector<double> seen;
    w.register_hook([&](const Tensor& g) {
      ++calls;
      seen = values(g);
    });
    sum(w * 3.0 + w * w).backward();  // 3 + 2w
    CHECK(calls == 1);
    CHECK(seen == std::vector<double>{5, 7});
    CHECK(values(w.grad()) == std::vector<double>{5, 7});
  }
  SECTION("a replacing hook changes what reaches grad(); remove() undoes it") {
    RemovableHandle h = w.register_hook([](const Tensor& g) { return g * 10.0; });
    sum(w * 3.0).backward();
    CHECK(values(w.grad()) == std::vector<double>{30, 30});
    h.remove();
    h.remove();  // a second remove does nothing
    w.zero_grad();
    sum(w * 3.0).backward();
    CHECK(values(w.grad()) == std::vector<double>{3, 3});
  }
  SECTION("a non-leaf's hook changes the gradient flowing on to its inputs") {
    Tensor h = w * 2.0;
    h.register_hook([](const Tensor& g) { return g * 0.0 + 1.0; });  // replaced by ones
    sum(h * h).backward();                                         // would be 2h * 2 = (8, 16)
    CHECK(values(w.grad()) == std::vector<double>{2, 2});
  }
  SECTION("hooks run in autograd::grad too") {
    w.register_hook([](const Tensor& g) { return -g; });
    CHECK(values(autograd::grad({sum(w * w)}, {w})[0]) == std::vector<double>{-2, -4});
  }
  SECTION("errors") {
    Tensor fixed = tensor({1.0}, kFloat64);
    CHECK_THROWS_WITH(fixed.register_hook([](const Tensor&) {}), Catch::Contains("does not require grad"));
    w.register_hook([](const Tensor&) { return tensor({1.0, 2.0, 3.0}, kFloat64); });
    CHECK_THROWS_WITH(sum(w).backward(), Catch::Contains("hook returned") && Catch::Contains("[2]"));
  }
}
