// Pooling kernels: raw loops, parallel over the planes.
//
// Why raw loops: a 2x2 max pool measured 2.25 ms through xtensor views and
// 0.11 ms as a loop (/work/shared/notes/stack-facts.md). Each window is clipped
// to the plane once, so the inner loops carry no padding tests.
#include "ops/kernels/pool2d.hpp"

#include <algorithm>
#include <cmath>

#include "core/parallel.hpp"

namespace tg::detail {
namespace {

// The part of one window that lies inside the plane: rows [h0, h1), columns [w0, w1).
struct Clipped {
  std::int64_t h0, h1, w0, w1;
};
Clipped clip(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  const std::int64_t h = oh * g.stride_h - g.pad_top, w = ow * g.stride_w - g.pad_left;
  return {std::max<std::int64_t>(h, 0), std::min(h + g.kernel_h, g.in_h), std::max<std::int64_t>(w, 0),
          std::min(w + g.kernel_w, g.in_w)};
}

// Runs fn(plane) for every plane, in parallel chunks of at least ~32K reads.
template <class Fn> void for_each_plane(const PoolGeometry& g, const Fn& fn) {
  const std::int64_t work = std::max<std::int64_t>(1, g.out_plane() * g.kernel_h * g.kernel_w + g.in_plane());
  const std::int64_t grain = std::max<std::int64_t>(1, 32768 / work);
  parallel_for(g.planes, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) fn(p);
  });
}

}  // namespace

template <class T> void max_pool2d_forward(const T* x, const PoolGeometry& g, T* y, std::int64_t* argmax) {
  for_each_plane(g, [&](std::int64_t p) {
    const T* in = x + p * g.in_plane();
    T* out = y + p * g.out_plane();
    std::int64_t* arg = argmax + p * g.out_plane();
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Clipped c = clip(g, oh, ow);
        // Padding never wins: the checks guarantee every window holds a real pixel.
        std::int64_t best_at = c.h0 * g.in_w + c.w0;
        T best = in[best_at];
        for (std::int64_t ih = c.h0; ih < c.h1; ++ih)
          for (std::int64_t iw = c.w0; iw < c.w1; ++iw) {
            const T v = in[ih * g.in_w + iw];
            // Strictly greater keeps the first maximum; a NaN wins once and stays.
            if (v > best || (std::isnan(v) && !std::isnan(best))) {
              best = v;
              best_at = ih * g.in_w + iw;
            }
          }
        out[oh * g.out_w + ow] = best;
        arg[oh * g.out_w + ow] = best_at;
      }
  });
}

template <class T> void max_pool2d_backward(const T* gy, const std::int64_t* argmax, const PoolGeometry& g, T* gx) {
  for_each_plane(g, [&](std::int64_t p) {
    T* gin = gx + p * g.in_plane();
    std::fill(gin, gin + g.in_plane(), T(0));
    const T* gout = gy + p * g.out_plane();
    const std::int64_t* arg = argmax + p * g.out_plane();
    for (std::int64_t o = 0; o < g.out_plane(); ++o) gin[arg[o]] += gout[o];
  });
}

template <class T> void avg_pool2d_forward(const T* x, const PoolGeometry& g, T* y) {
  const T scale = T(1) / static_cast<T>(g.kernel_h * g.kernel_w);
  for_each_plane(g, [&](std::int64_t p) {
    const T* in = x + p * g.in_plane();
    T* out = y + p * g.out_plane();
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Clipped c = clip(g, oh, ow);
        T s = 0;
        for (std::int64_t ih = c.h0; ih < c.h1; ++ih)
          for (std::int64_t iw = c.w0; iw < c.w1; ++iw) s += in[ih * g.in_w + iw];
        out[oh * g.out_w + ow] = s * scale;
      }
  });
}

template <class T> void avg_pool2d_backward(const T* gy, const PoolGeometry& g, T* gx) {
  const T scale = T(1) / static_cast<T>(g.kernel_h * g.kernel_w);
  for_each_plane(g, [&](std::int64_t p) {
    T* gin = gx + p * g.in_plane();
    std::fill(gin, gin + g.in_plane(), T(0));
    const T* gout = gy + p * g.out_plane();
    for (std::int64_t oh = 0; oh < g.out_h; ++oh)
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Clipped c = clip(g, oh, ow);
        const T share = gout[oh * g.out_w + ow] * scale;
        for (std::int64_t ih = c.h0; ih < c.h1; ++ih)
          for (std::int64_t iw = c.w0; iw < c.w1; ++iw) gin[ih * g.in_w + iw] += share;
      }
  });
}

#define TG_INSTANTIATE_POOL2D(T)                                                                          \
  template void max_pool2d_forward<T>(const T*, const PoolGeometry&, T*, std::int64_t*);                  \
  template void max_pool2d_backward<T>(const T*, const std::int64_t*, const PoolGeometry&, T*);           \
  template void avg_pool2d_forward<T>(const T*, const PoolGeometry&, T*);                                 \
  template void avg_pool2d_backward<T>(const T*, const PoolGeometry&, T*);
TG_INSTANTIATE_POOL2D(float)
TG_INSTANTIATE_POOL2D(double)
#undef TG_INSTANTIATE_POOL2D

}  // namespace tg::detail
