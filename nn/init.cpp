// Initialisers: sample with tg::rand/randn (the seeded global generator) in the
// target's dtype and copy in place under NoGradGuard.
#include <cmath>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn::init {
namespace {

void check_target(const Tensor& t, const char* op) { tg::detail::check_floating(t, op); }

Tensor assign(Tensor t, const Tensor& values) {
  NoGradGuard no_grad;
  t.copy_(values);
  return t;
}

std::int64_t fan(const Tensor& t, FanMode mode) {
  const Fans f = compute_fans(t);
  const std::int64_t n = mode == FanMode::FanIn ? f.fan_in : f.fan_out;
  if (n == 0) tg::detail::fail("init: the fan of ", describe(t), " is 0, so the scale is undefined");
  return n;
}

}  // namespace

Fans compute_fans(const Tensor& w) {
  tg::detail::check_defined(w, "init::compute_fans");
  if (w.dim() < 2)
    tg::detail::fail("init::compute_fans: fan in and fan out need a weight with at least 2 dimensions, got ",
                     describe(w));
  if (w.numel() == 0) tg::detail::fail("init::compute_fans: the weight ", describe(w), " has no elements");
  if (w.dim() == 2) return {w.size(0), w.size(1)};  // Linear: (in, out)
  std::int64_t receptive = 1;
  for (int i = 2; i < w.dim(); ++i) receptive *= w.size(i);
  return {w.size(1) * receptive, w.size(0) * receptive};  // Conv: (out, in, k...)
}

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: return std::sqrt(2.0 / (1.0 + param * param));
  }
  return 1.0;
}

Tensor constant_(Tensor t, double value) {
  tg::detail::check_defined(t, "init::constant_");
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}

Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

Tensor normal_(Tensor t, double mean, double std) {
  check_target(t, "init::normal_");
  if (!(std >= 0)) tg::detail::fail("init::normal_: std must be >= 0, got ", std);
  NoGradGuard no_grad;
  return assign(t, randn(t.shape(), t.dtype()) * std + mean);
}

Tensor uniform_(Tensor t, double low, double high) {
  check_target(t, "init::uniform_");
  if (!(low <= high)) tg::detail::fail("init::uniform_: need low <= high, got [", low, ", ", high, ")");
  NoGradGuard no_grad;
  return assign(t, rand(t.shape(), t.dtype()) * (high - low) + low);
}

Tensor xavier_uniform_(Tensor t, double gain) {
  check_target(t, "init::xavier_uniform_");
  const Fans f = compute_fans(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
  return uniform_(std::move(t), -bound, bound);
}

Tensor xavier_normal_(Tensor t, double gain) {
  check_target(t, "init::xavier_normal_");
  const Fans f = compute_fans(t);
  return normal_(std::move(t), 0.0, gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out)));
}

Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  check_target(t, "init::kaiming_uniform_");
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / static_cast<double>(fan(t, mode)));
  return uniform_(std::move(t), -bound, bound);
}

Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  check_target(t, "init::kaiming_normal_");
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode)));
  return normal_(std::move(t), 0.0, std);
}

void layer_default_(Tensor weight, Tensor bias) {
  kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(compute_fans(weight).fan_in));
    uniform_(std::move(bias), -bound, bound);
  }
}

}  // namespace tg::nn::init
