// tg::nn::MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, Upsample
// and PixelShuffle: settings and printing around the differentiable ops of
// <tapegrad/ops/vision.hpp>.
#include <utility>

#include "core/dispatch.hpp"
#include <tapegrad/nn/conv_layers.hpp>

namespace tg::nn {
namespace {

// "2" for a square setting, "(2, 3)" otherwise — as PyTorch prints them.
std::string size_str(Size2 s) {
  return s.h == s.w ? std::to_string(s.h) : tg::detail::cat("(", s.h, ", ", s.w, ")");
}

std::string pool_repr(Size2 kernel, Size2 stride, Size2 padding) {
  return "kernel_size=" + size_str(kernel) + ", stride=" + size_str(stride) + ", padding=" + size_str(padding);
}

std::string adaptive_repr(Size2 s) { return "output_size=" + size_str(s); }

}  // namespace

MaxPool2d::MaxPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding)
    : kernel_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding) {}

Tensor MaxPool2d::forward(const Tensor& input) { return max_pool2d(input, kernel_, stride_, padding_); }

std::string MaxPool2d::extra_repr() const { return pool_repr(kernel_, stride_, padding_); }

AvgPool2d::AvgPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding)
    : kernel_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding) {}

Tensor AvgPool2d::forward(const Tensor& input) { return avg_pool2d(input, kernel_, stride_, padding_); }

std::string AvgPool2d::extra_repr() const { return pool_repr(kernel_, stride_, padding_); }

Tensor AdaptiveAvgPool2d::forward(const Tensor& input) { return adaptive_avg_pool2d(input, size_); }

std::string AdaptiveAvgPool2d::extra_repr() const { return adaptive_repr(size_); }

Tensor AdaptiveMaxPool2d::forward(const Tensor& input) { return adaptive_max_pool2d(input, size_); }

std::string AdaptiveMaxPool2d::extra_repr() const { return adaptive_repr(size_); }

Upsample::Upsample(std::optional<Size2> size, std::optional<ScaleFactor> scale_factor, std::string mode,
                   std::optional<bool> align_corners)
    : size_(size), scale_(scale_factor), mode_(std::move(mode)), align_corners_(align_corners) {
  if (size_.has_value() == scale_.has_value())
    tg::detail::fail("Upsample: give exactly one of size and scale_factor (got ", size_ ? "both" : "neither", ")");
  if (mode_ != "nearest" && mode_ != "bilinear")
    tg::detail::fail("Upsample: unknown mode '", mode_, "' (expected \"nearest\" or \"bilinear\")");
  if (mode_ == "nearest" && align_corners_)
    tg::detail::fail("Upsample: align_corners can only be set with mode \"bilinear\", not \"nearest\"");
}

Tensor Upsample::forward(const Tensor& input) {
  return interpolate(input, size_, scale_, mode_, align_corners_);
}

std::string Upsample::extra_repr() const {
  std::string s = size_ ? "size=" + size_str(*size_)
                        : (scale_->h == scale_->w ? tg::detail::cat("scale_factor=", scale_->h)
                                                  : tg::detail::cat("scale_factor=(", scale_->h, ", ", scale_->w, ")"));
  s += ", mode='" + mode_ + "'";
  if (align_corners_) s += *align_corners_ ? ", align_corners=true" : ", align_corners=false";
  return s;
}

PixelShuffle::PixelShuffle(std::int64_t upscale_factor) : r_(upscale_factor) {
  if (r_ <= 0) tg::detail::fail("PixelShuffle: upscale_factor must be positive, got ", r_);
}

Tensor PixelShuffle::forward(const Tensor& input) { return pixel_shuffle(input, r_); }

std::string PixelShuffle::extra_repr() const { return tg::detail::cat("upscale_factor=", r_); }

}  // namespace tg::nn
