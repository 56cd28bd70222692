// conv2d kernels: im2col with raw loops, one OpenBLAS gemm per image.
//
// Why raw loops: im2col through xtensor views (one view per patch) measured
// 16-28 ms for 64x16x28x28 with a 3x3 kernel, the loops below ~1 ms for the
// whole batch. Padding is handled inline (rows that fall
// outside the image are zero-filled, in-image runs are copied), so no padded
// copy of the input is ever made; stride-1 runs are a memcpy.
//
// Layout per image n (P = OH*OW, K = C*KH*KW):
//   col_n [K, P]         = im2col(x_n)
//   y_n   [F, P]         = W [F, K] · col_n             (+ b, pre-filled, beta = 1)
//   gWᵀ   [K, F]        += col_n · gy_nᵀ                 (beta = 1 over the images)
//   gcol  [K, P]         = Wᵀ · gy_n;  gx_n = col2im(gcol)
//   gb    [F]           += row sums of gy_n
// With groups, each group runs these on its own block of channels (K =
// C/groups*KH*KW) and filters (F/groups rows of W); groups = 1 is one pass.
// The column matrix is recomputed in backward rather than kept from forward: it
// is KH*KW = 9 times the size of the input (29 MB for the benchmark layer), and
// rebuilding it image by image into a cache-resident buffer (~1 ms for the
// batch) is cheaper than writing 29 MB out in forward and reading it back.
//
// Threads: the images are split into one contiguous slice per thread, each with
// its own scratch buffers and gWᵀ/gb partial sums (added in slice order, so the
// result does not depend on which thread finishes first); OpenBLAS runs
// single-threaded meanwhile so the two pools never oversubscribe the cores.
// The gemms here are small (32x784x144 in the benchmark), where 2-thread sgemm
// gains little; bench/bench_conv measures both ways.
#include "ops/kernels/conv2d.hpp"
#include "ops/kernels/conv_engine.hpp"

#include <algorithm>
#include <atomic>
#include <vector>

#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/blas.hpp"
#include "ops/kernels/row_sum.hpp"
#include "ops/kernels/window.hpp"
#include <tapegrad/core/parallel.hpp>

namespace tg::detail {
namespace {

std::atomic<ConvThreading> threading{ConvThreading::Auto};

using Range = OutputRange;
// For kernel row kh: output rows [lo, hi) read input row oh*stride_h + offset.
Range row_range(const ConvGeometry& g, std::int64_t kh) {
  return output_range(kh * g.dilation_h - g.pad_top, g.stride_h, g.in_h, g.out_h);
}
// For kernel column kw: output columns [lo, hi) read input column ow*stride_w + offset.
Range column_range(const ConvGeometry& g, std::int64_t kw) {
  return output_range(kw * g.dilation_w - g.pad_left, g.stride_w, g.in_w, g.out_w);
}

// With stride 1 and as many output as input columns (e.g. "same" padding), row
// (c,kh,kw) of the column matrix is the image plane shifted by a constant, apart
// from the padding columns: im2col/col2im then run one long loop per row
// instead of one short one per output row (measured at 64x16x28x28, 3x3,
// padding 1: im2col 2.1 -> 1.1 ms, col2im 3.8 -> 1.3 ms).
bool rows_are_contiguous(const ConvGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.out_w == g.in_w;
}

// Zeroes, in rows [rows.lo, rows.hi) of a column-matrix row, the columns
// outside [cols.lo, cols.hi) (usually one per side). Column by column: the
// same stores as a std::fill per row, without a memset call for each.
template <class T> void zero_padding_columns(T* row, const Range& rows, const Range& cols, std::int64_t out_w) {
  for (std::int64_t ow = 0; ow < out_w; ++ow) {
    if (ow == cols.lo) ow = std::max(cols.hi, ow);
    if (ow >= out_w) break;
    for (std::int64_t oh = rows.lo; oh < rows.hi; ++oh) row[oh * out_w + ow] = T(0);
  }
}

// A scratch buffer from the tensor allocator (cached, so a training loop reuses
// the same blocks every step).
template <class T> struct Scratch {
  Tensor storage;
  T* data = nullptr;
  explicit Scratch(std::int64_t n) {
    if (n <= 0) return;
    storage = make_tensor(Shape{n}, dtype_of<T>());
    data = static_cast<T*>(storage.raw_data());
  }
};

// Below this many multiply-adds per call, waking the pool costs more than it
// saves: the convs of the examples' small 0-vs-1 MNIST CNN (~450K MACs at
// batch 32) ran 25 % faster serially.
constexpr std::int64_t kParallelMacs = std::int64_t{1} << 20;

// How many slices of the batch to run concurrently.
std::int64_t batch_chunks(const ConvGeometry& g) {
  const std::int64_t threads = get_num_threads(), batch = g.batch;
  const ConvThreading mode = threading.load();
  if (mode == ConvThreading::ThreadedBlas || threads < 2 || batch < 2 || in_parallel_region()) return 1;
  if (mode == ConvThreading::Auto && batch * g.filters * g.out_plane() * g.patch_size() < kParallelMacs) return 1;
  if (mode == ConvThreading::Auto && batch < threads) return 1;  // too few images: let BLAS split the gemms
  return std::min(threads, batch);
}

// Runs body(chunk, begin, end) over `chunks` contiguous slices of [0, batch).
template <class Body> void for_each_slice(std::int64_t batch, std::int64_t chunks, const Body& body) {
  if (chunks <= 1) {
    body(0, 0, batch);
    return;
  }
  parallel_for(chunks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) body(c, batch * c / chunks, batch * (c + 1) / chunks);
  });
}

}  // namespace

void set_conv_threading(ConvThreading mode) { threading.store(mode); }
ConvThreading conv_threading() { return threading.load(); }

template <class T> void im2col(const T* image, const ConvGeometry& g, T* col, std::int64_t ld) {
  const std::int64_t P = g.out_plane(), OW = g.out_w;
  const bool contiguous = rows_are_contiguous(g);
  for (std::int64_t c = 0; c < g.group_channels(); ++c) {
    const T* plane = image + c * g.in_plane();
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        T* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ld;
        const Range rows = row_range(g, kh);
        const Range cols = column_range(g, kw);
        std::fill(row, row + rows.lo * OW, T(0));  // output rows whose input row is padding
        std::fill(row + rows.hi * OW, row + P, T(0));
        if (contiguous) {
          // One copy for all valid rows, then zero the padding columns it read wrongly.
          const std::int64_t shift = (kh * g.dilation_h - g.pad_top) * g.in_w + cols.offset;
          const std::int64_t begin = std::clamp(-shift, rows.lo * OW, rows.hi * OW);
          const std::int64_t end = std::clamp(g.in_plane() - shift, begin, rows.hi * OW);
          std::fill(row + rows.lo * OW, row + begin, T(0));
          std::fill(row + end, row + rows.hi * OW, T(0));
          std::copy(plane + (begin + shift), plane + (end + shift), row + begin);
          zero_padding_columns(row, rows, cols, OW);
          continue;
        }
        for (std::int64_t oh = rows.lo; oh < rows.hi; ++oh) {
          T* out = row + oh * OW;
          const T* in = plane + (oh * g.stride_h + rows.offset) * g.in_w;  // column ow reads in[ow*sw + offset]
          std::fill(out, out + cols.lo, T(0));
          if (g.stride_w == 1)  // a plain copy of the run
            copy_run(in + (cols.lo + cols.offset), out + cols.lo, cols.hi - cols.lo);
          else
            for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) out[ow] = in[ow * g.stride_w + cols.offset];
          std::fill(out + cols.hi, out + OW, T(0));
        }
      }
  }
}

template <class T> void col2im(T* col, const ConvGeometry& g, T* image) {
  const std::int64_t P = g.out_plane(), OW = g.out_w;
  const bool contiguous = rows_are_contiguous(g);
  for (std::int64_t c = 0; c < g.group_channels(); ++c) {
    T* plane = image + c * g.in_plane();
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        T* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * P;
        const Range rows = row_range(g, kh);  // other rows read padding: nothing to add back
        const Range cols = column_range(g, kw);
        if (contiguous) {
          // Zero the entries that read padding columns, then one add over all valid rows
          // (the zeroed entries land on neighbouring pixels and add nothing).
          zero_padding_columns(row, rows, cols, OW);
          const std::int64_t shift = (kh * g.dilation_h - g.pad_top) * g.in_w + cols.offset;
          const std::int64_t begin = std::clamp(-shift, rows.lo * OW, rows.hi * OW);
          const std::int64_t end = std::clamp(g.in_plane() - shift, begin, rows.hi * OW);
          for (std::int64_t p = begin; p < end; ++p) plane[p + shift] += row[p];
          continue;
        }
        for (std::int64_t oh = rows.lo; oh < rows.hi; ++oh) {
          const T* src = row + oh * OW;
          T* dst = plane + (oh * g.stride_h + rows.offset) * g.in_w;
          if (g.stride_w == 1)  // unit stride: the compiler vectorises this one
            for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow + cols.offset] += src[ow];
          else
            for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow * g.stride_w + cols.offset] += src[ow];
        }
      }
  }
}

template <class T> void conv2d_forward(const T* x, const T* w, const T* b, const ConvGeometry& g, T* y) {
  if (use_conv_engine<T>(g)) return engine_conv2d_forward(x, w, b, g, y);
  const std::int64_t F = g.filters, K = g.patch_size(), P = g.out_plane();
  const std::int64_t FG = g.group_filters(), CG = g.group_channels();
  const bool pointwise = g.is_pointwise();
  const std::int64_t chunks = batch_chunks(g);
  for_each_slice(g.batch, chunks, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
    Scratch<T> col(pointwise ? 0 : K * P);  // one per slice, reused for every image and group in it
    for (std::int64_t n = begin; n < end; ++n) {
      T* yn = y + n * F * P;
      if (b)
        for (std::int64_t f = 0; f < F; ++f) std::fill(yn + f * P, yn + (f + 1) * P, b[f]);
      for (std::int64_t grp = 0; grp < g.groups; ++grp) {
        const T* xg = x + (n * g.channels + grp * CG) * g.in_plane();
        if (!pointwise) im2col(xg, g, col.data);
        gemm<T>(false, false, FG, P, K, T(1), w + grp * FG * K, pointwise ? xg : col.data, b ? T(1) : T(0),
                yn + grp * FG * P);
      }
    }
  });
}

template <class T>
void conv2d_backward(const T* x, const T* w, const T* gy, const ConvGeometry& g, T* gx, T* gw, T* gb) {
  if (use_conv_engine<T>(g)) return engine_conv2d_backward(x, w, gy, g, gx, gw, gb);
  if (gw && use_engine_weight_grad<T>(g)) {  // the weight and bias gradients there, the input gradient here
    engine_conv2d_backward<T>(x, nullptr, gy, g, nullptr, gw, gb);
    if (gx) conv2d_backward<T>(nullptr, w, gy, g, gx, nullptr, nullptr);
    return;
  }
  const std::int64_t F = g.filters, K = g.patch_size(), P = g.out_plane();
  const std::int64_t FG = g.group_filters(), CG = g.group_channels();
  const bool pointwise = g.is_pointwise();
  const std::int64_t chunks = batch_chunks(g);

  // Each slice sums its images' gWᵀ (one [K,F/groups] block per group) and gb [F]
  // into its own partials; they are added in slice order at the end. gWᵀ = col_n ·
  // gy_nᵀ rather than gW = gy_n · col_nᵀ: the same product, but OpenBLAS runs this
  // orientation ~15% faster for these shapes (measured 5.4 vs 6.4 ms over the
  // benchmark batch).
  std::vector<Scratch<T>> partial_wt, partial_b;
  for (std::int64_t c = 0; c < chunks; ++c) {
    partial_wt.emplace_back(gw ? K * F : 0);
    partial_b.emplace_back(gb ? F : 0);
  }

  for_each_slice(g.batch, chunks, [&](std::int64_t chunk, std::int64_t begin, std::int64_t end) {
    T* acc_wt = partial_wt[chunk].data;
    T* acc_b = partial_b[chunk].data;
    if (acc_wt) std::fill(acc_wt, acc_wt + K * F, T(0));
    if (acc_b) std::fill(acc_b, acc_b + F, T(0));
    Scratch<T> col(gw && !pointwise ? K * P : 0);
    Scratch<T> gcol(gx && !pointwise ? K * P : 0);
    for (std::int64_t n = begin; n < end; ++n) {
      const T* gyn = gy + n * F * P;
      if (acc_b)
        for (std::int64_t f = 0; f < F; ++f) acc_b[f] += static_cast<T>(row_sum(gyn + f * P, P));
      if (gx && !pointwise) std::fill(gx + n * g.channels * g.in_plane(), gx + (n + 1) * g.channels * g.in_plane(), T(0));
      for (std::int64_t grp = 0; grp < g.groups; ++grp) {
        const T* gyg = gyn + grp * FG * P;
        if (acc_wt) {
          const T* xg = x + (n * g.channels + grp * CG) * g.in_plane();
          if (!pointwise) im2col(xg, g, col.data);
          gemm<T>(false, true, K, FG, P, T(1), pointwise ? xg : col.data, gyg, T(1), acc_wt + grp * K * FG);
        }
        if (gx) {
          T* gxg = gx + (n * g.channels + grp * CG) * g.in_plane();
          const T* wg = w + grp * FG * K;
          if (pointwise) {
            gemm<T>(true, false, K, P, FG, T(1), wg, gyg, T(0), gxg);
          } else {
            gemm<T>(true, false, K, P, FG, T(1), wg, gyg, T(0), gcol.data);
            col2im(gcol.data, g, gxg);
          }
        }
      }
    }
  });

  if (gw)  // partial block grp holds gWᵀ [K, F/groups] of filters grp*F/groups...
    sum_partials(partial_wt, F * K, gw, [&](std::int64_t i) {
      const std::int64_t f = i / K, k = i % K;
      return (f / FG) * K * FG + k * FG + f % FG;
    });
  if (gb) sum_partials(partial_b, F, gb);
}

#define TG_INSTANTIATE_CONV2D(T)                                                                           \
  template void im2col<T>(const T*, const ConvGeometry&, T*, std::int64_t);                                \
  template void col2im<T>(T*, const ConvGeometry&, T*);                                              \
  template void conv2d_forward<T>(const T*, const T*, const T*, const ConvGeometry&, T*);                  \
  template void conv2d_backward<T>(const T*, const T*, const T*, const ConvGeometry&, T*, T*, T*);
TG_INSTANTIATE_CONV2D(float)
TG_INSTANTIATE_CONV2D(double)
#undef TG_INSTANTIATE_CONV2D

}  // namespace tg::detail
