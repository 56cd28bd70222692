// Private: the one check every optimizer and scheduler hyper-parameter goes through.
#pragma once

#include <cmath>
#include <string>

#include "core/dispatch.hpp"

namespace tg::optim {

/// Refuses NaN, negative and infinite values, naming the owner and the parameter:
/// "SGD: momentum must be >= 0, got nan", "StepLR: gamma must be finite, got inf".
inline void check_nonnegative(const std::string& owner, const char* what, double value) {
  if (!(value >= 0)) detail::fail(owner, ": ", what, " must be >= 0, got ", value);
  if (std::isinf(value)) detail::fail(owner, ": ", what, " must be finite, got ", value);
}

}  // namespace tg::optim
