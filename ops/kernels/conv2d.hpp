// Private: the conv2d kernels (im2col / col2im + one gemm per image), and the
// entry points that hand a conv to the engine of conv_engine.hpp when
// use_conv_engine() says it is faster.
//
// These functions know nothing about tensors or the tape: ops/conv.cpp checks
// the arguments, builds a ConvGeometry and calls them on raw NCHW buffers.
#pragma once

#include <cstdint>
#include <cstring>

namespace tg::detail {

/// Copies a run of n values (src and dst not overlapping). im2col and the conv
/// engine copy one run per image row, 8 to 30 values in small CNNs, where
/// std::copy's memmove call cost more than the copy (perf: im2col + memmove ~35%
/// of LeNet-5's second conv). Fixed-size memcpys compile to one or two vector
/// moves; the two moves of a pair may overlap.
template <class T> inline void copy_run(const T* src, T* dst, std::int64_t n) {
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
  auto* d = reinterpret_cast<char*>(dst);
  const auto* s = reinterpret_cast<const char*>(src);
  if (bytes > 128) {
    std::memcpy(d, s, bytes);
  } else if (bytes >= 64) {
    std::memcpy(d, s, 64);
    std::memcpy(d + bytes - 64, s + bytes - 64, 64);
  } else if (bytes >= 32) {
    std::memcpy(d, s, 32);
    std::memcpy(d + bytes - 32, s + bytes - 32, 32);
  } else if (bytes >= 16) {
    std::memcpy(d, s, 16);
    std::memcpy(d + bytes - 16, s + bytes - 16, 16);
  } else if (bytes >= 8) {
    std::memcpy(d, s, 8);
    std::memcpy(d + bytes - 8, s + bytes - 8, 8);
  } else if (bytes >= 4) {
    std::memcpy(d, s, 4);
    std::memcpy(d + bytes - 4, s + bytes - 4, 4);
  }
}

/// Everything a conv2d kernel needs to know about the shapes, already checked.
/// The padding is implicit zeros: pad_top/pad_left shift the windows; the
/// bottom/right padding is whatever out_h/out_w imply. With groups > 1 the
/// channels and filters split into `groups` equal blocks, filter block k seeing
/// only channel block k (the weight is [F, C/groups, KH, KW], as in PyTorch).
struct ConvGeometry {
  std::int64_t batch = 0, channels = 0, in_h = 0, in_w = 0;
  std::int64_t filters = 0, kernel_h = 0, kernel_w = 0;
  std::int64_t groups = 1;
  std::int64_t out_h = 0, out_w = 0;
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t pad_top = 0, pad_left = 0;

  /// Channels and filters of one group.
  ///@{
  std::int64_t group_channels() const { return channels / groups; }
  std::int64_t group_filters() const { return filters / groups; }
  ///@}
  /// Rows of one group's column matrix: C/groups*KH*KW (the gemm's inner dimension).
  std::int64_t patch_size() const { return group_channels() * kernel_h * kernel_w; }
  std::int64_t in_plane() const { return in_h * in_w; }
  std::int64_t out_plane() const { return out_h * out_w; }
  /// A 1x1, stride-1, unpadded conv: the image [C, H*W] already is its column matrix.
  bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
           out_h == in_h && out_w == in_w;
  }
};

/// The first C/groups channels of an image [C,H,W] -> their column matrix
/// [C/groups*KH*KW, OH*OW] (row (c,kh,kw), column (oh,ow)); callers offset
/// `image` to a group's first channel. `ld` is the column matrix's row stride
/// (OH*OW, or more when several images share one matrix side by side).
template <class T> void im2col(const T* image, const ConvGeometry& g, T* col, std::int64_t ld);
template <class T> void im2col(const T* image, const ConvGeometry& g, T* col) { im2col(image, g, col, g.out_plane()); }

/// The adjoint of im2col: adds every column entry back onto the pixel it came
/// from. The group's channels of `image` are accumulated into (zero them first). `col` is scratch:
/// its entries that correspond to padding may be overwritten with zeros.
template <class T> void col2im(T* col, const ConvGeometry& g, T* image);

/// y[N,F,OH,OW] = conv(x[N,C,H,W], w[F,C/groups,KH,KW]) + b[F] (b may be null).
template <class T> void conv2d_forward(const T* x, const T* w, const T* b, const ConvGeometry& g, T* y);

/// Gradients of conv2d from gy[N,F,OH,OW]. Each output pointer may be null
/// (that gradient is not wanted); x is only read when gw is wanted, w only when
/// gx is. Outputs are overwritten, not accumulated into.
template <class T>
void conv2d_backward(const T* x, const T* w, const T* gy, const ConvGeometry& g, T* gx, T* gw, T* gb);

/// How conv2d uses the threads (benchmarks compare the two; users keep Auto).
enum class ConvThreading {
  Auto,        // batch-parallel when the batch has at least as many images as threads
  Batch,       // our pool over the images, one single-threaded gemm per image
  ThreadedBlas // images one after another, each gemm split over the threads (ops/blas.cpp)
};
void set_conv_threading(ConvThreading mode);
ConvThreading conv_threading();

}  // namespace tg::detail
