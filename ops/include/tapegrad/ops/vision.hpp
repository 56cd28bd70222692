// tapegrad — convolution, pooling and padding (NCHW).
//
// All differentiable (float32 fast path, float64 for gradcheck). Shape errors
// (channel mismatch, kernel larger than the padded input, non-positive stride)
// throw std::invalid_argument naming the op and the shapes.
//
// Implementation: ops/conv.cpp and ops/pool.cpp wire the ops into autograd;
// the heavy kernels (tapegrad's own convolution engine for float32, im2col/col2im
// + OpenBLAS gemm for float64 and the shapes where that measured faster,
// pooling loops) live apart in ops/kernels/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include <tapegrad/core/tensor.hpp>

namespace tg {

/// A (height, width) pair; an int means the same value for both.
struct Size2 {
  /// Height and width.
  ///@{
  std::int64_t h, w;
  ///@}
  /// The same value for height and width (implicit, so `3` means 3x3).
  Size2(std::int64_t v) : h(v), w(v) {}  // NOLINT: implicit on purpose
  /// Height and width apart.
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
};

/// Explicit zero padding (int or (h, w) pair), or "same" / "valid".
/// "same" follows TensorFlow: output = ceil(input / stride), and an odd total
/// padding puts the extra row/column at the bottom/right.
class Padding {
 public:
  /// Explicit zero padding: p on every side, or ph above and below and pw left
  /// and right. Negative values are refused by the op that uses them.
  ///@{
  Padding(std::int64_t p) : h_(p), w_(p) {}  // NOLINT
  Padding(std::int64_t ph, std::int64_t pw) : h_(ph), w_(pw) {}
  Padding(Size2 p) : h_(p.h), w_(p.w) {}  // NOLINT
  ///@}
  /// "same" or "valid" ("valid" is zero padding); anything else throws
  /// std::invalid_argument. The C-string form is a template, so that a literal
  /// 0 means zero padding and is not taken for a null string.
  ///@{
  template <class Char, std::enable_if_t<std::is_same_v<Char, char>, int> = 0>
  Padding(const Char* mode) : Padding(std::string(mode ? mode : "")) {}  // NOLINT
  Padding(const std::string& mode);  // NOLINT
  ///@}

  /// True for "same" padding, which depends on the input size (see resolve).
  bool is_same() const { return same_; }
  /// {top, bottom, left, right} for this input, kernel, stride and dilation.
  std::array<std::int64_t, 4> resolve(std::int64_t in_h, std::int64_t in_w, std::int64_t k_h, std::int64_t k_w,
                                      Size2 stride, Size2 dilation) const;
  /// "1", "(1, 2)" or "'same'" — for error messages and module printouts.
  std::string str() const;

 private:
  std::int64_t h_ = 0, w_ = 0;
  bool same_ = false;
};

/// The convolution/pooling output-size rule (PyTorch's Conv2d and MaxPool2d;
/// Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016):
///   out = floor((in + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1
/// With symmetric padding p and dilation 1 this is floor((in + 2p - k)/s) + 1.
/// Returns 0 when not even one window fits; throws on a non-positive kernel,
/// stride or dilation and on negative padding.
std::int64_t conv_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride = 1,
                              std::int64_t padding = 0, std::int64_t dilation = 1);

/// 2-D cross-correlation: input [N,C,H,W], weight [F,C/groups,KH,KW], optional
/// bias [F] -> [N,F,OH,OW], OH = conv_output_size(H, KH, stride.h, padding, dilation.h)
/// (with "same": ceil(H / stride.h)). With groups > 1, C and F split into
/// `groups` blocks and filter block k sees channel block k only (depthwise:
/// groups = C). Mixed float32/float64 operands run in float64. Batches are
/// split over tapegrad's threads (see set_num_threads).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
              Padding padding = 0, Size2 dilation = 1, std::int64_t groups = 1);

/// 1-D cross-correlation: input [N,C,W], weight [F,C/groups,K], optional bias [F] -> [N,F,OW].
/// Explicit padding pads the width (the width value of a pair); "same"/"valid" as conv2d.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), std::int64_t stride = 1,
              Padding padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1);

/// Transposed convolution (the input gradient of conv2d, PyTorch's
/// conv_transpose2d, same argument order): input [N,C,H,W], weight
/// [C,F/groups,KH,KW], optional bias [F] -> [N,F,OH,OW] with
///   OH = (H-1)*stride.h - 2*padding.h + dilation.h*(KH-1) + output_padding.h + 1.
/// output_padding adds rows/columns at the bottom/right and must be smaller
/// than the stride or the dilation.
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
                        Size2 padding = 0, Size2 output_padding = 0, std::int64_t groups = 1, Size2 dilation = 1);

/// Max over each window of input [N,C,H,W] or [C,H,W]; stride defaults to the
/// kernel, windows may overlap. The gradient goes to the first maximum of each
/// window (ties as np.argmax). Padding is -infinity and at most half the kernel.
Tensor max_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0);

/// Mean over each window (divides by the window size, padding counted as zeros).
Tensor avg_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0);

/// Mean over PyTorch's adaptive windows of input [N,C,H,W] or [C,H,W]: output
/// row i averages input rows floor(i*H/OH) .. ceil((i+1)*H/OH)-1 (columns
/// likewise), so windows may overlap or differ in size. output_size 1 is global
/// average pooling.
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size);

/// Max over the adaptive windows of adaptive_avg_pool2d; the gradient goes to
/// the first maximum of each window (a NaN counts as the maximum).
Tensor adaptive_max_pool2d(const Tensor& input, Size2 output_size);

/// A (height, width) pair of scale factors; a number means the same for both.
struct ScaleFactor {
  /// Height and width factors.
  ///@{
  double h, w;
  ///@}
  /// The same factor for height and width.
  ScaleFactor(double v) : h(v), w(v) {}  // NOLINT: implicit on purpose
  /// Height and width apart.
  ScaleFactor(double height, double width) : h(height), w(width) {}
};

/// Resizes the last two dimensions of input [N,C,H,W] (PyTorch's
/// F.interpolate, 4-D only). Give exactly one of `size` and `scale_factor`;
/// with a scale factor the output is floor(H * scale) and, as in PyTorch, the
/// source coordinates use 1/scale rather than H/OH. mode "nearest": source
/// index floor(dst * scale); "bilinear": align_corners = true maps the corner
/// pixels onto each other (src = dst*(H-1)/(OH-1)), false (the default) maps
/// pixel centres (src = (dst+0.5)*scale - 0.5, clamped at 0). align_corners is
/// refused with "nearest". Differentiable in the input.
Tensor interpolate(const Tensor& input, std::optional<Size2> size,
                   std::optional<ScaleFactor> scale_factor = std::nullopt, const std::string& mode = "nearest",
                   std::optional<bool> align_corners = std::nullopt);

/// [*, C*r*r, H, W] -> [*, C, H*r, W*r]: channel c*r*r + i*r + j becomes
/// pixel (h*r + i, w*r + j) of channel c. A reshape/permute composition.
Tensor pixel_shuffle(const Tensor& input, std::int64_t upscale_factor);

/// The inverse of pixel_shuffle: [*, C, H*r, W*r] -> [*, C*r*r, H, W].
Tensor pixel_unshuffle(const Tensor& input, std::int64_t downscale_factor);

/// Constant padding of the last two dimensions; pads = {left, right, top, bottom}
/// as in PyTorch's F.pad (a negative pad crops). Works on any tensor with at
/// least 2 dimensions; differentiable for float tensors.
Tensor pad2d(const Tensor& input, std::array<std::int64_t, 4> pads, double value = 0.0);

}  // namespace tg
