// Initialisers: fans for tapegrad's layouts, gains, the distributions' moments
// and bounds (tolerances from the sample size), reproducibility by seed.
#include <catch2/catch.hpp>
#include <cmath>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using namespace tg::nn;
using Catch::Contains;

namespace {

struct Moments {
  double mean = 0, var = 0, min = INFINITY, max = -INFINITY;
  double n = 0;
};
Moments moments(const Tensor& t) {
  Moments m;
  const std::vector<double> v = t.to_vector();
  m.n = static_cast<double>(v.size());
  for (double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= m.n;
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= m.n - 1;
  return m;
}

// Checks mean ~ 0 within 5 standard errors and the variance within 5 of its
// standard errors (for a normal, var(s^2) = 2 sigma^4 / (n-1); for a uniform
// on (-b, b), var(s^2) ~ (mu4 - sigma^4) / n with mu4 = b^4 / 5).
void check_normal(const Tensor& t, double std) {
  const Moments m = moments(t);
  CHECK(std::abs(m.mean) < 5 * std / std::sqrt(m.n));
  CHECK(std::abs(m.var - std * std) < 5 * std * std * std::sqrt(2 / (m.n - 1)));
}
void check_uniform(const Tensor& t, double bound) {
  const Moments m = moments(t);
  const double var = bound * bound / 3, mu4 = std::pow(bound, 4) / 5;
  CHECK(m.min >= -bound);
  CHECK(m.max <= bound);
  CHECK(std::abs(m.mean) < 5 * std::sqrt(var / m.n));
  CHECK(std::abs(m.var - var) < 5 * std::sqrt((mu4 - var * var) / m.n));
}

}  // namespace

TEST_CASE("fans follow tapegrad's layouts: Linear (in, out), Conv (out, in, k...)", "[nn]") {
  init::Fans f = init::compute_fans(empty({196, 32}));
  CHECK(f.fan_in == 196);
  CHECK(f.fan_out == 32);
  f = init::compute_fans(empty({6, 3, 3, 3}));  // Conv2d(3 -> 6, 3x3)
  CHECK(f.fan_in == 27);
  CHECK(f.fan_out == 54);
  f = init::compute_fans(empty({8, 4, 5}));
  CHECK(f.fan_in == 20);
  CHECK(f.fan_out == 40);
  CHECK_THROWS_WITH(init::compute_fans(empty({5})), Contains("compute_fans") && Contains("at least 2 dimensions"));
  CHECK_THROWS_WITH(init::xavier_uniform_(empty({0, 3})), Contains("no elements"));
}

TEST_CASE("gains are PyTorch's", "[nn]") {
  using init::Nonlinearity;
  CHECK(init::calculate_gain(Nonlinearity::Linear) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::Sigmoid) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::Tanh) == Approx(5.0 / 3));
  CHECK(init::calculate_gain(Nonlinearity::ReLU) == Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)) == Approx(std::sqrt(1.0 / 3)));
}

TEST_CASE("constant initialisers work in place on parameters", "[nn]") {
  Tensor w = ones({2, 3}).requires_grad_();
  Tensor same = init::zeros_(w);
  CHECK(same.is_same(w));
  CHECK(w.to_vector() == std::vector<double>(6, 0.0));
  init::constant_(w, 0.25);
  CHECK(w.to_vector() == std::vector<double>(6, 0.25));
  init::ones_(w);
  CHECK(w.to_vector() == std::vector<double>(6, 1.0));
  CHECK(w.requires_grad());
}

TEST_CASE("random initialisers have the documented distributions", "[nn]") {
  manual_seed(5);
  const std::int64_t fan_in = 300, fan_out = 200;
  Tensor w = empty({fan_in, fan_out}, kFloat64);  // Linear layout
  check_normal(init::normal_(w, 0, 0.01), 0.01);   // small dense-layer weights
  check_normal(init::normal_(w, 0, 1), 1.0);       // unit conv-layer weights
  CHECK(moments(init::normal_(w, 3, 2)).mean == Approx(3).margin(5 * 2 / std::sqrt(6e4)));
  check_uniform(init::uniform_(w, -0.3, 0.3), 0.3);
  check_uniform(init::xavier_uniform_(w), std::sqrt(6.0 / (fan_in + fan_out)));
  check_normal(init::xavier_normal_(w, 2.0), 2.0 * std::sqrt(2.0 / (fan_in + fan_out)));
  check_uniform(init::kaiming_uniform_(w, 0, init::FanMode::FanIn, init::Nonlinearity::ReLU),
                std::sqrt(2.0) * std::sqrt(3.0 / fan_in));
  check_normal(init::kaiming_normal_(w, 0, init::FanMode::FanOut, init::Nonlinearity::ReLU),
               std::sqrt(2.0) / std::sqrt(static_cast<double>(fan_out)));
  // PyTorch's layer default: a = sqrt(5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  check_uniform(init::kaiming_uniform_(w, std::sqrt(5.0)), 1 / std::sqrt(static_cast<double>(fan_in)));
  CHECK_THROWS_WITH(init::normal_(w, 0, -1), Contains("init::normal_: std must be >= 0"));
  CHECK_THROWS_WITH(init::uniform_(w, 1, 0), Contains("low <= high"));
  CHECK_THROWS_WITH(init::normal_(tensor_i64({1}, {1})), Contains("normal_") && Contains("int64"));
}

TEST_CASE("layer_default_ is PyTorch's layer default, drawn by Linear and Conv2d", "[nn]") {
  manual_seed(5);
  Tensor w = empty({300, 200}, kFloat64), b = empty({200}, kFloat64);  // Linear layout: fan_in 300
  init::layer_default_(w, b);
  check_uniform(w, 1 / std::sqrt(300.0));
  check_uniform(b, 1 / std::sqrt(300.0));

  // The layers draw exactly this, weight first, then bias.
  manual_seed(11);
  Linear linear(6, 4);
  manual_seed(11);
  Tensor lw = empty({6, 4}), lb = empty({4});
  init::layer_default_(lw, lb);
  CHECK(linear.weight.to_vector() == lw.to_vector());
  CHECK(linear.bias.to_vector() == lb.to_vector());

  manual_seed(11);
  Conv2d conv(3, 2, 3);
  manual_seed(11);
  Tensor cw = empty({2, 3, 3, 3}), cb = empty({2});
  init::layer_default_(cw, cb);
  CHECK(conv.weight.to_vector() == cw.to_vector());
  CHECK(conv.bias.to_vector() == cb.to_vector());
  CHECK(moments(cb).max <= 1 / std::sqrt(27.0));  // fan_in = 3 channels x 3x3
  CHECK(moments(cb).min >= -1 / std::sqrt(27.0));

  // No bias: only the weight is drawn.
  manual_seed(11);
  Tensor alone = empty({6, 4});
  init::layer_default_(alone, Tensor());
  CHECK(alone.to_vector() == lw.to_vector());
}

TEST_CASE("initialisers are reproducible from manual_seed", "[nn]") {
  Tensor a = empty({4, 5}), b = empty({4, 5});
  manual_seed(99);
  init::xavier_normal_(a);
  manual_seed(99);
  init::xavier_normal_(b);
  CHECK(a.to_vector() == b.to_vector());
  init::xavier_normal_(b);
  CHECK(a.to_vector() != b.to_vector());
}
