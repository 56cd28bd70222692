// tapegrad — gradient clipping (tg::optim).
#pragma once

#include <limits>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg::optim {

/// The norm of all gradients together, as if concatenated into one vector
/// (norm_type 2 by default; any p >= 1, or infinity for the max-abs norm).
/// When it exceeds max_norm every gradient is scaled by max_norm / (norm + 1e-6)
/// (PyTorch's clip_grad_norm_). Gradients are replaced by scaled copies, never
/// changed in place, since one gradient tensor may be shared by several
/// parameters. Parameters without a gradient are ignored. Returns the norm
/// before clipping; a non-finite norm leaves the gradients unchanged.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

}  // namespace tg::optim
