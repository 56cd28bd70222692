// Private: int64 arithmetic that detects overflow, for shape rules and window
// geometry. Extents, pads, strides and dilations come from users and files; a
// sum or product that wraps around silently makes a wrong shape (a too-small
// buffer for a big tensor), so every such computation goes through here and the
// op that did it refuses the arguments by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tg::detail {

/// a + b + ..., or nullopt when any partial sum overflows int64.
template <class... Ints> std::optional<std::int64_t> checked_sum(std::int64_t first, Ints... rest) {
  std::int64_t total = first;
  bool overflow = false;
  ((overflow |= __builtin_add_overflow(total, static_cast<std::int64_t>(rest), &total)), ...);
  if (overflow) return std::nullopt;
  return total;
}

/// a * b * ..., or nullopt when any partial product overflows int64.
template <class... Ints> std::optional<std::int64_t> checked_product(std::int64_t first, Ints... rest) {
  std::int64_t total = first;
  bool overflow = false;
  ((overflow |= __builtin_mul_overflow(total, static_cast<std::int64_t>(rest), &total)), ...);
  if (overflow) return std::nullopt;
  return total;
}

/// "[2,3,4]" for extents that may not form a valid Shape (for messages).
std::string extents_str(const std::int64_t* first, const std::int64_t* last);

/// Why a Shape cannot have these (non-negative) extents, or null when it can
/// (no string is built on the common path: every Shape is checked).
/// A shape is only valid when its extents other than 0 multiply to at most
/// 2^63 - 1: then its element count and every row-major stride fit in int64,
/// even for an empty shape such as [0, 2^62, 2^62] (whose strides would not).
/// The reason reads "has more than 2^63 - 1 elements" or, with a zero extent,
/// "is too large: its extents other than 0 multiply to more than 2^63 - 1".
const char* shape_size_problem(const std::int64_t* first, const std::int64_t* last);

/// The same for a vector of extents.
///@{
inline std::string extents_str(const std::vector<std::int64_t>& e) { return extents_str(e.data(), e.data() + e.size()); }
inline const char* shape_size_problem(const std::vector<std::int64_t>& e) {
  return shape_size_problem(e.data(), e.data() + e.size());
}
///@}

}  // namespace tg::detail
