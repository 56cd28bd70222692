// Gradient accumulation for the engine (core/accumulate.hpp).
#include <array>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/accumulate.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"

namespace tg::detail {

namespace {
// True when nobody but `t` itself can see t's buffer.
bool exclusive(const Tensor& t) {
  return TensorImpl::handle_count(t) == 1 && TensorImpl::of(t).storage.use_count() == 1;
}
}  // namespace

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
  if (!exclusive(acc)) acc = acc.detach().clone();
  dispatch_float(acc.dtype(), "accumulate", [&](auto tag) {
    using T = decltype(tag);
    T* __restrict a = static_cast<T*>(acc.raw_data());
    const T* __restrict b = static_cast<const T*>(src.raw_data());
    for (std::int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
  });
  acc.bump_version();
}

void accumulate_into_grad(TensorImpl& owner, Tensor g) {
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
  if (!owner.grad.defined()) {
    // The first gradient becomes the tensor's own buffer: never one that another
    // leaf's .grad(), the caller's seed or an op's saved value also holds.
    owner.grad = exclusive(g) ? std::move(g) : g.detach().clone();
    return;
  }
  accumulate_into(owner.grad, g);
}

}  // namespace tg::detail
