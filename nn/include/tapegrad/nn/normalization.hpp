// tapegrad — normalisation layers (tg::nn): BatchNorm1d/2d, LayerNorm,
// GroupNorm, InstanceNorm2d, RMSNorm, and their functional forms.
//
// Every one is built from differentiable ops (mean, rsqrt, mul, add), so its
// backward, and the backward of that backward, come from the tape; BatchNorm in
// training mode runs one op with a fused backward, tg::fused_batch_norm
// (<tapegrad/ops/normalization.hpp>), twice differentiable too.
// Parameter and buffer names, defaults and train/eval behaviour are PyTorch's,
// so a PyTorch state_dict loads as it is:
// @code
//   auto bn = std::make_shared<tg::nn::BatchNorm2d>(3);
//   tg::Tensor y = (*bn)(tg::randn({4, 3, 5, 5}));   // batch statistics; running stats updated
//   bn->eval();
//   tg::Tensor z = (*bn)(tg::randn({1, 3, 5, 5}));   // running statistics
//   // named_parameters: weight, bias; named_buffers: running_mean, running_var, num_batches_tracked
// @endcode
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/nn/module.hpp>

namespace tg::nn {

namespace functional {
/// Batch normalisation of input [N, C, *] per channel C:
///   y = (x - mean) / sqrt(var + eps) * weight + bias.
/// With `training` (or without running stats) mean and var are the batch's,
/// over every dimension but 1 (var biased), and when running_mean/running_var
/// are given they are updated in place, without gradient:
///   running = (1 - momentum) running + momentum batch_stat,
/// the variance's batch_stat unbiased (n / (n - 1)), as in PyTorch. Otherwise
/// the running stats normalise. weight, bias, running_mean, running_var are [C]
/// or undefined. Throws for fewer than 2 dimensions, stats or affine parameters
/// that are not [C], and training on one value per channel.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5);
/// Normalises over the last normalized_shape.size() dimensions, which must equal
/// normalized_shape (mean and biased var over them), then
/// * weight + bias (each of normalized_shape, or undefined).
Tensor layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), double eps = 1e-5);
/// Input [N, C, *]: the C channels in num_groups groups of C / num_groups, each
/// (sample, group) normalised over its channels and positions, then weight and
/// bias ([C] or undefined) per channel. C must be divisible by num_groups.
Tensor group_norm(const Tensor& input, std::int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
/// Input [N, C, *]: each (sample, channel) normalised over its positions when
/// use_input_stats (updating the running stats, if given, by the mean over the
/// batch of each sample's statistics), else by the running stats.
Tensor instance_norm(const Tensor& input, const Tensor& running_mean = Tensor(), const Tensor& running_var = Tensor(),
                     const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);
/// Root-mean-square normalisation over the last normalized_shape.size() dimensions
/// (PyTorch 2.4's rms_norm): y = x / sqrt(mean(x^2) + eps) * weight. Without eps,
/// the machine epsilon of the input's dtype (float32: 1.19e-7, float64: 2.22e-16).
Tensor rms_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape,
                const Tensor& weight = Tensor(), std::optional<double> eps = std::nullopt);
}  // namespace functional

/// What BatchNorm and InstanceNorm2d share (PyTorch's _NormBase): parameters
/// weight (ones) and bias (zeros) of [num_features] when affine; buffers
/// running_mean (zeros), running_var (ones) and num_batches_tracked (0-d int64)
/// when track_running_stats.
class NormBase : public Module {
 public:
  /// The number of channels, as constructed.
  std::int64_t num_features() const { return num_features_; }
  /// The eps added to the variance, as constructed (ONNX export writes it).
  double eps() const { return eps_; }

  Tensor weight;               ///< [num_features], undefined without affine
  Tensor bias;                 ///< [num_features], undefined without affine
  Tensor running_mean;         ///< [num_features], undefined without track_running_stats
  Tensor running_var;          ///< [num_features], undefined without track_running_stats
  Tensor num_batches_tracked;  ///< 0-d int64, undefined without track_running_stats

 protected:
  /// Throws unless num_features > 0 and eps >= 0, naming `type`.
  NormBase(const char* type, std::int64_t num_features, double eps, bool affine, bool track_running_stats);

  std::int64_t num_features_;
  double eps_;
};

/// What BatchNorm1d and BatchNorm2d share (PyTorch's _BatchNorm). Training mode
/// normalises with the batch's statistics and updates the running ones
/// (momentum, or the cumulative average over num_batches_tracked when momentum
/// is nullopt); eval mode uses the running ones (or the batch's, without
/// track_running_stats).
class BatchNormBase : public NormBase {
 public:
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "BatchNorm2d(64)"
  std::string brief() const override;

 protected:
  BatchNormBase(const char* type, std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                bool track_running_stats);
  /// Throws unless the input's rank is one this layer takes.
  virtual void check_rank(const Tensor& input) const = 0;

 private:
  std::optional<double> momentum_;
};

/// Batch normalisation of [N, C] or [N, C, L] input over N (and L).
class BatchNorm1d : public BatchNormBase {
 public:
  /// Throws unless num_features > 0 and eps >= 0.
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true);

 protected:
  void check_rank(const Tensor& input) const override;
};

/// Batch normalisation of [N, C, H, W] input over N, H and W.
class BatchNorm2d : public BatchNormBase {
 public:
  /// Throws unless num_features > 0 and eps >= 0.
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true);

 protected:
  void check_rank(const Tensor& input) const override;
};

/// functional::layer_norm over the last dimensions; weight (ones) and bias
/// (zeros) of normalized_shape when elementwise_affine.
class LayerNorm : public Module {
 public:
  /// Throws for an empty normalized_shape, a non-positive extent or eps < 0.
  explicit LayerNorm(std::vector<std::int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Tensor weight;  ///< normalized_shape, undefined without elementwise_affine
  Tensor bias;    ///< normalized_shape, undefined without elementwise_affine

 private:
  std::vector<std::int64_t> normalized_shape_;
  double eps_;
};

/// functional::group_norm; weight (ones) and bias (zeros) of [num_channels] when affine.
class GroupNorm : public Module {
 public:
  /// Throws unless num_groups > 0 divides num_channels > 0, and eps >= 0.
  GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Tensor weight;  ///< [num_channels], undefined without affine
  Tensor bias;    ///< [num_channels], undefined without affine

 private:
  std::int64_t num_groups_, num_channels_;
  double eps_;
};

/// functional::instance_norm of [N, C, H, W] or unbatched [C, H, W] input.
/// PyTorch's defaults: no affine parameters, no running stats (so eval mode
/// normalises with each instance's statistics too). With affine or
/// track_running_stats, the parameters and buffers of BatchNorm2d (same names;
/// as in PyTorch, num_batches_tracked is kept but never counted). A channel
/// count other than num_features is refused only when it matters (affine or
/// track_running_stats), as PyTorch refuses it only then.
class InstanceNorm2d : public NormBase {
 public:
  /// Throws unless num_features > 0, eps >= 0 and momentum is in [0, 1].
  explicit InstanceNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = false,
                          bool track_running_stats = false);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "InstanceNorm2d(3)"
  std::string brief() const override;

 private:
  double momentum_;
};

/// functional::rms_norm (PyTorch 2.4's RMSNorm); weight (ones) of
/// normalized_shape when elementwise_affine. eps nullopt (the default) means
/// the machine epsilon of the input's dtype, as in PyTorch.
class RMSNorm : public Module {
 public:
  /// Throws for an empty normalized_shape, a non-positive extent or eps < 0.
  explicit RMSNorm(std::vector<std::int64_t> normalized_shape, std::optional<double> eps = std::nullopt,
                   bool elementwise_affine = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Tensor weight;  ///< normalized_shape, undefined without elementwise_affine

 private:
  std::vector<std::int64_t> normalized_shape_;
  std::optional<double> eps_;
};

}  // namespace tg::nn
