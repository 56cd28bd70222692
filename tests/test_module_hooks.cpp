// Module forward hooks (pre-hooks and hooks: replacing, inspecting, order,
// removal, nesting, summary), and modules that take several tensors.
#include <catch2/catch.hpp>

#include "test_helpers.hpp"

using namespace tg;
using namespace tg::nn;
using Catch::Contains;
using Catch::StartsWith;
using tg::testing::check_values;

namespace {

// y = x * w with one float64 weight, so every value and gradient is known by hand.
struct Scale : Module {
  Tensor w;
  explicit Scale(double v) { w = register_parameter("w", tensor({v}, kFloat64)); }
  Tensor forward(const Tensor& x) override { return x * w; }
};

// Two Scale children, run one after the other: y = x * a * b.
struct Chain : Module {
  std::shared_ptr<Scale> first, second;
  Chain(double a, double b) {
    first = register_module("first", std::make_shared<Scale>(a));
    second = register_module("second", std::make_shared<Scale>(b));
  }
  Tensor forward(const Tensor& x) override { return (*second)((*first)(x)); }
};

}  // namespace

TEST_CASE("a forward hook replacing the output changes the result and the gradients", "[hooks]") {
  Scale m(2.0);
  Tensor x = tensor({1.0, 3.0}, kFloat64).requires_grad_();
  RemovableHandle h = m.register_forward_hook(
      [](Module&, const Tensor&, const Tensor& y) { return y * 3.0; });
  Tensor y = m(x);
  check_values(y, {6.0, 18.0});  // 3 * x * 2
  sum(y).backward();
  check_values(m.w.grad(), {12.0});   // d/dw sum(3 x w) = 3 * (1 + 3)
  check_values(x.grad(), {6.0, 6.0});  // 3 * w

  h.remove();
  m.zero_grad();
  Tensor y2 = m(x);
  check_values(y2, {2.0, 6.0});
  sum(y2).backward();
  check_values(m.w.grad(), {4.0});
}

TEST_CASE("a forward pre-hook replacing the input changes what forward sees", "[hooks]") {
  Scale m(2.0);
  Tensor x = tensor({1.0, -1.0}, kFloat64).requires_grad_();
  Tensor seen_by_hook;
  m.register_forward_pre_hook([](Module&, const Tensor& in) { return in + 1.0; });
  m.register_forward_hook([&](Module&, const Tensor& in, const Tensor&) { seen_by_hook = in; });
  Tensor y = m(x);
  check_values(y, {4.0, 0.0});          // (x + 1) * 2
  check_values(seen_by_hook, {2.0, 0.0});  // the forward hook gets the input forward got
  sum(y).backward();
  check_values(x.grad(), {2.0, 2.0});
  check_values(m.w.grad(), {2.0});  // sum(x + 1)
}

TEST_CASE("forward hooks run in registration order, each on what the previous one left", "[hooks]") {
  Scale m(1.0);
  const Tensor x = tensor({2.0}, kFloat64);
  std::vector<std::string> log;
  m.register_forward_pre_hook([&](Module&, const Tensor& in) {
    log.push_back("pre1");
    return in * 10.0;
  });
  m.register_forward_pre_hook([&](Module&, const Tensor& in) {
    log.push_back("pre2");
    return in + 1.0;
  });
  m.register_forward_hook([&](Module&, const Tensor&, const Tensor& out) {
    log.push_back("post1");
    return out * 2.0;
  });
  m.register_forward_hook([&](Module&, const Tensor&, const Tensor& out) {
    log.push_back("post2");
    return out - 5.0;
  });
  check_values(m(x), {(2.0 * 10 + 1) * 2 - 5});  // 37; the other orders give 38, 35, 31...
  CHECK(log == std::vector<std::string>{"pre1", "pre2", "post1", "post2"});
}

TEST_CASE("removing forward hooks: each handle removes its own hook, once", "[hooks]") {
  Scale m(1.0);
  const Tensor x = tensor({1.0}, kFloat64);
  int a = 0, b = 0;
  RemovableHandle ha = m.register_forward_hook([&](Module&, const Tensor&, const Tensor&) { ++a; });
  RemovableHandle hb = m.register_forward_pre_hook([&](Module&, const Tensor&) { ++b; });
  m(x);
  ha.remove();
  ha.remove();  // a second remove does nothing
  m(x);
  CHECK(a == 1);
  CHECK(b == 2);
  hb.remove();
  m(x);
  CHECK(b == 2);

  // A hook may remove itself while it runs; the others of that call still run.
  RemovableHandle self;
  int runs = 0, other = 0;
  self = m.register_forward_hook([&](Module&, const Tensor&, const Tensor&) {
    ++runs;
    self.remove();
  });
  m.register_forward_hook([&](Module&, const Tensor&, const Tensor&) { ++other; });
  m(x);
  m(x);
  CHECK(runs == 1);
  CHECK(other == 2);

  // Removing after the module is gone does nothing.
  RemovableHandle late;
  {
    Scale gone(1.0);
    late = gone.register_forward_hook([](Module&, const Tensor&, const Tensor&) {});
  }
  late.remove();
}

TEST_CASE("hooks on nested modules get the module they are registered on", "[hooks]") {
  Chain chain(2.0, 5.0);
  std::vector<std::pair<const Module*, double>> calls;
  auto record = [&](Module& m, const Tensor&, const Tensor& y) { calls.emplace_back(&m, y.item()); };
  chain.first->register_forward_hook(record);
  chain.second->register_forward_hook(record);
  chain.register_forward_hook(record);
  CHECK(chain(tensor({1.0}, kFloat64)).item() == 10.0);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0] == std::make_pair(static_cast<const Module*>(chain.first.get()), 2.0));
  CHECK(calls[1] == std::make_pair(static_cast<const Module*>(chain.second.get()), 10.0));
  CHECK(calls[2] == std::make_pair(static_cast<const Module*>(&chain), 10.0));

  // Replacing a child's output inside a Sequential changes what the next layer gets.
  Sequential seq(std::make_shared<Scale>(2.0), std::make_shared<Scale>(3.0));
  seq.at<Scale>(0)->register_forward_hook([](Module&, const Tensor&, const Tensor& y) { return -y; });
  CHECK(seq(tensor({1.0}, kFloat64)).item() == -6.0);
}

TEST_CASE("forward hooks: errors inside carry the module path; empty hooks are refused", "[hooks]") {
  Sequential seq(std::make_shared<Scale>(2.0), std::make_shared<Scale>(3.0));
  seq.at<Scale>(1)->register_forward_pre_hook([](Module&, const Tensor& x) -> Tensor {
    throw std::invalid_argument("check: bad input " + x.shape().str());
  });
  CHECK_THROWS_WITH(seq(tensor({1.0}, kFloat64)), StartsWith("Sequential[1] Scale: check: bad input [1]"));
  Scale m(1.0);
  CHECK_THROWS_WITH(m.register_forward_hook(Module::ForwardHook()),
                    Contains("Scale.register_forward_hook: the hook is empty"));
  CHECK_THROWS_WITH(m.register_forward_pre_hook(Module::ForwardPreHook()),
                    Contains("Scale.register_forward_pre_hook: the hook is empty"));
}

TEST_CASE("summary watches through forward hooks and removes them, also after an error", "[hooks][nn]") {
  // A module called twice through two registrations gives one row per call, not per registration.
  auto shared = std::make_shared<Linear>(3, 3);
  Sequential twice(shared, std::make_shared<ReLU>(), shared);
  const ModelSummary s = summary(twice, {2, 3});
  REQUIRE(s.rows.size() == 3);
  CHECK(s.rows[0].path == "0");
  CHECK(s.rows[1].type == "ReLU");
  CHECK(s.rows[2].path == "0");  // the first path of the shared module
  CHECK(s.rows[2].output_shape == Shape{2, 3});

  // A failing pass leaves no hook behind: the next summary has each row once,
  // and a user's hook registered before still runs once per call.
  Sequential net(std::make_shared<Linear>(4, 2), std::make_shared<Linear>(2, 1));
  int user_calls = 0;
  net.at<Linear>(1)->register_forward_hook([&](Module&, const Tensor&, const Tensor&) { ++user_calls; });
  CHECK_THROWS_WITH(summary(net, {1, 5}), StartsWith("Sequential[0] Linear(4->2): input has 5 features"));
  const ModelSummary ok = summary(net, {1, 4});
  REQUIRE(ok.rows.size() == 2);
  CHECK(ok.rows[1].output_shape == Shape{1, 1});
  CHECK(user_calls == 1);
  net(zeros({1, 4}));
  CHECK(user_calls == 2);
}

// ---- modules with several inputs ----------------------------------------------------------

namespace {

// score_i = a_i^T W b_i for each row i: a module whose call takes two tensors.
struct BilinearScore : Module {
  Tensor weight;
  explicit BilinearScore(std::int64_t n) {
    weight = register_parameter("weight", reshape(arange(0.0, static_cast<double>(n * n), 1.0, kFloat64), {n, n}));
  }
  std::string extra_repr() const override { return "n=" + std::to_string(weight.size(0)); }
  using Module::operator();
  Tensor operator()(const Tensor& a, const Tensor& b) {
    return with_module_path([&] { return sum(matmul(a, weight) * b, {1}); });
  }
};

// Scores each row of x against its own projection: score(proj(x), x).
struct Scorer : Module {
  std::shared_ptr<Linear> proj;
  std::shared_ptr<BilinearScore> score;
  Scorer(std::int64_t in, std::int64_t score_n) {
    proj = register_module("proj", std::make_shared<Linear>(in, in));
    score = register_module("score", std::make_shared<BilinearScore>(score_n));
  }
  Tensor forward(const Tensor& x) override { return (*score)((*proj)(x), x); }
};

}  // namespace

TEST_CASE("a module with two inputs: known values and gradients to both inputs", "[hooks][multi_input]") {
  BilinearScore score(2);  // W = [[0,1],[2,3]]
  Tensor a = tensor({1.0, 2.0}, {1, 2}, kFloat64).requires_grad_();
  Tensor b = tensor({3.0, -1.0}, {1, 2}, kFloat64).requires_grad_();
  Tensor s = score(a, b);  // a W = [4, 7]; . b = 12 - 7
  check_values(s, {5.0});
  s.backward(ones({1}, kFloat64));
  check_values(a.grad(), {-1.0, 3.0});                         // W b = [0*3 + 1*-1, 2*3 + 3*-1]
  check_values(b.grad(), {4.0, 7.0});                          // a W
  check_values(score.weight.grad(), {3.0, -1.0, 6.0, -2.0});  // a^T b

  tg::testing::check_gradcheck(
      [&score](const std::vector<Tensor>& v) { return score(v[0], v[1]); },
      {randn({3, 2}, kFloat64).requires_grad_(), randn({3, 2}, kFloat64).requires_grad_()});
}

TEST_CASE("a module with two inputs nested in a parent: errors carry the full path", "[hooks][multi_input]") {
  auto scorer = std::make_shared<Scorer>(3, 3);
  Sequential model(std::make_shared<Scale>(1.0), scorer);
  Tensor x = randn({4, 3}, kFloat64);
  CHECK(model(x).shape() == Shape{4});
  // Gradients reach the parameters used through the two-input call and before it.
  sum(model(x)).backward();
  CHECK(scorer->score->weight.grad().defined());
  CHECK(scorer->proj->weight.grad().defined());
  CHECK(model.at<Scale>(0)->w.grad().defined());

  Sequential bad(std::make_shared<Scale>(1.0), std::make_shared<Scorer>(3, 4));
  CHECK_THROWS_WITH(bad(x), StartsWith("Sequential[1].score BilinearScore(n=4): matmul"));
  BilinearScore alone(4);
  CHECK_THROWS_WITH(alone(x, x), StartsWith("BilinearScore(n=4): matmul"));
}

TEST_CASE("a module without a one-tensor forward says so, with its path", "[hooks][multi_input]") {
  Sequential seq(std::make_shared<Scale>(1.0), std::make_shared<BilinearScore>(2));
  CHECK_THROWS_WITH(seq(zeros({1, 2}, kFloat64)),
                    StartsWith("Sequential[1] BilinearScore(n=2): no one-tensor forward()") &&
                        Contains("call it through its own operator()"));
}
