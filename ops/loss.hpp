// Private: the losses' check of their Reduction, and nll_loss in two halves, for the losses built on it (nn's
// cross_entropy): its argument checks, whose messages name the function the user
// called and its input, and the op on checked arguments.
#pragma once

#include <tapegrad/ops/ops.hpp>

namespace tg::detail {

/// Throws "<op>: Reduction::BatchMean is only for kl_div" for BatchMean: the
/// losses other than kl_div take Mean, Sum and None.
void check_not_batchmean(const char* op, Reduction reduction);

/// nll_loss's checks of `input` [N,C] (log-probabilities, or logits that will
/// become them) and int64 `targets` [N] in [0, C); messages read
/// "<op>: <input_name> must be [N, C], ...".
void check_class_targets(const char* op, const char* input_name, const Tensor& input, const Tensor& targets,
                         Reduction reduction);

/// nll_loss on arguments that passed check_class_targets.
Tensor nll_loss_checked(const Tensor& log_probs, const Tensor& targets, Reduction reduction);

}  // namespace tg::detail
