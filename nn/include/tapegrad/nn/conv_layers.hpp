// tapegrad — convolution and pooling layers (tg::nn) over NCHW tensors.
//
// Modules around the differentiable ops of <tapegrad/ops/vision.hpp>; their
// backward rules live with the ops. Default initialisation follows PyTorch:
// weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in * kernel area.
//
// @code
//   auto net = std::make_shared<tg::nn::Sequential>(
//       std::make_shared<tg::nn::Conv2d>(1, 2, 3, 1, "same"), std::make_shared<tg::nn::ReLU>(),
//       std::make_shared<tg::nn::MaxPool2d>(2), std::make_shared<tg::nn::Flatten>(),
//       std::make_shared<tg::nn::Linear>(2 * 14 * 14, 10));
//   tg::Tensor logits = (*net)(tg::randn({4, 1, 28, 28}));   // [4,10]
// @endcode
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/vision.hpp>

namespace tg::nn {

/// 2-D convolution (cross-correlation) over NCHW input, tg::conv2d.
/// weight (out, in, kh, kw), bias (out). Padding: an int, (h, w), "same" or "valid".
class Conv2d : public Module {
 public:
  /// Throws std::invalid_argument for a non-positive channel count, kernel
  /// extent, stride or dilation. The input must then be [N, in_channels, H, W].
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride = 1,
         Padding padding = 0, Size2 dilation = 1, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "Conv2d(3->6, 3x3)"
  std::string brief() const override;
  /// Channels of the input and of the output, as constructed.
  ///@{
  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  ///@}

  Tensor weight;  ///< (out_channels, in_channels, kh, kw)
  Tensor bias;    ///< (out_channels), undefined when built without bias

 private:
  std::int64_t in_, out_;
  Size2 kernel_, stride_, dilation_;
  Padding padding_;
};

/// 1-D convolution over [N, C, W] input, tg::conv1d. weight (out, in, k), bias (out).
class Conv1d : public Module {
 public:
  /// Throws std::invalid_argument for a non-positive channel count, kernel size,
  /// stride or dilation. The input must then be [N, in_channels, W].
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride = 1,
         Padding padding = 0, std::int64_t dilation = 1, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "Conv1d(3->6, 5)"
  std::string brief() const override;

  Tensor weight;  ///< (out_channels, in_channels, kernel_size)
  Tensor bias;    ///< (out_channels), undefined when built without bias

 private:
  std::int64_t in_, out_, kernel_, stride_, dilation_;
  Padding padding_;
};

/// Max pooling over NCHW windows, tg::max_pool2d; stride defaults to the kernel.
class MaxPool2d : public Module {
 public:
  /// Windows of kernel_size moved by stride (default: kernel_size); padding is
  /// -infinity, at most half the kernel. Values are checked by the op on each call.
  explicit MaxPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Size2 kernel_, stride_, padding_;
};

/// Average pooling over NCHW windows, tg::avg_pool2d; stride defaults to the kernel.
class AvgPool2d : public Module {
 public:
  /// Windows of kernel_size moved by stride (default: kernel_size); zero
  /// padding counts towards each mean. Values are checked by the op on each call.
  explicit AvgPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Size2 kernel_, stride_, padding_;
};

}  // namespace tg::nn
