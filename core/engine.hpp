// Private: engine hooks used by Tensor (core/tensor.cpp).
#pragma once

#include <tapegrad/tensor.hpp>

namespace tg::autograd {
/// Makes the node that produced `t` keep its output gradient in t.grad().
void retain_output_grad(const Tensor& t);
}  // namespace tg::autograd
