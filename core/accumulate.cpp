// Gradient accumulation for the engine (core/accumulate.hpp).
#include "core/accumulate.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"

namespace tg::detail {

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
  const TensorImpl& impl = TensorImpl::of(acc);
  const bool exclusive = TensorImpl::handle_count(acc) == 1 && impl.storage.use_count() == 1;
  if (!exclusive) acc = acc.detach().clone();
  dispatch_float(acc.dtype(), "accumulate", [&](auto tag) {
    using T = decltype(tag);
    T* __restrict a = static_cast<T*>(acc.raw_data());
    const T* __restrict b = static_cast<const T*>(src.raw_data());
    for (std::int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += b[i];
  });
}

}  // namespace tg::detail
