// conv2d, conv1d and conv_transpose2d: argument checks, padding modes and
// autograd wiring. The kernels live in ops/kernels/: conv2d.cpp (im2col + gemm,
// col2im), which hands float32 to the engine of conv_engine.cpp where it is faster.
//
// y[n,f,i,j] = b[f] + sum_{c,a,e} w[f,c,a,e] * x[n, g(f)*C/groups + c, i*sh - pt + a*dh, j*sw - pl + e*dw]
// (x is zero outside the image; g(f) the group of filter f). For one geometry
// three bilinear maps close under differentiation, each a recorded op whose
// gradients are the other two:
//   conv      (x, w)  -> y    gx = transpose(gy, w)   gw = weight_grad(x, gy)
//   transpose (gy, w) -> x    = conv2d's input gradient = conv_transpose2d
//   weight_grad(x, gy) -> w   = conv2d's weight gradient
// so gradients of gradients stay on the tape (when nothing is recorded, conv2d's
// backward runs the three in one fused pass). conv1d is conv2d on [N,C,1,W]
// between reshapes. The samples and error inputs are declared at the bottom.
#include <algorithm>
#include <limits>
#include <string>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/kernels/conv2d.hpp"
#include "ops/kernels/window.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/ops/vision.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

using autograd::Grads;
using detail::ConvGeometry;
using detail::fail;

// ---- padding modes -----------------------------------------------------------

// TensorFlow's "same" along one axis: out = ceil(in / stride); the total padding
// that needs, split with the odd pixel at the end (bottom/right). `span` is the
// kernel's reach (window_span). (out - 1) * stride lies in [in - stride, in), so
// subtracting `in` before adding the span keeps every step inside int64.
std::pair<std::int64_t, std::int64_t> same_padding(std::int64_t in, std::int64_t span, std::int64_t stride) {
  const std::int64_t out = detail::ceil_div(in, stride);
  const std::int64_t total = std::max<std::int64_t>(0, ((out - 1) * stride - in) + span);
  return {total / 2, total - total / 2};
}

// ---- argument checks -----------------------------------------------------------

// How conv1d and conv2d word sizes: "5" or "(1, 5)", "5" or "3x5".
struct Wording {
  const char* op;
  bool one_d;
  std::string padding;  // as the caller gave it
  std::string pair(std::int64_t h, std::int64_t w) const { return one_d ? std::to_string(w) : detail::pair_str(h, w); }
  std::string extent(std::int64_t h, std::int64_t w) const {
    return one_d ? std::to_string(w) : detail::extent_str(h, w);
  }
};

// Checks a conv's arguments and works out its geometry. x and w are the 4-D
// shapes the kernel sees; user_x and user_w are what the caller passed (3-D for
// conv1d), which is what the messages show.
// Checks `groups` against input channels C, filters F and the weight's
// per-group channels.
void check_groups(const char* op, std::int64_t groups, std::int64_t channels, std::int64_t filters,
                  const Shape& user_x, const Shape& user_w) {
  if (groups <= 0) fail(op, ": groups must be positive, got ", groups);
  if (channels % groups != 0)
    fail(op, ": input ", user_x.str(), " has ", channels, " channels, not divisible by groups ", groups);
  if (filters % groups != 0)
    fail(op, ": weight ", user_w.str(), " has ", filters, " output channels, not divisible by groups ", groups);
}

ConvGeometry conv_geometry(const Wording& say, const Shape& x, const Shape& w, const Tensor& bias, Size2 stride,
                           const Padding& padding, Size2 dilation, std::int64_t groups, const Shape& user_x,
                           const Shape& user_w) {
  if (groups == 1 && x[1] != w[1])
    fail(say.op, ": input ", user_x.str(), " has ", x[1], " channels but weight ", user_w.str(), " expects ", w[1]);
  check_groups(say.op, groups, x[1], w[0], user_x, user_w);
  if (x[1] != w[1] * groups)
    fail(say.op, ": input ", user_x.str(), " has ", x[1], " channels but weight ", user_w.str(), " with groups ",
         groups, " expects ", w[1] * groups, " (", w[1], " per group)");
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != w[0]))
    fail(say.op, ": bias ", bias.shape().str(), " does not match weight ", user_w.str(), ": expected [", w[0],
         "], one value per output channel");
  if (stride.h <= 0 || stride.w <= 0) fail(say.op, ": stride must be positive, got ", say.pair(stride.h, stride.w));
  if (dilation.h <= 0 || dilation.w <= 0)
    fail(say.op, ": dilation must be positive, got ", say.pair(dilation.h, dilation.w));
  if (w[2] <= 0 || w[3] <= 0) fail(say.op, ": weight ", user_w.str(), " has an empty kernel");
  // Before resolving "same" padding, which adds the span to the input size.
  const std::int64_t span_h = detail::window_span(say.op, w[2], dilation.h);
  const std::int64_t span_w = detail::window_span(say.op, w[3], dilation.w);

  ConvGeometry g;
  g.batch = x[0];
  g.channels = x[1];
  g.in_h = x[2];
  g.in_w = x[3];
  g.filters = w[0];
  g.groups = groups;
  g.kernel_h = w[2];
  g.kernel_w = w[3];
  g.stride_h = stride.h;
  g.stride_w = stride.w;
  g.dilation_h = dilation.h;
  g.dilation_w = dilation.w;
  const auto pads = padding.resolve(g.in_h, g.in_w, g.kernel_h, g.kernel_w, stride, dilation);  // t, b, l, r
  if (*std::min_element(pads.begin(), pads.end()) < 0)
    fail(say.op, ": padding must be non-negative, got ", say.padding);
  g.pad_top = pads[0];
  g.pad_left = pads[2];
  g.out_h = detail::window_count(say.op, g.in_h, g.kernel_h, g.stride_h, pads[0], pads[1], g.dilation_h);
  g.out_w = detail::window_count(say.op, g.in_w, g.kernel_w, g.stride_w, pads[2], pads[3], g.dilation_w);
  if (g.out_h == 0 || g.out_w == 0) {
    const bool dilated = g.dilation_h > 1 || g.dilation_w > 1;
    fail(say.op, ": kernel ", say.extent(g.kernel_h, g.kernel_w),
         dilated ? " with dilation " + say.pair(g.dilation_h, g.dilation_w) + " spans " + say.extent(span_h, span_w) +
                       " and"
                 : std::string(),
         " is larger than the padded input ", say.extent(g.in_h + pads[0] + pads[1], g.in_w + pads[2] + pads[3]),
         " (input ", user_x.str(), ", weight ", user_w.str(), ", padding ", say.padding, ")");
  }
  const std::int64_t out[] = {g.batch, g.filters, g.out_h, g.out_w};
  if (const char* problem = detail::shape_size_problem(std::begin(out), std::end(out)))
    fail(say.op, ": the output shape ", detail::extents_str(std::begin(out), std::end(out)), " ", problem,
         " (input ", user_x.str(), ", weight ", user_w.str(), ", padding ", say.padding, ")");
  return g;
}

void check_operands(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias) {
  detail::check_floating(input, op);
  detail::check_floating(weight, op);
  if (bias.defined()) detail::check_floating(bias, op);
}

// Mixed float32/float64 operands are computed in float64, as in PyTorch.
void promote(Tensor& input, Tensor& weight, Tensor& bias) {
  const bool any64 = input.dtype() == kFloat64 || weight.dtype() == kFloat64 ||
                     (bias.defined() && bias.dtype() == kFloat64);
  if (!any64) return;
  if (input.dtype() != kFloat64) input = input.to(kFloat64);
  if (weight.dtype() != kFloat64) weight = weight.to(kFloat64);
  if (bias.defined() && bias.dtype() != kFloat64) bias = bias.to(kFloat64);
}

// ---- the op ----------------------------------------------------------------------

Tensor conv_transpose_checked(const Tensor& gy, const Tensor& w, const ConvGeometry& g);
Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const ConvGeometry& g);

// conv2d on checked 4-D operands of one dtype.
Tensor conv2d_checked(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g) {
  Tensor y = detail::make_tensor({g.batch, g.filters, g.out_h, g.out_w}, x.dtype());
  detail::dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    detail::conv2d_forward<T>(x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr, g, y.data<T>());
  });
  if (!autograd::needs_grad(x, w, b)) return y;

  // Save only what the gradients read: x for gW, W for gx (not detached: under
  // create_graph the gradients are differentiated through them).
  autograd::record("conv2d", {x, w, b}, y, autograd::BackwardFn(
      [g, x = SavedTensor(w.requires_grad() ? x : Tensor()),
       w = SavedTensor(x.requires_grad() ? w : Tensor())](
          const Tensor& gy, const autograd::NeedsGrad& needs) -> Grads {
        // Recording (gradients of gradients asked for): the recorded ops.
        if (GradMode::is_enabled())
          return {needs[0] ? conv_transpose_checked(gy, w.get(), g) : Tensor(),
                  needs[1] ? conv_weight_grad(x.get(), gy, g) : Tensor(), needs[2] ? sum(gy, {0, 2, 3}) : Tensor()};
        // Nothing to record: the same gradients in one pass of the kernel, each
        // image's gy read once for all three (the three ops measured ~1.5% slower
        // on bench_conv's layer, 18.3 vs 18.0 ms).
        const Dtype dt = gy.dtype();
        Tensor gx = needs[0] ? detail::make_tensor({g.batch, g.channels, g.in_h, g.in_w}, dt) : Tensor();
        Tensor gw = needs[1] ? detail::make_tensor({g.filters, g.group_channels(), g.kernel_h, g.kernel_w}, dt) : Tensor();
        Tensor gb = needs[2] ? detail::make_tensor({g.filters}, dt) : Tensor();
        detail::dispatch_float(dt, "conv2d backward", [&](auto tag) {
          using T = decltype(tag);
          auto out = [](Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
          detail::conv2d_backward<T>(needs[1] ? x.get().data<T>() : nullptr, needs[0] ? w.get().data<T>() : nullptr,
                                     gy.data<T>(), g, out(gx), out(gw), out(gb));
        });
        return {gx, gw, gb};
      }));
  // For exporters: pads as ONNX orders them (top, left, bottom, right). The end
  // padding is what the last window reaches; padding beyond it changes nothing.
  auto end_pad = [](std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t dilation,
                    std::int64_t begin) {
    return std::max<std::int64_t>(0, (out - 1) * stride + (k - 1) * dilation + 1 - in - begin);
  };
  const std::int64_t pad_bottom = end_pad(g.in_h, g.out_h, g.kernel_h, g.stride_h, g.dilation_h, g.pad_top);
  const std::int64_t pad_right = end_pad(g.in_w, g.out_w, g.kernel_w, g.stride_w, g.dilation_w, g.pad_left);
  autograd::set_attributes(y, autograd::OpAttributes()
                                  .set_ints("stride", {g.stride_h, g.stride_w})
                                  .set_ints("dilation", {g.dilation_h, g.dilation_w})
                                  .set_ints("pads", {g.pad_top, g.pad_left, pad_bottom, pad_right})
                                  .set_ints("groups", {g.groups}));
  return y;
}

// conv2d's input gradient: x[N,C,H,W] = transpose(gy[N,F,OH,OW], w) — also
// conv_transpose2d without its bias.
Tensor conv_transpose_checked(const Tensor& gy, const Tensor& w, const ConvGeometry& g) {
  Tensor x = detail::make_tensor({g.batch, g.channels, g.in_h, g.in_w}, gy.dtype());
  detail::dispatch_float(gy.dtype(), "conv_transpose2d", [&](auto tag) {
    using T = decltype(tag);
    detail::conv2d_backward<T>(nullptr, w.data<T>(), gy.data<T>(), g, x.data<T>(), nullptr, nullptr);
  });
  if (autograd::needs_grad(gy, w))
    autograd::record("conv_transpose2d", {gy, w}, x, autograd::formulas(
        [g, w = SavedTensor(gy.requires_grad() ? w : Tensor())](const Tensor& gx) {
          return conv2d_checked(gx, w.get(), Tensor(), g);
        },
        [g, gy = SavedTensor(w.requires_grad() ? gy : Tensor())](const Tensor& gx) {
          return conv_weight_grad(gx, gy.get(), g);
        }));
  return x;
}

// conv2d's weight gradient: w[F,C/groups,KH,KW] = weight_grad(x, gy).
Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const ConvGeometry& g) {
  Tensor w = detail::make_tensor({g.filters, g.group_channels(), g.kernel_h, g.kernel_w}, gy.dtype());
  detail::dispatch_float(gy.dtype(), "conv2d weight gradient", [&](auto tag) {
    using T = decltype(tag);
    detail::conv2d_backward<T>(x.data<T>(), nullptr, gy.data<T>(), g, nullptr, w.data<T>(), nullptr);
  });
  if (autograd::needs_grad(x, gy))
    autograd::record("conv2d_weight_grad", {x, gy}, w, autograd::formulas(
        [g, gy = SavedTensor(x.requires_grad() ? gy : Tensor())](const Tensor& gw) {
          return conv_transpose_checked(gy.get(), gw, g);
        },
        [g, x = SavedTensor(gy.requires_grad() ? x : Tensor())](const Tensor& gw) {
          return conv2d_checked(x.get(), gw, Tensor(), g);
        }));
  return w;
}

}  // namespace

Padding::Padding(const std::string& mode) {
  if (mode == "same")
    same_ = true;
  else if (mode != "valid")
    fail("Padding: unknown mode '", mode, "' (expected \"same\", \"valid\" or a number of pixels)");
}

std::array<std::int64_t, 4> Padding::resolve(std::int64_t in_h, std::int64_t in_w, std::int64_t k_h,
                                             std::int64_t k_w, Size2 stride, Size2 dilation) const {
  if (!same_) return {h_, h_, w_, w_};
  if (stride.h <= 0 || stride.w <= 0 || dilation.h <= 0 || dilation.w <= 0 || k_h <= 0 || k_w <= 0)
    fail("Padding 'same': needs a positive kernel, stride and dilation; got kernel ", detail::extent_str(k_h, k_w),
         ", stride ", detail::pair_str(stride.h, stride.w), ", dilation ", detail::pair_str(dilation.h, dilation.w));
  const auto [top, bottom] = same_padding(in_h, detail::window_span("Padding 'same'", k_h, dilation.h), stride.h);
  const auto [left, right] = same_padding(in_w, detail::window_span("Padding 'same'", k_w, dilation.w), stride.w);
  return {top, bottom, left, right};
}

std::string Padding::str() const {
  if (same_) return "'same'";
  return h_ == w_ ? std::to_string(h_) : detail::pair_str(h_, w_);
}

std::int64_t conv_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                              std::int64_t dilation) {
  if (in < 0 || kernel <= 0 || stride <= 0 || dilation <= 0 || padding < 0)
    fail("conv_output_size: needs in >= 0, kernel > 0, stride > 0, dilation > 0 and padding >= 0; got in ", in,
         ", kernel ", kernel, ", stride ", stride, ", padding ", padding, ", dilation ", dilation);
  return detail::window_count("conv_output_size", in, kernel, stride, padding, padding, dilation);
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, Padding padding,
              Size2 dilation, std::int64_t groups) {
  check_operands("conv2d", input, weight, bias);
  if (input.dim() != 4) fail("conv2d: expects input [N,C,H,W], got ", input.shape().str());
  if (weight.dim() != 4) fail("conv2d: expects weight [F,C,KH,KW], got ", weight.shape().str());
  const ConvGeometry g = conv_geometry({"conv2d", false, padding.str()}, input.shape(), weight.shape(), bias, stride,
                                       padding, dilation, groups, input.shape(), weight.shape());
  Tensor x = input, w = weight, b = bias;
  promote(x, w, b);
  return conv2d_checked(x, w, b, g);
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, std::int64_t stride, Padding padding,
              std::int64_t dilation, std::int64_t groups) {
  check_operands("conv1d", input, weight, bias);
  if (input.dim() != 3) fail("conv1d: expects input [N,C,W], got ", input.shape().str());
  if (weight.dim() != 3) fail("conv1d: expects weight [F,C,K], got ", weight.shape().str());
  const Shape& xs = input.shape();
  const Shape& ws = weight.shape();
  // Explicit padding applies to the width only; "same" resolves to 0 on the height of 1.
  const Padding pad2 =
      padding.is_same() ? padding : Padding(0, padding.resolve(1, xs[2], 1, ws[2], {1, stride}, {1, dilation})[2]);
  const ConvGeometry g = conv_geometry({"conv1d", true, padding.str()}, {xs[0], xs[1], 1, xs[2]}, {ws[0], ws[1], 1, ws[2]}, bias,
                                       {1, stride}, pad2, {1, dilation}, groups, xs, ws);
  Tensor x = input, w = weight, b = bias;
  promote(x, w, b);
  Tensor y = conv2d_checked(reshape(x, {xs[0], xs[1], 1, xs[2]}), reshape(w, {ws[0], ws[1], 1, ws[2]}), b, g);
  return reshape(y, {g.batch, g.filters, g.out_w});
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
                        Size2 output_padding, std::int64_t groups, Size2 dilation) {
  const char* op = "conv_transpose2d";
  check_operands(op, input, weight, bias);
  if (input.dim() != 4) fail(op, ": expects input [N,C,H,W], got ", input.shape().str());
  if (weight.dim() != 4) fail(op, ": expects weight [C,F/groups,KH,KW], got ", weight.shape().str());
  const Shape& xs = input.shape();
  const Shape& ws = weight.shape();
  if (groups <= 0) fail(op, ": groups must be positive, got ", groups);
  if (xs[1] != ws[0])
    fail(op, ": input ", xs.str(), " has ", xs[1], " channels but weight ", ws.str(), " expects ", ws[0]);
  if (xs[1] % groups != 0)
    fail(op, ": input ", xs.str(), " has ", xs[1], " channels, not divisible by groups ", groups);
  const std::int64_t filters = ws[1] * groups;
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != filters))
    fail(op, ": bias ", bias.shape().str(), " does not match weight ", ws.str(), " and groups ", groups,
         ": expected [", filters, "], one value per output channel");
  if (stride.h <= 0 || stride.w <= 0) fail(op, ": stride must be positive, got ", detail::pair_str(stride.h, stride.w));
  if (dilation.h <= 0 || dilation.w <= 0)
    fail(op, ": dilation must be positive, got ", detail::pair_str(dilation.h, dilation.w));
  if (padding.h < 0 || padding.w < 0)
    fail(op, ": padding must be non-negative, got ", detail::pair_str(padding.h, padding.w));
  if (output_padding.h < 0 || output_padding.w < 0)
    fail(op, ": output_padding must be non-negative, got ", detail::pair_str(output_padding.h, output_padding.w));
  // As PyTorch: the extra rows must be ones no stride or dilation step could reach.
  if ((output_padding.h >= stride.h && output_padding.h >= dilation.h) ||
      (output_padding.w >= stride.w && output_padding.w >= dilation.w))
    fail(op, ": output_padding ", detail::pair_str(output_padding.h, output_padding.w),
         " must be smaller than either stride ", detail::pair_str(stride.h, stride.w), " or dilation ",
         detail::pair_str(dilation.h, dilation.w));
  if (ws[2] <= 0 || ws[3] <= 0) fail(op, ": weight ", ws.str(), " has an empty kernel");

  // out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
  auto out_size = [&](std::int64_t in, std::int64_t s, std::int64_t p, std::int64_t k, std::int64_t d,
                      std::int64_t op_pad) {
    const auto stretched = detail::checked_product(std::max<std::int64_t>(in - 1, 0), s);
    const auto span = stretched ? detail::checked_sum(*stretched, detail::window_span(op, k, d), op_pad) : std::nullopt;
    if (!span) fail(op, ": the output size of input ", xs.str(), " with weight ", ws.str(), " exceeds 2^63 - 1");
    return in == 0 ? 0 : *span - 2 * p;
  };
  // The conv2d this op is the input gradient of: input [N, F, OH, OW] -> output [N, C, H, W].
  ConvGeometry g;
  g.batch = xs[0];
  g.channels = filters;
  g.filters = xs[1];
  g.groups = groups;
  g.in_h = out_size(xs[2], stride.h, padding.h, ws[2], dilation.h, output_padding.h);
  g.in_w = out_size(xs[3], stride.w, padding.w, ws[3], dilation.w, output_padding.w);
  g.kernel_h = ws[2];
  g.kernel_w = ws[3];
  g.out_h = xs[2];
  g.out_w = xs[3];
  g.stride_h = stride.h;
  g.stride_w = stride.w;
  g.dilation_h = dilation.h;
  g.dilation_w = dilation.w;
  g.pad_top = padding.h;
  g.pad_left = padding.w;
  if (g.in_h <= 0 || g.in_w <= 0)
    fail(op, ": the output would be ", detail::extent_str(g.in_h, g.in_w), " (input ", xs.str(), ", weight ",
         ws.str(), ", padding ", detail::pair_str(padding.h, padding.w), ")");
  const std::int64_t out[] = {g.batch, g.channels, g.in_h, g.in_w};
  if (const char* problem = detail::shape_size_problem(std::begin(out), std::end(out)))
    fail(op, ": the output shape ", detail::extents_str(std::begin(out), std::end(out)), " ", problem, " (input ",
         xs.str(), ", weight ", ws.str(), ")");
  Tensor x = input, w = weight, b = bias;
  promote(x, w, b);
  Tensor y = conv_transpose_checked(x, w, g);
  // For exporters (ONNX's ConvTranspose): the pads at both ends, ONNX's order (top, left, bottom, right).
  if (autograd::needs_grad(x, w))
    autograd::set_attributes(y, autograd::OpAttributes()
                                    .set_ints("stride", {stride.h, stride.w})
                                    .set_ints("dilation", {dilation.h, dilation.w})
                                    .set_ints("pads", {padding.h, padding.w, padding.h, padding.w})
                                    .set_ints("output_padding", {output_padding.h, output_padding.w})
                                    .set_ints("groups", {groups}));
  return b.defined() ? add(y, reshape(b, {1, filters, 1, 1})) : y;
}

// ---------------------------------------------------------------------------
// Declarations: samples (stride, padding, dilation and bias cases) and error inputs.
// ---------------------------------------------------------------------------
std::vector<OpInfo> conv_op_declarations() {
  using inputs::any;
  using inputs::constant;
  // conv(x, w[, b]) with the other arguments bound; a sample without a bias has two inputs.
  auto conv = [](Size2 stride, Padding padding, Size2 dilation, std::int64_t groups = 1) -> OpCall {
    return [=](const OpArgs& v) {
      return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), stride, padding, dilation, groups);
    };
  };
  auto transpose = [](Size2 stride, Size2 padding, Size2 output_padding, std::int64_t groups,
                      Size2 dilation) -> OpCall {
    return [=](const OpArgs& v) {
      return conv_transpose2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), stride, padding, output_padding, groups,
                              dilation);
    };
  };
  auto conv_1d = [](std::int64_t stride, Padding padding, std::int64_t dilation, std::int64_t groups = 1) -> OpCall {
    return [=](const OpArgs& v) {
      return conv1d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), stride, padding, dilation, groups);
    };
  };
  const Tensor image = ones({1, 3, 8, 8});
  return {
      OpInfo("conv2d")
          .sample("stride 1, no padding, bias, batch 2", {any({2, 3, 5, 4}), any({4, 3, 3, 3}), any({4})},
                  conv(1, 0, 1))
          .sample("stride 1, padding 1, no bias", {any({2, 2, 4, 5}), any({3, 2, 3, 3})}, conv(1, 1, 1))
          .sample("stride 2, padding 1, non-square kernel", {any({2, 2, 6, 5}), any({3, 2, 3, 2}), any({3})},
                  conv(2, 1, 1))
          .sample("stride 2 'same' with asymmetric padding", {any({2, 2, 6, 6}), any({2, 2, 3, 3}), any({2})},
                  conv(2, "same", 1))
          .sample("'same' with an even kernel, stride (1, 2)", {any({1, 2, 5, 6}), any({2, 2, 2, 4}), any({2})},
                  conv({1, 2}, "same", 1))
          .sample("kernel larger than the input, 'same'", {any({1, 2, 2, 3}), any({2, 2, 5, 5}), any({2})},
                  conv(1, "same", 1))
          .sample("padding bigger than half the kernel", {any({1, 1, 2, 2}), any({1, 1, 3, 3})}, conv(1, 3, 1))
          .sample("dilation 2", {any({2, 2, 5, 5}), any({2, 2, 3, 3}), any({2})}, conv(1, 2, 2))
          .sample("1x1 kernel (no im2col)", {any({3, 4, 3, 3}), any({2, 4, 1, 1})}, conv(1, 0, 1))
          .sample("a constant input", {constant({2, 2, 4, 4}), any({3, 2, 3, 3})}, conv(1, 1, 1))
          .sample("a constant weight", {any({2, 2, 5, 5}), constant({3, 2, 3, 3})}, conv(2, 1, 1))
          .sample("groups 2, stride 2, bias", {any({2, 4, 5, 5}), any({6, 2, 3, 3}), any({6})}, conv(2, 1, 1, 2))
          .sample("depthwise (groups = channels), multiplier 2", {any({2, 3, 4, 5}), any({6, 1, 3, 2})},
                  conv(1, 1, 1, 3))
          .sample("groups 2, 1x1 kernel (no im2col)", {any({2, 4, 3, 3}), any({2, 2, 1, 1}), any({2})},
                  conv(1, 0, 1, 2))
          .error("input channels differ from the weight's", [=] { conv2d(image, ones({4, 2, 3, 3})); },
                 {"conv2d: input [1,3,8,8] has 3 channels but weight [4,2,3,3] expects 2"})
          .error("kernel larger than the input", [] { conv2d(ones({1, 1, 4, 4}), ones({1, 1, 5, 5})); },
                 {"conv2d: kernel 5x5 is larger than the padded input 4x4", "[1,1,4,4]"})
          .error("kernel larger than the padded input",
                 [] { conv2d(ones({1, 1, 4, 4}), ones({1, 1, 7, 7}), Tensor(), 1, 1); },
                 {"conv2d", "[1,1,4,4]", "[1,1,7,7]"})
          .error("dilated kernel larger than the input", [=] { conv2d(image, ones({2, 3, 3, 3}), Tensor(), 1, 0, 4); },
                 {"conv2d", "[1,3,8,8]", "[2,3,3,3]"})
          .error("dilated kernel spans more than the input",
                 [] { conv2d(ones({1, 1, 4, 4}), ones({1, 1, 3, 3}), Tensor(), 1, 0, 2); },
                 {"with dilation (2, 2) spans 5x5", "padded input 4x4"})
          .error("stride 0", [=] { conv2d(image, ones({2, 3, 3, 3}), Tensor(), 0); }, {"conv2d", "stride"})
          .error("stride (0, 1)", [=] { conv2d(image, ones({4, 3, 3, 3}), Tensor(), {0, 1}); },
                 {"conv2d: stride must be positive, got (0, 1)"})
          .error("negative stride", [=] { conv2d(image, ones({2, 3, 3, 3}), Tensor(), Size2(1, -2)); },
                 {"conv2d", "stride", "-2"})
          .error("dilation 0", [=] { conv2d(image, ones({2, 3, 3, 3}), Tensor(), 1, 0, 0); },
                 {"conv2d: dilation must be positive"})
          .error("a dilation whose span overflows",
                 [=] { conv2d(image, ones({2, 3, 3, 3}), Tensor(), 1, 0, std::numeric_limits<std::int64_t>::max()); },
                 {"conv2d: kernel 3 with dilation 9223372036854775807 spans more than 2^63 - 1 positions"})
          .error("negative padding", [=] { conv2d(image, ones({2, 3, 3, 3}), Tensor(), 1, -1); },
                 {"conv2d", "padding must be non-negative, got -1"})
          .error("unknown padding mode", [=] { conv2d(image, ones({2, 3, 3, 3}), Tensor(), 1, "full"); },
                 {"Padding: unknown mode 'full'", "same", "valid"})
          .error("3-D input", [] { conv2d(ones({3, 8, 8}), ones({2, 3, 3, 3})); },
                 {"conv2d: expects input [N,C,H,W], got [3,8,8]"})
          .error("3-D weight", [=] { conv2d(image, ones({2, 3, 3})); },
                 {"conv2d: expects weight [F,C,KH,KW], got [2,3,3]"})
          .error("bias of the wrong length", [=] { conv2d(image, ones({2, 3, 3, 3}), ones({3})); },
                 {"conv2d: bias [3] does not match weight [2,3,3,3]", "expected [2]"})
          .error("an empty kernel", [=] { conv2d(image, ones({4, 3, 0, 3})); }, {"conv2d", "empty kernel"})
          .error("int64 input",
                 [] { conv2d(tensor_i64(std::vector<std::int64_t>(16, 1), {1, 1, 4, 4}), ones({1, 1, 2, 2})); },
                 {"conv2d", "int64"})
          .error("an undefined input", [] { conv2d(Tensor(), ones({1, 1, 1, 1})); }, {"conv2d", "undefined"})
          .error("groups 0", [=] { conv2d(image, ones({3, 1, 3, 3}), Tensor(), 1, 0, 1, 0); },
                 {"conv2d: groups must be positive, got 0"})
          .error("channels not divisible by groups", [=] { conv2d(image, ones({4, 1, 3, 3}), Tensor(), 1, 0, 1, 2); },
                 {"conv2d: input [1,3,8,8] has 3 channels, not divisible by groups 2"})
          .error("filters not divisible by groups",
                 [] { conv2d(ones({1, 4, 8, 8}), ones({3, 2, 3, 3}), Tensor(), 1, 0, 1, 2); },
                 {"conv2d: weight [3,2,3,3] has 3 output channels, not divisible by groups 2"})
          .error("weight channels times groups differ from the input's",
                 [] { conv2d(ones({1, 4, 8, 8}), ones({4, 1, 3, 3}), Tensor(), 1, 0, 1, 2); },
                 {"conv2d: input [1,4,8,8] has 4 channels but weight [4,1,3,3] with groups 2 expects 2 (1 per group)"}),
      OpInfo("conv_transpose2d")
          .sample("stride 1, bias", {any({2, 3, 3, 4}), any({3, 2, 3, 3}), any({2})}, transpose(1, 0, 0, 1, 1))
          .sample("stride 2, padding 1, output_padding 1", {any({2, 2, 3, 3}), any({2, 3, 3, 3}), any({3})},
                  transpose(2, 1, 1, 1, 1))
          .sample("stride (2, 3), non-square kernel, no bias", {any({1, 2, 3, 2}), any({2, 2, 2, 4})},
                  transpose({2, 3}, {0, 1}, {1, 2}, 1, 1))
          .sample("dilation 2, output_padding 1 under it", {any({1, 2, 3, 3}), any({2, 1, 2, 2}), any({1})},
                  transpose(1, 1, 1, 1, 2))
          .sample("groups 2", {any({2, 4, 3, 3}), any({4, 3, 3, 3}), any({6})}, transpose(2, 1, 0, 2, 1))
          .sample("depthwise", {any({1, 3, 4, 3}), any({3, 1, 2, 2})}, transpose(1, 0, 0, 3, 1))
          .sample("a constant weight", {any({2, 2, 3, 3}), constant({2, 2, 3, 3}), any({2})}, transpose(1, 1, 0, 1, 1))
          .error("input channels differ from the weight's",
                 [] { conv_transpose2d(ones({1, 3, 4, 4}), ones({2, 4, 3, 3})); },
                 {"conv_transpose2d: input [1,3,4,4] has 3 channels but weight [2,4,3,3] expects 2"})
          .error("output_padding as large as the stride and dilation",
                 [] { conv_transpose2d(ones({1, 2, 4, 4}), ones({2, 2, 3, 3}), Tensor(), 2, 0, 2); },
                 {"conv_transpose2d: output_padding (2, 2) must be smaller than either stride (2, 2) or dilation (1, 1)"})
          .error("output_padding with stride 1",
                 [] { conv_transpose2d(ones({1, 2, 4, 4}), ones({2, 2, 3, 3}), Tensor(), 1, 0, {0, 1}); },
                 {"conv_transpose2d", "output_padding (0, 1)"})
          .error("groups not dividing the input channels",
                 [] { conv_transpose2d(ones({1, 3, 4, 4}), ones({3, 2, 3, 3}), Tensor(), 1, 0, 0, 2); },
                 {"conv_transpose2d: input [1,3,4,4] has 3 channels, not divisible by groups 2"})
          .error("groups 0", [] { conv_transpose2d(ones({1, 2, 4, 4}), ones({2, 2, 3, 3}), Tensor(), 1, 0, 0, 0); },
                 {"conv_transpose2d: groups must be positive, got 0"})
          .error("bias of the wrong length",
                 [] { conv_transpose2d(ones({1, 4, 4, 4}), ones({4, 3, 3, 3}), ones({3}), 1, 0, 0, 2); },
                 {"conv_transpose2d: bias [3] does not match weight [4,3,3,3] and groups 2: expected [6]"})
          .error("padding that leaves no output",
                 [] { conv_transpose2d(ones({1, 1, 1, 1}), ones({1, 1, 2, 2}), Tensor(), 1, 2); },
                 {"conv_transpose2d: the output would be -2x-2", "[1,1,1,1]", "[1,1,2,2]"})
          .error("stride 0", [] { conv_transpose2d(ones({1, 1, 3, 3}), ones({1, 1, 2, 2}), Tensor(), 0); },
                 {"conv_transpose2d: stride must be positive, got (0, 0)"})
          .error("negative padding", [] { conv_transpose2d(ones({1, 1, 3, 3}), ones({1, 1, 2, 2}), Tensor(), 1, -1); },
                 {"conv_transpose2d: padding must be non-negative, got (-1, -1)"})
          .error("3-D input", [] { conv_transpose2d(ones({1, 3, 3}), ones({1, 1, 2, 2})); },
                 {"conv_transpose2d: expects input [N,C,H,W], got [1,3,3]"})
          .error("int64 weight",
                 [] { conv_transpose2d(ones({1, 1, 2, 2}), tensor_i64({1, 1, 1, 1}, {1, 1, 2, 2})); },
                 {"conv_transpose2d", "int64"}),
      OpInfo("conv1d")
          .composite_of_other_ops()
          .sample("stride 2, padding 1, bias", {any({2, 3, 7}), any({2, 3, 3}), any({2})}, conv_1d(2, 1, 1))
          .sample("'same', dilation 2, no bias", {any({2, 2, 6}), any({3, 2, 2})}, conv_1d(1, "same", 2))
          .sample("groups 2, bias", {any({2, 4, 6}), any({4, 2, 3}), any({4})}, conv_1d(1, 1, 1, 2))
          .error("input channels differ from the weight's", [] { conv1d(ones({1, 3, 10}), ones({2, 2, 3})); },
                 {"conv1d: input [1,3,10] has 3 channels but weight [2,2,3] expects 2"})
          .error("kernel larger than the input", [] { conv1d(ones({1, 1, 4}), ones({1, 1, 6})); },
                 {"conv1d: kernel 6 is larger than the padded input 4", "[1,1,4]", "[1,1,6]"})
          .error("4-D input", [] { conv1d(ones({1, 3, 4, 4}), ones({2, 3, 3})); }, {"conv1d", "[1,3,4,4]"})
          .error("2-D input", [] { conv1d(ones({1, 4}), ones({1, 1, 3})); },
                 {"conv1d: expects input [N,C,W], got [1,4]"})
          .error("stride 0", [] { conv1d(ones({1, 3, 10}), ones({2, 3, 3}), Tensor(), 0); },
                 {"conv1d: stride must be positive, got 0"}),
  };
}

}  // namespace tg
