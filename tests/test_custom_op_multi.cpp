// Custom Functions with several outputs and with std::vector<Tensor> arguments:
// known values and gradients, gradcheck and gradgradcheck (saved outputs under
// create_graph), non-differentiable outputs, the needs_input_grad mask, zeros
// for outputs that got no gradient, and that the graph is freed.
#include <catch2/catch.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;
using tg::testing::check_values;
using Inputs = std::vector<Tensor>;

namespace {

// (r, theta) of the points (x, y): r = sqrt(x^2 + y^2), theta = atan2(y, x).
// backward reads its own output r, saved: under create_graph it must be
// differentiated through the op.
struct Polar : autograd::Function<Polar> {
  static constexpr const char* name = "polar";
  static std::vector<Tensor> forward(autograd::Context& ctx, const Tensor& x, const Tensor& y) {
    Tensor r = sqrt(x * x + y * y);
    ctx.save_for_backward({x, y, r});
    return {r, atan2(y, x)};
  }
  static autograd::Grads backward(autograd::Context& ctx, const std::vector<Tensor>& g) {
    const std::vector<Tensor>& s = ctx.saved();   // one call: each call unpacks them anew
    const Tensor &x = s[0], &y = s[1], &r = s[2];
    // dr/dx = x/r, dr/dy = y/r, dtheta/dx = -y/r^2, dtheta/dy = x/r^2
    return {(g[0] * x - g[1] * y / r) / r, (g[0] * y + g[1] * x / r) / r};
  }
};

// Element-wise (min, max, swap) of a and b; swap (1 where b < a) is marked
// non-differentiable. Keeps the gradients backward received, to check the zeros.
struct SortPair : autograd::Function<SortPair> {
  static constexpr const char* name = "sort_pair";
  static inline std::vector<Tensor> received;
  static std::vector<Tensor> forward(autograd::Context& ctx, const Tensor& a, const Tensor& b) {
    Tensor swap = lt(b - a, 0.0);
    ctx.save_for_backward({swap});
    ctx.mark_non_differentiable({swap});
    return {where(swap, b, a), where(swap, a, b), swap};
  }
  static autograd::Grads backward(autograd::Context& ctx, const std::vector<Tensor>& g) {
    received.clear();  // detached: a static must not keep graph nodes alive until exit
    for (const Tensor& gk : g) received.push_back(gk.detach());
    const Tensor& swap = ctx.saved()[0];
    return {where(swap, g[1], g[0]), where(swap, g[0], g[1])};
  }
};

// (sum_i w_i x_i, x_0 * x_1 * ...) of a list of same-shape tensors, and the
// largest position of the first as int64. Records which gradients the engine asked for.
struct Combine : autograd::Function<Combine> {
  static constexpr const char* name = "combine";
  static inline std::vector<bool> asked;
  static std::vector<Tensor> forward(autograd::Context& ctx, const std::vector<Tensor>& xs, const Tensor& w) {
    Tensor weighted = zeros(xs[0].shape(), xs[0].dtype()), product = ones(xs[0].shape(), xs[0].dtype());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      weighted = weighted + xs[i] * narrow(w, static_cast<std::int64_t>(i), 1);
      product = product * xs[i];
    }
    std::vector<Tensor> saved = xs;
    saved.push_back(w);
    ctx.save_for_backward(saved);
    return {weighted, product, argmax(xs[0])};
  }
  static autograd::Grads backward(autograd::Context& ctx, const std::vector<Tensor>& g) {
    const std::vector<Tensor>& s = ctx.saved();
    const std::size_t n = s.size() - 1;
    const Tensor& w = s[n];
    asked.clear();
    autograd::Grads out(n + 1);
    for (std::size_t i = 0; i < n; ++i) {
      asked.push_back(ctx.needs_input_grad(i));
      if (!ctx.needs_input_grad(i)) continue;
      Tensor others = ones(s[i].shape(), s[i].dtype());
      for (std::size_t j = 0; j < n; ++j)
        if (j != i) others = others * s[j];
      out[i] = g[0] * narrow(w, static_cast<std::int64_t>(i), 1) + g[1] * others;
    }
    asked.push_back(ctx.needs_input_grad(n));
    if (ctx.needs_input_grad(n)) {
      std::vector<Tensor> parts;
      for (std::size_t i = 0; i < n; ++i) parts.push_back(reshape(sum(g[0] * s[i]), {1}));
      out[n] = cat(parts);
    }
    return out;
  }
};

// Returns its input as-is and a copy of it: both come back as fresh handles.
struct PassThrough : autograd::Function<PassThrough> {
  static constexpr const char* name = "pass_through";
  static std::vector<Tensor> forward(autograd::Context&, const Tensor& x) { return {x, x * 2.0}; }
  static autograd::Grads backward(autograd::Context&, const std::vector<Tensor>& g) { return {g[0] + g[1] * 2.0}; }
};

}  // namespace

TEST_CASE("a two-output Function: values, gradients of each output, and both together", "[custom][multi_output]") {
  Tensor x = tensor({3.0, 0.0}, kFloat64).requires_grad_();
  Tensor y = tensor({4.0, -2.0}, kFloat64).requires_grad_();
  std::vector<Tensor> rt = Polar::apply(x, y);
  REQUIRE(rt.size() == 2);
  check_values(rt[0], {5.0, 2.0});
  check_values(rt[1], {std::atan2(4.0, 3.0), -M_PI / 2}, 1e-15);
  REQUIRE(rt[0].grad_fn());
  CHECK(rt[0].grad_fn()->name() == "polar[0]");
  CHECK(rt[1].grad_fn()->name() == "polar[1]");

  // Only r: its gradient alone, theta's entry is zeros.
  sum(rt[0]).backward(true);
  check_values(x.grad(), {3.0 / 5, 0.0});
  check_values(y.grad(), {4.0 / 5, -1.0});
  x.zero_grad();
  y.zero_grad();
  // Both, weighted: 2 r + 3 theta.
  sum(rt[0] * 2.0 + rt[1] * 3.0).backward();
  check_values(x.grad(), {2 * 3.0 / 5 - 3 * 4.0 / 25, 2 * 0.0 - 3 * -2.0 / 4}, 1e-15);
  check_values(y.grad(), {2 * 4.0 / 5 + 3 * 3.0 / 25, 2 * -1.0 + 3 * 0.0}, 1e-15);
}

TEST_CASE("a two-output Function passes gradcheck and gradgradcheck", "[custom][multi_output]") {
  manual_seed(11);
  Tensor x = randn({5}, kFloat64).requires_grad_();
  Tensor y = randn({5}, kFloat64).requires_grad_();
  auto f = [](const Inputs& v) {
    std::vector<Tensor> rt = Polar::apply(v[0], v[1]);
    return rt[0] * 0.7 + rt[1] * rt[0];  // both outputs, and a product so second derivatives mix them
  };
  GradcheckResult r = gradcheck(f, {x, y});
  INFO(r.message);
  CHECK(r.passed);
  GradcheckResult rr = gradgradcheck(f, {x, y});
  INFO(rr.message);
  CHECK(rr.passed);
  // One output alone: the other gets zeros in backward, also under create_graph.
  GradcheckResult only_theta = gradgradcheck([](const Inputs& v) { return Polar::apply(v[0], v[1])[1]; }, {x, y});
  INFO(only_theta.message);
  CHECK(only_theta.passed);

  // sort_pair is piecewise linear: its second derivatives are zero, but they must come out so.
  Tensor a = tensor({0.3, -1.0, 2.0}, kFloat64).requires_grad_();
  Tensor b = tensor({1.0, -2.0, 0.5}, kFloat64).requires_grad_();
  auto g = [](const Inputs& v) {
    std::vector<Tensor> lo_hi = SortPair::apply(v[0], v[1]);
    return lo_hi[0] * 2.0 + lo_hi[1] * lo_hi[1];
  };
  GradcheckResult rs = gradcheck(g, {a, b});
  INFO(rs.message);
  CHECK(rs.passed);
  GradcheckResult rss = gradgradcheck(g, {a, b});
  INFO(rss.message);
  CHECK(rss.passed);
}

TEST_CASE("marked and int64 outputs do not require grad; backward gets zeros for unused outputs",
          "[custom][multi_output]") {
  Tensor a = tensor({1.0, 5.0}, kFloat64).requires_grad_();
  Tensor b = tensor({3.0, 2.0}, kFloat64).requires_grad_();
  std::vector<Tensor> out = SortPair::apply(a, b);
  check_values(out[0], {1.0, 2.0});
  check_values(out[1], {3.0, 5.0});
  check_values(out[2], {0.0, 1.0});
  CHECK(out[0].requires_grad());
  CHECK_FALSE(out[2].requires_grad());
  CHECK_FALSE(out[2].grad_fn());
  sum(out[1] * tensor({10.0, 20.0}, kFloat64)).backward();
  REQUIRE(SortPair::received.size() == 3);
  check_values(SortPair::received[0], {0.0, 0.0});  // min got no gradient: zeros of its shape
  check_values(SortPair::received[1], {10.0, 20.0});
  check_values(SortPair::received[2], {0.0, 0.0});
  check_values(a.grad(), {0.0, 20.0});
  check_values(b.grad(), {10.0, 0.0});

  std::vector<Tensor> xs = {tensor({1.0, 4.0}, kFloat64).requires_grad_(), tensor({2.0, 3.0}, kFloat64)};
  std::vector<Tensor> c = Combine::apply(xs, tensor({1.0, 1.0}, kFloat64));
  CHECK(c[2].dtype() == kInt64);
  CHECK(c[2].item() == 1.0);
  CHECK_FALSE(c[2].requires_grad());
  CHECK(c[0].requires_grad());

  // Nothing requires grad: nothing is recorded.
  std::vector<Tensor> plain = Polar::apply(tensor({1.0}, kFloat64), tensor({1.0}, kFloat64));
  CHECK_FALSE(plain[0].requires_grad());
  CHECK_FALSE(plain[1].grad_fn());
}

TEST_CASE("std::vector<Tensor> arguments are inputs; needs_input_grad follows them", "[custom][multi_output]") {
  Tensor x0 = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor x1 = tensor({3.0, 4.0}, kFloat64);  // no gradient wanted
  Tensor x2 = tensor({-1.0, 0.5}, kFloat64).requires_grad_();
  Tensor w = tensor({2.0, 3.0, 5.0}, kFloat64);
  std::vector<Tensor> c = Combine::apply(std::vector<Tensor>{x0, x1, x2}, w);
  check_values(c[0], {2 + 9 - 5, 4 + 12 + 2.5});
  check_values(c[1], {-3.0, 4.0});
  sum(c[0] + c[1]).backward();
  CHECK(Combine::asked == std::vector<bool>{true, false, true, false});
  check_values(x0.grad(), {2 + 3 * -1.0, 2 + 4 * 0.5});  // w_0 + x1 x2
  check_values(x2.grad(), {5 + 1 * 3.0, 5 + 2 * 4.0});   // w_2 + x0 x1
  CHECK_FALSE(x1.grad().defined());

  manual_seed(5);
  tg::testing::check_gradcheck(
      [](const Inputs& v) {
        std::vector<Tensor> r = Combine::apply(std::vector<Tensor>{v[0], v[1], v[2]}, v[3]);
        return r[0] * 1.5 + r[1];
      },
      {randn({4}, kFloat64).requires_grad_(), randn({4}, kFloat64).requires_grad_(),
       randn({4}, kFloat64).requires_grad_(), randn({3}, kFloat64).requires_grad_()});
}

TEST_CASE("multi-output Functions: outputs that are inputs, repeated passes, grad, freeing", "[custom][multi_output]") {
  const std::int64_t before = autograd::live_nodes();
  {
    Tensor x = tensor({1.0, -2.0}, kFloat64).requires_grad_();
    std::vector<Tensor> p = PassThrough::apply(x);
    CHECK_FALSE(p[0].is_same(x));  // a handle of its own, recorded
    CHECK(p[0].requires_grad());
    CHECK_FALSE(x.grad_fn());
    Tensor loss = sum(p[0] * 3.0 + p[1]);
    // retain_graph: a second backward adds exactly the same gradient, no stale hand-overs.
    loss.backward(true);
    check_values(x.grad(), {5.0, 5.0});
    loss.backward();
    check_values(x.grad(), {10.0, 10.0});

    // autograd::grad of one output only.
    Tensor a = tensor({3.0}, kFloat64).requires_grad_(), b = tensor({4.0}, kFloat64).requires_grad_();
    std::vector<Tensor> rt = Polar::apply(a, b);
    std::vector<Tensor> g = autograd::grad({rt[1]}, {a, b});
    check_values(g[0], {-4.0 / 25});
    check_values(g[1], {3.0 / 25});
    // Second derivative of r through the saved output: d2r/dx2 = y^2 / r^3.
    std::vector<Tensor> gr = autograd::grad({sum(Polar::apply(a, b)[0])}, {a}, {}, std::nullopt, true);
    std::vector<Tensor> grr = autograd::grad({gr[0]}, {a});
    check_values(grr[0], {16.0 / 125}, 1e-15);
  }
  CHECK(autograd::live_nodes() == before);
}

namespace {
// Returns a gradient per output instead of per input.
struct Wrong : autograd::Function<Wrong> {
  static constexpr const char* name = "wrong";
  static std::vector<Tensor> forward(autograd::Context&, const Tensor& x) { return {x * 1.0, x * 2.0}; }
  static autograd::Grads backward(autograd::Context&, const std::vector<Tensor>& g) { return {g[0], g[1]}; }
};
}  // namespace

TEST_CASE("a multi-output backward returning the wrong number of gradients is refused", "[custom][multi_output]") {
  Tensor x = tensor({1.0}, kFloat64).requires_grad_();
  std::vector<Tensor> out = Wrong::apply(x);
  CHECK_THROWS_WITH(sum(out[0]).backward(), Contains("backward of 'wrong' returned 2 gradients for 1 inputs"));
}
