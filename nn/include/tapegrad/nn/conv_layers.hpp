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
/// weight (out, in/groups, kh, kw), bias (out). Padding: an int, (h, w), "same"
/// or "valid". groups = in_channels is a depthwise convolution.
class Conv2d : public Module {
 public:
  /// Throws std::invalid_argument for a non-positive channel count, kernel
  /// extent, stride, dilation or groups, and for channel counts groups does
  /// not divide. The input must then be [N, in_channels, H, W].
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride = 1,
         Padding padding = 0, Size2 dilation = 1, std::int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "Conv2d(3->6, 3x3)"
  std::string brief() const override;
  /// Channels of the input and of the output, as constructed.
  ///@{
  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  ///@}

  Tensor weight;  ///< (out_channels, in_channels / groups, kh, kw)
  Tensor bias;    ///< (out_channels), undefined when built without bias

 private:
  std::int64_t in_, out_, groups_;
  Size2 kernel_, stride_, dilation_;
  Padding padding_;
};

/// Transposed 2-D convolution over NCHW input, tg::conv_transpose2d (PyTorch's
/// argument order). weight (in, out/groups, kh, kw), bias (out); default
/// initialisation as PyTorch's (fan_in = out/groups * kh * kw).
class ConvTranspose2d : public Module {
 public:
  /// Throws std::invalid_argument for a non-positive channel count, kernel
  /// extent, stride, dilation or groups, channel counts groups does not
  /// divide, negative padding, or an output_padding not below the stride or
  /// the dilation. The input must then be [N, in_channels, H, W].
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride = 1,
                  Size2 padding = 0, Size2 output_padding = 0, std::int64_t groups = 1, bool bias = true,
                  Size2 dilation = 1);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "ConvTranspose2d(16->8, 4x4)"
  std::string brief() const override;

  Tensor weight;  ///< (in_channels, out_channels / groups, kh, kw)
  Tensor bias;    ///< (out_channels), undefined when built without bias

 private:
  std::int64_t in_, out_, groups_;
  Size2 kernel_, stride_, padding_, output_padding_, dilation_;
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

/// Average pooling to a fixed output size, tg::adaptive_avg_pool2d
/// (output_size 1: global average pooling).
class AdaptiveAvgPool2d : public Module {
 public:
  /// output_size is checked by the op on each call.
  explicit AdaptiveAvgPool2d(Size2 output_size) : size_(output_size) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Size2 size_;
};

/// Max pooling to a fixed output size, tg::adaptive_max_pool2d.
class AdaptiveMaxPool2d : public Module {
 public:
  /// output_size is checked by the op on each call.
  explicit AdaptiveMaxPool2d(Size2 output_size) : size_(output_size) {}
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  Size2 size_;
};

/// Resizes NCHW input, tg::interpolate: by a fixed size or a scale factor
/// (exactly one), mode "nearest" or "bilinear" (align_corners for bilinear only).
class Upsample : public Module {
 public:
  /// Throws std::invalid_argument unless exactly one of size and scale_factor
  /// is given, for an unknown mode, and for align_corners with "nearest".
  explicit Upsample(std::optional<Size2> size, std::optional<ScaleFactor> scale_factor = std::nullopt,
                    std::string mode = "nearest", std::optional<bool> align_corners = std::nullopt);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  std::optional<Size2> size_;
  std::optional<ScaleFactor> scale_;
  std::string mode_;
  std::optional<bool> align_corners_;
};

/// [*, C*r*r, H, W] -> [*, C, H*r, W*r], tg::pixel_shuffle.
class PixelShuffle : public Module {
 public:
  /// Throws std::invalid_argument for a non-positive upscale_factor.
  explicit PixelShuffle(std::int64_t upscale_factor);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

 private:
  std::int64_t r_;
};

}  // namespace tg::nn
