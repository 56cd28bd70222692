// Private: max/avg pooling kernels on raw buffers of `planes` independent
// [H,W] planes (N*C of them for an NCHW tensor). ops/pool.cpp checks the
// arguments and wires the ops into autograd.
#pragma once

#include <cstdint>

namespace tg::detail {

/// Already-checked pooling geometry. Windows start at (oh*stride_h - pad_top,
/// ow*stride_w - pad_left); the parts outside the plane are padding.
struct PoolGeometry {
  std::int64_t planes = 0, in_h = 0, in_w = 0;
  std::int64_t out_h = 0, out_w = 0;
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t pad_top = 0, pad_left = 0;

  std::int64_t in_plane() const { return in_h * in_w; }
  std::int64_t out_plane() const { return out_h * out_w; }
};

/// y = max over each window (padding is -infinity); argmax gets the index of
/// the first maximum within its input plane (row-major order, as np.argmax; a
/// NaN counts as the maximum and propagates).
template <class T> void max_pool2d_forward(const T* x, const PoolGeometry& g, T* y, std::int64_t* argmax);

/// gx = 0, then gx[argmax] += gy for every output (overlapping windows add up).
template <class T> void max_pool2d_backward(const T* gy, const std::int64_t* argmax, const PoolGeometry& g, T* gx);

/// y = sum over each window / (kernel_h * kernel_w) (padding counts as zeros).
template <class T> void avg_pool2d_forward(const T* x, const PoolGeometry& g, T* y);

/// gx = sum over the windows covering each pixel of gy / (kernel_h * kernel_w).
template <class T> void avg_pool2d_backward(const T* gy, const PoolGeometry& g, T* gx);

}  // namespace tg::detail
