// Parameter-free layers: thin modules over the differentiable ops in
// <tapegrad/ops/ops.hpp> (ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten).
#include "core/dispatch.hpp"
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input); }
Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }
Tensor Tanh::forward(const Tensor& input) { return tanh(input); }

Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim_); }
std::string Softmax::extra_repr() const { return tg::detail::cat("dim=", dim_); }

Tensor LogSoftmax::forward(const Tensor& input) { return log_softmax(input, dim_); }
std::string LogSoftmax::extra_repr() const { return tg::detail::cat("dim=", dim_); }

Tensor Flatten::forward(const Tensor& input) { return flatten(input, start_, end_); }
std::string Flatten::extra_repr() const { return tg::detail::cat("start_dim=", start_, ", end_dim=", end_); }

}  // namespace tg::nn
