// interpolate (nearest, bilinear) and pixel_shuffle / pixel_unshuffle.
//
// Each is a composition of recorded ops, so its gradient (and the gradient of
// that) comes from the tape: interpolation is separable, one index_select per
// axis for "nearest" and two weighted ones per axis for "bilinear", with the
// source indices and weights computed here as PyTorch 1.13's CPU kernels
// compute them (in the input's precision, float for float32); pixel_shuffle is
// a reshape, a permute and a reshape. The samples and error inputs are
// declared at the bottom.
#include <cmath>
#include <string>
#include <vector>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/kernels/window.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/ops/vision.hpp>

namespace tg {
namespace {

using detail::fail;

// One axis of a resize: `in` source positions to `out`, and the scale factor
// the caller gave (0: none, so the scale is in/out).
struct Axis {
  std::int64_t in, out;
  double scale_factor;
};

// PyTorch's scale for the source index: 1/scale_factor when one was given, else in/out.
template <class T> T source_scale(const Axis& a) {
  return a.scale_factor > 0 ? static_cast<T>(1.0 / a.scale_factor) : static_cast<T>(a.in) / static_cast<T>(a.out);
}

// Nearest: output o reads input min(floor(o * scale), in - 1), the scale in float
// as PyTorch's kernel has it (with its exact shortcuts for same size and 2x).
Tensor nearest_indices(const Axis& a) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(a.out));
  const float scale = source_scale<float>(a);
  for (std::int64_t o = 0; o < a.out; ++o) {
    if (a.out == a.in)
      idx[o] = o;
    else if (a.out == 2 * a.in)
      idx[o] = o >> 1;
    else
      idx[o] = std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(o) * scale)), a.in - 1);
  }
  return tensor_i64(idx, {a.out});
}

// Bilinear along one axis: output o = w0[o] * input i0[o] + w1[o] * input i1[o].
struct LinearTaps {
  Tensor i0, i1, w0, w1;
};

template <class T> LinearTaps linear_taps(const Axis& a, bool align_corners, Dtype dtype) {
  std::vector<std::int64_t> i0(a.out), i1(a.out);
  std::vector<double> w0(a.out), w1(a.out);
  const T scale = align_corners ? (a.out > 1 ? static_cast<T>(a.in - 1) / static_cast<T>(a.out - 1) : T(0))
                                : source_scale<T>(a);
  for (std::int64_t o = 0; o < a.out; ++o) {
    T src = align_corners ? scale * static_cast<T>(o) : scale * (static_cast<T>(o) + T(0.5)) - T(0.5);
    if (src < T(0)) src = T(0);
    const auto lo = static_cast<std::int64_t>(src);
    const T frac = std::min(std::max(src - static_cast<T>(lo), T(0)), T(1));
    i0[o] = lo;
    i1[o] = lo + (lo < a.in - 1 ? 1 : 0);
    w0[o] = static_cast<double>(T(1) - frac);
    w1[o] = static_cast<double>(frac);
  }
  return {tensor_i64(i0, {a.out}), tensor_i64(i1, {a.out}), tensor(w0, {a.out}, dtype), tensor(w1, {a.out}, dtype)};
}

// x resized along dimension `dim` (2 or 3) by linear interpolation.
Tensor linear_along(const Tensor& x, int dim, const Axis& a, bool align_corners) {
  const LinearTaps t = detail::dispatch_float(x.dtype(), "interpolate", [&](auto tag) {
    return linear_taps<decltype(tag)>(a, align_corners, x.dtype());
  });
  // Weights [OH,1] broadcast over the rows of dimension 2, [OW] over the columns of dimension 3.
  auto weights = [&](const Tensor& w) { return dim == 2 ? reshape(w, {a.out, 1}) : w; };
  return add(mul(index_select(x, dim, t.i0), weights(t.w0)), mul(index_select(x, dim, t.i1), weights(t.w1)));
}

std::string describe_size(std::int64_t h, std::int64_t w) { return detail::pair_str(h, w); }

// The product of the extents before [C, H, W] (1 for a 3-D tensor; 0 for an empty batch).
std::int64_t leading(const Tensor& x) {
  std::int64_t n = 1;
  for (int d = 0; d + 3 < x.dim(); ++d) n *= x.size(d);
  return n;
}

}  // namespace

Tensor interpolate(const Tensor& x, std::optional<Size2> size, std::optional<ScaleFactor> scale_factor,
                   const std::string& mode, std::optional<bool> align_corners) {
  const char* op = "interpolate";
  detail::check_floating(x, op);
  if (x.dim() != 4) fail(op, ": expects input [N,C,H,W], got ", x.shape().str());
  if (mode != "nearest" && mode != "bilinear")
    fail(op, ": unknown mode '", mode, "' (expected \"nearest\" or \"bilinear\")");
  if (mode == "nearest" && align_corners)
    fail(op, ": align_corners can only be set with mode \"bilinear\", not \"nearest\"");
  if (size.has_value() == scale_factor.has_value())
    fail(op, ": give exactly one of size and scale_factor (got ", size ? "both" : "neither", ")");
  const std::int64_t H = x.size(2), W = x.size(3);
  if (H == 0 || W == 0) fail(op, ": the input ", x.shape().str(), " has an empty plane");
  Axis ah{H, 0, 0.0}, aw{W, 0, 0.0};
  if (size) {
    if (size->h <= 0 || size->w <= 0) fail(op, ": size must be positive, got ", describe_size(size->h, size->w));
    ah.out = size->h;
    aw.out = size->w;
  } else {
    const ScaleFactor s = *scale_factor;
    if (!(s.h > 0 && s.w > 0) || !std::isfinite(s.h) || !std::isfinite(s.w))
      fail(op, ": scale_factor must be positive and finite, got (", s.h, ", ", s.w, ")");
    const double oh = std::floor(static_cast<double>(H) * s.h), ow = std::floor(static_cast<double>(W) * s.w);
    if (oh < 1 || ow < 1 || oh > 9.2e18 || ow > 9.2e18)
      fail(op, ": scale_factor (", s.h, ", ", s.w, ") turns the input ", x.shape().str(), " into an output of ",
           oh, "x", ow);
    ah = {H, static_cast<std::int64_t>(oh), s.h};
    aw = {W, static_cast<std::int64_t>(ow), s.w};
  }
  const std::int64_t out[] = {x.size(0), x.size(1), ah.out, aw.out};
  if (const char* problem = detail::shape_size_problem(std::begin(out), std::end(out)))
    fail(op, ": the output shape ", detail::extents_str(std::begin(out), std::end(out)), " ", problem, " (input ",
         x.shape().str(), ")");
  if (mode == "nearest") return index_select(index_select(x, 2, nearest_indices(ah)), 3, nearest_indices(aw));
  const bool align = align_corners.value_or(false);
  return linear_along(linear_along(x, 2, ah, align), 3, aw, align);
}

Tensor pixel_shuffle(const Tensor& x, std::int64_t r) {
  detail::check_defined(x, "pixel_shuffle");
  if (x.dim() < 3) fail("pixel_shuffle: expects input [*, C, H, W] with at least 3 dimensions, got ", x.shape().str());
  if (r <= 0) fail("pixel_shuffle: upscale_factor must be positive, got ", r);
  const std::int64_t C = x.size(-3), H = x.size(-2), W = x.size(-1);
  if (C % (r * r) != 0)
    fail("pixel_shuffle: the input ", x.shape().str(), " has ", C, " channels, not divisible by upscale_factor^2 = ",
         r * r);
  std::vector<std::int64_t> out = x.shape().vec();
  out[out.size() - 3] = C / (r * r);
  out[out.size() - 2] = H * r;
  out[out.size() - 1] = W * r;
  const Tensor blocks = reshape(x, {leading(x), C / (r * r), r, r, H, W});  // [B, C', i, j, h, w]
  return reshape(permute(blocks, {0, 1, 4, 2, 5, 3}), out);        // [B, C', h, i, w, j]
}

Tensor pixel_unshuffle(const Tensor& x, std::int64_t r) {
  detail::check_defined(x, "pixel_unshuffle");
  if (x.dim() < 3)
    fail("pixel_unshuffle: expects input [*, C, H, W] with at least 3 dimensions, got ", x.shape().str());
  if (r <= 0) fail("pixel_unshuffle: downscale_factor must be positive, got ", r);
  const std::int64_t C = x.size(-3), H = x.size(-2), W = x.size(-1);
  if (H % r != 0 || W % r != 0)
    fail("pixel_unshuffle: the input ", x.shape().str(), " has a plane ", detail::extent_str(H, W),
         " not divisible by downscale_factor ", r);
  std::vector<std::int64_t> out = x.shape().vec();
  out[out.size() - 3] = C * r * r;
  out[out.size() - 2] = H / r;
  out[out.size() - 1] = W / r;
  const Tensor blocks = reshape(x, {leading(x), C, H / r, r, W / r, r});  // [B, C, h, i, w, j]
  return reshape(permute(blocks, {0, 1, 3, 5, 2, 4}), out);      // [B, C, i, j, h, w]
}

// ---------------------------------------------------------------------------
// Declarations: samples (each mode, size and scale_factor, up and down) and
// error inputs. All are compositions of recorded ops.
// ---------------------------------------------------------------------------
std::vector<OpInfo> resample_op_declarations() {
  using inputs::any;
  auto resize = [](std::optional<Size2> size, std::optional<ScaleFactor> scale, std::string mode,
                   std::optional<bool> align = std::nullopt) -> OpCall {
    return [=](const OpArgs& v) { return interpolate(v[0], size, scale, mode, align); };
  };
  const Tensor image = ones({1, 2, 4, 4});
  return {
      OpInfo("interpolate")
          .composite_of_other_ops()
          .sample("nearest, size up and down", {any({2, 2, 3, 5})}, resize(Size2(5, 3), std::nullopt, "nearest"))
          .sample("nearest, scale_factor 2", {any({1, 2, 3, 2})}, resize(std::nullopt, ScaleFactor(2), "nearest"))
          .sample("nearest, scale_factor (1.5, 0.5)", {any({1, 1, 5, 4})},
                  resize(std::nullopt, ScaleFactor(1.5, 0.5), "nearest"))
          .sample("bilinear, size", {any({2, 2, 3, 4})}, resize(Size2(5, 7), std::nullopt, "bilinear"))
          .sample("bilinear, align_corners, size down", {any({1, 2, 5, 6})},
                  resize(Size2(3, 4), std::nullopt, "bilinear", true))
          .sample("bilinear, scale_factor 1.7", {any({1, 1, 4, 3})}, resize(std::nullopt, ScaleFactor(1.7), "bilinear"))
          .sample("bilinear, align_corners, to one pixel", {any({1, 1, 3, 3})},
                  resize(Size2(1, 2), std::nullopt, "bilinear", true))
          .error("both size and scale_factor", [=] { interpolate(image, Size2(8), ScaleFactor(2)); },
                 {"interpolate: give exactly one of size and scale_factor (got both)"})
          .error("neither size nor scale_factor", [=] { interpolate(image, std::nullopt); },
                 {"interpolate", "neither"})
          .error("unknown mode", [=] { interpolate(image, Size2(8), std::nullopt, "bicubic"); },
                 {"interpolate: unknown mode 'bicubic'"})
          .error("align_corners with nearest", [=] { interpolate(image, Size2(8), std::nullopt, "nearest", false); },
                 {"interpolate: align_corners can only be set with mode \"bilinear\""})
          .error("3-D input", [] { interpolate(ones({2, 4, 4}), Size2(8)); },
                 {"interpolate: expects input [N,C,H,W], got [2,4,4]"})
          .error("size 0", [=] { interpolate(image, Size2(0, 3)); }, {"interpolate: size must be positive, got (0, 3)"})
          .error("negative scale_factor", [=] { interpolate(image, std::nullopt, ScaleFactor(-2)); },
                 {"interpolate", "scale_factor must be positive"})
          .error("scale_factor to an empty output", [=] { interpolate(image, std::nullopt, ScaleFactor(0.2)); },
                 {"interpolate", "[1,2,4,4]", "0x0"})
          .error("int64 input", [] { interpolate(tensor_i64({1, 2, 3, 4}, {1, 1, 2, 2}), Size2(4)); },
                 {"interpolate", "int64"}),
      OpInfo("pixel_shuffle")
          .composite_of_other_ops()
          .sample("r 2", {any({2, 8, 2, 3})}, [](const OpArgs& v) { return pixel_shuffle(v[0], 2); })
          .sample("r 3, no batch", {any({9, 1, 2})}, [](const OpArgs& v) { return pixel_shuffle(v[0], 3); })
          .sample("r 2, two batch dimensions", {any({2, 1, 4, 1, 2})},
                  [](const OpArgs& v) { return pixel_shuffle(v[0], 2); })
          .error("channels not divisible by r^2", [] { pixel_shuffle(ones({1, 6, 2, 2}), 2); },
                 {"pixel_shuffle: the input [1,6,2,2] has 6 channels, not divisible by upscale_factor^2 = 4"})
          .error("2-D input", [] { pixel_shuffle(ones({4, 4}), 2); }, {"pixel_shuffle", "[4,4]"})
          .error("r 0", [] { pixel_shuffle(ones({1, 4, 2, 2}), 0); }, {"pixel_shuffle", "positive"}),
      OpInfo("pixel_unshuffle")
          .composite_of_other_ops()
          .sample("r 2", {any({2, 2, 4, 6})}, [](const OpArgs& v) { return pixel_unshuffle(v[0], 2); })
          .error("plane not divisible by r", [] { pixel_unshuffle(ones({1, 1, 4, 6}), 4); },
                 {"pixel_unshuffle: the input [1,1,4,6] has a plane 4x6 not divisible by downscale_factor 4"})
          .error("r -1", [] { pixel_unshuffle(ones({1, 1, 4, 4}), -1); }, {"pixel_unshuffle", "positive"}),
  };
}

}  // namespace tg
