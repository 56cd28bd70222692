// Pooling kernels: raw loops, parallel over the planes.
//
// Why raw loops: a 2x2 max pool measured 2.25 ms through xtensor views and
// 0.11 ms as a loop. Window rows and columns are clipped to the plane up
// front, so the inner loops carry no padding tests.
//
// Every loop below runs along an output row with no dependence between
// neighbouring outputs, so the compiler vectorises it: max pooling takes one
// window position (a, e) at a time across the row and keeps each output's best
// value and position so far (selects, not branches: a branch mispredicts on
// random data); average pooling adds one window position at a time. The 2x2,
// stride-2, unpadded case (every pooling layer of LeNet-5 and of the examples'
// small MNIST CNN) has a loop of its own, forward and backward, in which each
// input pixel is read or written exactly once.
//
// Max pooling keeps, for backward, each maximum's position inside its window
// (int32, pool2d.hpp): backward writes the gradient there without scanning a
// window again, and reads half of what an int64 plane index took.
//
// bench/bench_pool, 1 thread, float32 max pooling forward / forward+backward,
// against the previous kernels (window by window, int64 plane indices, a zero
// fill and a scatter in backward), on an Intel AVX-512 host under load ~8:
//   [256,6,24,24]  0.23 / 0.50 -> 0.19 / 0.43 ms   (LeNet-5's first pool at batch 256)
//   [256,16,8,8]   0.11 / 0.18 -> 0.05 / 0.14 ms   (its second)
//   [64,32,28,28]  0.85 / 1.5  -> 0.38 / 0.9 ms
// average pooling 2x2 forward+backward, [64,32,28,28]: 5.8 -> 0.75 ms.
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
  const std::int64_t work = std::max<std::int64_t>(1, g.out_plane() * g.window() + g.in_plane());
  const std::int64_t grain = std::max<std::int64_t>(1, 131072 / work);
  parallel_for(g.planes, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) fn(p);
  });
}

bool is_2x2_stride_2(const PoolGeometry& g) {
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_top == 0 &&
         g.pad_left == 0;
}

// Whether v takes over as the maximum from `best`, as in PyTorch's CPU kernel:
// strictly greater (ties keep the first maximum), or NaN (NaN propagates, and
// the window's last NaN is where its gradient goes). Spelt with the quiet
// comparisons (isgreater, isunordered: they cannot trap, unlike '>'), which
// GCC 12 turns into vector compares and blends in the loops below; some
// equivalent spellings (with '>', or bitwise | instead of ||) it left scalar,
// with branches (8x slower on random data).
template <class T> inline bool takes_over(T v, T best) { return std::isgreater(v, best) || std::isunordered(v, v); }

// One output row of a 2x2, stride-2 pool: four loads and three selects per
// output. Rows are short (LeNet-5's are 12 and 4 wide), so the caller hands
// every row to the loop in multiples of four, where it runs as vector code
// whole (8 outputs and then 4), and the last four outputs once more when the
// width is not a multiple of four: recomputing an output writes the same
// values, and GCC's scalar remainder loop would branch on every compare.
// Not inlined: inlined, GCC unrolled the 4-wide call into scalar code.
template <class T, class I>
[[gnu::noinline]] void max_pool2x2_row(const T* __restrict r0, const T* __restrict r1, T* __restrict o,
                                       I* __restrict at, std::int64_t n) {
  for (std::int64_t ow = 0; ow < n; ++ow) {
    const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
    T best = a;
    int k = 0;  // window positions in row-major order: a 0, b 1, c 2, d 3
    bool t = takes_over(b, best);
    k = t ? 1 : k;
    best = t ? b : best;
    t = takes_over(c, best);
    k = t ? 2 : k;
    best = t ? c : best;
    t = takes_over(d, best);
    k = t ? 3 : k;
    best = t ? d : best;
    o[ow] = best;
    at[ow] = static_cast<I>(k);
  }
}

// Runs row(first output, count) over [0, width) in the pieces described above.
template <class Row> void in_fours(std::int64_t width, const Row& row) {
  if (width < 4) return row(0, width);
  const std::int64_t whole = width & ~std::int64_t{3};
  row(0, whole);
  if (whole < width) row(width - 4, 4);
}

template <class T, class I> void max_pool2x2_plane(const T* in, const PoolGeometry& g, T* out, I* out_at) {
  const std::int64_t W = g.in_w, OH = g.out_h, OW = g.out_w;
  for (std::int64_t oh = 0; oh < OH; ++oh) {
    const T* r0 = in + 2 * oh * W;
    const T* r1 = r0 + W;
    T* o = out + oh * OW;
    I* at = out_at + oh * OW;
    in_fours(OW, [&](std::int64_t ow, std::int64_t n) { max_pool2x2_row(r0 + 2 * ow, r1 + 2 * ow, o + ow, at + ow, n); });
  }
}

// Window position k of n outputs: v = src[i * stride] takes over o[i] and
// at[i] where it beats them. Applying it twice leaves the same result (v does
// not take over from itself), so in_fours can hand it overlapping pieces.
template <class T, class I>
[[gnu::noinline]] void max_pool_step(const T* __restrict src, std::int64_t stride, I k, T* __restrict o,
                                     I* __restrict at, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T v = src[i * stride];
    const T best = o[i];
    const bool t = takes_over(v, best);
    o[i] = t ? v : best;
    at[i] = t ? k : at[i];
  }
}

// One plane, any geometry: one window position (a, e) at a time across the
// output row, each output's running maximum kept in y itself. Positions are
// visited in row-major order for every window, so ties and NaNs resolve as in
// a scan of each window.
template <class T, class I>
void max_pool_plane(const T* in, const PoolGeometry& g, const std::vector<Columns>& cols, T* out, I* out_at) {
  const std::int64_t W = g.in_w, OW = g.out_w, KW = g.kernel_w, SW = g.stride_w, PL = g.pad_left;
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const Rows r = window_rows(g, oh);
    T* o = out + oh * OW;
    I* at = out_at + oh * OW;
    // Start from -inf at each window's first pixel inside the plane (the
    // checks guarantee one), so a window of -inf still points into the plane.
    for (std::int64_t ow = 0; ow < OW; ++ow) {
      o[ow] = -std::numeric_limits<T>::infinity();
      at[ow] = static_cast<I>(r.a0 * KW + std::max<std::int64_t>(0, PL - ow * SW));
    }
    for (std::int64_t a = r.a0; a < r.a1; ++a) {
      const T* row = in + (r.h0 + a) * W;
      for (std::int64_t e = 0; e < KW; ++e) {
        const std::int64_t lo = cols[e].lo, offset = cols[e].offset;
        const I k = static_cast<I>(a * KW + e);
        in_fours(cols[e].hi - lo, [&](std::int64_t i, std::int64_t n) {
          max_pool_step(row + (lo + i) * SW + offset, SW, k, o + lo + i, at + lo + i, n);
        });
      }
    }
  }
}

// Backward of max_pool2x2_row: each pixel of the two input rows gets its
// output's gradient or zero, written once (no zero fill first, no scatter).
// One loop per input row: with the four stores in one loop GCC 12 does not
// vectorise it. Overlapping pieces (in_fours) write the same values again.
template <class T, class I>
[[gnu::noinline]] void max_pool2x2_backward_row(const T* __restrict gr, const I* __restrict k, T* __restrict r0,
                                                T* __restrict r1, std::int64_t n) {
  for (std::int64_t ow = 0; ow < n; ++ow) {
    const T v = gr[ow];
    const I p = k[ow];
    r0[2 * ow] = p == 0 ? v : T(0);
    r0[2 * ow + 1] = p == 1 ? v : T(0);
  }
  for (std::int64_t ow = 0; ow < n; ++ow) {
    const T v = gr[ow];
    const I p = k[ow];
    r1[2 * ow] = p == 2 ? v : T(0);
    r1[2 * ow + 1] = p == 3 ? v : T(0);
  }
}

// The last row and column of an odd-sized plane belong to no window.
template <class T, class I>
void max_pool2x2_backward_plane(const T* gout, const I* at, const PoolGeometry& g, T* gin) {
  const std::int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w;
  for (std::int64_t oh = 0; oh < OH; ++oh) {
    const T* gr = gout + oh * OW;
    const I* k = at + oh * OW;
    T* r0 = gin + 2 * oh * W;
    T* r1 = r0 + W;
    in_fours(OW, [&](std::int64_t ow, std::int64_t n) {
      max_pool2x2_backward_row(gr + ow, k + ow, r0 + 2 * ow, r1 + 2 * ow, n);
    });
    std::fill(r0 + 2 * OW, r0 + W, T(0));
    std::fill(r1 + 2 * OW, r1 + W, T(0));
  }
  std::fill(gin + 2 * OH * W, gin + H * W, T(0));
}

// Where window position k lies relative to the window's first (padded) pixel,
// as an offset within the plane: (k / KW) * W + k % KW. A table for windows of
// up to 256 positions (every pooling layer in practice), a division beyond.
template <class I> struct PositionOffsets {
  std::vector<std::int64_t> table;
  std::int64_t kernel_w, in_w;
  explicit PositionOffsets(const PoolGeometry& g) : kernel_w(g.kernel_w), in_w(g.in_w) {
    if (g.window() <= 256)
      for (std::int64_t k = 0; k < g.window(); ++k) table.push_back((k / kernel_w) * in_w + k % kernel_w);
  }
  std::int64_t operator()(I k) const {
    const auto k64 = static_cast<std::int64_t>(k);
    if (!table.empty()) return table[static_cast<std::size_t>(k64)];
    return (k64 / kernel_w) * in_w + k64 % kernel_w;
  }
};

}  // namespace

template <class T, class I> void max_pool2d_forward(const T* x, const PoolGeometry& g, T* y, I* at) {
  const bool two_by_two = is_2x2_stride_2(g);
  const std::vector<Columns> cols = window_columns(g);
  for_each_plane(g, [&](std::int64_t p) {
    const T* in = x + p * g.in_plane();
    if (two_by_two)
      max_pool2x2_plane(in, g, y + p * g.out_plane(), at + p * g.out_plane());
    else
      max_pool_plane(in, g, cols, y + p * g.out_plane(), at + p * g.out_plane());
  });
}

template <class T, class I> void max_pool2d_backward(const T* gy, const I* at, const PoolGeometry& g, T* gx) {
  if (is_2x2_stride_2(g)) {
    for_each_plane(g, [&](std::int64_t p) {
      max_pool2x2_backward_plane(gy + p * g.out_plane(), at + p * g.out_plane(), g, gx + p * g.in_plane());
    });
    return;
  }
  const PositionOffsets<I> offset(g);
  for_each_plane(g, [&](std::int64_t p) {
    T* gin = gx + p * g.in_plane();
    std::fill(gin, gin + g.in_plane(), T(0));
    const T* gout = gy + p * g.out_plane();
    const I* k = at + p * g.out_plane();
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const std::int64_t row_start = (oh * g.stride_h - g.pad_top) * g.in_w - g.pad_left;
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const std::int64_t o = oh * g.out_w + ow;
        gin[row_start + ow * g.stride_w + offset(k[o])] += gout[o];
      }
    }
  });
}

template <class I> void max_pool2d_plane_indices(const I* at, const PoolGeometry& g, std::int64_t* index) {
  const PositionOffsets<I> offset(g);
  for (std::int64_t p = 0; p < g.planes; ++p)
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const std::int64_t row_start = (oh * g.stride_h - g.pad_top) * g.in_w - g.pad_left;
      for (std::int64_t ow = 0; ow < g.out_w; ++ow, ++at, ++index) *index = row_start + ow * g.stride_w + offset(*at);
    }
}

template <class T> void avg_pool2d_forward(const T* x, const PoolGeometry& g, T* y) {
  const T scale = T(1) / static_cast<T>(g.window());
  if (is_2x2_stride_2(g)) {
    const std::int64_t W = g.in_w, OH = g.out_h, OW = g.out_w;
    for_each_plane(g, [&](std::int64_t p) {
      const T* in = x + p * g.in_plane();
      T* out = y + p * g.out_plane();
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        const T* r0 = in + 2 * oh * W;
        const T* r1 = r0 + W;
        T* o = out + oh * OW;
        for (std::int64_t ow = 0; ow < OW; ++ow) o[ow] = (r0[2 * ow] + r0[2 * ow + 1] + r1[2 * ow] + r1[2 * ow + 1]) * scale;
      }
    });
    return;
  }
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
  const T scale = T(1) / static_cast<T>(g.window());
  if (is_2x2_stride_2(g)) {  // each pixel in at most one window: written once
    const std::int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w;
    for_each_plane(g, [&](std::int64_t p) {
      T* gin = gx + p * g.in_plane();
      const T* gout = gy + p * g.out_plane();
      for (std::int64_t oh = 0; oh < OH; ++oh) {
        T* r0 = gin + 2 * oh * W;
        T* r1 = r0 + W;
        const T* gr = gout + oh * OW;
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          const T v = gr[ow] * scale;
          r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = v;
        }
        for (std::int64_t iw = 2 * OW; iw < W; ++iw) r0[iw] = r1[iw] = T(0);
      }
      std::fill(gin + 2 * OH * W, gin + H * W, T(0));
    });
    return;
  }
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

#define TG_INSTANTIATE_MAX_POOL2D(T, I)                                                      \
  template void max_pool2d_forward<T, I>(const T*, const PoolGeometry&, T*, I*);            \
  template void max_pool2d_backward<T, I>(const T*, const I*, const PoolGeometry&, T*);
#define TG_INSTANTIATE_POOL2D(T)                                                  \
  TG_INSTANTIATE_MAX_POOL2D(T, std::int32_t)                                      \
  TG_INSTANTIATE_MAX_POOL2D(T, std::int64_t)                                      \
  template void avg_pool2d_forward<T>(const T*, const PoolGeometry&, T*);         \
  template void avg_pool2d_backward<T>(const T*, const PoolGeometry&, T*);
TG_INSTANTIATE_POOL2D(float)
TG_INSTANTIATE_POOL2D(double)
#undef TG_INSTANTIATE_POOL2D
#undef TG_INSTANTIATE_MAX_POOL2D
template void max_pool2d_plane_indices<std::int32_t>(const std::int32_t*, const PoolGeometry&, std::int64_t*);
template void max_pool2d_plane_indices<std::int64_t>(const std::int64_t*, const PoolGeometry&, std::int64_t*);

}  // namespace tg::detail
