// clip_grad_norm: one raw pass over each gradient for the norm (a reduction,
// where a loop beats xtensor here), then a scaled copy made without recording.
#include <algorithm>
#include <cmath>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/optim/clip_grad.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::optim {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  if (!(max_norm >= 0)) tg::detail::fail("clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  if (!(norm_type >= 1)) tg::detail::fail("clip_grad_norm: norm_type must be >= 1 (or infinity), got ", norm_type);
  const bool inf_norm = std::isinf(norm_type);
  double acc = 0;  // sum of |g|^p, or max |g|
  for (const Tensor& p : params) {
    tg::detail::check_defined(p, "clip_grad_norm");
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    tg::detail::dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      const T* d = static_cast<const T*>(g.raw_data());
      const std::int64_t n = g.numel();
      if (inf_norm) {
        for (std::int64_t i = 0; i < n; ++i) acc = std::max(acc, static_cast<double>(std::abs(d[i])));
      } else if (norm_type == 2.0) {
        // Eight independent partial sums (in double): one running sum waits on
        // each addition's latency, and GCC may not reorder it.
        double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        std::int64_t i = 0;
        for (; i + 8 <= n; i += 8)
          for (int k = 0; k < 8; ++k) part[k] += static_cast<double>(d[i + k]) * static_cast<double>(d[i + k]);
        for (; i < n; ++i) part[0] += static_cast<double>(d[i]) * static_cast<double>(d[i]);
        acc += ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
      } else {
        for (std::int64_t i = 0; i < n; ++i) acc += std::pow(std::abs(static_cast<double>(d[i])), norm_type);
      }
    });
  }
  const double total = inf_norm ? acc : std::pow(acc, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (!std::isfinite(total) || coef >= 1.0) return total;
  NoGradGuard no_grad;
  for (Tensor p : params) {  // a handle copy: set_grad changes the shared tensor
    const Tensor g = p.grad();
    if (g.defined()) p.set_grad(g * coef);
  }
  return total;
}

}  // namespace tg::optim
