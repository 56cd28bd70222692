// tapegrad — parameter initialisation (tg::nn::init).
//
// Each function overwrites a tensor in place (under NoGradGuard, so it works on
// parameters that require grad) and returns it. Random draws come from the
// global generator: after tg::manual_seed(s) the same calls give the same values.
//
// Fan-in/fan-out follow tapegrad's weight layouts:
//   2-D (in, out)          Linear          fan_in = in,       fan_out = out
//   n-D (out, in, k...)    Conv1d/Conv2d   fan_in = in * k.., fan_out = out * k..
// (PyTorch's Linear weight is (out, in); tapegrad's is its transpose.)
//
// Common presets:
//   normal_(w, 0, 0.01)            small Gaussian weights for a dense layer
//   normal_(w, 0, 1)               unit Gaussian weights for a conv layer
//   kaiming_uniform_(w, sqrt(5))   PyTorch's Linear/Conv default: U(-1/sqrt(fan_in), 1/sqrt(fan_in));
//                                  layer_default_ adds the bias, as Linear and Conv do
#pragma once

#include <cstdint>

#include <tapegrad/core/tensor.hpp>

/// @namespace tg::nn::init
/// In-place parameter initialisers (PyTorch's torch.nn.init) and their fan rules.
namespace tg::nn::init {

/// Whether Kaiming init preserves the variance of activations (FanIn) or of gradients (FanOut).
enum class FanMode { FanIn, FanOut };
/// The nonlinearity that follows the layer, for calculate_gain.
enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };

/// Inputs and outputs that feed one weight element, per the layouts above.
struct Fans {
  std::int64_t fan_in;   ///< in (2-D), or in * kernel area
  std::int64_t fan_out;  ///< out (2-D), or out * kernel area
};
/// Fans of a weight with the layouts above; throws for an undefined or empty
/// weight and for fewer than 2 dimensions.
Fans compute_fans(const Tensor& weight);

/// PyTorch's recommended gains: 1 (Linear, Sigmoid), 5/3 (Tanh), sqrt(2) (ReLU),
/// sqrt(2 / (1 + slope^2)) (LeakyReLU with negative slope `param`).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

/// Every element = value.
Tensor constant_(Tensor t, double value);
/// Every element = 0.
Tensor zeros_(Tensor t);
/// Every element = 1.
Tensor ones_(Tensor t);
/// Samples from N(mean, std^2); std >= 0.
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0);
/// Samples from U(low, high); low <= high.
Tensor uniform_(Tensor t, double low = 0.0, double high = 1.0);
/// Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor t, double gain = 1.0);
/// Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor t, double gain = 1.0);
/// He: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
Tensor kaiming_uniform_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
/// He: N(0, std^2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).
Tensor kaiming_normal_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);

/// PyTorch's default initialisation of Linear and Conv layers (their
/// reset_parameters): weight = kaiming_uniform_(weight, a = sqrt(5)), which is
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)); then, when `bias` is defined, bias from
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in. Draws the
/// weight first, then the bias.
void layer_default_(Tensor weight, Tensor bias);

}  // namespace tg::nn::init
