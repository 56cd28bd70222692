// Private: sliding-window arithmetic and wording shared by conv and pooling.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"

namespace tg::detail {

/// How far a kernel reaches along one axis: dilation*(kernel-1) + 1 input
/// positions (kernel, dilation > 0). Throws std::invalid_argument naming `op`
/// when that exceeds 2^63 - 1.
inline std::int64_t window_span(const char* op, std::int64_t kernel, std::int64_t dilation) {
  const auto reach = checked_product(dilation, kernel - 1);
  const auto span = reach ? checked_sum(*reach, 1) : std::nullopt;
  if (!span) fail(op, ": kernel ", kernel, " with dilation ", dilation, " spans more than 2^63 - 1 positions");
  return *span;
}

/// Number of window positions along one axis:
///   floor((in + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1,
/// or 0 when not even one window fits. Arguments must already be valid
/// (in >= 0; kernel, stride, dilation > 0; pads >= 0). Throws
/// std::invalid_argument naming `op` when the window's span or the padded input
/// exceed int64 (a wrapped-around size would make a wrong output shape).
inline std::int64_t window_count(const char* op, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                 std::int64_t pad_before, std::int64_t pad_after, std::int64_t dilation) {
  const auto span = window_span(op, kernel, dilation);
  const auto padded = checked_sum(in, pad_before, pad_after);
  if (!padded)
    fail(op, ": input size ", in, " padded by ", pad_before, " and ", pad_after, " is more than 2^63 - 1 positions");
  const std::int64_t room = *padded - span;  // both non-negative: cannot overflow
  return room < 0 ? 0 : room / stride + 1;
}

/// ceil(a / b) for b > 0 and any a.
/// (Not (a + b - 1) / b, which overflows for a huge stride b.)
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a / b + (a % b > 0 ? 1 : 0); }

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
