// tapegrad — loss functions (tg::nn::functional) and their callable wrappers.
//
// @code
//   namespace F = tg::nn::functional;
//   auto model = std::make_shared<tg::nn::Linear>(3, 5);
//   tg::Tensor logits = (*model)(tg::randn({8, 3})), labels = tg::randint(0, 5, {8});
//   tg::Tensor loss = F::cross_entropy(logits, labels) + F::l2_penalty(1e-4, model->parameters());
//   loss.backward();
// @endcode
//
// Every loss is differentiable with respect to its prediction (and, where it
// makes sense, its target) and takes a tg::Reduction: Mean (default), Sum, or
// None (one value per element / sample); kl_div also takes BatchMean.
// Predictions and targets must have the same shape (no silent broadcasting);
// bad targets are refused with a message.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <tapegrad/ops/ops.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::nn {
/// @namespace tg::nn::functional
/// Losses as plain functions (PyTorch's torch.nn.functional), conventionally `F`.
namespace functional {

/// Binary negative log-likelihood on probabilities p in [0, 1] with targets y
/// in [0, 1] — the Bernoulli negative log-likelihood, PyTorch's binary_cross_entropy:
///   -mean(y log p + (1 - y) log(1 - p)).
/// Each log is clamped at -100, so p = 0 or 1 gives a large finite loss; the
/// gradient (p - y) / max(p (1 - p), 1e-12) stays finite too. The op of
/// <tapegrad/ops/ops.hpp> (one function, so unqualified calls are not ambiguous).
using tg::binary_cross_entropy;

/// Negative log-likelihood on log-probabilities [N, C] with int64 class targets [N].
using tg::nll_loss;

/// Softmax cross-entropy on raw logits [N, C] with int64 class targets [N]:
/// nll_loss(log_softmax(logits, 1), targets). Stable for large logits; the
/// gradient with respect to the logits is (softmax - onehot) / N for Mean.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, Reduction reduction = Reduction::Mean);

/// The settings of cross_entropy beyond the reduction, with PyTorch's defaults.
struct CrossEntropyOptions {
  /// The fields in order, each with PyTorch's default.
  explicit CrossEntropyOptions(Reduction reduction = Reduction::Mean, Tensor weight = Tensor(),
                               std::int64_t ignore_index = -100, double label_smoothing = 0.0)
      : reduction(reduction), weight(std::move(weight)), ignore_index(ignore_index), label_smoothing(label_smoothing) {}
  Reduction reduction;  ///< Mean, Sum or None
  /// Per-class weights [C] (a rescaling of each class's loss), not differentiated
  /// (as in PyTorch); undefined: every class weighs 1.
  Tensor weight;
  /// Class-index targets equal to this contribute 0 and are left out of Mean's
  /// denominator; it need not be a valid class (PyTorch's default, -100).
  std::int64_t ignore_index;
  /// In [0, 1]: the target becomes (1 - label_smoothing) one-hot + label_smoothing / C uniform.
  double label_smoothing;
};

/// cross_entropy with PyTorch's class weights, ignore_index and label_smoothing.
/// With class-index targets [N] (int64), per sample i with target t_i, C classes,
/// weights w (all 1 when undefined), eps = label_smoothing and lp = log_softmax(logits, 1):
///   loss_i = (1 - eps) (-w[t_i] lp[i, t_i]) + (eps / C) (-sum_c w[c] lp[i, c]),
/// and 0 for samples whose target is ignore_index. Mean divides the sum by
/// sum_i w[t_i] over the samples not ignored (PyTorch's weighted mean), so every
/// target ignored gives NaN, as in PyTorch. With probability targets [N, C]
/// (float, each row a distribution), loss_i = -sum_c w[c] q[i, c] lp[i, c] with
/// q = (1 - eps) targets + eps / C; Mean divides by N and ignore_index does not apply.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options);

/// Binary cross-entropy on logits x with targets y in [0, 1] of x's shape
/// (PyTorch's binary_cross_entropy_with_logits), stable for any |x|:
///   loss = -weight (pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))
///        = weight ((1 - y) x - (1 + (pos_weight - 1) y) logsigmoid(x)).
/// `weight` (undefined: 1) broadcasts to x's shape; `pos_weight` (undefined: 1)
/// weighs the positive term per class, broadcasting along the last dimension
/// ([C] for x [N, C]). Differentiable in x and y; weight and pos_weight are
/// constants, as in PyTorch.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        Reduction reduction = Reduction::Mean, const Tensor& pos_weight = Tensor());

/// Mean absolute error: mean(|input - target|); the gradient at input = target is 0.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

/// Smooth L1 (PyTorch's smooth_l1_loss): with d = input - target,
/// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere. beta = 0 is
/// l1_loss; a negative beta throws.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1.0);

/// Huber loss: with d = input - target, 0.5 d^2 where |d| < delta,
/// delta (|d| - 0.5 delta) elsewhere (smooth_l1_loss with beta = delta, times
/// delta). delta must be positive.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                  double delta = 1.0);

/// Kullback-Leibler divergence of the target distribution from the input's,
/// input being log-probabilities (PyTorch's kl_div), element-wise:
///   target (log target - input), 0 where target = 0      (log_target = false;
///                                                         negative targets throw)
///   exp(target) (target - input)                         (log_target = true: target is log-probabilities)
/// Reduction::BatchMean (the true KL divergence per sample) divides the sum by
/// input.size(0); Mean (PyTorch's default) divides by the number of elements.
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
              bool log_target = false);

/// Hinge loss for targets in {-1, +1} (the SVM loss): mean(max(0, 1 - y * score)).
/// Any other target value is refused.
Tensor hinge_loss(const Tensor& scores, const Tensor& targets, Reduction reduction = Reduction::Mean);

/// Mean squared error: mean((input - target)^2).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

/// The L2 penalty (weight decay) lambda/2 * sum_m ||w_m||^2, differentiable: its
/// gradient with respect to each w_m is lambda * w_m. A 0-d tensor; 0 for no params.
Tensor l2_penalty(double weight_decay, const std::vector<Tensor>& params);

}  // namespace functional

// Callable wrappers holding a Reduction, e.g. `tg::nn::CrossEntropyLoss loss; loss(logits, y)`.
// Each one's operator() has the contract of the functional:: loss it calls.

/// Callable functional::binary_cross_entropy.
struct BCELoss {
  Reduction reduction = Reduction::Mean;  ///< passed to every call
  /// binary_cross_entropy(probs, targets, reduction).
  Tensor operator()(const Tensor& probs, const Tensor& targets) const {
    return functional::binary_cross_entropy(probs, targets, reduction);
  }
};
/// Callable functional::nll_loss.
struct NLLLoss {
  Reduction reduction = Reduction::Mean;  ///< passed to every call
  /// nll_loss(log_probs, targets, reduction).
  Tensor operator()(const Tensor& log_probs, const Tensor& targets) const {
    return functional::nll_loss(log_probs, targets, reduction);
  }
};
/// Callable functional::cross_entropy (with its CrossEntropyOptions).
struct CrossEntropyLoss {
  /// The fields in order (`CrossEntropyLoss{Reduction::Sum}` as before), PyTorch's defaults.
  explicit CrossEntropyLoss(Reduction reduction = Reduction::Mean, Tensor weight = Tensor(),
                            std::int64_t ignore_index = -100, double label_smoothing = 0.0)
      : reduction(reduction), weight(std::move(weight)), ignore_index(ignore_index), label_smoothing(label_smoothing) {}
  Reduction reduction;  ///< passed to every call
  Tensor weight;  ///< per-class weights [C]; undefined: all 1
  std::int64_t ignore_index;  ///< targets left out of the loss
  double label_smoothing;  ///< in [0, 1]
  /// cross_entropy(logits, targets, {reduction, weight, ignore_index, label_smoothing}).
  Tensor operator()(const Tensor& logits, const Tensor& targets) const {
    return functional::cross_entropy(logits, targets,
                                     functional::CrossEntropyOptions(reduction, weight, ignore_index, label_smoothing));
  }
};
/// Callable functional::hinge_loss.
struct HingeLoss {
  Reduction reduction = Reduction::Mean;  ///< passed to every call
  /// hinge_loss(scores, targets, reduction).
  Tensor operator()(const Tensor& scores, const Tensor& targets) const {
    return functional::hinge_loss(scores, targets, reduction);
  }
};
/// Callable functional::mse_loss.
struct MSELoss {
  Reduction reduction = Reduction::Mean;  ///< passed to every call
  /// mse_loss(input, target, reduction).
  Tensor operator()(const Tensor& input, const Tensor& target) const {
    return functional::mse_loss(input, target, reduction);
  }
};
/// Callable functional::binary_cross_entropy_with_logits.
struct BCEWithLogitsLoss {
  /// The fields in order.
  explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean, Tensor weight = Tensor(),
                             Tensor pos_weight = Tensor())
      : reduction(reduction), weight(std::move(weight)), pos_weight(std::move(pos_weight)) {}
  Reduction reduction;  ///< passed to every call
  Tensor weight;  ///< broadcasts to the logits; undefined: 1
  Tensor pos_weight;  ///< weight of the positive term per class; undefined: 1
  /// binary_cross_entropy_with_logits(logits, targets, weight, reduction, pos_weight).
  Tensor operator()(const Tensor& logits, const Tensor& targets) const {
    return functional::binary_cross_entropy_with_logits(logits, targets, weight, reduction, pos_weight);
  }
};
/// Callable functional::l1_loss.
struct L1Loss {
  Reduction reduction = Reduction::Mean;  ///< passed to every call
  /// l1_loss(input, target, reduction).
  Tensor operator()(const Tensor& input, const Tensor& target) const {
    return functional::l1_loss(input, target, reduction);
  }
};
/// Callable functional::smooth_l1_loss.
struct SmoothL1Loss {
  /// The fields in order.
  explicit SmoothL1Loss(Reduction reduction = Reduction::Mean, double beta = 1.0) : reduction(reduction), beta(beta) {}
  Reduction reduction;  ///< passed to every call
  double beta;  ///< where the loss turns from quadratic to linear
  /// smooth_l1_loss(input, target, reduction, beta).
  Tensor operator()(const Tensor& input, const Tensor& target) const {
    return functional::smooth_l1_loss(input, target, reduction, beta);
  }
};
/// Callable functional::huber_loss.
struct HuberLoss {
  /// The fields in order.
  explicit HuberLoss(Reduction reduction = Reduction::Mean, double delta = 1.0) : reduction(reduction), delta(delta) {}
  Reduction reduction;  ///< passed to every call
  double delta;  ///< where the loss turns from quadratic to linear
  /// huber_loss(input, target, reduction, delta).
  Tensor operator()(const Tensor& input, const Tensor& target) const {
    return functional::huber_loss(input, target, reduction, delta);
  }
};
/// Callable functional::kl_div.
struct KLDivLoss {
  /// The fields in order.
  explicit KLDivLoss(Reduction reduction = Reduction::Mean, bool log_target = false)
      : reduction(reduction), log_target(log_target) {}
  Reduction reduction;  ///< passed to every call (BatchMean allowed)
  bool log_target;  ///< whether targets are log-probabilities
  /// kl_div(log_probs, targets, reduction, log_target).
  Tensor operator()(const Tensor& log_probs, const Tensor& targets) const {
    return functional::kl_div(log_probs, targets, reduction, log_target);
  }
};

}  // namespace tg::nn
