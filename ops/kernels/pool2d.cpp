// Pooling kernels: raw loops, parallel over the planes.
//
// Why raw loops: a 2x2 max pool measured 2.25 ms through xtensor views and
// 0.11 ms as a loop. Window rows and columns are clipped to the plane up
// front, so the inner loops carry no padding tests.
#include "ops/kernels/pool2d.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.hpp"
#include "ops/kernels/window.hpp"

namespace tg::detail {
namespace {

// For window column e: the output columns [lo, hi) whose input column
// ow*stride_w + offset lies inside the plane.
using Columns = OutputRange;
std::vector<Columns> window_columns(const PoolGeometry& g) {
  std::vector<Columns> cols;
  for (std::int64_t e = 0; e < g.kernel_w; ++e)
    cols.push_back(output_range(e - g.pad_left, g.stride_w, g.in_w, g.out_w));
  return cols;
}

// For output row oh: the window rows [a0, a1) that lie inside the plane, and
// the input row of window row 0 (h0 + a is the input row of window row a).
struct Rows {
  std::int64_t h0, a0, a1;
};
Rows window_rows(const PoolGeometry& g, std::int64_t oh) {
  const std::int64_t h0 = oh * g.stride_h - g.pad_top;
  return {h0, std::max<std::int64_t>(0, -h0), std::min(g.kernel_h, g.in_h - h0)};
}

// Runs fn(plane) for every plane, in parallel chunks of at least ~128K reads
// (smaller chunks lost to the pool's wake-up: the pools of the examples' small
// 0-vs-1 MNIST CNN, 100K reads, ran faster serially).
template <class Fn> void for_each_plane(const PoolGeometry& g, const Fn& fn) {
  const std::int64_t work = std::max<std::int64_t>(1, g.out_plane() * g.kernel_h * g.kernel_w + g.in_plane());
  const std::int64_t grain = std::max<std::int64_t>(1, 131072 / work);
  parallel_for(g.planes, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) fn(p);
  });
}

}  // namespace

// Max pooling runs window by window with branch-free selects; average pooling
// runs one window offset (a, e) at a time across a whole output row, so its
// inner loop is a long vectorisable add. bench/bench_pool, 2x2 on
// 64x32x28x28, 1 thread, forward+backward: max 8.4 -> 4.2 ms, avg 9.6 -> 3.6 ms
// against the first version (one window at a time, an if per element);
// PyTorch 1.13 measured 8.2 and 6.3 ms on the same machine. What is left in max
// pooling is the dependent compare-select chain inside each window.

// The 2x2, stride-2, unpadded case (every pooling layer of LeNet-5 and of the
// examples' small MNIST CNN): a fixed four-way select per output with no loop-carried chain across
// outputs, which the compiler vectorises along the row (bench_pool, max forward
// on 64x32x28x28, 1 thread: 3.5 -> 1.8 ms). NaNs go to the general loop below.
template <class T> bool max_pool2x2_plane(const T* in, const PoolGeometry& g, T* out, std::int64_t* out_at) {
  // Sizes in locals: read through `g` the compiler cannot rule out that the
  // stores below change them, and refuses to vectorise.
  const std::int64_t W = g.in_w, OH = g.out_h, OW = g.out_w;
  int nan = 0;
  for (std::int64_t oh = 0; oh < OH; ++oh) {
    const T* r0 = in + 2 * oh * W;
    const T* r1 = r0 + W;
    T* o = out + oh * OW;
    std::int64_t* at = out_at + oh * OW;
    const std::int64_t base = 2 * oh * W;
    for (std::int64_t ow = 0; ow < OW; ++ow) {
      const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
      // Row-major order a, b, c, d with strict '>': ties keep the first maximum.
      // std::isgreater is the quiet comparison: unlike '>' it cannot trap, so
      // GCC turns the selects into vector blends (with '>' it keeps branches).
      T best = a;
      std::int64_t off = 0;
      off = std::isgreater(b, best) ? 1 : off;
      best = std::isgreater(b, best) ? b : best;
      off = std::isgreater(c, best) ? W : off;
      best = std::isgreater(c, best) ? c : best;
      off = std::isgreater(d, best) ? W + 1 : off;
      best = std::isgreater(d, best) ? d : best;
      o[ow] = best;
      at[ow] = base + 2 * ow + off;
      nan |= static_cast<int>(a != a) | static_cast<int>(b != b) | static_cast<int>(c != c) |
             static_cast<int>(d != d);
    }
  }
  return nan == 0;
}

template <class T> void max_pool2d_forward(const T* x, const PoolGeometry& g, T* y, std::int64_t* argmax) {
  const bool two_by_two = g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 &&
                          g.pad_top == 0 && g.pad_left == 0;
  for_each_plane(g, [&](std::int64_t p) {
    if (two_by_two && max_pool2x2_plane(x + p * g.in_plane(), g, y + p * g.out_plane(), argmax + p * g.out_plane()))
      return;
    const T* in = x + p * g.in_plane();
    T* out = y + p * g.out_plane();
    std::int64_t* out_at = argmax + p * g.out_plane();
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const Rows r = window_rows(g, oh);
      int nan = 0;
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const std::int64_t w0 = std::max<std::int64_t>(ow * g.stride_w - g.pad_left, 0);
        const std::int64_t w1 = std::min(ow * g.stride_w - g.pad_left + g.kernel_w, g.in_w);
        // Start from -inf at the window's first in-plane pixel, so an all -inf
        // window still reports a real index.
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t best_at = (r.h0 + r.a0) * g.in_w + w0;
        for (std::int64_t a = r.a0; a < r.a1; ++a)
          for (std::int64_t iw = w0; iw < w1; ++iw) {
            const std::int64_t i = (r.h0 + a) * g.in_w + iw;
            const T v = in[i];
            // Strictly greater keeps the first maximum. Selects, not an if: the
            // compiler makes them branch-free (a branch mispredicts on random data).
            const bool take = v > best;
            best = take ? v : best;
            best_at = take ? i : best_at;
            nan |= static_cast<int>(v != v);  // an int: no branch for the rare NaN either
          }
        out[oh * g.out_w + ow] = best;
        out_at[oh * g.out_w + ow] = best_at;
      }
      if (!nan) continue;
      // A NaN in this row's windows: the first NaN of a window wins and stays
      // (NaN propagates, as in PyTorch). Rare, so handled apart.
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const std::int64_t w0 = std::max<std::int64_t>(ow * g.stride_w - g.pad_left, 0);
        const std::int64_t w1 = std::min(ow * g.stride_w - g.pad_left + g.kernel_w, g.in_w);
        T& best = out[oh * g.out_w + ow];
        for (std::int64_t a = r.a0; a < r.a1; ++a)
          for (std::int64_t iw = w0; iw < w1; ++iw) {
            const std::int64_t i = (r.h0 + a) * g.in_w + iw;
            if (in[i] != in[i] && best == best) {
              best = in[i];
              out_at[oh * g.out_w + ow] = i;
            }
          }
      }
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
  const std::vector<Columns> cols = window_columns(g);
  for_each_plane(g, [&](std::int64_t p) {
    const T* in = x + p * g.in_plane();
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      T* out = y + p * g.out_plane() + oh * g.out_w;
      std::fill(out, out + g.out_w, T(0));
      const Rows r = window_rows(g, oh);
      for (std::int64_t a = r.a0; a < r.a1; ++a) {
        const T* in_row = in + (r.h0 + a) * g.in_w;
        for (const Columns& c : cols)
          for (std::int64_t ow = c.lo; ow < c.hi; ++ow) out[ow] += in_row[ow * g.stride_w + c.offset];
      }
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) out[ow] *= scale;
    }
  });
}

template <class T> void avg_pool2d_backward(const T* gy, const PoolGeometry& g, T* gx) {
  const T scale = T(1) / static_cast<T>(g.kernel_h * g.kernel_w);
  const std::vector<Columns> cols = window_columns(g);
  for_each_plane(g, [&](std::int64_t p) {
    T* gin = gx + p * g.in_plane();
    std::fill(gin, gin + g.in_plane(), T(0));
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const T* gout = gy + p * g.out_plane() + oh * g.out_w;
      const Rows r = window_rows(g, oh);
      for (std::int64_t a = r.a0; a < r.a1; ++a) {
        T* gin_row = gin + (r.h0 + a) * g.in_w;
        for (const Columns& c : cols)
          for (std::int64_t ow = c.lo; ow < c.hi; ++ow) gin_row[ow * g.stride_w + c.offset] += gout[ow] * scale;
      }
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
