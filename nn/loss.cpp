// The losses built from other ops (binary_cross_entropy and nll_loss are ops of
// their own, in ops/loss.cpp): cross_entropy is nll_loss over log_softmax;
// hinge_loss, mse_loss and l2_penalty are element-wise ops and reductions. Their
// backward comes from the tape.
#include "core/dispatch.hpp"
#include "ops/loss.hpp"
#include <tapegrad/nn/loss.hpp>

namespace tg::nn::functional {
namespace {

using tg::detail::fail;

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

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  // nll_loss's checks, before log_softmax, with messages that name this function.
  tg::detail::check_class_targets("cross_entropy", "logits", logits, targets, reduction);
  return tg::detail::nll_loss_checked(log_softmax(logits, 1), targets, reduction);
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
