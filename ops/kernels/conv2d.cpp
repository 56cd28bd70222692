// conv2d kernels: im2col with raw loops, one OpenBLAS gemm per image.
//
// Why raw loops: im2col through xtensor views (one view per patch) measured
// 16-28 ms for 64x16x28x28 with a 3x3 kernel, the loops below 0.5 ms
// (/work/shared/notes/stack-facts.md). Padding is handled inline (rows that fall
// outside the image are zero-filled, in-image runs are copied), so no padded
// copy of the input is ever made; stride-1 runs are a memcpy.
//
// Layout per image n (P = OH*OW, K = C*KH*KW):
//   col_n [K, P]         = im2col(x_n)
//   y_n   [F, P]         = W [F, K] · col_n             (+ b, pre-filled, beta = 1)
//   gW    [F, K]        += gy_n [F, P] · col_nᵀ          (beta = 1 over the images)
//   gcol  [K, P]         = Wᵀ · gy_n;  gx_n = col2im(gcol)
//   gb    [F]           += row sums of gy_n
// The column matrix is recomputed in backward rather than kept from forward: it
// is K = 9*C times the size of the input (29 MB for the benchmark layer), and
// rebuilding it costs about as much as reading that much memory back.
//
// Threads: the images are split into one contiguous slice per thread, each with
// its own scratch buffers and gW/gb partial sums (added in slice order, so the
// result does not depend on which thread finishes first); OpenBLAS runs
// single-threaded meanwhile so the two pools never oversubscribe the cores.
// The gemms here are small (32x784x144 in the benchmark), where 2-thread sgemm
// gains little; bench/bench_conv measures both ways.
#include "ops/kernels/conv2d.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/blas.hpp"
#include <tapegrad/parallel.hpp>

namespace tg::detail {
namespace {

std::atomic<ConvThreading> threading{ConvThreading::Auto};

// ceil(a / b) for b > 0 and any a.
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// For one kernel column kw: the output columns [lo, hi) whose input column
// iw = ow*stride_w + offset lies inside [0, in_w); the others read padding.
struct ColumnRange {
  std::int64_t offset, lo, hi;
};
ColumnRange column_range(const ConvGeometry& g, std::int64_t kw) {
  const std::int64_t offset = kw * g.dilation_w - g.pad_left;
  std::int64_t lo = std::clamp<std::int64_t>(ceil_div(-offset, g.stride_w), 0, g.out_w);
  std::int64_t hi = std::clamp<std::int64_t>(ceil_div(g.in_w - offset, g.stride_w), 0, g.out_w);
  return {offset, lo, std::max(lo, hi)};
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

// How many slices of the batch to run concurrently.
std::int64_t batch_chunks(std::int64_t batch) {
  const std::int64_t threads = get_num_threads();
  const ConvThreading mode = threading.load();
  if (mode == ConvThreading::ThreadedBlas || threads < 2 || batch < 2 || in_parallel_region()) return 1;
  if (mode == ConvThreading::Auto && batch < threads) return 1;  // too few images: let BLAS split the gemms
  return std::min(threads, batch);
}

// Runs body(chunk, begin, end) over `chunks` contiguous slices of [0, batch).
template <class Body> void for_each_slice(std::int64_t batch, std::int64_t chunks, const Body& body) {
  if (chunks <= 1) {
    body(0, 0, batch);
    return;
  }
  SingleThreadedBlas one_blas_thread;
  parallel_for(chunks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) body(c, batch * c / chunks, batch * (c + 1) / chunks);
  });
}

}  // namespace

void set_conv_threading(ConvThreading mode) { threading.store(mode); }
ConvThreading conv_threading() { return threading.load(); }

template <class T> void im2col(const T* image, const ConvGeometry& g, T* col) {
  const std::int64_t P = g.out_plane();
  for (std::int64_t c = 0; c < g.channels; ++c) {
    const T* plane = image + c * g.in_plane();
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        T* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * P;
        const ColumnRange r = column_range(g, kw);
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          T* out = row + oh * g.out_w;
          const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_h) {
            std::fill(out, out + g.out_w, T(0));
            continue;
          }
          const T* in = plane + ih * g.in_w;  // output column ow reads in[ow * stride_w + offset]
          std::fill(out, out + r.lo, T(0));
          if (g.stride_w == 1) {
            if (r.hi > r.lo)
              std::memcpy(out + r.lo, in + r.lo + r.offset, static_cast<std::size_t>(r.hi - r.lo) * sizeof(T));
          } else {
            for (std::int64_t ow = r.lo; ow < r.hi; ++ow) out[ow] = in[ow * g.stride_w + r.offset];
          }
          std::fill(out + r.hi, out + g.out_w, T(0));
        }
      }
  }
}

template <class T> void col2im(const T* col, const ConvGeometry& g, T* image) {
  const std::int64_t P = g.out_plane();
  for (std::int64_t c = 0; c < g.channels; ++c) {
    T* plane = image + c * g.in_plane();
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh)
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const T* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * P;
        const ColumnRange r = column_range(g, kw);
        for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
          const std::int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_h) continue;  // that row of the column matrix read padding
          const T* src = row + oh * g.out_w;
          T* dst = plane + ih * g.in_w;
          if (g.stride_w == 1) {
            for (std::int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow + r.offset] += src[ow];
          } else {
            for (std::int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow * g.stride_w + r.offset] += src[ow];
          }
        }
      }
  }
}

template <class T> void conv2d_forward(const T* x, const T* w, const T* b, const ConvGeometry& g, T* y) {
  const std::int64_t F = g.filters, K = g.patch_size(), P = g.out_plane();
  const bool pointwise = g.is_pointwise();
  const std::int64_t chunks = batch_chunks(g.batch);
  for_each_slice(g.batch, chunks, [&](std::int64_t, std::int64_t begin, std::int64_t end) {
    Scratch<T> col(pointwise ? 0 : K * P);  // one per slice, reused for every image in it
    for (std::int64_t n = begin; n < end; ++n) {
      const T* xn = x + n * g.channels * g.in_plane();
      T* yn = y + n * F * P;
      if (!pointwise) im2col(xn, g, col.data);
      if (b)
        for (std::int64_t f = 0; f < F; ++f) std::fill(yn + f * P, yn + (f + 1) * P, b[f]);
      gemm<T>(false, false, F, P, K, T(1), w, pointwise ? xn : col.data, b ? T(1) : T(0), yn);
    }
  });
}

template <class T>
void conv2d_backward(const T* x, const T* w, const T* gy, const ConvGeometry& g, T* gx, T* gw, T* gb) {
  const std::int64_t F = g.filters, K = g.patch_size(), P = g.out_plane();
  const bool pointwise = g.is_pointwise();
  const std::int64_t chunks = batch_chunks(g.batch);

  // Slice 0 accumulates straight into gw/gb; the others into partials added afterwards.
  std::vector<Scratch<T>> partial_w, partial_b;
  for (std::int64_t c = 1; c < chunks; ++c) {
    partial_w.emplace_back(gw ? F * K : 0);
    partial_b.emplace_back(gb ? F : 0);
  }
  if (gw) std::fill(gw, gw + F * K, T(0));
  if (gb) std::fill(gb, gb + F, T(0));

  for_each_slice(g.batch, chunks, [&](std::int64_t chunk, std::int64_t begin, std::int64_t end) {
    T* acc_w = chunk == 0 ? gw : partial_w[chunk - 1].data;
    T* acc_b = chunk == 0 ? gb : partial_b[chunk - 1].data;
    if (acc_w && chunk > 0) std::fill(acc_w, acc_w + F * K, T(0));
    if (acc_b && chunk > 0) std::fill(acc_b, acc_b + F, T(0));
    Scratch<T> col(gw && !pointwise ? K * P : 0);
    Scratch<T> gcol(gx && !pointwise ? K * P : 0);
    for (std::int64_t n = begin; n < end; ++n) {
      const T* gyn = gy + n * F * P;
      if (acc_w) {
        const T* xn = x + n * g.channels * g.in_plane();
        if (!pointwise) im2col(xn, g, col.data);
        gemm<T>(false, true, F, K, P, T(1), gyn, pointwise ? xn : col.data, T(1), acc_w);
      }
      if (acc_b)  // raw loop: a strided reduction (xtensor measured 10x slower, stack-facts.md)
        for (std::int64_t f = 0; f < F; ++f) {
          T s = 0;
          for (std::int64_t p = 0; p < P; ++p) s += gyn[f * P + p];
          acc_b[f] += s;
        }
      if (gx) {
        T* gxn = gx + n * g.channels * g.in_plane();
        if (pointwise) {
          gemm<T>(true, false, K, P, F, T(1), w, gyn, T(0), gxn);
        } else {
          gemm<T>(true, false, K, P, F, T(1), w, gyn, T(0), gcol.data);
          std::fill(gxn, gxn + g.channels * g.in_plane(), T(0));
          col2im(gcol.data, g, gxn);
        }
      }
    }
  });

  for (std::int64_t c = 1; c < chunks; ++c) {
    if (gw)
      for (std::int64_t i = 0; i < F * K; ++i) gw[i] += partial_w[c - 1].data[i];
    if (gb)
      for (std::int64_t i = 0; i < F; ++i) gb[i] += partial_b[c - 1].data[i];
  }
}

#define TG_INSTANTIATE_CONV2D(T)                                                                           \
  template void im2col<T>(const T*, const ConvGeometry&, T*);                                              \
  template void col2im<T>(const T*, const ConvGeometry&, T*);                                              \
  template void conv2d_forward<T>(const T*, const T*, const T*, const ConvGeometry&, T*);                  \
  template void conv2d_backward<T>(const T*, const T*, const T*, const ConvGeometry&, T*, T*, T*);
TG_INSTANTIATE_CONV2D(float)
TG_INSTANTIATE_CONV2D(double)
#undef TG_INSTANTIATE_CONV2D

}  // namespace tg::detail
