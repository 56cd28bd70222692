// Private: a tensor seen as [outer, extent, inner] around one of its dimensions,
// and the block copy that the slicing ops (narrow, cat, split, index_select)
// share. Tensors are contiguous, so a slice along a dimension is `outer` runs of
// contiguous elements; copying them is a memcpy per run, whatever the dtype.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/dispatch.hpp"
#include <tapegrad/core/tensor.hpp>

namespace tg::detail {

/// `dim` of `x` counted from the front (negative counts from the back), for a
/// tensor of `ndim` dimensions (x.dim(), or one more where a dimension is
/// inserted); throws naming `op` and x's shape when it is out of range. Unlike
/// normalize_axis, the message shows the tensor and the valid range.
inline int wrap_dim(int dim, int ndim, const char* op, const Tensor& x) {
  const int lo = -std::max(ndim, 1), hi = std::max(ndim, 1) - 1;  // a 0-d tensor takes 0 and -1, as in PyTorch
  if (dim < lo || dim > hi)
    fail(op, ": dimension ", dim, " is out of range for ", describe(x), " (expected ", lo, " to ", hi, ")");
  return dim < 0 ? dim + std::max(ndim, 1) : dim;
}

/// The extents before `dim` (multiplied), at `dim`, and after it (multiplied).
struct AroundDim {
  std::int64_t outer = 1, extent = 1, inner = 1;
};

inline AroundDim around_dim(const Shape& shape, int dim) {
  AroundDim a;
  for (int i = 0; i < shape.size(); ++i) {
    if (i < dim) a.outer *= shape[i];  // each product is at most numel (or 0): no overflow
    if (i > dim) a.inner *= shape[i];
  }
  a.extent = shape[dim];
  return a;
}

/// For r in [0, runs): copies `count` elements from src's element
/// r * src_run + src_start to dst's element r * dst_run + dst_start.
/// src and dst have the same dtype; the caller keeps every run in bounds.
inline void copy_runs(const Tensor& src, std::int64_t src_run, std::int64_t src_start, Tensor& dst,
                      std::int64_t dst_run, std::int64_t dst_start, std::int64_t runs, std::int64_t count) {
  if (runs == 0 || count == 0) return;
  const std::size_t es = element_size(src.dtype());
  const char* s = static_cast<const char*>(src.raw_data());
  char* d = static_cast<char*>(dst.raw_data());
  for (std::int64_t r = 0; r < runs; ++r)
    std::memcpy(d + (r * dst_run + dst_start) * es, s + (r * src_run + src_start) * es, count * es);
}

}  // namespace tg::detail
