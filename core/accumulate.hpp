// Private: gradient accumulation used by the autograd engine.
#pragma once

#include <tapegrad/core/tensor.hpp>

namespace tg::detail {
/// acc += g. Takes g itself when acc is undefined; adds in place only when acc
/// is the sole owner of its storage (so a gradient a user holds never changes
/// under them); otherwise replaces acc by acc + g.
void accumulate_into(Tensor& acc, const Tensor& g);
/// owner.grad += g for a gradient users see (a leaf's, a retained one): thread
/// safe per tensor, and the first gradient stored is a buffer of its own.
/// Under create_graph the sum is recorded (add_gradients) and g kept with its graph.
void accumulate_into_grad(TensorImpl& owner, Tensor g, bool create_graph = false);
/// a + b (same shape; b converted to a's dtype) as a recorded op, so that a sum
/// of gradients computed under create_graph stays differentiable.
Tensor add_gradients(const Tensor& a, const Tensor& b);
/// True when nobody but `t` itself can see t's buffer.
bool owns_its_buffer(const Tensor& t);
}  // namespace tg::detail
