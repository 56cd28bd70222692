// tapegrad — classic image filters on 2-D tensors [H,W] (ops/image.cpp).
//
// Built on conv2d, so every filter is differentiable and runs the same fast kernel.
#pragma once

#include <cstdint>
#include <utility>

#include <tapegrad/core/tensor.hpp>

/// @namespace tg::image
/// Classic image filters on single-channel 2-D tensors.
namespace tg::image {

/// Zero-padded "same" cross-correlation of a matrix [N,M] with a kernel of
/// odd size (2p+1)x(2q+1):
///   Y[i,j] = sum_{a,b} K[a,b] X[i+a-p, j+b-q]
Tensor conv_matrix(const Tensor& matrix, const Tensor& kernel);

/// Mean over a box_size x box_size window, zero padded, same size as the input
/// (exact for integer-valued images: window sums divided once). An even
/// box_size pads its extra row/column at the bottom/right ("same" padding).
Tensor box_blur(const Tensor& image, std::int64_t box_size);

/// sqrt(Xh^2 + Xv^2) with Xh = X * [-1 0 1] and Xv = X * [-1 0 1]^T (central differences),
/// zero padded. Like sqrt, its gradient is not finite where the amplitude is 0.
Tensor gradient_amplitude(const Tensor& image);

/// The classic 3x3 kernels (float32; conv_matrix promotes as needed): sharpen
/// [[0,-1,0],[-1,5,-1],[0,-1,0]] (identity minus the 4-neighbour Laplacian) and
/// edge [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] (the negated 8-neighbour Laplacian).
///@{
Tensor sharpen_kernel();
Tensor edge_kernel();
///@}

/// Response map of `pattern` over `image` (conv_matrix; stored in *response when
/// given) and the (row, col) of its first maximum.
std::pair<std::int64_t, std::int64_t> find_pattern(const Tensor& image, const Tensor& pattern,
                                                   Tensor* response = nullptr);

}  // namespace tg::image
