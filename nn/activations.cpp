// Activation layers: thin modules over the differentiable ops in
// <tapegrad/ops/ops.hpp> (ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten,
// and those of <tapegrad/nn/activations.hpp>).
#include <cmath>
#include <utility>

#include "core/dispatch.hpp"
#include <tapegrad/nn/activations.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input); }
Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }
Tensor Tanh::forward(const Tensor& input) { return tanh(input); }

Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim_); }
std::string Softmax::extra_repr() const { return tg::detail::cat("dim=", dim_); }

Tensor LogSoftmax::forward(const Tensor& input) { return log_softmax(input, dim_); }
std::string LogSoftmax::extra_repr() const { return tg::detail::cat("dim=", dim_); }

Tensor Flatten::forward(const Tensor& input) { return flatten(input, start_, end_); }
std::string Flatten::extra_repr() const { return tg::detail::cat("start_dim=", start_, ", end_dim=", end_); }

}  // namespace tg::nn

// PyTorch's other element-wise activations (<tapegrad/nn/activations.hpp>):
// each forward is the op of the same name. Settings are checked once here so
// a bad one fails when the model is built, not at its first batch.
namespace tg::nn {
namespace {
void check_not_nan(double value, const char* module, const char* setting) {
  if (std::isnan(value)) tg::detail::fail(module, ": ", setting, " must not be NaN, got ", value);
}
}  // namespace

LeakyReLU::LeakyReLU(double negative_slope) : negative_slope_(negative_slope) {
  check_not_nan(negative_slope, "LeakyReLU", "negative_slope");
}
Tensor LeakyReLU::forward(const Tensor& input) { return leaky_relu(input, negative_slope_); }
std::string LeakyReLU::extra_repr() const { return tg::detail::cat("negative_slope=", negative_slope_); }

ELU::ELU(double alpha) : alpha_(alpha) { check_not_nan(alpha, "ELU", "alpha"); }
Tensor ELU::forward(const Tensor& input) { return elu(input, alpha_); }
std::string ELU::extra_repr() const { return tg::detail::cat("alpha=", alpha_); }

Tensor SELU::forward(const Tensor& input) { return selu(input); }

GELU::GELU(std::string approximate) : approximate_(std::move(approximate)) {
  if (approximate_ != "none" && approximate_ != "tanh")
    tg::detail::fail("GELU: approximate must be \"none\" or \"tanh\", got \"", approximate_, "\"");
}
Tensor GELU::forward(const Tensor& input) { return gelu(input, approximate_); }
std::string GELU::extra_repr() const { return tg::detail::cat("approximate='", approximate_, "'"); }

Tensor SiLU::forward(const Tensor& input) { return silu(input); }
Tensor Mish::forward(const Tensor& input) { return mish(input); }

Softplus::Softplus(double beta, double threshold) : beta_(beta), threshold_(threshold) {
  if (beta == 0.0 || std::isnan(beta)) tg::detail::fail("Softplus: beta must be non-zero, got ", beta);
  check_not_nan(threshold, "Softplus", "threshold");
}
Tensor Softplus::forward(const Tensor& input) { return softplus(input, beta_, threshold_); }
std::string Softplus::extra_repr() const { return tg::detail::cat("beta=", beta_, ", threshold=", threshold_); }

Tensor Softsign::forward(const Tensor& input) { return softsign(input); }

Hardtanh::Hardtanh(double min_val, double max_val) : min_val_(min_val), max_val_(max_val) {
  check_not_nan(min_val, "Hardtanh", "min_val");
  check_not_nan(max_val, "Hardtanh", "max_val");
  if (min_val > max_val) tg::detail::fail("Hardtanh: min_val ", min_val, " is above max_val ", max_val);
}
Tensor Hardtanh::forward(const Tensor& input) { return hardtanh(input, min_val_, max_val_); }
std::string Hardtanh::extra_repr() const { return tg::detail::cat("min_val=", min_val_, ", max_val=", max_val_); }

Tensor Hardsigmoid::forward(const Tensor& input) { return hardsigmoid(input); }
Tensor Hardswish::forward(const Tensor& input) { return hardswish(input); }
Tensor LogSigmoid::forward(const Tensor& input) { return logsigmoid(input); }

PReLU::PReLU(std::int64_t num_parameters, double init) : num_parameters_(num_parameters) {
  if (num_parameters <= 0) tg::detail::fail("PReLU: num_parameters must be positive, got ", num_parameters);
  check_not_nan(init, "PReLU", "init");
  weight = register_parameter("weight", full({num_parameters}, init));
}
Tensor PReLU::forward(const Tensor& input) { return prelu(input, weight); }
std::string PReLU::extra_repr() const { return tg::detail::cat("num_parameters=", num_parameters_); }

}  // namespace tg::nn
