// tg::nn::Conv2d, ConvTranspose2d and Conv1d: parameters, checks and printing
// around the differentiable tg::conv2d / conv_transpose2d / conv1d ops (<tapegrad/ops/vision.hpp>), whose
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

// Channel counts that `groups` must divide.
void check_groups(const char* module, std::int64_t groups, std::int64_t in, std::int64_t out) {
  check_positive(module, "groups", groups);
  if (in % groups != 0) tg::detail::fail(module, ": in_channels ", in, " is not divisible by groups ", groups);
  if (out % groups != 0) tg::detail::fail(module, ": out_channels ", out, " is not divisible by groups ", groups);
}

}  // namespace

// ---- Conv2d ------------------------------------------------------------------------

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride,
               Padding padding, Size2 dilation, std::int64_t groups, bool with_bias)
    : in_(in_channels),
      out_(out_channels),
      groups_(groups),
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
  check_groups("Conv2d", groups_, in_, out_);
  weight = register_parameter("weight", empty({out_, in_ / groups_, kernel_.h, kernel_.w}));
  if (with_bias) bias = register_parameter("bias", empty({out_}));
  init::layer_default_(weight, bias);
}

Tensor Conv2d::forward(const Tensor& input) {
  tg::detail::check_defined(input, "Conv2d");
  if (input.dim() != 4)
    tg::detail::fail("expected an input [N, C, H, W] with C = ", in_, ", got ", describe(input));
  if (input.size(1) != in_)
    tg::detail::fail("input has ", input.size(1), " channels, expected ", in_, " (input ", describe(input), ")");
  return conv2d(input, weight, bias, stride_, padding_, dilation_, groups_);
}

std::string Conv2d::extra_repr() const {
  std::string s = tg::detail::cat(in_, ", ", out_, ", kernel_size=", pair_str(kernel_), ", stride=", pair_str(stride_));
  if (padding_.str() != "0" && padding_.str() != "(0, 0)") s += ", padding=" + padding_.str();
  if (dilation_.h != 1 || dilation_.w != 1) s += ", dilation=" + pair_str(dilation_);
  if (groups_ != 1) s += tg::detail::cat(", groups=", groups_);
  if (!bias.defined()) s += ", bias=false";
  return s;
}

std::string Conv2d::brief() const {
  return tg::detail::cat("Conv2d(", in_, "->", out_, ", ", kernel_.h, "x", kernel_.w, ")");
}

// ---- ConvTranspose2d ---------------------------------------------------------------

ConvTranspose2d::ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
                                 Size2 stride, Size2 padding, Size2 output_padding, std::int64_t groups,
                                 bool with_bias, Size2 dilation)
    : in_(in_channels),
      out_(out_channels),
      groups_(groups),
      kernel_(kernel_size),
      stride_(stride),
      padding_(padding),
      output_padding_(output_padding),
      dilation_(dilation) {
  const char* m = "ConvTranspose2d";
  check_positive(m, "in_channels", in_);
  check_positive(m, "out_channels", out_);
  check_positive(m, "kernel height", kernel_.h);
  check_positive(m, "kernel width", kernel_.w);
  check_positive(m, "stride", std::min(stride_.h, stride_.w));
  check_positive(m, "dilation", std::min(dilation_.h, dilation_.w));
  check_groups(m, groups_, in_, out_);
  if (padding_.h < 0 || padding_.w < 0) tg::detail::fail(m, ": padding must be non-negative, got ", pair_str(padding_));
  if (output_padding_.h < 0 || output_padding_.w < 0 ||
      (output_padding_.h >= stride_.h && output_padding_.h >= dilation_.h) ||
      (output_padding_.w >= stride_.w && output_padding_.w >= dilation_.w))
    tg::detail::fail(m, ": output_padding ", pair_str(output_padding_),
                     " must be non-negative and smaller than either stride ", pair_str(stride_), " or dilation ",
                     pair_str(dilation_));
  weight = register_parameter("weight", empty({in_, out_ / groups_, kernel_.h, kernel_.w}));
  if (with_bias) bias = register_parameter("bias", empty({out_}));
  init::layer_default_(weight, bias);  // fan_in = weight dim 1 * kernel area, as PyTorch
}

Tensor ConvTranspose2d::forward(const Tensor& input) {
  tg::detail::check_defined(input, "ConvTranspose2d");
  if (input.dim() != 4)
    tg::detail::fail("expected an input [N, C, H, W] with C = ", in_, ", got ", describe(input));
  if (input.size(1) != in_)
    tg::detail::fail("input has ", input.size(1), " channels, expected ", in_, " (input ", describe(input), ")");
  return conv_transpose2d(input, weight, bias, stride_, padding_, output_padding_, groups_, dilation_);
}

std::string ConvTranspose2d::extra_repr() const {
  std::string s = tg::detail::cat(in_, ", ", out_, ", kernel_size=", pair_str(kernel_), ", stride=", pair_str(stride_));
  if (padding_.h != 0 || padding_.w != 0) s += ", padding=" + pair_str(padding_);
  if (output_padding_.h != 0 || output_padding_.w != 0) s += ", output_padding=" + pair_str(output_padding_);
  if (groups_ != 1) s += tg::detail::cat(", groups=", groups_);
  if (dilation_.h != 1 || dilation_.w != 1) s += ", dilation=" + pair_str(dilation_);
  if (!bias.defined()) s += ", bias=false";
  return s;
}

std::string ConvTranspose2d::brief() const {
  return tg::detail::cat("ConvTranspose2d(", in_, "->", out_, ", ", kernel_.h, "x", kernel_.w, ")");
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
