// tg::nn::Module, Linear, activations, Sequential, Dropout: known answers,
// parameter naming, printing, error paths, dtype conversion, and gradients
// against finite differences (gradcheck_module, float64).
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using namespace tg::nn;
using Catch::Contains;
using V = std::vector<double>;

namespace {

bool near(const V& a, const V& b, double tol = 1e-6) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > tol * (1 + std::abs(b[i]))) return false;
  return true;
}

void set(Tensor t, const V& values) {
  NoGradGuard no_grad;
  t.copy_(tensor(values, t.shape(), t.dtype()));
}

void check_module(Module& m, const Tensor& x) {
  GradcheckResult r = gradcheck_module(m, x);
  INFO(r.message);
  CHECK(r.passed);
}

struct Net : Module {
  std::shared_ptr<Sequential> features;
  std::shared_ptr<Linear> head;
  Net() {
    features = register_module("features", std::make_shared<Sequential>(std::make_shared<Linear>(3, 5),
                                                                         std::make_shared<Tanh>(),
                                                                         std::make_shared<Linear>(5, 4)));
    head = register_module("head", std::make_shared<Linear>(4, 2));
  }
  Tensor forward(const Tensor& x) override { return (*head)(relu((*features)(x))); }
};

// d/dx x^2 deliberately wrong (x instead of 2x): gradcheck_module must catch it.
struct WrongSquare : autograd::Function<WrongSquare> {
  static constexpr const char* name = "wrong_square";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) { return {gy * ctx.saved()[0]}; }
};
struct WrongSquareLayer : Module {
  Tensor scale;
  WrongSquareLayer() { scale = register_parameter("scale", tensor({1.5, -0.5}, kFloat64)); }
  Tensor forward(const Tensor& x) override { return WrongSquare::apply(x * scale); }
};

}  // namespace

TEST_CASE("Linear computes H = XW + b with W of shape (in, out)", "[nn]") {
  Linear fc(3, 2);
  REQUIRE(fc.weight.shape() == Shape{3, 2});
  REQUIRE(fc.bias.shape() == Shape{2});
  set(fc.weight, {1, 2, 3, 4, 5, 6});  // rows are input features
  set(fc.bias, {0.5, -1});
  Tensor x = tensor({1, 0, -1, 2, 1, 0}, {2, 3});
  // row 0: [1,0,-1] W = [1-5, 2-6] = [-4,-4]; row 1: [2,1,0] W = [2+3, 4+4] = [5, 8]
  CHECK(fc(x).to_vector() == V{-3.5, -5, 5.5, 7});
  // Leading dimensions are kept; a 1-D input is one sample.
  CHECK(fc(reshape(x, {2, 1, 3})).shape() == Shape{2, 1, 2});
  CHECK(fc(tensor({1, 0, -1})).to_vector() == V{-3.5, -5});
  Linear no_bias(3, 2, false);
  CHECK(!no_bias.bias.defined());
  CHECK(no_bias.parameters().size() == 1);
}

TEST_CASE("Linear's default init is PyTorch's U(-1/sqrt(in), 1/sqrt(in)), reproducible by seed", "[nn]") {
  manual_seed(42);
  Linear a(400, 50);
  manual_seed(42);
  Linear b(400, 50);
  CHECK(a.weight.to_vector() == b.weight.to_vector());
  CHECK(a.bias.to_vector() == b.bias.to_vector());
  const double bound = 1.0 / std::sqrt(400.0);
  const V w = a.weight.to_vector();
  double sum = 0, sq = 0, max_abs = 0;
  for (double v : w) {
    sum += v;
    sq += v * v;
    max_abs = std::max(max_abs, std::abs(v));
  }
  const double n = static_cast<double>(w.size());
  CHECK(max_abs <= bound);
  CHECK(max_abs > 0.99 * bound);  // 20 000 draws reach the edge
  // U(-b, b): mean 0, variance b^2/3; 5 standard errors of the sample mean.
  CHECK(std::abs(sum / n) < 5 * bound / std::sqrt(3 * n));
  CHECK(sq / n == Approx(bound * bound / 3).epsilon(0.05));
  for (double v : a.bias.to_vector()) CHECK(std::abs(v) <= bound);
}

TEST_CASE("activation modules apply their ops", "[nn]") {
  Tensor x = tensor({-2, 0, 3, 1}, {2, 2}, kFloat64);
  CHECK(ReLU()(x).to_vector() == V{0, 0, 3, 1});
  CHECK(near(Sigmoid()(x).to_vector(), V{1 / (1 + std::exp(2.0)), 0.5, 1 / (1 + std::exp(-3.0)), 1 / (1 + std::exp(-1.0))}));
  CHECK(near(Tanh()(x).to_vector(), V{std::tanh(-2.0), 0, std::tanh(3.0), std::tanh(1.0)}));
  const double e = std::exp(1.0), z = 1 + std::exp(-2.0);
  CHECK(near(Softmax(1)(x).to_vector(), V{1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(-2.0)), e * e / (e * e + 1), 1 / (e * e + 1)}));
  CHECK(near(Softmax(0)(x).to_vector(), V{std::exp(-2.0) / (std::exp(-2.0) + std::exp(3.0)), 1 / (1 + e),
                                          std::exp(3.0) / (std::exp(-2.0) + std::exp(3.0)), e / (1 + e)}));
  CHECK(near(LogSoftmax(-1)(x).to_vector(), V{-2 - std::log(std::exp(-2.0) + 1), -std::log(std::exp(-2.0) + 1),
                                              -std::log(z), -2 - std::log(z)}));
  CHECK(Flatten()(ones({2, 3, 4, 5})).shape() == Shape{2, 60});
  CHECK(Flatten(0)(ones({2, 3, 4})).shape() == Shape{24});
  CHECK(Flatten(1, 2)(ones({2, 3, 4, 5})).shape() == Shape{2, 12, 5});
}

TEST_CASE("Sequential: construction, indexing, nesting and parameter names", "[nn]") {
  auto inner = std::make_shared<Sequential>(std::make_shared<Linear>(4, 3), std::make_shared<Sigmoid>());
  Sequential seq({std::make_shared<Linear>(2, 4), std::make_shared<ReLU>(), inner});
  seq.add(std::make_shared<Linear>(3, 1)).push_back(std::make_shared<Sigmoid>());
  CHECK(seq.size() == 5);
  CHECK(seq[1]->type_name() == "ReLU");
  CHECK(seq.at<Sequential>(2) == inner);
  CHECK(seq.at<Linear>(3)->out_features() == 1);
  CHECK_THROWS_WITH(seq.at<Linear>(1), Contains("module 1 is a ReLU"));
  CHECK_THROWS_WITH(seq[5], Contains("Sequential[5]") && Contains("out of range") && Contains("5 modules"));

  std::vector<std::string> names;
  for (const auto& [name, p] : seq.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.0.weight", "2.0.bias", "3.weight", "3.bias"});
  CHECK(seq.parameters().size() == 6);
  CHECK(seq.num_parameters() == (2 * 4 + 4) + (4 * 3 + 3) + (3 + 1));
  CHECK(seq(ones({7, 2})).shape() == Shape{7, 1});
  CHECK(Sequential()(ones({2, 2})).to_vector() == V{1, 1, 1, 1});  // empty: the identity

  Net net;
  names.clear();
  for (const auto& [name, p] : net.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"features.0.weight", "features.0.bias", "features.2.weight",
                                          "features.2.bias", "head.weight", "head.bias"});
  std::vector<std::string> modules;
  for (const auto& [name, m] : net.named_modules()) modules.push_back(name + ":" + m->type_name());
  CHECK(modules == std::vector<std::string>{":Net", "features:Sequential", "features.0:Linear", "features.1:Tanh",
                                            "features.2:Linear", "head:Linear"});
}

TEST_CASE("a module shared twice counts its parameters once", "[nn]") {
  auto shared = std::make_shared<Linear>(2, 2);
  Sequential seq(shared, std::make_shared<Tanh>(), shared);
  CHECK(seq.parameters().size() == 2);
  CHECK(seq.named_parameters()[0].first == "0.weight");
}

TEST_CASE("modules print like PyTorch", "[nn]") {
  Sequential seq(std::make_shared<Linear>(196, 8), std::make_shared<ReLU>(), std::make_shared<Dropout>(0.25),
                 std::make_shared<Sequential>(std::make_shared<Linear>(8, 2, false), std::make_shared<LogSoftmax>(1)),
                 std::make_shared<Flatten>());
  std::ostringstream os;
  os << seq;
  CHECK(os.str() ==
        "Sequential(\n"
        "  (0): Linear(in_features=196, out_features=8, bias=true)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.25)\n"
        "  (3): Sequential(\n"
        "    (0): Linear(in_features=8, out_features=2, bias=false)\n"
        "    (1): LogSoftmax(dim=1)\n"
        "  )\n"
        "  (4): Flatten(start_dim=1, end_dim=-1)\n"
        ")");
  std::ostringstream net;
  net << Net();
  CHECK_THAT(net.str(), Contains("Net(\n  (features): Sequential(\n    (0): Linear(in_features=3, out_features=5"));
}

TEST_CASE("shape errors inside a module name the module path", "[nn]") {
  // A small MNIST CNN's classifier fed 200 features where 196 are expected.
  Sequential seq(std::make_shared<Linear>(3, 200), std::make_shared<ReLU>(), std::make_shared<Tanh>(),
                 std::make_shared<Sigmoid>(), std::make_shared<ReLU>(), std::make_shared<Tanh>(),
                 std::make_shared<ReLU>(), std::make_shared<Linear>(196, 8));
  CHECK_THROWS_AS(seq(ones({2, 3})), std::invalid_argument);
  CHECK_THROWS_WITH(seq(ones({2, 3})),
                    "Sequential[7] Linear(196->8): input has 200 features, expected 196 (input [2,200] float32)");
  // Called directly, a layer names itself.
  CHECK_THROWS_WITH(Linear(196, 8)(ones({2, 200})), Catch::StartsWith("Linear(196->8): input has 200 features"));
  // Nested containers and named members give the full path.
  Net net;
  CHECK_THROWS_WITH(net(ones({4, 6})), "Net.features[0] Linear(3->5): input has 6 features, expected 3 (input [4,6] float32)");
  auto outer = std::make_shared<Sequential>(std::make_shared<ReLU>(),
                                            std::make_shared<Sequential>(std::make_shared<Tanh>(), std::make_shared<Linear>(2, 1)));
  CHECK_THROWS_WITH((*outer)(ones({1, 3})), Catch::StartsWith("Sequential[1][1] Linear(2->1): input has 3 features"));
  // Errors raised by an op inside a module get the same prefix.
  Sequential soft(std::make_shared<ReLU>(), std::make_shared<Softmax>(3));
  CHECK_THROWS_WITH(soft(ones({2, 2})), Catch::StartsWith("Sequential[1] Softmax(dim=3): softmax") && Contains("axis 3"));
  CHECK_THROWS_WITH(ReLU()(tensor_i64({1}, {1})), Catch::StartsWith("ReLU: relu") && Contains("int64"));
}

TEST_CASE("module construction and registration refuse bad arguments", "[nn]") {
  CHECK_THROWS_WITH(Linear(0, 3), Contains("Linear") && Contains("positive"));
  CHECK_THROWS_WITH(Dropout(1.5), Contains("Dropout: p must be in [0, 1], got 1.5"));
  struct Bad : Module {
    explicit Bad(int which) {
      register_parameter("w", ones({2}));
      if (which == 0) register_parameter("w", ones({2}));
      if (which == 1) register_module("a.b", std::make_shared<ReLU>());
      if (which == 2) register_module("m", std::shared_ptr<ReLU>());
      if (which == 3) register_parameter("labels", tensor_i64({1}, {1}));
    }
    Tensor forward(const Tensor& x) override { return x; }
  };
  CHECK_THROWS_WITH(Bad(0), Contains("Bad") && Contains("'w'") && Contains("already used"));
  CHECK_THROWS_WITH(Bad(1), Contains("'a.b'") && Contains("no '.'"));
  CHECK_THROWS_WITH(Bad(2), Contains("'m'") && Contains("null"));
  CHECK_THROWS_WITH(Bad(3), Contains("register_parameter") && Contains("int64"));
}

TEST_CASE("train/eval reach every submodule; zero_grad drops gradients", "[nn]") {
  Net net;
  CHECK(net.is_training());
  net.eval();
  for (const auto& [name, m] : net.named_modules()) CHECK_FALSE(m->is_training());
  net.train();
  for (const auto& [name, m] : net.named_modules()) CHECK(m->is_training());

  sum(net(ones({2, 3}))).backward();
  for (const Tensor& p : net.parameters()) CHECK(p.grad().defined());
  net.zero_grad();
  for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Module::to converts in place and keeps the handles", "[nn]") {
  Net net;
  const std::vector<Tensor> before = net.parameters();
  const V w = net.head->weight.to_vector();
  sum(net(ones({1, 3}))).backward();
  net.to(kFloat64);
  for (std::size_t i = 0; i < before.size(); ++i) {
    CHECK(before[i].is_same(net.parameters()[i]));
    CHECK(before[i].dtype() == kFloat64);
    CHECK(before[i].requires_grad());
    CHECK_FALSE(before[i].grad().defined());
  }
  CHECK(net.head->weight.to_vector() == w);  // float32 -> float64 is exact
  CHECK(net(ones({1, 3}, kFloat64)).dtype() == kFloat64);
  CHECK_THROWS_WITH(net.to(kInt64), Contains("Net.to") && Contains("int64"));
}

TEST_CASE("module gradients match finite differences: Linear and Sequentials with every activation", "[nn]") {
  manual_seed(7);
  Linear fc(4, 3);
  fc.to(kFloat64);
  check_module(fc, randn({5, 4}, kFloat64));
  check_module(fc, randn({2, 3, 4}, kFloat64));  // leading dimensions folded and unfolded
  Linear no_bias(3, 2, false);
  check_module(no_bias.to(kFloat64), randn({4, 3}, kFloat64));

  const std::vector<std::pair<std::string, std::function<ModulePtr()>>> activations = {
      {"ReLU", [] { return std::make_shared<ReLU>(); }},
      {"Sigmoid", [] { return std::make_shared<Sigmoid>(); }},
      {"Tanh", [] { return std::make_shared<Tanh>(); }},
      {"Softmax", [] { return std::make_shared<Softmax>(1); }},
      {"LogSoftmax", [] { return std::make_shared<LogSoftmax>(1); }},
      {"Flatten", [] { return std::make_shared<Flatten>(); }},
      {"Dropout (eval)", [] { return std::make_shared<Dropout>(0.5); }},
  };
  for (const auto& [name, make] : activations) {
    INFO(name);
    Sequential seq(std::make_shared<Linear>(3, 6), make(), std::make_shared<Linear>(6, 2), make());
    seq.to(kFloat64);
    seq.eval();  // Dropout is deterministic only in eval mode
    check_module(seq, randn({4, 3}, kFloat64));
  }
  Net net;
  check_module(net.to(kFloat64), randn({3, 3}, kFloat64));
}

TEST_CASE("gradcheck_module catches a wrong backward rule and refuses float32", "[nn]") {
  WrongSquareLayer bad;
  GradcheckResult r = gradcheck_module(bad, tensor({0.7, -1.2, 0.4, 2.0}, {2, 2}, kFloat64));
  CHECK_FALSE(r.passed);
  CHECK_THAT(r.message, Contains("gradcheck_module") && Contains("WrongSquareLayer") && Contains("Jacobian mismatch"));
  Linear f32(2, 2);
  r = gradcheck_module(f32, ones({1, 2}, kFloat64));
  CHECK_FALSE(r.passed);
  CHECK_THAT(r.message, Contains("parameter 'weight'") && Contains("float32") && Contains("to(tg::kFloat64)"));
  // The module's gradients are left as they were.
  Linear fc(2, 1);
  fc.to(kFloat64);
  CHECK(gradcheck_module(fc, ones({1, 2}, kFloat64)).passed);
  CHECK_FALSE(fc.weight.grad().defined());
}

TEST_CASE("Dropout: identity in eval, inverted scaling in train", "[nn]") {
  Dropout drop(0.3);
  Tensor x = randn({4, 5});
  drop.eval();
  CHECK(drop(x).is_same(x));
  drop.train();

  const std::int64_t n = 200000;
  const double p = 0.3;
  manual_seed(11);
  Tensor xs = ones({n}, kFloat64).requires_grad_();
  Tensor y = drop(xs);
  const V out = y.to_vector();
  std::int64_t zeros_seen = 0;
  double total = 0;
  bool only_two_values = true;
  for (double v : out) {
    total += v;
    if (v == 0) ++zeros_seen;
    else only_two_values &= std::abs(v - 1 / (1 - p)) < 1e-12;
  }
  CHECK(only_two_values);  // survivors are scaled by 1/(1-p)
  const double frac = static_cast<double>(zeros_seen) / n;
  CHECK(std::abs(frac - p) < 5 * std::sqrt(p * (1 - p) / n));  // zeroed fraction ~ Binomial(n, p)/n
  // E[y] = x = 1; each output has variance p/(1-p).
  CHECK(std::abs(total / n - 1.0) < 5 * std::sqrt(p / (1 - p) / n));
  // Backward comes from the mask multiplication: dx = mask = y / x.
  sum(y).backward();
  CHECK(xs.grad().to_vector() == out);
  // Seeded: the same seed draws the same mask.
  manual_seed(11);
  CHECK(drop(ones({n}, kFloat64)).to_vector() == out);
  // p = 0 keeps everything, p = 1 drops everything.
  CHECK(Dropout(0.0)(x).is_same(x));
  CHECK(Dropout(1.0)(x).to_vector() == V(20, 0.0));
}

TEST_CASE("buffers are named, converted by to(), and are not parameters", "[nn]") {
  struct Normaliser : Module {
    Tensor scale, running_mean, seen;
    Normaliser() {
      scale = register_parameter("scale", ones({3}));
      running_mean = register_buffer("running_mean", zeros({3}));
      seen = register_buffer("seen", tensor_i64({0}, {1}));
    }
    Tensor forward(const Tensor& x) override { return (x - running_mean) * scale; }
  };
  Sequential seq(std::make_shared<Normaliser>());
  CHECK(seq.parameters().size() == 1);
  const NamedTensors buffers = seq.named_buffers();
  REQUIRE(buffers.size() == 2);
  CHECK(buffers[0].first == "0.running_mean");
  CHECK(buffers[1].first == "0.seen");
  CHECK_FALSE(buffers[0].second.requires_grad());
  seq.to(kFloat64);
  CHECK(buffers[0].second.dtype() == kFloat64);
  CHECK(buffers[1].second.dtype() == kInt64);  // only floating-point tensors are converted
}
