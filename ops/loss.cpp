// nll_loss on log-probabilities with int64 class targets.
//
// Forward:  loss = -(1/N) sum_i log_probs[i, t_i]   (Sum: without 1/N; None: per sample)
// Backward: g[i, t_i] = -gy / N (Mean), -gy (Sum), -gy[i] (None); 0 elsewhere.
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction) {
  detail::check_floating(log_probs, "nll_loss");
  detail::check_defined(targets, "nll_loss");
  if (log_probs.dim() != 2)
    detail::fail("nll_loss: log_probs must be [N,C], got ", describe(log_probs));
  if (targets.dtype() != kInt64 || targets.dim() != 1)
    detail::fail("nll_loss: targets must be a 1-D int64 tensor of class indices, got ", describe(targets));
  const std::int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  if (targets.shape()[0] != N)
    detail::fail("nll_loss: ", N, " rows of log_probs ", log_probs.shape().str(), " but ", targets.shape()[0],
                 " targets ", targets.shape().str());
  if (N == 0 && reduction == Reduction::Mean) detail::fail("nll_loss: mean over an empty batch ", describe(log_probs));
  const std::int64_t* t = targets.data<std::int64_t>();
  for (std::int64_t i = 0; i < N; ++i)
    if (t[i] < 0 || t[i] >= C)
      detail::fail("nll_loss: target ", t[i], " at position ", i, " is out of range for ", C, " classes");

  Tensor y = detail::make_tensor(reduction == Reduction::None ? Shape{N} : Shape{}, log_probs.dtype());
  detail::dispatch_float(log_probs.dtype(), "nll_loss", [&](auto tag) {
    using T = decltype(tag);
    const T* lp = static_cast<const T*>(log_probs.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    double total = 0;
    for (std::int64_t i = 0; i < N; ++i) {
      const T v = -lp[i * C + t[i]];
      if (reduction == Reduction::None) py[i] = v;
      total += v;
    }
    if (reduction == Reduction::Mean) *py = static_cast<T>(total / static_cast<double>(N));
    if (reduction == Reduction::Sum) *py = static_cast<T>(total);
  });

  if (autograd::needs_grad(log_probs))
    autograd::record("nll_loss", {log_probs, targets}, y,
                     [targets, N, C, reduction](const Tensor& gy) -> autograd::Grads {
                       Tensor g = zeros(Shape{N, C}, gy.dtype());
                       detail::dispatch_float(gy.dtype(), "nll_loss backward", [&](auto tag) {
                         using T = decltype(tag);
                         const T* pg = static_cast<const T*>(gy.raw_data());
                         T* out = static_cast<T*>(g.raw_data());
                         const std::int64_t* tt = targets.data<std::int64_t>();
                         const T scale = reduction == Reduction::Mean ? T(1) / static_cast<T>(N) : T(1);
                         for (std::int64_t i = 0; i < N; ++i)
                           out[i * C + tt[i]] = -(reduction == Reduction::None ? pg[i] : pg[0]) * scale;
                       });
                       return {g, Tensor()};
                     });
  return y;
}

}  // namespace tg
