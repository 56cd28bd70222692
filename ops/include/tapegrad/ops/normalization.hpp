// tapegrad — normalisation kernels as ops. The layers (BatchNorm1d/2d, LayerNorm,
// GroupNorm, InstanceNorm2d, RMSNorm) and their functional forms are in
// <tapegrad/nn/normalization.hpp>; nn::BatchNorm1d/2d run fused_batch_norm in
// training mode, and LayerNorm runs fused_layer_norm.
// @code
//   tg::Tensor x = tg::randn({8, 4, 5, 5}).requires_grad_();
//   tg::Tensor w = tg::ones({4}).requires_grad_(), b = tg::zeros({4}).requires_grad_();
//   tg::sum(tg::fused_batch_norm(x, w, b)).backward();   // x, w and b get gradients
// @endcode
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg {

/// Batch normalisation with the batch's statistics as one op (the training
/// path of nn::functional::batch_norm): y = (x - mean) / sqrt(var + eps) *
/// weight + bias over input [N, C, *], mean and biased var per channel over every
/// dimension but 1 (accumulated in double). weight, bias, running_mean and
/// running_var are [C] or undefined; given running stats are updated in place
/// without gradient (momentum, the unbiased variance), as PyTorch's. The
/// backward is one fused pass, or under create_graph the same formula in
/// differentiable ops. Throws for fewer than 2 dimensions, [C] tensors of
/// another shape or dtype, or one value per channel.
Tensor fused_batch_norm(const Tensor& input, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                        const Tensor& running_mean = Tensor(), const Tensor& running_var = Tensor(),
                        double momentum = 0.1, double eps = 1e-5);

/// Layer normalisation as one op (what nn::functional::layer_norm and
/// nn::LayerNorm run): each input's trailing `normalized_shape` (D values) is
/// normalised by its own mean and biased variance, y = (x - mean) / sqrt(var +
/// eps) * weight + bias, weight and bias of `normalized_shape` or undefined.
/// Forward two passes per row, backward one (one fused pass, or under
/// create_graph the same formula in differentiable ops); the gradients do not
/// depend on the thread count. Throws for an empty `normalized_shape`, an input
/// that does not end in it, or a weight / bias of another shape or dtype.
Tensor fused_layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape,
                        const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace tg
