// Private: numbers <-> text without locale surprises, shared by flags and metrics.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace tg::examples::detail {

/// The shortest text that reads back as exactly `value` ("0.1", "1e-05", "3").
inline std::string shortest_text(double value) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

/// Parses the whole of `text` as T (from_chars: no locale, no leading '+' or spaces).
template <class T> std::optional<T> parse_whole(const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, value);
  if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return value;
}

}  // namespace tg::examples::detail
