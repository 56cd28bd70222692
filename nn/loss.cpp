// The losses built from other ops (binary_cross_entropy and nll_loss are ops of
// their own, in ops/loss.cpp): cross_entropy is nll_loss over log_softmax, or,
// with class weights, ignored targets or label smoothing, a gather from
// log_softmax and weighted sums; the others are element-wise ops (where for the
// piecewise ones) and reductions. Their backward comes from the tape; each is
// declared at the bottom (samples and error inputs; see declared_functions()).
#include <algorithm>
#include <limits>

#include "core/dispatch.hpp"
#include "nn/declarations.hpp"
#include "ops/loss.hpp"
#include <tapegrad/nn/declared_functions.hpp>
#include <tapegrad/nn/loss.hpp>

namespace tg::nn::functional {
namespace {

using tg::detail::fail;

// These exact values, not differentiated (hard 0/1 targets: a step past 1 leaves the domain).
InputSpec fixed(const Tensor& values) {
  InputSpec s = inputs::given(values);
  s.differentiable = false;
  return s;
}

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
    case Reduction::BatchMean: tg::detail::check_not_batchmean(op, reduction);
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

namespace {

// cross_entropy against probability targets [N, C]: -sum_c w[c] q[i, c] lp[i, c].
Tensor cross_entropy_soft(const Tensor& logits, const Tensor& targets, const Tensor& w, double eps,
                          Reduction reduction) {
  const char* op = "cross_entropy";
  tg::detail::check_floating(targets, op);
  if (targets.shape() != logits.shape())
    fail(op, ": probability targets ", targets.shape().str(), " must have the shape of the logits ",
         logits.shape().str(), " (class-index targets are int64 [N])");
  const std::int64_t C = logits.shape()[1];
  const Tensor q = eps > 0 ? targets * (1.0 - eps) + eps / static_cast<double>(C) : targets;
  const Tensor lp = log_softmax(logits, 1);
  return reduce(-sum(w.defined() ? lp * q * w : lp * q, {1}), reduction, op);
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  tg::detail::check_floating(logits, op);
  tg::detail::check_defined(targets, op);
  tg::detail::check_not_batchmean(op, options.reduction);
  if (logits.dim() != 2) fail(op, ": logits must be [N, C], got ", describe(logits));
  const std::int64_t N = logits.shape()[0], C = logits.shape()[1];
  const double eps = options.label_smoothing;
  if (!(eps >= 0 && eps <= 1)) fail(op, ": label_smoothing must be in [0, 1], got ", eps);
  Tensor w;  // a constant of the logits' dtype: PyTorch does not differentiate the class weights
  if (options.weight.defined()) {
    tg::detail::check_floating(options.weight, op);
    if (options.weight.shape() != Shape{C})
      fail(op, ": weight must be [C] = [", C, "] for logits ", logits.shape().str(), ", got ",
           options.weight.shape().str());
    w = options.weight.detach().to(logits.dtype());
  }
  if (targets.dtype() != kInt64) return cross_entropy_soft(logits, targets, w, eps, options.reduction);

  if (targets.dim() != 1)
    fail(op, ": targets must be a 1-D int64 tensor of class indices, got ", describe(targets));
  if (targets.shape()[0] != N)
    fail(op, ": ", N, " rows of logits ", logits.shape().str(), " but ", targets.shape()[0], " targets ",
         targets.shape().str());
  if (N == 0 && options.reduction == Reduction::Mean) fail(op, ": mean over an empty batch ", describe(logits));
  // Ignored samples gather class 0 (any valid index) and are then weighted by 0.
  const std::vector<std::int64_t> t = targets.to_vector<std::int64_t>();
  std::vector<std::int64_t> gathered(t.size());
  std::vector<double> kept(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    kept[i] = t[i] == options.ignore_index ? 0.0 : 1.0;
    if (kept[i] != 0 && (t[i] < 0 || t[i] >= C))
      fail(op, ": target ", t[i], " at position ", i, " is out of range for ", C, " classes");
    gathered[i] = kept[i] != 0 ? t[i] : 0;
  }
  const bool any_ignored = std::find(kept.begin(), kept.end(), 0.0) != kept.end();
  if (!w.defined() && eps == 0 && !any_ignored)
    return tg::detail::nll_loss_checked(log_softmax(logits, 1), targets, options.reduction);

  const Tensor index = tensor_i64(gathered, {N});
  const Tensor keep = tensor(kept, {N}, logits.dtype());
  const Tensor sample_weight = w.defined() ? index_select(w, 0, index) * keep : keep;  // w[t_i], 0 if ignored
  const Tensor lp = log_softmax(logits, 1);
  Tensor loss = -reshape(gather(lp, 1, unsqueeze(index, 1)), {N}) * sample_weight;
  if (eps > 0) {
    const Tensor uniform = -sum(w.defined() ? lp * w : lp, {1}) * keep;
    loss = loss * (1.0 - eps) + uniform * (eps / static_cast<double>(C));
  }
  switch (options.reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    default: return sum(loss) / sum(sample_weight);  // Mean: PyTorch's weighted mean
  }
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target_in, const Tensor& weight,
                                        Reduction reduction, const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  tg::detail::check_floating(input, op);
  const Tensor target = float_targets(target_in, input, op);
  tg::detail::check_floating(target, op);
  check_same_shape(input, target, op, "logits", "targets");
  // Both weights are constants, as in PyTorch; each must broadcast to the logits' shape.
  const auto constant = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return t;
    tg::detail::check_floating(t, op);
    bool fits = t.dim() <= input.dim();
    for (int i = 1; fits && i <= t.dim(); ++i) fits = t.size(-i) == 1 || t.size(-i) == input.size(-i);
    if (!fits)
      fail(op, ": ", name, " ", t.shape().str(), " does not broadcast to the logits' shape ", input.shape().str());
    return t.detach();
  };
  const Tensor w = constant(weight, "weight"), pw = constant(pos_weight, "pos_weight");
  // -log(1 - sigmoid(x)) = x - logsigmoid(x), so the loss is (1 - y) x - (1 + (pw - 1) y) logsigmoid(x):
  // logsigmoid is finite for every finite x.
  const Tensor log_weight = pw.defined() ? (pw - 1.0) * target + 1.0 : Tensor();
  Tensor loss = (1.0 - target) * input - (pw.defined() ? log_weight * logsigmoid(input) : logsigmoid(input));
  if (w.defined()) loss = loss * w;
  return reduce(loss, reduction, op);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  const char* op = "l1_loss";
  tg::detail::check_floating(input, op);
  tg::detail::check_floating(target, op);
  check_same_shape(input, target, op, "input", "target");
  return reduce(abs(input - target), reduction, op);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  const char* op = "smooth_l1_loss";
  tg::detail::check_floating(input, op);
  tg::detail::check_floating(target, op);
  check_same_shape(input, target, op, "input", "target");
  if (!(beta >= 0)) fail(op, ": beta must be >= 0, got ", beta);
  const Tensor d = input - target, ad = abs(d);
  if (beta == 0) return reduce(ad, reduction, op);  // PyTorch's special case: no quadratic part
  return reduce(where(lt(ad, beta), d * d * (0.5 / beta), ad - 0.5 * beta), reduction, op);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  const char* op = "huber_loss";
  tg::detail::check_floating(input, op);
  tg::detail::check_floating(target, op);
  check_same_shape(input, target, op, "input", "target");
  if (!(delta > 0)) fail(op, ": delta must be positive, got ", delta);
  const Tensor d = input - target, ad = abs(d);
  return reduce(where(lt(ad, delta), d * d * 0.5, (ad - 0.5 * delta) * delta), reduction, op);
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  const char* op = "kl_div";
  tg::detail::check_floating(input, op);
  tg::detail::check_defined(target, op);
  tg::detail::check_floating(target, op);
  check_same_shape(input, target, op, "input", "target");
  Tensor loss;
  if (log_target) {
    loss = exp(target) * (target - input);
  } else {
    const std::vector<double> t = target.to_vector<double>();
    for (std::size_t i = 0; i < t.size(); ++i)
      if (!(t[i] >= 0))
        fail(op, ": targets must be probabilities >= 0 (log-probabilities need log_target = true), found ", t[i],
             " at position ", i);
    // target log(target) with 0 log 0 = 0: the log's argument is 1 where target is 0 (the value
    // and gradient of PyTorch's xlogy there, without its NaN gradient).
    const Tensor positive = gt(target, 0.0);
    loss = target * log(target + (1.0 - positive)) - target * input;
  }
  if (reduction != Reduction::BatchMean) return reduce(loss, reduction, op);
  if (input.dim() == 0) return sum(loss);  // PyTorch: a 0-d input is one sample
  if (input.size(0) == 0) fail(op, ": batchmean over an empty batch ", describe(input));
  return sum(loss) / static_cast<double>(input.size(0));
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
      OpInfo("cross_entropy (options)")
          .composite_of_other_ops()
          .sample("weights, ignore_index, label_smoothing 0.1",
                  {inputs::any({4, 3}), given(tensor_i64({2, -100, 0, 1}, {4})), inputs::constant({3})},
                  [](const OpArgs& v) {
                    return cross_entropy(v[0], v[1], CrossEntropyOptions{Reduction::Mean, abs(v[2]) + 0.5, -100, 0.1});
                  })
          .sample("ignore_index 1, sum", {inputs::any({4, 3}), given(tensor_i64({1, 0, 1, 2}, {4}))},
                  [](const OpArgs& v) { return cross_entropy(v[0], v[1], CrossEntropyOptions{Reduction::Sum, {}, 1}); })
          .sample("label smoothing, none", {inputs::any({3, 4}), inputs::indices({3}, 4)},
                  [](const OpArgs& v) {
                    return cross_entropy(v[0], v[1], CrossEntropyOptions{Reduction::None, {}, -100, 0.2});
                  })
          .sample("probability targets, weights",
                  {inputs::any({2, 3}), given(tensor({0.2, 0.5, 0.3, 0.6, 0.1, 0.3}, {2, 3}))},
                  [](const OpArgs& v) {
                    return cross_entropy(v[0], v[1],
                                         CrossEntropyOptions{Reduction::Mean, tensor({1, 2, 0.5}, {3}), -100, 0.1});
                  })
          .error("weight of the wrong length",
                 [] { cross_entropy(ones({2, 3}), tensor_i64({0, 1}, {2}), CrossEntropyOptions{Reduction::Mean, ones({4})}); },
                 {"cross_entropy: weight must be [C] = [3]", "[2,3]", "[4]"})
          .error("label_smoothing above 1",
                 [] { cross_entropy(ones({2, 3}), tensor_i64({0, 1}, {2}), CrossEntropyOptions{Reduction::Mean, {}, -100, 1.5}); },
                 {"cross_entropy: label_smoothing must be in [0, 1], got 1.5"})
          .error("a target out of range that is not ignore_index",
                 [] { cross_entropy(ones({2, 3}), tensor_i64({-100, 3}, {2}), CrossEntropyOptions{}); },
                 {"cross_entropy", "target 3", "position 1", "3 classes"})
          .error("probability targets of another shape",
                 [] { cross_entropy(ones({2, 3}), ones({2, 4}), CrossEntropyOptions{}); },
                 {"cross_entropy: probability targets [2,4]", "[2,3]"})
          .error("batchmean", [] { cross_entropy(ones({2, 3}), tensor_i64({0, 1}, {2}), CrossEntropyOptions{Reduction::BatchMean}); },
                 {"cross_entropy: Reduction::BatchMean is only for kl_div"}),
      // Targets as constants; weight and pos_weight are constants in PyTorch too.
      OpInfo("binary_cross_entropy_with_logits")
          .composite_of_other_ops()
          .sample("soft targets", {inputs::any({3, 2}), given(tensor({0.1, 0.9, 0.5, 0, 1, 0.3}, {3, 2}))},
                  [](const OpArgs& v) { return binary_cross_entropy_with_logits(v[0], v[1]); })
          .sample("weight, pos_weight, sum",
                  {inputs::any({3, 2}), fixed(tensor({1, 0, 0, 1, 1, 1}, {3, 2})), inputs::constant({3, 1}),
                   inputs::constant({2})},
                  [](const OpArgs& v) {
                    return binary_cross_entropy_with_logits(v[0], v[1], abs(v[2]), Reduction::Sum, abs(v[3]) + 0.5);
                  })
          .sample("none", {inputs::any({4}), fixed(tensor({1, 0, 0.25, 1}, {4}))},
                  [](const OpArgs& v) { return binary_cross_entropy_with_logits(v[0], v[1], {}, Reduction::None); })
          .error("shapes differ", [] { binary_cross_entropy_with_logits(ones({4, 1}), ones({4})); },
                 {"binary_cross_entropy_with_logits", "[4,1]", "[4]", "same shape"})
          .error("pos_weight that does not broadcast",
                 [] { binary_cross_entropy_with_logits(ones({4, 2}), ones({4, 2}), {}, Reduction::Mean, ones({3})); },
                 {"binary_cross_entropy_with_logits: pos_weight [3] does not broadcast to the logits' shape [4,2]"})
          .error("weight larger than the logits",
                 [] { binary_cross_entropy_with_logits(ones({2}), ones({2}), ones({3, 2})); },
                 {"binary_cross_entropy_with_logits: weight [3,2]", "[2]"}),
      OpInfo("l1_loss")
          .composite_of_other_ops()
          .sample("[2,3]", {inputs::any({2, 3}), inputs::away_from_zero({2, 3})},
                  [](const OpArgs& v) { return l1_loss(v[0], v[0] + v[1]); })
          .sample("sum", {inputs::any({4}), inputs::away_from_zero({4})},
                  [](const OpArgs& v) { return l1_loss(v[0] + v[1], v[0], Reduction::Sum); })
          .error("shapes differ", [] { l1_loss(ones({4, 1}), ones({4})); }, {"l1_loss", "[4,1]", "[4]"}),
      // Differences away from the kinks at |d| = beta (delta), where the gradient has a corner.
      OpInfo("smooth_l1_loss")
          .composite_of_other_ops()
          .sample("both pieces, beta 1", {inputs::any({6}), given(tensor({0.3, -0.6, 1.7, -2.2, 0.1, 3}, {6}))},
                  [](const OpArgs& v) { return smooth_l1_loss(v[0], v[0] + v[1]); })
          .sample("beta 0.5, none", {inputs::any({6}), given(tensor({0.3, -0.2, 0.7, -1.2, 0.1, 2}, {6}))},
                  [](const OpArgs& v) { return smooth_l1_loss(v[0] - v[1], v[0], Reduction::None, 0.5); })
          .error("negative beta", [] { smooth_l1_loss(ones({2}), ones({2}), Reduction::Mean, -1); },
                 {"smooth_l1_loss: beta must be >= 0, got -1"})
          .error("shapes differ", [] { smooth_l1_loss(ones({2}), ones({3})); }, {"smooth_l1_loss", "[2]", "[3]"}),
      OpInfo("huber_loss")
          .composite_of_other_ops()
          .sample("both pieces, delta 1", {inputs::any({6}), given(tensor({0.3, -0.6, 1.7, -2.2, 0.1, 3}, {6}))},
                  [](const OpArgs& v) { return huber_loss(v[0], v[0] + v[1]); })
          .sample("delta 2, sum", {inputs::any({6}), given(tensor({0.3, -2.5, 1.7, -1.2, 0.1, 3}, {6}))},
                  [](const OpArgs& v) { return huber_loss(v[0] - v[1], v[0], Reduction::Sum, 2.0); })
          .error("delta 0", [] { huber_loss(ones({2}), ones({2}), Reduction::Mean, 0); },
                 {"huber_loss: delta must be positive, got 0"})
          .error("shapes differ", [] { huber_loss(ones({2}), ones({3})); }, {"huber_loss", "[2]", "[3]"}),
      OpInfo("kl_div")
          .composite_of_other_ops()
          .sample("probabilities, batchmean",
                  {inputs::any({2, 3}), given(tensor({0.2, 0.5, 0.3, 0.6, 0.1, 0.3}, {2, 3}))},
                  [](const OpArgs& v) { return kl_div(log_softmax(v[0], 1), v[1], Reduction::BatchMean); })
          .sample("a zero target, mean", {inputs::any({2, 2}), fixed(tensor({0, 1, 0.25, 0.75}, {2, 2}))},
                  [](const OpArgs& v) { return kl_div(log_softmax(v[0], 1), v[1]); })
          .sample("log targets, none", {inputs::any({2, 3}), inputs::any({2, 3})},
                  [](const OpArgs& v) { return kl_div(v[0], log_softmax(v[1], 1), Reduction::None, true); })
          .sample("sum", {inputs::any({4}), inputs::positive({4})},
                  [](const OpArgs& v) { return kl_div(v[0], v[1], Reduction::Sum); })
          .error("negative target", [] { kl_div(ones({3}), tensor({0.5, -0.25, 0.75}, {3})); },
                 {"kl_div: targets must be probabilities >= 0", "log_target", "-0.25", "position 1"})
          .error("shapes differ", [] { kl_div(ones({2, 3}), ones({3})); }, {"kl_div", "[2,3]", "[3]"})
          .error("batchmean of an empty batch", [] { kl_div(ones({0, 3}), ones({0, 3}), Reduction::BatchMean); },
                 {"kl_div", "empty", "[0,3]"}),
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
