// tapegrad — the seeds' image filters on 2-D tensors [H,W] (ops/image.cpp).
//
// Built on conv2d, so every filter is differentiable and runs the same fast kernel.
#pragma once

#include <cstdint>
#include <utility>

#include <tapegrad/tensor.hpp>

namespace tg::image {

/// Zero-padded "same" cross-correlation of a matrix [N,M] with a kernel of
/// odd size (2p+1)x(2q+1) (seed 000 §3.1):
///   Y[i,j] = sum_{a,b} K[a,b] X[i+a-p, j+b-q]
Tensor conv_matrix(const Tensor& matrix, const Tensor& kernel);

/// Mean over a box_size x box_size window, zero padded, same size as the input.
Tensor box_blur(const Tensor& image, std::int64_t box_size);

/// sqrt(Xh^2 + Xv^2) with Xh = X * [-1 0 1] and Xv = X * [-1 0 1]^T (seed 000 §3.2).
Tensor gradient_amplitude(const Tensor& image);

/// The classic 3x3 kernels of seed 000 §3.2.
Tensor sharpen_kernel();
Tensor edge_kernel();

/// Response map of `pattern` over `image` (conv_matrix) and the (row, col) of its maximum.
std::pair<std::int64_t, std::int64_t> find_pattern(const Tensor& image, const Tensor& pattern,
                                                   Tensor* response = nullptr);

}  // namespace tg::image
