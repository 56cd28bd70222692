// pad2d: constant padding (or cropping, for negative pads) of the last two dimensions.
//
// A raw loop per row: each output row is a fill, a memcpy and a fill. The
// gradient is the formula passed to autograd::formulas; the samples and error
// inputs are declared at the bottom.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/vision.hpp>

namespace tg {

Tensor pad2d(const Tensor& x, std::array<std::int64_t, 4> pads, double value) {
  detail::check_defined(x, "pad2d");
  // Plain variables, not a structured binding: C++17 does not let lambdas capture
  // structured bindings (GCC allows it, clang 14 refuses).
  const std::int64_t left = pads[0], right = pads[1], top = pads[2], bottom = pads[3];
  auto pads_str = [&] { return detail::cat("{", left, ",", right, ",", top, ",", bottom, "}"); };
  if (x.dim() < 2) detail::fail("pad2d: expects a tensor with at least 2 dimensions, got ", x.shape().str());
  const std::int64_t H = x.size(-2), W = x.size(-1);
  // Checked: huge pads must not wrap around to a plausible size. H + top and
  // W + left are used below too, and the backward negates every pad.
  const auto h_top = detail::checked_sum(H, top), w_left = detail::checked_sum(W, left);
  const auto out_h = h_top ? detail::checked_sum(*h_top, bottom) : std::nullopt;
  const auto out_w = w_left ? detail::checked_sum(*w_left, right) : std::nullopt;
  const bool negatable = std::min({left, right, top, bottom}) > std::numeric_limits<std::int64_t>::min();
  if (!out_h || !out_w || !negatable)
    detail::fail("pad2d: pads {left,right,top,bottom} = ", pads_str(), " are too large for input ", x.shape().str(),
                 ": the padded size overflows 64-bit integers");
  const std::int64_t OH = *out_h, OW = *out_w;
  if (OH < 0 || OW < 0)
    detail::fail("pad2d: pads {left,right,top,bottom} = ", pads_str(), " crop input ", x.shape().str(),
                 " to a negative size");
  std::vector<std::int64_t> out_extents = x.shape().vec();
  out_extents[x.dim() - 2] = OH;
  out_extents[x.dim() - 1] = OW;
  if (const char* problem = detail::shape_size_problem(out_extents))
    detail::fail("pad2d: the output shape ", detail::extents_str(out_extents),
                 " ", problem, " (input ", x.shape().str(), ", pads {left,right,top,bottom} = ", pads_str(), ")");
  Tensor y = detail::make_tensor(Shape(out_extents), x.dtype());
  std::int64_t planes = 1;
  for (int i = 0; i < x.dim() - 2; ++i) planes *= x.shape()[i];

  // Output columns [w0, w1) copy input columns [w0 - left, w1 - left); rows likewise.
  const std::int64_t w0 = std::clamp<std::int64_t>(left, 0, OW), w1 = std::clamp<std::int64_t>(*w_left, w0, OW);
  const std::int64_t h0 = std::clamp<std::int64_t>(top, 0, OH), h1 = std::clamp<std::int64_t>(*h_top, h0, OH);
  detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T fill = static_cast<T>(value);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    detail::parallel_for(planes, detail::grain_for_rows(OH * OW),
                         [&](std::int64_t begin, std::int64_t end) {
                           for (std::int64_t p = begin; p < end; ++p) {
                             const T* src = in + p * H * W;
                             T* dst = out + p * OH * OW;
                             for (std::int64_t oh = 0; oh < OH; ++oh) {
                               T* row = dst + oh * OW;
                               if (oh < h0 || oh >= h1) {
                                 std::fill(row, row + OW, fill);
                                 continue;
                               }
                               std::fill(row, row + w0, fill);
                               if (w1 > w0)
                                 std::memcpy(row + w0, src + (oh - top) * W + (w0 - left),
                                             static_cast<std::size_t>(w1 - w0) * sizeof(T));
                               std::fill(row + w1, row + OW, fill);
                             }
                           }
                         });
  });
  // The gradient cropped back to the input: pixels cropped away get 0 (pad2d's fill).
  if (autograd::needs_grad(x))
    autograd::record("pad2d", {x}, y, autograd::formulas([pads](const Tensor& gy) {
      return pad2d(gy, {-pads[0], -pads[1], -pads[2], -pads[3]}, 0.0);
    }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: samples (padding, cropping) and error inputs.
// ---------------------------------------------------------------------------
std::vector<OpInfo> pad_op_declarations() {
  using inputs::any;
  return {
      OpInfo("pad2d")
          .sample("{1,2,0,3} with 0.5", {any({2, 3, 4, 3})},
                  [](const OpArgs& v) { return pad2d(v[0], {1, 2, 0, 3}, 0.5); })
          .sample("padding and cropping {-1,1,2,-2}", {any({2, 5, 4})},
                  [](const OpArgs& v) { return pad2d(v[0], {-1, 1, 2, -2}); })
          .error("1-D input", [] { pad2d(ones({4}), {1, 1, 1, 1}); },
                 {"pad2d: expects a tensor with at least 2 dimensions, got [4]"})
          .error("cropping more than the input has", [] { pad2d(ones({1, 3, 4}), {-3, -2, 0, 0}); },
                 {"pad2d", "[1,3,4]", "-3"})
          .error("cropping to a negative size", [] { pad2d(ones({2, 2}), {-3, 0, 0, 0}); },
                 {"pad2d", "{-3,0,0,0}", "[2,2]", "negative size"})
          .error("pads whose sum overflows",
                 [] {
                   const std::int64_t max = std::numeric_limits<std::int64_t>::max();
                   pad2d(ones({4, 4}), {0, 0, max, max});
                 },
                 {"pad2d", "[4,4]", "too large", "overflows 64-bit integers"}),
  };
}

}  // namespace tg
