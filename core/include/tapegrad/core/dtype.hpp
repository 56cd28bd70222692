// tapegrad — element types.
//
// A Tensor carries its dtype at run time. float32 is the default and the fast
// path; float64 exists for gradient checking and for users who need it; int64
// holds class labels and indices and is never differentiable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>

namespace tg {

/// The element type of a Tensor: float, double or std::int64_t.
enum class Dtype : std::uint8_t { Float32, Float64, Int64 };

/// Short names for the Dtype values, as in libtorch (tg::kFloat32, ...).
///@{
inline constexpr Dtype kFloat32 = Dtype::Float32;
inline constexpr Dtype kFloat64 = Dtype::Float64;
inline constexpr Dtype kInt64 = Dtype::Int64;
///@}

/// Bytes per element.
constexpr std::size_t element_size(Dtype d) {
  return d == Dtype::Float32 ? 4 : 8;
}

/// True for the dtypes autograd works with (float32, float64).
constexpr bool is_floating(Dtype d) { return d != Dtype::Int64; }

/// "float32", "float64" or "int64".
const char* dtype_name(Dtype d);

/// Writes dtype_name(d).
inline std::ostream& operator<<(std::ostream& os, Dtype d) { return os << dtype_name(d); }

/// The dtype that stores C++ type T (float, double, std::int64_t); other types
/// do not compile.
///@{
template <class T> constexpr Dtype dtype_of();
template <> constexpr Dtype dtype_of<float>() { return Dtype::Float32; }
template <> constexpr Dtype dtype_of<double>() { return Dtype::Float64; }
template <> constexpr Dtype dtype_of<std::int64_t>() { return Dtype::Int64; }
///@}

}  // namespace tg
