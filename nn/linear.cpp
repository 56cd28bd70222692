// tg::nn::Linear: H = X W + b with W of shape (in, out).
// One matmul (OpenBLAS gemm, no transposed copy) plus a broadcast bias add;
// both record themselves, so backward is the tape's:
//   dX = dH W^T,   dW = X^T dH,   db = sum over rows of dH.

#include "core/dispatch.hpp"
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias)
    : in_(in_features), out_(out_features) {
  if (in_features <= 0 || out_features <= 0)
    tg::detail::fail("Linear: in_features and out_features must be positive, got ", in_features, " and ",
                     out_features);
  weight = register_parameter("weight", empty({in_, out_}));
  if (with_bias) bias = register_parameter("bias", empty({out_}));
  init::layer_default_(weight, bias);  // PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for both
}

Tensor Linear::forward(const Tensor& input) {
  tg::detail::check_defined(input, "Linear");
  if (input.dim() == 0) tg::detail::fail("expected an input [..., ", in_, "], got a 0-d tensor");
  if (input.size(-1) != in_)
    tg::detail::fail("input has ", input.size(-1), " features, expected ", in_, " (input ", describe(input), ")");
  // matmul takes [M,K] x [K,N]: fold any leading dimensions into M and unfold them after.
  const bool matrix = input.dim() == 2;
  Tensor y = matmul(matrix ? input : reshape(input, {-1, in_}), weight);
  if (bias.defined()) y = y + bias;
  if (matrix) return y;
  std::vector<std::int64_t> shape = input.shape().vec();
  shape.back() = out_;
  return reshape(y, shape);
}

std::string Linear::extra_repr() const {
  return tg::detail::cat("in_features=", in_, ", out_features=", out_, ", bias=", bias.defined() ? "true" : "false");
}

std::string Linear::brief() const { return tg::detail::cat("Linear(", in_, "->", out_, ")"); }

}  // namespace tg::nn
