// tg::nn::MaxPool2d and AvgPool2d: settings and printing around the
// differentiable tg::max_pool2d / tg::avg_pool2d ops (<tapegrad/ops/vision.hpp>).
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

}  // namespace

MaxPool2d::MaxPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding)
    : kernel_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding) {}

Tensor MaxPool2d::forward(const Tensor& input) { return max_pool2d(input, kernel_, stride_, padding_); }

std::string MaxPool2d::extra_repr() const { return pool_repr(kernel_, stride_, padding_); }

AvgPool2d::AvgPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding)
    : kernel_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding) {}

Tensor AvgPool2d::forward(const Tensor& input) { return avg_pool2d(input, kernel_, stride_, padding_); }

std::string AvgPool2d::extra_repr() const { return pool_repr(kernel_, stride_, padding_); }

}  // namespace tg::nn
