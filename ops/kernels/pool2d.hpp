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
  std::int64_t window() const { return kernel_h * kernel_w; }
};

/// Max pooling remembers where each window's maximum lies as its position
/// inside the window, a * kernel_w + e for window row a and column e (padding
/// counted): int32 per output (half an int64 plane index; a byte would be
/// smaller, but with byte elements GCC 12 vectorises 32 outputs at a time and
/// runs LeNet's 12-wide rows in its scalar remainder loop, 10x slower), int64
/// for a window of 2^31 positions or more.
inline bool max_pool_int32_positions(const PoolGeometry& g) { return g.window() <= 0x7fffffff; }

/// y = max over each window (padding is -infinity); `at` gets the position in
/// its window (see above) of the maximum as PyTorch's CPU kernel finds it
/// scanning the window in row-major order: the first of tied maxima, and the
/// last NaN (a NaN counts as the maximum and propagates). A window of -infinity
/// points at its first pixel inside the plane. I is int32_t or int64_t.
template <class T, class I> void max_pool2d_forward(const T* x, const PoolGeometry& g, T* y, I* at);

/// gx = 0, then gx[the maximum of window o] += gy[o] for every output o in
/// order (overlapping windows add up). No window is scanned again.
template <class T, class I> void max_pool2d_backward(const T* gy, const I* at, const PoolGeometry& g, T* gx);

/// The index within its input plane of each window's maximum ([planes, OH*OW]
/// int64), for the recorded gradient (scatter_add) under create_graph.
template <class I> void max_pool2d_plane_indices(const I* at, const PoolGeometry& g, std::int64_t* index);

/// y = sum over each window / (kernel_h * kernel_w) (padding counts as zeros).
template <class T> void avg_pool2d_forward(const T* x, const PoolGeometry& g, T* y);

/// gx = sum over the windows covering each pixel of gy / (kernel_h * kernel_w).
template <class T> void avg_pool2d_backward(const T* gy, const PoolGeometry& g, T* gx);

}  // namespace tg::detail
