// max_pool2d and avg_pool2d: argument checks and autograd wiring.
// The loops live in ops/kernels/pool2d.cpp; each gradient is the formula passed
// to autograd::formulas (windows may overlap: their contributions add up); under
// create_graph the formulas use recorded ops instead of the loops (scatter_add
// for max pooling, conv_transpose2d for average pooling), so they differentiate again.
// adaptive_avg_pool2d and adaptive_max_pool2d are compositions of recorded ops
// (matmul with constant averaging matrices; gather at the maxima), so their
// gradients, and the gradients of those, come from the tape. The samples and
// error inputs are declared at the bottom.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/kernels/pool2d.hpp"
#include "ops/kernels/window.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/ops/vision.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

using detail::fail;
using detail::PoolGeometry;
using detail::pair_str;

// Checks the arguments of a pooling op on x [N,C,H,W] or [C,H,W].
PoolGeometry pool_geometry(const char* op, const Tensor& x, Size2 kernel, std::optional<Size2> stride_opt,
                           Size2 padding) {
  detail::check_floating(x, op);
  if (x.dim() != 3 && x.dim() != 4) fail(op, ": expects input [N,C,H,W] or [C,H,W], got ", x.shape().str());
  const Size2 stride = stride_opt.value_or(kernel);
  if (kernel.h <= 0 || kernel.w <= 0) fail(op, ": kernel must be positive, got ", pair_str(kernel.h, kernel.w));
  if (stride.h <= 0 || stride.w <= 0) fail(op, ": stride must be positive, got ", pair_str(stride.h, stride.w));
  if (padding.h < 0 || padding.w < 0)
    fail(op, ": padding must be non-negative, got ", pair_str(padding.h, padding.w));
  // Beyond half the kernel a window could lie entirely in the padding.
  // (p > k / 2 is 2p > k for integers, without the overflow of 2p.)
  if (padding.h > kernel.h / 2 || padding.w > kernel.w / 2)
    fail(op, ": padding ", pair_str(padding.h, padding.w), " must be at most half the kernel ",
         pair_str(kernel.h, kernel.w));

  PoolGeometry g;
  g.in_h = x.size(-2);
  g.in_w = x.size(-1);
  g.planes = x.numel() / std::max<std::int64_t>(1, g.in_h * g.in_w);
  if (g.in_h * g.in_w == 0) g.planes = 0;
  g.kernel_h = kernel.h;
  g.kernel_w = kernel.w;
  g.stride_h = stride.h;
  g.stride_w = stride.w;
  g.pad_top = padding.h;
  g.pad_left = padding.w;
  g.out_h = detail::window_count(op, g.in_h, kernel.h, stride.h, padding.h, padding.h, 1);
  g.out_w = detail::window_count(op, g.in_w, kernel.w, stride.w, padding.w, padding.w, 1);
  if (g.out_h == 0 || g.out_w == 0)
    fail(op, ": kernel ", detail::extent_str(kernel.h, kernel.w), " is larger than the padded input ",
         detail::extent_str(g.in_h + 2 * padding.h, g.in_w + 2 * padding.w), " (input ", x.shape().str(),
         ", padding ", pair_str(padding.h, padding.w), ")");
  // Padding can make the output one larger than the input in each of the two axes.
  std::vector<std::int64_t> out = x.shape().vec();
  out[out.size() - 2] = g.out_h;
  out[out.size() - 1] = g.out_w;
  if (const char* problem = detail::shape_size_problem(out))
    fail(op, ": the output shape ", detail::extents_str(out), " ", problem,
         " (input ", x.shape().str(), ")");
  return g;
}

// x's shape with the last two extents replaced by the pooled ones.
Shape pooled_shape(const Tensor& x, const PoolGeometry& g) {
  Shape s = x.shape();
  s.set(s.size() - 2, g.out_h);  // pool_geometry checked that this shape can exist
  s.set(s.size() - 1, g.out_w);
  return s;
}

// Kernel, stride and padding for exporters (ONNX MaxPool / AveragePool pads: begin values, then end values).
autograd::OpAttributes pool_attributes(const PoolGeometry& g) {
  return autograd::OpAttributes()
      .set_ints("kernel", {g.kernel_h, g.kernel_w})
      .set_ints("stride", {g.stride_h, g.stride_w})
      .set_ints("pads", {g.pad_top, g.pad_left, g.pad_top, g.pad_left});
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding) {
  const PoolGeometry g = pool_geometry("max_pool2d", x, kernel, stride, padding);
  Tensor y = detail::make_tensor(pooled_shape(x, g), x.dtype());
  // Each maximum's position inside its window (ops/kernels/pool2d.hpp): int32,
  // two to an element of a private int64 tensor (tapegrad has no int32 dtype;
  // a tensor comes from the caching allocator, so a training loop reuses the
  // block), or int64 for a window of 2^31 positions or more.
  const bool int32 = detail::max_pool_int32_positions(g);
  const std::int64_t outputs = g.planes * g.out_plane();
  Tensor at = detail::make_tensor({int32 ? (outputs + 1) / 2 : outputs}, kInt64);
  detail::dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    if (int32)
      detail::max_pool2d_forward<T>(x.data<T>(), g, y.data<T>(), static_cast<std::int32_t*>(at.raw_data()));
    else
      detail::max_pool2d_forward<T>(x.data<T>(), g, y.data<T>(), at.data<std::int64_t>());
  });
  // gx[the maximum of window o] += gy[o]   (the first of tied maxima, the last NaN, as PyTorch)
  if (autograd::needs_grad(x)) {
    autograd::record("max_pool2d", {x}, y, autograd::formulas([g, int32, at = SavedTensor(at), shape = x.shape()](const Tensor& gy) {
      const Tensor& positions = at.get();
      // Recording (gradients of gradients asked for): the same sums as a
      // scatter_add at the maxima's plane indices, whose gradient is a gather there.
      if (GradMode::is_enabled()) {
        Tensor index = detail::make_tensor({g.planes, g.out_plane()}, kInt64);
        if (int32)
          detail::max_pool2d_plane_indices(static_cast<const std::int32_t*>(positions.raw_data()), g,
                                           index.data<std::int64_t>());
        else
          detail::max_pool2d_plane_indices(positions.data<std::int64_t>(), g, index.data<std::int64_t>());
        const Tensor into = zeros({g.planes, g.in_plane()}, gy.dtype());
        return reshape(scatter_add(into, 1, index, reshape(gy, {g.planes, g.out_plane()})), shape.vec());
      }
      Tensor gx = detail::make_tensor(shape, gy.dtype());
      detail::dispatch_float(gy.dtype(), "max_pool2d backward", [&](auto tag) {
        using T = decltype(tag);
        if (int32)
          detail::max_pool2d_backward<T>(gy.data<T>(), static_cast<const std::int32_t*>(positions.raw_data()), g,
                                         gx.data<T>());
        else
          detail::max_pool2d_backward<T>(gy.data<T>(), positions.data<std::int64_t>(), g, gx.data<T>());
      });
      return gx;
    }));
    autograd::set_attributes(y, pool_attributes(g));
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding) {
  const PoolGeometry g = pool_geometry("avg_pool2d", x, kernel, stride, padding);
  Tensor y = detail::make_tensor(pooled_shape(x, g), x.dtype());
  detail::dispatch_float(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    detail::avg_pool2d_forward<T>(x.data<T>(), g, y.data<T>());
  });
  // gx[i] += gy[o] / (KH*KW) for every window o that covers pixel i
  if (autograd::needs_grad(x)) {
    autograd::record("avg_pool2d", {x}, y, autograd::formulas([g, shape = x.shape()](const Tensor& gy) {
      // Recording (gradients of gradients asked for): average pooling is a conv
      // of each plane with a constant 1/(KH*KW) kernel, so its gradient is that
      // kernel's conv_transpose2d (output_padding restores rows no window reached).
      if (GradMode::is_enabled()) {
        const Tensor kernel = full({1, 1, g.kernel_h, g.kernel_w}, 1.0 / static_cast<double>(g.kernel_h * g.kernel_w),
                                   gy.dtype());
        const Size2 stride{g.stride_h, g.stride_w}, pad{g.pad_top, g.pad_left};
        const Size2 extra{g.in_h + 2 * g.pad_top - ((g.out_h - 1) * g.stride_h + g.kernel_h),
                          g.in_w + 2 * g.pad_left - ((g.out_w - 1) * g.stride_w + g.kernel_w)};
        const Tensor planes = reshape(gy, {g.planes, 1, g.out_h, g.out_w});
        return reshape(conv_transpose2d(planes, kernel, Tensor(), stride, pad, extra), shape.vec());
      }
      Tensor gx = detail::make_tensor(shape, gy.dtype());
      detail::dispatch_float(gy.dtype(), "avg_pool2d backward", [&](auto tag) {
        using T = decltype(tag);
        detail::avg_pool2d_backward<T>(gy.data<T>(), g, gx.data<T>());
      });
      return gx;
    }));
    autograd::set_attributes(y, pool_attributes(g));
  }
  return y;
}

namespace {

// PyTorch's adaptive window of output index i along an axis of `in` inputs
// pooled to `out`: [floor(i*in/out), ceil((i+1)*in/out)).
std::pair<std::int64_t, std::int64_t> adaptive_window(std::int64_t i, std::int64_t in, std::int64_t out) {
  return {i * in / out, detail::ceil_div((i + 1) * in, out)};
}

// Checks an adaptive pool's input [N,C,H,W] or [C,H,W] and output size.
void check_adaptive(const char* op, const Tensor& x, Size2 out) {
  detail::check_floating(x, op);
  if (x.dim() != 3 && x.dim() != 4) fail(op, ": expects input [N,C,H,W] or [C,H,W], got ", x.shape().str());
  if (out.h <= 0 || out.w <= 0) fail(op, ": output_size must be positive, got ", pair_str(out.h, out.w));
  if (x.size(-2) == 0 || x.size(-1) == 0) fail(op, ": the input ", x.shape().str(), " has an empty plane");
  for (int d = 0; d < x.dim() - 2; ++d)
    if (x.size(d) == 0) fail(op, ": the input ", x.shape().str(), " is empty");
}

// [in, out]: column i averages the adaptive window of output i.
Tensor averaging_matrix(std::int64_t in, std::int64_t out, Dtype dtype) {
  std::vector<double> m(static_cast<std::size_t>(in * out), 0.0);
  for (std::int64_t i = 0; i < out; ++i) {
    const auto [lo, hi] = adaptive_window(i, in, out);
    for (std::int64_t r = lo; r < hi; ++r) m[r * out + i] = 1.0 / static_cast<double>(hi - lo);
  }
  return tensor(m, {in, out}, dtype);
}

// x's shape with the last two extents replaced.
std::vector<std::int64_t> with_plane(const Tensor& x, std::int64_t h, std::int64_t w) {
  std::vector<std::int64_t> s = x.shape().vec();
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

// Index within its plane of each window's first maximum (or its last NaN, as
// in max_pool2d and PyTorch): [planes, OH*OW] int64.
template <class T> void adaptive_argmax(const T* x, std::int64_t planes, std::int64_t H, std::int64_t W, Size2 out,
                                        std::int64_t* idx) {
  for (std::int64_t p = 0; p < planes; ++p) {
    const T* plane = x + p * H * W;
    for (std::int64_t i = 0; i < out.h; ++i) {
      const auto [r0, r1] = adaptive_window(i, H, out.h);
      for (std::int64_t j = 0; j < out.w; ++j) {
        const auto [c0, c1] = adaptive_window(j, W, out.w);
        std::int64_t best = r0 * W + c0;
        for (std::int64_t r = r0; r < r1; ++r)
          for (std::int64_t c = c0; c < c1; ++c) {
            const T v = plane[r * W + c];
            if (v > plane[best] || std::isnan(v)) best = r * W + c;
          }
        *idx++ = best;
      }
    }
  }
}

}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
  check_adaptive("adaptive_avg_pool2d", x, output_size);
  const std::int64_t H = x.size(-2), W = x.size(-1), planes = x.numel() / (H * W);
  if (output_size.h == 1 && output_size.w == 1) return mean(x, {-2, -1}, true);  // global pooling
  // Separable: y = Ah · x · Awᵀ per plane, Ah [OH,H] and Aw [OW,W] holding 1/window length.
  const Tensor rows = matmul(reshape(x, {planes * H, W}), averaging_matrix(W, output_size.w, x.dtype()));
  const Tensor by_column = reshape(transpose(reshape(rows, {planes, H, output_size.w}), 1, 2),
                                   {planes * output_size.w, H});
  const Tensor pooled = matmul(by_column, averaging_matrix(H, output_size.h, x.dtype()));  // [planes*OW, OH]
  return reshape(transpose(reshape(pooled, {planes, output_size.w, output_size.h}), 1, 2),
                 with_plane(x, output_size.h, output_size.w));
}

Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size) {
  check_adaptive("adaptive_max_pool2d", x, output_size);
  const std::int64_t H = x.size(-2), W = x.size(-1), planes = x.numel() / (H * W);
  Tensor idx = detail::make_tensor({planes, output_size.h * output_size.w}, kInt64);
  detail::dispatch_float(x.dtype(), "adaptive_max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    adaptive_argmax<T>(x.data<T>(), planes, H, W, output_size, idx.data<std::int64_t>());
  });
  return reshape(gather(reshape(x, {planes, H * W}), 1, idx), with_plane(x, output_size.h, output_size.w));
}

// ---------------------------------------------------------------------------
// Declarations: samples (overlapping windows, padding) and error inputs.
// Random inputs have no ties, so max pooling is differentiable at them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> pool_op_declarations() {
  using inputs::any;
  using Pool = Tensor (*)(const Tensor&, Size2, std::optional<Size2>, Size2);
  auto pool = [](Pool op, Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0) -> OpCall {
    return [=](const OpArgs& v) { return op(v[0], kernel, stride, padding); };
  };
  return {
      OpInfo("max_pool2d")
          .sample("2x2", {any({2, 3, 4, 6})}, pool(max_pool2d, 2))
          .sample("3x3, stride 1, padding 1", {any({2, 2, 5, 4})}, pool(max_pool2d, 3, Size2(1), 1))
          .sample("2x3, stride (1, 2), padding (1, 1)", {any({1, 2, 5, 6})},
                  pool(max_pool2d, {2, 3}, Size2{1, 2}, {1, 1}))
          .sample("2x2 on a 5x7 plane: its last row and column are in no window", {any({2, 2, 5, 7})},
                  pool(max_pool2d, 2))
          .sample("17x16 kernel, padding (1, 0): 272 window positions, offsets by division",
                  {any({1, 1, 18, 17})}, pool(max_pool2d, {17, 16}, Size2(1), {1, 0}))
          .error("kernel larger than the input", [] { max_pool2d(ones({1, 1, 4, 4}), 5); },
                 {"max_pool2d", "[1,1,4,4]", "5"})
          .error("kernel larger than a 2x2 input", [] { max_pool2d(ones({1, 1, 2, 2}), 3); },
                 {"max_pool2d: kernel 3x3 is larger than the padded input 2x2", "[1,1,2,2]"})
          .error("stride 0", [] { max_pool2d(ones({1, 1, 4, 4}), 2, Size2(0)); }, {"max_pool2d", "stride"})
          .error("stride (2, 0)", [] { max_pool2d(ones({1, 1, 2, 2}), 2, Size2{2, 0}); },
                 {"max_pool2d: stride must be positive, got (2, 0)"})
          .error("negative padding", [] { max_pool2d(ones({1, 1, 2, 2}), 2, std::nullopt, -1); },
                 {"max_pool2d", "padding must be non-negative"})
          .error("padding more than half the kernel", [] { max_pool2d(ones({1, 1, 4, 4}), 2, std::nullopt, 2); },
                 {"max_pool2d", "padding"})
          .error("padding (2, 2) with a 3x3 kernel", [] { max_pool2d(ones({1, 1, 8, 8}), 3, std::nullopt, 2); },
                 {"max_pool2d: padding (2, 2) must be at most half the kernel (3, 3)"})
          .error("2-D input", [] { max_pool2d(ones({4, 4}), 2); },
                 {"max_pool2d: expects input [N,C,H,W] or [C,H,W], got [4,4]"})
          .error("kernel 0", [] { max_pool2d(ones({1, 1, 4, 4}), 0); }, {"max_pool2d", "kernel", "(0, 0)"}),
      OpInfo("avg_pool2d")
          .sample("2x2", {any({2, 3, 4, 6})}, pool(avg_pool2d, 2))
          .sample("3x3, stride 1, padding 1", {any({2, 2, 5, 4})}, pool(avg_pool2d, 3, Size2(1), 1))
          .sample("3x2, stride (2, 1), padding (1, 0)", {any({1, 2, 6, 5})},
                  pool(avg_pool2d, {3, 2}, Size2{2, 1}, {1, 0}))
          .sample("2x2 on a 5x7 plane: its last row and column are in no window", {any({2, 2, 5, 7})},
                  pool(avg_pool2d, 2))
          .error("kernel larger than the input", [] { avg_pool2d(ones({1, 1, 3, 6}), Size2(4, 2)); },
                 {"avg_pool2d", "[1,1,3,6]", "4"})
          .error("kernel (0, 2)", [] { avg_pool2d(ones({1, 1, 2, 2}), {0, 2}); },
                 {"avg_pool2d: kernel must be positive, got (0, 2)"})
          .error("negative stride", [] { avg_pool2d(ones({1, 1, 4, 4}), 2, Size2(-1)); },
                 {"avg_pool2d", "stride", "-1"})
          .error("int64 input", [] { avg_pool2d(tensor_i64({1, 2, 3, 4}, {1, 1, 2, 2}), 2); }, {"avg_pool2d", "int64"}),
      OpInfo("adaptive_avg_pool2d")
          .composite_of_other_ops()
          .sample("5x7 to 3x4: overlapping windows", {any({2, 2, 5, 7})},
                  [](const OpArgs& v) { return adaptive_avg_pool2d(v[0], {3, 4}); })
          .sample("3x2 to 5x3: upsampling windows, no batch", {any({2, 3, 2})},
                  [](const OpArgs& v) { return adaptive_avg_pool2d(v[0], {5, 3}); })
          .sample("global", {any({2, 3, 4, 5})}, [](const OpArgs& v) { return adaptive_avg_pool2d(v[0], 1); })
          .error("output_size 0", [] { adaptive_avg_pool2d(ones({1, 1, 4, 4}), {0, 2}); },
                 {"adaptive_avg_pool2d: output_size must be positive, got (0, 2)"})
          .error("2-D input", [] { adaptive_avg_pool2d(ones({4, 4}), 2); },
                 {"adaptive_avg_pool2d: expects input [N,C,H,W] or [C,H,W], got [4,4]"})
          .error("empty plane", [] { adaptive_avg_pool2d(ones({1, 2, 0, 4}), 2); },
                 {"adaptive_avg_pool2d: the input [1,2,0,4] has an empty plane"})
          .error("int64 input", [] { adaptive_avg_pool2d(tensor_i64({1, 2, 3, 4}, {1, 1, 2, 2}), 1); },
                 {"adaptive_avg_pool2d", "int64"}),
      OpInfo("adaptive_max_pool2d")
          .composite_of_other_ops()
          .sample("5x7 to 3x4: overlapping windows", {any({2, 2, 5, 7})},
                  [](const OpArgs& v) { return adaptive_max_pool2d(v[0], {3, 4}); })
          .sample("4x4 to 2x2, no batch", {any({3, 4, 4})}, [](const OpArgs& v) { return adaptive_max_pool2d(v[0], 2); })
          .sample("global", {any({2, 2, 3, 3})}, [](const OpArgs& v) { return adaptive_max_pool2d(v[0], 1); })
          .error("output_size -1", [] { adaptive_max_pool2d(ones({1, 1, 4, 4}), -1); },
                 {"adaptive_max_pool2d: output_size must be positive, got (-1, -1)"})
          .error("5-D input", [] { adaptive_max_pool2d(ones({1, 1, 1, 4, 4}), 2); },
                 {"adaptive_max_pool2d", "[1,1,1,4,4]"}),
  };
}

}  // namespace tg
