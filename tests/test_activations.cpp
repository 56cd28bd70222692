// The element-wise activations (leaky_relu ... prelu) against PyTorch's values,
// their modules (settings, printouts, PReLU's parameter, module gradcheck,
// summary), their behaviour at extreme inputs, and dropout / dropout2d as
// functions and modules: inverted scaling, whole channels, identity, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"
#include "torch_reference_file.hpp"

using namespace tg;
using namespace tg::nn;
using Catch::Matchers::Contains;
namespace F = tg::nn::functional;
using V = std::vector<double>;

namespace {

using Case = testing::ReferenceCase;

// The same names, and the same calls, as CASES in tests/torch_reference/activation_ops.py
// (each unary case also runs on float32 inputs, as NAME_float32).
const std::map<std::string, Case>& activation_cases() {
  using Vs = const std::vector<Tensor>&;
  static const std::map<std::string, Case> all = [] {
    const std::map<std::string, std::function<Tensor(const Tensor&)>> unary = {
        {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }},
        {"leaky_relu_slope_0.2", [](const Tensor& x) { return leaky_relu(x, 0.2); }},
        {"elu", [](const Tensor& x) { return elu(x); }},
        {"elu_alpha_0.5", [](const Tensor& x) { return elu(x, 0.5); }},
        {"selu", [](const Tensor& x) { return selu(x); }},
        {"gelu", [](const Tensor& x) { return gelu(x); }},
        {"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }},
        {"silu", [](const Tensor& x) { return silu(x); }},
        {"mish", [](const Tensor& x) { return mish(x); }},
        {"softplus", [](const Tensor& x) { return softplus(x); }},
        {"softplus_beta_2_threshold_5", [](const Tensor& x) { return softplus(x, 2.0, 5.0); }},
        {"softplus_beta_-0.5", [](const Tensor& x) { return softplus(x, -0.5); }},
        {"softsign", [](const Tensor& x) { return softsign(x); }},
        {"hardtanh", [](const Tensor& x) { return hardtanh(x); }},
        {"hardtanh_-0.5_2.5", [](const Tensor& x) { return hardtanh(x, -0.5, 2.5); }},
        {"hardsigmoid", [](const Tensor& x) { return hardsigmoid(x); }},
        {"hardswish", [](const Tensor& x) { return hardswish(x); }},
        {"logsigmoid", [](const Tensor& x) { return logsigmoid(x); }},
    };
    std::map<std::string, Case> cases;
    for (const auto& [name, f] : unary) {
      cases[name] = [f = f](Vs v) { return f(v[0]); };
      cases[name + "_float32"] = [f = f](Vs v) { return f(v[0]); };
    }
    cases["softplus_beta_2_at_threshold"] = [](Vs v) { return softplus(v[0], 2.0, 5.0); };
    for (const char* name : {"prelu_per_channel", "prelu_shared", "prelu_1d", "prelu_float32", "prelu_weight_not_channels"})
      cases[name] = [](Vs v) { return prelu(v[0], v[1]); };
    cases["gelu_unknown_approximation"] = [](Vs v) { return gelu(v[0], "fast"); };
    return cases;
  }();
  return all;
}

// Agreement to a few units in the last place of the dtype, with an absolute
// floor for values that cancel to (nearly) zero in one library and not the other
// (PyTorch's gelu computes 1 + erf(x/sqrt 2), tapegrad erfc(-x/sqrt 2)).
// PyTorch 1.13's float64 hardsigmoid backward multiplies by 1/6 rounded to
// float32 (relative error 4e-8); tapegrad's gradient is the exact 1/6, so that
// one case is compared at float32's precision.
testing::Tolerance activation_tolerance(const std::string& name, Dtype dtype, const std::string& what) {
  const bool gradient = what.rfind("grad ", 0) == 0;
  const bool single = dtype == kFloat32 || (gradient && name == "hardsigmoid");
  return single ? testing::Tolerance{1e-5, 1e-6} : testing::Tolerance{1e-12, 1e-14};
}

// Runs `make(x)` as a module on a float64 batch behind and before a Linear, under module gradcheck.
void check_module_gradients(const std::string& name, const std::function<ModulePtr()>& make, const Tensor& x) {
  INFO(name);
  Sequential seq(std::make_shared<Linear>(x.shape()[1], 4), make(), std::make_shared<Linear>(4, 3), make());
  seq.to(kFloat64);
  GradcheckResult r = gradcheck_module(seq, x);
  INFO(r.message);
  CHECK(r.passed);
}

std::string printed(const Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

}  // namespace

TEST_CASE("activations agree with PyTorch at edge points, forward and gradient", "[ops][torch_reference]") {
  testing::check_against_pytorch("tests/data/activation_ops_reference.txt", activation_cases(), activation_tolerance);
}

TEST_CASE("activations stay finite, with finite gradients, at extreme inputs", "[ops]") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> ops = {
        {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }},
        {"elu", [](const Tensor& x) { return elu(x); }},
        {"selu", [](const Tensor& x) { return selu(x); }},
        {"gelu", [](const Tensor& x) { return gelu(x); }},
        {"gelu tanh", [](const Tensor& x) { return gelu(x, "tanh"); }},
        {"silu", [](const Tensor& x) { return silu(x); }},
        {"mish", [](const Tensor& x) { return mish(x); }},
        {"softplus", [](const Tensor& x) { return softplus(x); }},
        {"softplus without a linear branch", [](const Tensor& x) { return softplus(x, 1.0, 1e300); }},
        {"softsign", [](const Tensor& x) { return softsign(x); }},
        {"hardswish", [](const Tensor& x) { return hardswish(x); }},
        {"logsigmoid", [](const Tensor& x) { return logsigmoid(x); }},
    };
    for (const auto& [name, f] : ops) {
      INFO(name);
      Tensor x = tensor({-1e4, -1000, 1000, 1e4}, {4}, dt).requires_grad_();
      Tensor y = f(x);
      sum(y).backward();
      for (double v : y.to_vector<double>()) CHECK(std::isfinite(v));
      for (double g : x.grad().to_vector<double>()) CHECK(std::isfinite(g));
    }
  }
  // The limits themselves: log sigmoid(x) -> x for x -> -inf and -> -e^-x (0 here) for x -> +inf.
  Tensor x = tensor({-1000, 1000}, {2}).requires_grad_();
  Tensor y = logsigmoid(x);
  testing::check_values(y, {-1000, 0});
  sum(y).backward();
  testing::check_values(x.grad(), {1, 0});
  testing::check_values(softplus(tensor({-1000, 1000}, {2}), 1.0, 1e300), {0, 1000});
  // elu's e^x branch is not taken at +1000, and must not turn 0 * inf into NaN there.
  Tensor z = tensor({-1000, 1000}, {2}, kFloat64).requires_grad_();
  sum(elu(z, 2.0)).backward();
  testing::check_values(z.grad(), {0, 1});
}

TEST_CASE("relu and hardtanh keep NaN, as PyTorch does, on the vector path and the scalar tail", "[ops]") {
  for (const Dtype dt : {kFloat32, kFloat64}) {
    std::vector<double> v(37, -1.0);  // longer than one AVX-512 vector of either type, plus a tail
    for (std::size_t i = 0; i < v.size(); i += 5) v[i] = std::nan("");
    v[3] = 2.0;
    const Tensor x = tensor(v, {37}, dt);
    for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>>{
             {"relu", [](const Tensor& t) { return relu(t); }},
             {"hardtanh", [](const Tensor& t) { return hardtanh(t); }}}) {
      INFO(name << " " << dtype_name(dt));
      const std::vector<double> y = f(x).to_vector<double>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (std::isnan(v[i]))
          CHECK(std::isnan(y[i]));
        else
          CHECK(y[i] == (i == 3 ? (name == "hardtanh" ? 1.0 : 2.0) : (name == "hardtanh" ? -1.0 : 0.0)));
      }
    }
  }
}

TEST_CASE("relu's gradient passes at NaN and stops at 0 and below, as PyTorch's; hardtanh's stops at NaN", "[ops]") {
  // PyTorch 1.13: relu'(NaN) = 1 (threshold_backward tests x <= 0), relu'(0) = 0,
  // hardtanh'(NaN) = 0; relu_ the same as relu. 37 elements: vector path and tail.
  for (const Dtype dt : {kFloat32, kFloat64}) {
    std::vector<double> v(37);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = i % 5 == 0 ? std::nan("") : (i % 5 == 1 ? 0.0 : (i % 5 == 2 ? -1.5 : 0.5));
    std::vector<double> relu_grad(v.size()), hardtanh_grad(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      relu_grad[i] = i % 5 == 0 || i % 5 == 3 || i % 5 == 4 ? 3.0 : 0.0;
      hardtanh_grad[i] = i % 5 == 1 || i % 5 == 3 || i % 5 == 4 ? 3.0 : 0.0;
    }
    const Tensor g = full({37}, 3.0, dt);
    INFO(dtype_name(dt));
    Tensor a = tensor(v, {37}, dt).requires_grad_();
    relu(a).backward(g);
    testing::check_values(a.grad(), relu_grad);
    Tensor b = tensor(v, {37}, dt).requires_grad_();
    relu_(b * 1.0).backward(g);
    testing::check_values(b.grad(), relu_grad);
    Tensor c = tensor(v, {37}, dt).requires_grad_();
    hardtanh(c).backward(g);
    testing::check_values(c.grad(), hardtanh_grad);
  }
}

TEST_CASE("activation modules: PyTorch's defaults, settings and printouts", "[nn]") {
  manual_seed(3);
  const Tensor x = randn({3, 5});
  const auto same = [](const Tensor& a, const Tensor& b) { CHECK(a.to_vector<double>() == b.to_vector<double>()); };
  same(LeakyReLU()(x), leaky_relu(x, 0.01));
  same(LeakyReLU(0.3)(x), leaky_relu(x, 0.3));
  same(ELU()(x), elu(x, 1.0));
  same(ELU(0.7)(x), elu(x, 0.7));
  same(SELU()(x), selu(x));
  same(GELU()(x), gelu(x, "none"));
  same(GELU("tanh")(x), gelu(x, "tanh"));
  same(SiLU()(x), silu(x));
  same(Mish()(x), mish(x));
  same(Softplus()(x), softplus(x, 1.0, 20.0));
  same(Softplus(2.0, 1.0)(x), softplus(x, 2.0, 1.0));
  same(Softsign()(x), softsign(x));
  same(Hardtanh()(x), hardtanh(x, -1.0, 1.0));
  same(Hardtanh(-0.5, 0.25)(x), hardtanh(x, -0.5, 0.25));
  same(Hardsigmoid()(x), hardsigmoid(x));
  same(Hardswish()(x), hardswish(x));
  same(LogSigmoid()(x), logsigmoid(x));
  same(F::gelu(x, "tanh"), gelu(x, "tanh"));  // the functional names are the ops

  // Known values of the defaults at a few points.
  const Tensor p = tensor({-2, 0, 1}, {3}, kFloat64);
  testing::check_values(LeakyReLU()(p), {-0.02, 0, 1}, 1e-15);
  testing::check_values(ELU()(p), {std::expm1(-2.0), 0, 1}, 1e-15);
  testing::check_values(Hardtanh()(p), {-1, 0, 1});
  testing::check_values(Hardsigmoid()(p), {1.0 / 6, 0.5, 4.0 / 6}, 1e-15);
  testing::check_values(Softplus()(p), {std::log1p(std::exp(-2.0)), std::log(2.0), std::log1p(std::exp(1.0))}, 1e-15);

  CHECK(printed(LeakyReLU()) == "LeakyReLU(negative_slope=0.01)");
  CHECK(printed(ELU()) == "ELU(alpha=1)");
  CHECK(printed(SELU()) == "SELU()");
  CHECK(printed(GELU()) == "GELU(approximate='none')");
  CHECK(printed(GELU("tanh")) == "GELU(approximate='tanh')");
  CHECK(printed(Softplus()) == "Softplus(beta=1, threshold=20)");
  CHECK(printed(Hardtanh()) == "Hardtanh(min_val=-1, max_val=1)");
  CHECK(printed(PReLU()) == "PReLU(num_parameters=1)");
  CHECK(printed(Dropout2d()) == "Dropout2d(p=0.5)");
  CHECK(printed(Hardswish()) == "Hardswish()");

  const double nan = std::nan("");
  CHECK_THROWS_WITH(GELU("fast"), Contains("GELU: approximate must be \"none\" or \"tanh\", got \"fast\""));
  CHECK_THROWS_WITH(Hardtanh(1.0, -1.0), Contains("Hardtanh: min_val 1 is above max_val -1"));
  CHECK_THROWS_WITH(Softplus(0.0), Contains("Softplus: beta must be non-zero, got 0"));
  CHECK_THROWS_WITH(LeakyReLU(nan), Contains("LeakyReLU: negative_slope must not be NaN"));
  CHECK_THROWS_WITH(ELU(nan), Contains("ELU: alpha must not be NaN"));
  CHECK_THROWS_WITH(PReLU(0), Contains("PReLU: num_parameters must be positive, got 0"));
  CHECK_THROWS_WITH(Dropout2d(-0.5), Contains("Dropout2d: p must be in [0, 1], got -0.5"));
  // Op errors inside a module carry its description.
  CHECK_THROWS_WITH(GELU()(tensor_i64({1}, {1})), Catch::StartsWith("GELU(approximate='none'): gelu"));
  CHECK_THROWS_WITH(PReLU(3)(ones({2, 4})),
                    Catch::StartsWith("PReLU(num_parameters=3): prelu: weight [3] has 3 elements; input [2,4] needs 1 or 4"));
}

TEST_CASE("PReLU: a learned 'weight' per channel (dim 1) starting at 0.25, as PyTorch's", "[nn]") {
  PReLU shared;
  REQUIRE(shared.named_parameters().size() == 1);
  CHECK(shared.named_parameters()[0].first == "weight");
  CHECK(shared.weight.shape() == Shape{1});
  testing::check_values(shared.weight, {0.25});
  CHECK(shared.weight.requires_grad());

  PReLU per_channel(2, 0.5);
  per_channel.to(kFloat64);
  CHECK(per_channel.weight.shape() == Shape{2});
  {
    NoGradGuard no_grad;
    per_channel.weight.copy_(tensor({0.5, -2}, {2}, kFloat64));
  }
  // x [1, 2, 3]: channel 0 is {-1, 2, -3}, channel 1 is {4, -5, 0}.
  const Tensor x = tensor({-1, 2, -3, 4, -5, 0}, {1, 2, 3}, kFloat64).requires_grad_();
  Tensor y = per_channel(x);
  testing::check_values(y, {-0.5, 2, -1.5, 4, 10, 0});
  sum(y * tensor({1, 2, 3, 4, 5, 6}, {1, 2, 3}, kFloat64)).backward();
  // d/dweight_c = sum over channel c of upstream * x where x <= 0; d/dx = upstream * (1 or weight_c).
  testing::check_values(per_channel.weight.grad(), {1 * -1 + 3 * -3, 5 * -5 + 6 * 0});
  testing::check_values(x.grad(), {0.5, 2, 1.5, 4, -10, -12});

  // The safetensors / checkpoint key inside a model is PyTorch's: "<index>.weight".
  Sequential net(std::make_shared<Linear>(3, 4), std::make_shared<PReLU>(4));
  CHECK(net.named_parameters().back().first == "1.weight");
  CHECK(net.named_parameters().back().second.shape() == Shape{4});
}

TEST_CASE("activation modules match finite differences inside a network", "[nn]") {
  manual_seed(21);
  const Tensor x = randn({3, 2}, kFloat64) * 2.0;
  const std::vector<std::pair<std::string, std::function<ModulePtr()>>> modules = {
      {"LeakyReLU", [] { return std::make_shared<LeakyReLU>(0.1); }},
      {"ELU", [] { return std::make_shared<ELU>(0.5); }},
      {"SELU", [] { return std::make_shared<SELU>(); }},
      {"GELU", [] { return std::make_shared<GELU>(); }},
      {"GELU tanh", [] { return std::make_shared<GELU>("tanh"); }},
      {"SiLU", [] { return std::make_shared<SiLU>(); }},
      {"Mish", [] { return std::make_shared<Mish>(); }},
      {"Softplus", [] { return std::make_shared<Softplus>(2.0, 3.0); }},
      {"Softsign", [] { return std::make_shared<Softsign>(); }},
      {"Hardtanh", [] { return std::make_shared<Hardtanh>(-0.5, 0.5); }},
      {"Hardsigmoid", [] { return std::make_shared<Hardsigmoid>(); }},
      {"Hardswish", [] { return std::make_shared<Hardswish>(); }},
      {"LogSigmoid", [] { return std::make_shared<LogSigmoid>(); }},
      {"PReLU shared", [] { return std::make_shared<PReLU>(); }},
      {"PReLU per channel", [] { return std::make_shared<PReLU>(4); }},
  };
  for (const auto& [name, make] : modules) {
    // The first layer's output is 4 wide and the second's 3: a per-channel PReLU fits only the first.
    if (name == "PReLU per channel") {
      INFO(name);
      Sequential seq(std::make_shared<Linear>(2, 4), make(), std::make_shared<Linear>(4, 3));
      seq.to(kFloat64);
      GradcheckResult r = gradcheck_module(seq, x);
      INFO(r.message);
      CHECK(r.passed);
    } else {
      check_module_gradients(name, make, x);
    }
  }
}

TEST_CASE("summary lists the activation modules and counts PReLU's weight", "[nn]") {
  // Dropout2d needs [N, C, H, W] or [C, H, W]: the input [2, 1, 1, 3] keeps that true after Linear.
  Sequential net(std::make_shared<Linear>(3, 4), std::make_shared<PReLU>(), std::make_shared<GELU>(),
                 std::make_shared<Dropout2d>(0.3), std::make_shared<Linear>(4, 2), std::make_shared<Hardswish>());
  const ModelSummary s = summary(net, {2, 1, 1, 3});
  REQUIRE(s.rows.size() == 6);
  const std::vector<std::string> types = {"Linear", "PReLU", "GELU", "Dropout2d", "Linear", "Hardswish"};
  const std::vector<std::int64_t> params = {16, 1, 0, 0, 10, 0};
  for (std::size_t i = 0; i < types.size(); ++i) {
    INFO(i);
    CHECK(s.rows[i].type == types[i]);
    CHECK(s.rows[i].parameters == params[i]);
  }
  CHECK(s.rows[3].output_shape == Shape{2, 1, 1, 4});
  CHECK(s.total_parameters == 27);

  Sequential per_channel(std::make_shared<Linear>(3, 4), std::make_shared<PReLU>(4));
  const ModelSummary t = summary(per_channel, {5, 3});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[1].parameters == 4);
  CHECK(t.rows[1].output_shape == Shape{5, 4});
}

TEST_CASE("dropout: survivors scaled by 1/(1-p), a fraction p zeroed, identity when not training",
          "[nn][dropout]") {
  const double p = 0.25;
  const std::int64_t n = 100000;
  manual_seed(5);
  Tensor x = full({n}, 2.0, kFloat64).requires_grad_();
  Tensor y = F::dropout(x, p, true);
  const V out = y.to_vector();
  std::int64_t zeroed = 0;
  for (double v : out) {
    if (v == 0) ++zeroed;
    else CHECK(v == Approx(2.0 / (1 - p)).epsilon(1e-15));
  }
  // Binomial(n, p) / n: within 5 standard deviations.
  CHECK(std::abs(static_cast<double>(zeroed) / n - p) < 5 * std::sqrt(p * (1 - p) / n));
  sum(y).backward();
  const V g = x.grad().to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == out[i] / 2.0);  // dx = mask
  // The same seed draws the same mask; float32 works too.
  manual_seed(5);
  CHECK(F::dropout(full({n}, 2.0, kFloat64), p, true).to_vector() == out);
  CHECK(F::dropout(ones({4, 5}), 0.5).dtype() == kFloat32);

  // Identity: the input itself, not a copy.
  const Tensor a = randn({4, 5});
  CHECK(F::dropout(a, 0.5, false).is_same(a));
  CHECK(F::dropout(a, 0.0, true).is_same(a));
  CHECK(F::dropout(a, 1.0, false).is_same(a));
  testing::check_values(F::dropout(a, 1.0, true), V(20, 0.0));

  // The module calls the function with its training flag.
  Dropout module(p);
  manual_seed(9);
  const V from_module = module(full({1000}, 1.0)).to_vector();
  manual_seed(9);
  CHECK(F::dropout(full({1000}, 1.0), p, true).to_vector() == from_module);
  module.eval();
  CHECK(module(a).is_same(a));

  const double nan = std::nan("");
  CHECK_THROWS_WITH(F::dropout(a, 1.5), Contains("dropout: p must be in [0, 1], got 1.5"));
  CHECK_THROWS_WITH(F::dropout(a, -0.1, false), Contains("dropout: p must be in [0, 1], got -0.1"));
  CHECK_THROWS_WITH(F::dropout(a, nan), Contains("dropout: p must be in [0, 1], got nan"));
  CHECK_THROWS_WITH(F::dropout(tensor_i64({1, 2}, {2}), 0.5), Contains("dropout") && Contains("int64"));
}

TEST_CASE("dropout2d: whole channels zeroed or scaled together, [N,C,H,W] and [C,H,W]", "[nn][dropout]") {
  const double p = 0.4;
  manual_seed(8);
  const std::int64_t N = 16, C = 32, H = 3, W = 4;
  Tensor x = full({N, C, H, W}, 1.0, kFloat64).requires_grad_();
  Tensor y = F::dropout2d(x, p, true);
  const V out = y.to_vector();
  std::int64_t zeroed = 0;
  for (std::int64_t channel = 0; channel < N * C; ++channel) {
    const double first = out[static_cast<std::size_t>(channel * H * W)];
    INFO("channel " << channel);
    CHECK((first == 0 || first == Approx(1 / (1 - p)).epsilon(1e-15)));
    for (std::int64_t k = 1; k < H * W; ++k) REQUIRE(out[static_cast<std::size_t>(channel * H * W + k)] == first);
    if (first == 0) ++zeroed;
  }
  const double channels = static_cast<double>(N * C);
  CHECK(std::abs(zeroed / channels - p) < 5 * std::sqrt(p * (1 - p) / channels));
  CHECK(zeroed > 0);
  CHECK(zeroed < N * C);
  sum(y).backward();
  CHECK(x.grad().to_vector() == out);  // dx = mask (x is 1)

  // [C, H, W]: one image, its channels dropped independently.
  manual_seed(2);
  const V single = F::dropout2d(full({64, 2, 2}, 1.0), 0.5).to_vector();
  std::int64_t zero_channels = 0;
  for (std::size_t c = 0; c < 64; ++c) {
    for (std::size_t k = 1; k < 4; ++k) REQUIRE(single[c * 4 + k] == single[c * 4]);
    if (single[c * 4] == 0) ++zero_channels;
  }
  CHECK(zero_channels > 10);  // Binomial(64, 1/2): 10 or fewer has probability < 1e-8
  CHECK(zero_channels < 54);

  const Tensor a = randn({2, 3, 4, 4});
  CHECK(F::dropout2d(a, 0.5, false).is_same(a));
  CHECK(F::dropout2d(a, 0.0).is_same(a));
  testing::check_values(F::dropout2d(a, 1.0), V(96, 0.0));
  Dropout2d module(0.5);
  module.eval();
  CHECK(module(a).is_same(a));

  CHECK_THROWS_WITH(F::dropout2d(ones({3, 4}), 0.5), Contains("dropout2d: expected an input [N, C, H, W] or [C, H, W], got [3,4]"));
  CHECK_THROWS_WITH(F::dropout2d(ones({1, 2, 3, 4, 5}), 0.5, false), Contains("dropout2d") && Contains("[1,2,3,4,5]"));
  CHECK_THROWS_WITH(F::dropout2d(a, 1.01), Contains("dropout2d: p must be in [0, 1], got 1.01"));
  CHECK_THROWS_WITH(Dropout2d(0.5)(ones({3})), Catch::StartsWith("Dropout2d(p=0.5): dropout2d: expected an input"));
}

TEST_CASE("relu, sigmoid and tanh backward write over their incoming gradient only when nobody else holds it",
          "[ops][activation-inplace-grad]") {
  using Op = Tensor (*)(const Tensor&);
  const std::vector<double> values{-1.5, -0.25, 0.5, 2.0, -3.0, 1.25};
  for (Op op : {Op(relu), Op(sigmoid), Op(tanh)}) {
    // The reference: each element's derivative times the seed, from a fresh graph.
    Tensor x0 = tensor(values, {2, 3}, kFloat64).requires_grad_();
    const Tensor seed = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
    op(x0).backward(seed);
    const std::vector<double> expected = x0.grad().to_vector<double>();

    // The gradient flowing into op is an intermediate (2 * the seed): the
    // engine's alone, so it may be written over; the result is the same.
    Tensor x1 = tensor(values, {2, 3}, kFloat64).requires_grad_();
    (op(x1) * 2.0).backward(seed * 0.5);
    testing::check_values(x1.grad(), expected, 1e-15);

    // A hook that keeps the incoming gradient sees it unchanged after backward.
    Tensor x2 = tensor(values, {2, 3}, kFloat64).requires_grad_();
    Tensor y2 = op(x2);
    Tensor kept;
    y2.register_hook([&kept](const Tensor& g) { kept = g; });
    (y2 * 2.0).backward(seed * 0.5);
    testing::check_values(kept, {1, 2, 3, 4, 5, 6});
    testing::check_values(x2.grad(), expected, 1e-15);

    // retain_grad() on the output keeps the gradient it received.
    Tensor x3 = tensor(values, {2, 3}, kFloat64).requires_grad_();
    Tensor y3 = op(x3);
    y3.retain_grad();
    (y3 * 2.0).backward(seed * 0.5);
    testing::check_values(y3.grad(), {1, 2, 3, 4, 5, 6});
    testing::check_values(x3.grad(), expected, 1e-15);

    // The seed a caller passes straight into op's output is theirs: left alone.
    Tensor x4 = tensor(values, {2, 3}, kFloat64).requires_grad_();
    op(x4).backward(seed);
    testing::check_values(seed, {1, 2, 3, 4, 5, 6});
    testing::check_values(x4.grad(), expected, 1e-15);

    // Second order: the gradient of a gradient penalty through op (the
    // recorded *_backward ops read their incoming gradient twice).
    Tensor x5 = tensor(values, {2, 3}, kFloat64).requires_grad_();
    const Tensor g5 = autograd::grad({sum(op(x5) * op(x5))}, {x5}, {}, true, true)[0];
    sum(g5 * g5).backward();
    Tensor x6 = tensor(values, {2, 3}, kFloat64).requires_grad_();
    const Tensor g6 = autograd::grad({sum(op(x6) * op(x6))}, {x6}, {}, true, true)[0];
    const Tensor penalty = sum(g6 * g6);
    const Tensor expected2 = autograd::grad({penalty}, {x6}, {}, true, true)[0];
    testing::check_values(x5.grad(), expected2.to_vector<double>(), 1e-12);
  }
}
