// Private: masks the gradient rules of the reductions build from comparisons.
#pragma once

#include <tapegrad/ops/ops.hpp>

namespace tg::detail {

/// 1 where x equals y (broadcasting) or both are NaN, else 0, in x's dtype: the
/// elements a max-like reduction's gradient is shared between, as in PyTorch
/// (a NaN result came from the NaN elements). eq(t, t) is 0 exactly at NaN.
inline Tensor tied_with(const Tensor& x, const Tensor& y) {
  return eq(x, y) + (1.0 - eq(x, x)) * (1.0 - eq(y, y));
}

}  // namespace tg::detail
