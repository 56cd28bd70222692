// Loss functions. binary_cross_entropy is one fused op (forward and backward
// below, raw loops: one pass each way); the others are compositions of
// recorded ops, so their backward comes from the tape.
//
// Backward rules (per element, before the 1/n of Mean):
//   binary_cross_entropy: dp = g (p - y) / max(p (1 - p), 1e-12)
//                         dy = g (clog(1 - p) - clog(p)),   clog(v) = max(log v, -100)
//   cross_entropy:  via log_softmax + nll_loss:  dlogits = (softmax - onehot) / N
//   hinge_loss:     via relu(1 - y s):           ds = -y [1 - y s > 0]
//   mse_loss:       via (x - t)^2:               dx = 2 (x - t)
//   l2_penalty:     via lambda/2 sum w^2:        dw = lambda w
#include <algorithm>
#include <cmath>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/loss.hpp>

namespace tg::nn::functional {
namespace {

using tg::detail::fail;

// PyTorch clamps the logs of binary_cross_entropy at -100 so that p = 0 or 1
// gives a finite loss (e^-100 is far below float32's resolution near 0 and 1).
constexpr double kLogFloor = -100.0;
// Lower bound of p (1 - p) in the gradient's denominator (PyTorch's value).
constexpr double kGradEps = 1e-12;

template <class T> T clamped_log(T v) { return std::max(std::log(v), static_cast<T>(kLogFloor)); }

void check_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* a_name, const char* b_name) {
  if (a.shape() != b.shape())
    fail(op, ": ", a_name, " ", a.shape().str(), " and ", b_name, " ", b.shape().str(),
         " must have the same shape");
}

Tensor reduce(const Tensor& per_element, Reduction reduction, const char* op) {
  switch (reduction) {
    case Reduction::Mean:
      if (per_element.numel() == 0) fail(op, ": mean over an empty input ", describe(per_element));
      return mean(per_element);
    case Reduction::Sum: return sum(per_element);
    case Reduction::None: return per_element;
  }
  return per_element;
}

// Float targets of the prediction's dtype (int64 labels are converted).
Tensor float_targets(const Tensor& targets, const Tensor& like, const char* op) {
  tg::detail::check_defined(targets, op);
  return targets.dtype() == kInt64 ? targets.to(like.dtype()) : targets;
}

}  // namespace

// ---- binary_cross_entropy ----------------------------------------------------------

Tensor binary_cross_entropy(const Tensor& probs_in, const Tensor& targets_in, Reduction reduction) {
  const char* op = "binary_cross_entropy";
  tg::detail::check_floating(probs_in, op);
  const std::pair<Tensor, Tensor> promoted =
      tg::detail::promote_floating(probs_in, float_targets(targets_in, probs_in, op), op);
  const Tensor& p = promoted.first;
  const Tensor& y = promoted.second;
  check_same_shape(p, y, op, "probabilities", "targets");
  const std::int64_t n = p.numel();
  if (n == 0 && reduction == Reduction::Mean) fail(op, ": mean over an empty input ", describe(p));

  Tensor out = tg::detail::make_tensor(reduction == Reduction::None ? p.shape() : Shape{}, p.dtype());
  tg::detail::dispatch_float(p.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pp = static_cast<const T*>(p.raw_data());
    const T* py = static_cast<const T*>(y.raw_data());
    for (std::int64_t i = 0; i < n; ++i) {
      if (!(py[i] >= 0 && py[i] <= 1)) fail(op, ": targets must be in [0, 1], found ", py[i], " at position ", i);
      if (!(pp[i] >= 0 && pp[i] <= 1))
        fail(op, ": probabilities must be in [0, 1] (apply sigmoid first), found ", pp[i], " at position ", i);
    }
    T* po = static_cast<T*>(out.raw_data());
    double total = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const T l = -(py[i] * clamped_log(pp[i]) + (T(1) - py[i]) * clamped_log(T(1) - pp[i]));
      if (reduction == Reduction::None) po[i] = l;
      total += l;
    }
    if (reduction == Reduction::Mean) *po = static_cast<T>(total / static_cast<double>(n));
    if (reduction == Reduction::Sum) *po = static_cast<T>(total);
  });

  if (autograd::needs_grad(p, y))
    autograd::record(op, {p, y}, out,
                     [p = p.detach(), y = y.detach(), reduction, n](const Tensor& gy) -> autograd::Grads {
                       Tensor gp = tg::detail::make_tensor(p.shape(), p.dtype());
                       Tensor gt = tg::detail::make_tensor(p.shape(), p.dtype());
                       tg::detail::dispatch_float(p.dtype(), "binary_cross_entropy backward", [&](auto tag) {
                         using T = decltype(tag);
                         const T* pp = static_cast<const T*>(p.raw_data());
                         const T* py = static_cast<const T*>(y.raw_data());
                         const T* g = static_cast<const T*>(gy.raw_data());
                         T* op_ = static_cast<T*>(gp.raw_data());
                         T* ot = static_cast<T*>(gt.raw_data());
                         const T scale = reduction == Reduction::Mean ? T(1) / static_cast<T>(n) : T(1);
                         for (std::int64_t i = 0; i < n; ++i) {
                           const T gi = (reduction == Reduction::None ? g[i] : g[0]) * scale;
                           const T denom = std::max(pp[i] * (T(1) - pp[i]), static_cast<T>(kGradEps));
                           op_[i] = gi * (pp[i] - py[i]) / denom;
                           ot[i] = gi * (clamped_log(T(1) - pp[i]) - clamped_log(pp[i]));
                         }
                       });
                       return {gp, gt};
                     });
  return out;
}

// ---- compositions of recorded ops -----------------------------------------------------

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  tg::detail::check_floating(logits, "cross_entropy");
  tg::detail::check_defined(targets, "cross_entropy");
  if (logits.dim() != 2) fail("cross_entropy: logits must be [N, C], got ", describe(logits));
  if (targets.dtype() != kInt64 || targets.dim() != 1)
    fail("cross_entropy: targets must be a 1-D int64 tensor of class indices, got ", describe(targets));
  // nll_loss checks these too; checked here first so that the message names the
  // function the user called, not the one it is built from.
  const std::int64_t n = logits.size(0), classes = logits.size(1);
  if (targets.size(0) != n)
    fail("cross_entropy: ", n, " rows of logits ", logits.shape().str(), " but ", targets.size(0), " targets ",
         targets.shape().str());
  if (n == 0 && reduction == Reduction::Mean) fail("cross_entropy: mean over an empty batch ", describe(logits));
  const std::int64_t* t = targets.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    if (t[i] < 0 || t[i] >= classes)
      fail("cross_entropy: target ", t[i], " at position ", i, " is out of range for ", classes, " classes");
  return nll_loss(log_softmax(logits, 1), targets, reduction);
}

Tensor hinge_loss(const Tensor& scores, const Tensor& targets_in, Reduction reduction) {
  const char* op = "hinge_loss";
  tg::detail::check_floating(scores, op);
  const Tensor targets = float_targets(targets_in, scores, op);
  tg::detail::check_floating(targets, op);
  check_same_shape(scores, targets, op, "scores", "targets");
  const std::vector<double> y = targets.to_vector<double>();
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] != 1.0 && y[i] != -1.0) fail(op, ": targets must be -1 or +1, found ", y[i], " at position ", i);
  return reduce(relu(1.0 - targets * scores), reduction, op);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  const char* op = "mse_loss";
  tg::detail::check_floating(input, op);
  tg::detail::check_floating(target, op);
  check_same_shape(input, target, op, "input", "target");
  const Tensor diff = input - target;
  return reduce(diff * diff, reduction, op);
}

Tensor l2_penalty(double weight_decay, const std::vector<Tensor>& params) {
  Tensor total;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined()) fail("l2_penalty: parameter ", i, " is undefined");
    tg::detail::check_floating(params[i], "l2_penalty");
    const Tensor sq = sum(params[i] * params[i]);
    total = total.defined() ? total + sq : sq;
  }
  if (!total.defined()) return scalar_tensor(0.0);
  return total * (weight_decay / 2.0);
}

}  // namespace tg::nn::functional
