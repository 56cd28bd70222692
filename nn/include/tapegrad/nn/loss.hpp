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
// None (one value per element / sample). Predictions and targets must have the
// same shape (no silent broadcasting); bad targets are refused with a message.
#pragma once

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
/// Callable functional::cross_entropy.
struct CrossEntropyLoss {
  Reduction reduction = Reduction::Mean;  ///< passed to every call
  /// cross_entropy(logits, targets, reduction).
  Tensor operator()(const Tensor& logits, const Tensor& targets) const {
    return functional::cross_entropy(logits, targets, reduction);
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

}  // namespace tg::nn
