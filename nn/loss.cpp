// The losses built from other ops (binary_cross_entropy and nll_loss are ops of
// their own, in ops/loss.cpp): cross_entropy is nll_loss over log_softmax;
// hinge_loss, mse_loss and l2_penalty are element-wise ops and reductions. Their
// backward comes from the tape; each is declared at the bottom (samples and
// error inputs; see declared_functions()).
#include <limits>

#include "core/dispatch.hpp"
#include "nn/declarations.hpp"
#include "ops/loss.hpp"
#include <tapegrad/nn/declared_functions.hpp>
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

// ---------------------------------------------------------------------------
// Declarations: samples and error inputs of the losses above (composites: the
// gradients are those of the ops they are made of).
// ---------------------------------------------------------------------------
std::vector<OpInfo> loss_function_declarations() {
  using inputs::any;
  using inputs::given;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {
      OpInfo("cross_entropy")
          .composite_of_other_ops()
          .sample("[3,4] logits", {given(tensor({0.2, -1, 0.5, 2, 1, 0, 0.3, -0.7, 0.1, 0.4, -2, 1.5}, {3, 4})),
                                   given(tensor_i64({1, 0, 3}, {3}))},
                  [](const OpArgs& v) { return cross_entropy(v[0], v[1]); })
          .sample("sum", {any({4, 3}), inputs::indices({4}, 3)},
                  [](const OpArgs& v) { return cross_entropy(v[0], v[1], Reduction::Sum); })
          .sample("none", {any({4, 3}), inputs::indices({4}, 3)},
                  [](const OpArgs& v) { return cross_entropy(v[0], v[1], Reduction::None); })
          .error("class index >= number of classes", [] { cross_entropy(ones({2, 3}), tensor_i64({0, 7}, {2})); },
                 {"cross_entropy", "target 7", "position 1", "3 classes"})
          .error("negative class index", [] { cross_entropy(ones({2, 3}), tensor_i64({-2, 0}, {2})); },
                 {"cross_entropy", "target -2", "position 0"})
          .error("one target for two rows", [] { cross_entropy(ones({2, 3}), tensor_i64({0}, {1})); },
                 {"cross_entropy", "[2,3]", "[1]"})
          .error("1-D logits", [] { cross_entropy(ones({3}), tensor_i64({0}, {1})); },
                 {"cross_entropy: logits must be [N, C]", "[3]"})
          .error("float targets", [] { cross_entropy(ones({2, 3}), tensor({0, 1})); }, {"cross_entropy", "int64"})
          .error("an empty batch", [] { cross_entropy(zeros({0, 3}), tensor_i64({}, {0})); },
                 {"cross_entropy", "empty", "[0,3]"}),
      // The targets are made inside the call: constants, of the sample's dtype.
      OpInfo("hinge_loss")
          .composite_of_other_ops()
          .sample("{-1, +1} targets", {given(tensor({0.3, 0.2, -1.7, 1.4}, {4}))},
                  [](const OpArgs& v) { return hinge_loss(v[0], tensor({1, -1, -1, 1}, {4}, v[0].dtype())); })
          .error("target 0 instead of -1", [] { hinge_loss(ones({3, 1}), tensor({1, 0, -1}, {3, 1})); },
                 {"hinge_loss: targets must be -1 or +1, found 0 at position 1"})
          .error("NaN target", [=] { hinge_loss(ones({2, 1}), tensor({1, nan}, {2, 1})); },
                 {"hinge_loss", "nan", "position 1"})
          .error("shapes differ", [] { hinge_loss(ones({3, 1}), tensor({1, 1, 1})); }, {"hinge_loss", "[3,1]", "[3]"}),
      OpInfo("mse_loss")
          .composite_of_other_ops()
          .sample("[3]", {given(tensor({0.1, -2, 3}, {3})), given(tensor({1, 1, -1}, {3}))},
                  [](const OpArgs& v) { return mse_loss(v[0], v[1]); })
          .error("shapes differ", [] { mse_loss(ones({4, 1}), ones({4})); }, {"mse_loss", "[4,1]", "[4]"})
          .error("mean of empty tensors", [] { mse_loss(ones({0}), ones({0})); }, {"mse_loss", "empty"}),
      OpInfo("l2_penalty")
          .composite_of_other_ops()
          .sample("two tensors", {given(tensor({1, -2, 0.5}, {3})), given(tensor({2, 4}, {1, 2}))},
                  [](const OpArgs& v) { return l2_penalty(0.3, {v[0], v[1]}); })
          .error("an undefined parameter", [] { l2_penalty(0.1, {ones({2}), Tensor()}); },
                 {"l2_penalty", "parameter 1", "undefined"}),
  };
}

}  // namespace tg::nn::functional
