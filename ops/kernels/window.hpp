// Private: sliding-window arithmetic and wording shared by conv and pooling.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace tg::detail {

/// Number of window positions along one axis:
///   floor((in + pad_total - dilation*(kernel-1) - 1) / stride) + 1,
/// or 0 when not even one window fits. Arguments must already be valid
/// (kernel, stride, dilation > 0; pad_total >= 0).
inline std::int64_t window_count(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                 std::int64_t pad_total, std::int64_t dilation) {
  const std::int64_t span = dilation * (kernel - 1) + 1;
  const std::int64_t room = in + pad_total - span;
  return room < 0 ? 0 : room / stride + 1;
}

/// ceil(a / b) for b > 0 and any a.
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/// The output positions o along one axis whose input coordinate
/// o * stride + offset lies inside [0, extent): [lo, hi), within [0, out).
/// The others read padding. `offset` is that of one kernel tap (kernel index
/// times dilation, minus the leading padding).
struct OutputRange {
  std::int64_t offset, lo, hi;
};
inline OutputRange output_range(std::int64_t offset, std::int64_t stride, std::int64_t extent, std::int64_t out) {
  const std::int64_t lo = std::clamp<std::int64_t>(ceil_div(-offset, stride), 0, out);
  const std::int64_t hi = std::clamp<std::int64_t>(ceil_div(extent - offset, stride), lo, out);
  return {offset, lo, hi};
}

/// "(2, 3)" — a (height, width) pair in error messages.
inline std::string pair_str(std::int64_t h, std::int64_t w) {
  return "(" + std::to_string(h) + ", " + std::to_string(w) + ")";
}

/// "3x5" — a 2-D extent in error messages.
inline std::string extent_str(std::int64_t h, std::int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

}  // namespace tg::detail
