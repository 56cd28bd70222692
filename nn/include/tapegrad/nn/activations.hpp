// tapegrad — PyTorch's element-wise activation modules beyond ReLU, Sigmoid and
// Tanh (those are in <tapegrad/nn/layers.hpp>), and the activations as
// functions in tg::nn::functional (PyTorch's F.gelu, F.softplus, ...).
//
// Each module's forward() is the op of the same name in <tapegrad/ops/ops.hpp>
// with the module's settings, PyTorch's defaults included:
// @code
//   auto net = std::make_shared<tg::nn::Sequential>(
//       std::make_shared<tg::nn::Linear>(4, 8), std::make_shared<tg::nn::GELU>("tanh"),
//       std::make_shared<tg::nn::Linear>(8, 8), std::make_shared<tg::nn::PReLU>(8),
//       std::make_shared<tg::nn::Linear>(8, 1));
// @endcode
#pragma once

#include <cstdint>
#include <string>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {

namespace functional {
/// The activation ops of <tapegrad/ops/ops.hpp>, under the names of torch.nn.functional.
///@{
using tg::elu;
using tg::gelu;
using tg::hardsigmoid;
using tg::hardswish;
using tg::hardtanh;
using tg::leaky_relu;
using tg::log_softmax;
using tg::logsigmoid;
using tg::mish;
using tg::prelu;
using tg::relu;
using tg::selu;
using tg::sigmoid;
using tg::silu;
using tg::softmax;
using tg::softplus;
using tg::softsign;
using tg::tanh;
///@}
}  // namespace functional

/// leaky_relu(x, negative_slope).
class LeakyReLU : public Module {
 public:
  /// Throws for a NaN slope.
  explicit LeakyReLU(double negative_slope = 0.01);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  double negative_slope() const { return negative_slope_; }

 private:
  double negative_slope_;
};

/// elu(x, alpha).
class ELU : public Module {
 public:
  /// Throws for a NaN alpha.
  explicit ELU(double alpha = 1.0);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  double alpha() const { return alpha_; }

 private:
  double alpha_;
};

/// selu(x).
class SELU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// gelu(x, approximate): "none" (exact, with the normal CDF) or "tanh".
class GELU : public Module {
 public:
  /// Throws for any other `approximate`.
  explicit GELU(std::string approximate = "none");
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const std::string& approximate() const { return approximate_; }

 private:
  std::string approximate_;
};

/// silu(x) = x sigmoid(x).
class SiLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// mish(x) = x tanh(softplus(x)).
class Mish : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// softplus(x, beta, threshold).
class Softplus : public Module {
 public:
  /// Throws for beta = 0 or a NaN setting.
  explicit Softplus(double beta = 1.0, double threshold = 20.0);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  double beta() const { return beta_; }
  double threshold() const { return threshold_; }

 private:
  double beta_, threshold_;
};

/// softsign(x) = x / (1 + |x|).
class Softsign : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// hardtanh(x, min_val, max_val).
class Hardtanh : public Module {
 public:
  /// Throws when min_val > max_val or a bound is NaN.
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  double min_val() const { return min_val_; }
  double max_val() const { return max_val_; }

 private:
  double min_val_, max_val_;
};

/// hardsigmoid(x).
class Hardsigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// hardswish(x).
class Hardswish : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// logsigmoid(x), finite for every finite x.
class LogSigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// prelu(x, weight) with a learned parameter "weight" [num_parameters] (PyTorch's
/// name, so checkpoints and safetensors files carry the same key), every entry
/// starting at `init`. num_parameters is 1 (shared) or the number of input
/// channels (dim 1 of the input).
class PReLU : public Module {
 public:
  /// Throws unless num_parameters is positive.
  explicit PReLU(std::int64_t num_parameters = 1, double init = 0.25);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  std::int64_t num_parameters() const { return num_parameters_; }

  Tensor weight;  ///< [num_parameters]

 private:
  std::int64_t num_parameters_;
};

}  // namespace tg::nn
