// Private: dtype dispatch and error-message helpers shared by every op.
#pragma once

#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <tapegrad/core/tensor.hpp>

namespace tg::detail {

/// Concatenates anything printable: cat("matmul: shapes ", a.shape().str()).
template <class... Args> std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

/// Throws std::invalid_argument with the concatenated message.
template <class... Args> [[noreturn]] void fail(const Args&... args) {
  throw std::invalid_argument(cat(args...));
}

/// Refuses undefined and int64 tensors where an op needs floats.
void check_floating(const Tensor& t, const char* op);
void check_defined(const Tensor& t, const char* op);

/// Calls f(T{}) with T = float or double matching `dtype`; throws for int64.
template <class F> decltype(auto) dispatch_float(Dtype dtype, const char* op, F&& f) {
  switch (dtype) {
    case Dtype::Float32: return f(float{});
    case Dtype::Float64: return f(double{});
    default: fail(op, ": expected a float32 or float64 tensor, got ", dtype_name(dtype));
  }
}

/// Like dispatch_float, and int64 too.
template <class F> decltype(auto) dispatch_all(Dtype dtype, F&& f) {
  switch (dtype) {
    case Dtype::Float32: return f(float{});
    case Dtype::Float64: return f(double{});
    default: return f(std::int64_t{});
  }
}

/// The first NaN or infinite element of a float tensor; nullopt when there is
/// none, and for undefined and int64 tensors. Anomaly detection and fit() use it.
inline std::optional<double> first_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return std::nullopt;
  return dispatch_float(t.dtype(), "first_non_finite", [&](auto tag) -> std::optional<double> {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(t.raw_data());
    for (std::int64_t i = 0, n = t.numel(); i < n; ++i)
      if (!std::isfinite(p[i])) return static_cast<double>(p[i]);
    return std::nullopt;
  });
}

/// Float operands of different precision are computed in float64, as in PyTorch.
inline std::pair<Tensor, Tensor> promote_floating(const Tensor& a, const Tensor& b, const char* op) {
  check_floating(a, op);
  check_floating(b, op);
  if (a.dtype() == b.dtype()) return {a, b};
  return {a.to(kFloat64), b.to(kFloat64)};
}

}  // namespace tg::detail
