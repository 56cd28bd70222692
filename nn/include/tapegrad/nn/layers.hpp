// tapegrad — the built-in dense and element-wise layers (tg::nn);
// convolution and pooling layers are in <tapegrad/nn/conv_layers.hpp>.
//
// Each layer is a Module whose forward() is made of differentiable ops, so its
// backward comes from the tape. Create them as shared_ptrs:
// @code
//   tg::Tensor x = tg::randn({2, 784});
//   auto fc = std::make_shared<tg::nn::Linear>(784, 10);
//   tg::Tensor y = (*fc)(x);   // [2,10]
// @endcode
// Default initialisation follows PyTorch (see <tapegrad/nn/init.hpp>): weights and
// biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from the generator that
// tg::manual_seed seeds.
#pragma once

#include <cstdint>
#include <string>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/nn/module.hpp>

namespace tg::nn {

/// Fully-connected layer H = X W + b.
/// Layout: weight is (in_features, out_features) — the transpose of PyTorch's
/// (out, in) — so the forward is one row-major gemm with no transposition.
/// Input [..., in_features] -> output [..., out_features].
class Linear : public Module {
 public:
  /// Throws std::invalid_argument unless both sizes are positive.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "Linear(196->8)"
  std::string brief() const override;
  /// Sizes of the last input and output dimension, as constructed.
  ///@{
  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }
  ///@}

  Tensor weight;  ///< (in_features, out_features)
  Tensor bias;    ///< (out_features), undefined when built without bias

 private:
  std::int64_t in_, out_;
};

/// Merges dimensions start_dim..end_dim (default: all but the batch dimension).
class Flatten : public Module {
 public:
  /// Dimensions as in tg::flatten (negative counts from the back), checked on each call.
  explicit Flatten(int start_dim = 1, int end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int start_, end_;
};

/// max(0, x)
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// 1 / (1 + exp(-x))
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// tanh(x)
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& input) override;
};

/// Softmax along `dim` (stable).
class Softmax : public Module {
 public:
  /// `dim` as in tg::softmax (negative counts from the back), checked on each call.
  explicit Softmax(int dim = -1) : dim_(dim) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int dim_;
};

/// log(softmax(x)) along `dim`, computed stably; pair it with nll_loss.
class LogSoftmax : public Module {
 public:
  /// `dim` as in tg::log_softmax (negative counts from the back), checked on each call.
  explicit LogSoftmax(int dim = -1) : dim_(dim) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  int dim_;
};

namespace functional {
/// Inverted dropout: when `training`, each element is zeroed with probability
/// p and the survivors are scaled by 1/(1-p), so the expected value is kept;
/// otherwise (or for p = 0) it returns `input` itself. The mask comes from the
/// generator seeded by tg::manual_seed and is applied as a multiplication, so
/// backward comes from the tape. Throws unless 0 <= p <= 1.
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true);
/// Channel-wise dropout on [N, C, H, W] or [C, H, W] input: as dropout, but
/// each channel's whole H x W map is kept (scaled by 1/(1-p)) or zeroed
/// together. A 3-D input is one unbatched image [C, H, W] (PyTorch 1.13 reads
/// it as [N, C, L], with a deprecation warning); other ranks are refused.
Tensor dropout2d(const Tensor& input, double p = 0.5, bool training = true);
}  // namespace functional

/// functional::dropout with p and the module's training flag: inverted
/// dropout in training mode, the identity in eval mode.
class Dropout : public Module {
 public:
  /// Throws std::invalid_argument unless 0 <= p <= 1.
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// The drop probability.
  double p() const { return p_; }

 private:
  double p_;
};

/// functional::dropout2d with p and the module's training flag: whole channels
/// of [N, C, H, W] or [C, H, W] input dropped in training mode, the identity in eval mode.
class Dropout2d : public Module {
 public:
  /// Throws std::invalid_argument unless 0 <= p <= 1.
  explicit Dropout2d(double p = 0.5);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// The drop probability.
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace tg::nn
