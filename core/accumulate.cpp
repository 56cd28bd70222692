// Gradient accumulation for the engine (core/accumulate.hpp).
#include <array>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/accumulate.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include <tapegrad/core/autograd.hpp>

namespace tg::detail {

bool owns_its_buffer(const Tensor& t) {
  return TensorImpl::handle_count(t) == 1 && TensorImpl::of(t).storage.use_count() == 1;
}

Tensor add_gradients(const Tensor& a, const Tensor& b0) {
  if (a.shape() != b0.shape())
    fail("accumulate: gradient ", describe(b0), " does not match the accumulated ", describe(a));
  const Tensor b = b0.dtype() == a.dtype() ? b0 : b0.to(a.dtype());
  Tensor sum = make_tensor(a.shape(), a.dtype());
  dispatch_float(a.dtype(), "accumulate", [&](auto tag) {
    using T = decltype(tag);
    T* __restrict s = static_cast<T*>(sum.raw_data());
    const T* __restrict x = static_cast<const T*>(a.raw_data());
    const T* __restrict y = static_cast<const T*>(b.raw_data());
    for (std::int64_t i = 0, n = sum.numel(); i < n; ++i) s[i] = x[i] + y[i];
  });
  if (autograd::needs_grad(a, b))
    autograd::record("add", {a, b}, sum, autograd::formulas([](const Tensor& gy) { return gy; },
                                                             [](const Tensor& gy) { return gy; }));
  return sum;
}

void accumulate_into(Tensor& acc, const Tensor& g) {
  if (!acc.defined()) {
    acc = g;
    return;
  }
  if (acc.shape() != g.shape())
    fail("accumulate: gradient ", describe(g), " does not match the accumulated ", describe(acc));
  const Tensor src = g.dtype() == acc.dtype() ? g : g.to(acc.dtype());
  // In place only when nobody else can see acc's buffer: a gradient a user
  // holds must never change under them.
  if (!owns_its_buffer(acc)) acc = acc.detach().clone();
  dispatch_float(acc.dtype(), "accumulate", [&](auto tag) {
    using T = decltype(tag);
    T* __restrict a = static_cast<T*>(acc.raw_data());
    const T* __restrict b = static_cast<const T*>(src.raw_data());
    for (std::int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
  });
  acc.bump_version();
}

void accumulate_into_grad(TensorImpl& owner, Tensor g, bool create_graph) {
  // Backward passes in several threads may reach one leaf: accumulation into it
  // is serialised (as in PyTorch), by a lock chosen by the leaf's address.
  static std::array<std::mutex, 64> locks;
  std::lock_guard<std::mutex> lock(locks[std::hash<const void*>()(&owner) % locks.size()]);
  // The engine gives a gradient the dtype its input had in the forward pass; a
  // leaf whose data was replaced since (set_data, Module::to) no longer matches it.
  if (g.dtype() != owner.dtype)
    throw std::runtime_error("backward: a gradient of dtype " + std::string(dtype_name(g.dtype())) +
                             " reached the leaf " + owner.shape.str() + " " + dtype_name(owner.dtype) +
                             ", which was " + dtype_name(g.dtype()) +
                             " in the forward pass (its data was replaced since, by set_data or Module::to); run "
                             "the forward pass again after changing dtypes");
  if (create_graph) {
    // Kept with its graph (so it can be differentiated again); a clone()
    // recorded in grad mode still gives the tensor a buffer of its own.
    if (!owner.grad.defined())
      owner.grad = owns_its_buffer(g) ? std::move(g) : g.clone();
    else
      owner.grad = add_gradients(owner.grad, g);
    return;
  }
  if (!owner.grad.defined()) {
    // The first gradient becomes the tensor's own buffer: never one that another
    // leaf's .grad(), the caller's seed or an op's saved value also holds.
    owner.grad = owns_its_buffer(g) ? std::move(g) : g.detach().clone();
    return;
  }
  accumulate_into(owner.grad, g);
}

}  // namespace tg::detail
