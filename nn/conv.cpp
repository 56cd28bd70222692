// tg::nn::Conv2d and Conv1d: parameters, checks and printing around the
// differentiable tg::conv2d / tg::conv1d ops (<tapegrad/ops/vision.hpp>), whose
// backward rules live with the ops.
#include <algorithm>

#include "core/dispatch.hpp"
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/conv_layers.hpp>

namespace tg::nn {
namespace {

std::string pair_str(Size2 s) { return tg::detail::cat("(", s.h, ", ", s.w, ")"); }

void check_positive(const char* module, const char* what, std::int64_t v) {
  if (v <= 0) tg::detail::fail(module, ": ", what, " must be positive, got ", v);
}

}  // namespace

// ---- Conv2d ------------------------------------------------------------------------

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride,
               Padding padding, Size2 dilation, bool with_bias)
    : in_(in_channels),
      out_(out_channels),
      kernel_(kernel_size),
      stride_(stride),
      dilation_(dilation),
      padding_(padding) {
  check_positive("Conv2d", "in_channels", in_);
  check_positive("Conv2d", "out_channels", out_);
  check_positive("Conv2d", "kernel height", kernel_.h);
  check_positive("Conv2d", "kernel width", kernel_.w);
  check_positive("Conv2d", "stride", std::min(stride_.h, stride_.w));
  check_positive("Conv2d", "dilation", std::min(dilation_.h, dilation_.w));
  weight = register_parameter("weight", empty({out_, in_, kernel_.h, kernel_.w}));
  if (with_bias) bias = register_parameter("bias", empty({out_}));
  init::layer_default_(weight, bias);
}

Tensor Conv2d::forward(const Tensor& input) {
  tg::detail::check_defined(input, "Conv2d");
  if (input.dim() != 4)
    tg::detail::fail("expected an input [N, C, H, W] with C = ", in_, ", got ", describe(input));
  if (input.size(1) != in_)
    tg::detail::fail("input has ", input.size(1), " channels, expected ", in_, " (input ", describe(input), ")");
  return conv2d(input, weight, bias, stride_, padding_, dilation_);
}

std::string Conv2d::extra_repr() const {
  std::string s = tg::detail::cat(in_, ", ", out_, ", kernel_size=", pair_str(kernel_), ", stride=", pair_str(stride_));
  if (padding_.str() != "0" && padding_.str() != "(0, 0)") s += ", padding=" + padding_.str();
  if (dilation_.h != 1 || dilation_.w != 1) s += ", dilation=" + pair_str(dilation_);
  if (!bias.defined()) s += ", bias=false";
  return s;
}

std::string Conv2d::brief() const {
  return tg::detail::cat("Conv2d(", in_, "->", out_, ", ", kernel_.h, "x", kernel_.w, ")");
}

// ---- Conv1d ------------------------------------------------------------------------

Conv1d::Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride,
               Padding padding, std::int64_t dilation, bool with_bias)
    : in_(in_channels),
      out_(out_channels),
      kernel_(kernel_size),
      stride_(stride),
      dilation_(dilation),
      padding_(padding) {
  check_positive("Conv1d", "in_channels", in_);
  check_positive("Conv1d", "out_channels", out_);
  check_positive("Conv1d", "kernel_size", kernel_);
  check_positive("Conv1d", "stride", stride_);
  check_positive("Conv1d", "dilation", dilation_);
  weight = register_parameter("weight", empty({out_, in_, kernel_}));
  if (with_bias) bias = register_parameter("bias", empty({out_}));
  init::layer_default_(weight, bias);
}

Tensor Conv1d::forward(const Tensor& input) {
  tg::detail::check_defined(input, "Conv1d");
  if (input.dim() != 3) tg::detail::fail("expected an input [N, C, W] with C = ", in_, ", got ", describe(input));
  if (input.size(1) != in_)
    tg::detail::fail("input has ", input.size(1), " channels, expected ", in_, " (input ", describe(input), ")");
  return conv1d(input, weight, bias, stride_, padding_, dilation_);
}

std::string Conv1d::extra_repr() const {
  std::string s = tg::detail::cat(in_, ", ", out_, ", kernel_size=", kernel_, ", stride=", stride_);
  if (padding_.str() != "0" && padding_.str() != "(0, 0)") s += ", padding=" + padding_.str();
  if (dilation_ != 1) s += tg::detail::cat(", dilation=", dilation_);
  if (!bias.defined()) s += ", bias=false";
  return s;
}

std::string Conv1d::brief() const { return tg::detail::cat("Conv1d(", in_, "->", out_, ", ", kernel_, ")"); }

}  // namespace tg::nn
