// Private: the Jacobian comparison behind tg::gradcheck (core/gradcheck.cpp)
// and tg::nn::gradcheck_module (nn/module_gradcheck.cpp). Each front end picks
// what is checked and words its own messages; the algorithm is this one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <tapegrad/core/gradcheck.hpp>

namespace tg::detail {

/// What compare_jacobians found.
struct JacobianComparison {
  /// Why the check could not run ("the function returned an undefined tensor"),
  /// or "" when it ran.
  std::string error;
  /// Both Jacobians are entirely zero (the check proves nothing).
  bool vacuous = false;
  /// passed, and the worst element (the one furthest beyond, or closest to,
  /// its tolerance; a NaN counts as infinitely far); worst.input indexes
  /// `targets`. worst.message is left empty for the caller to word.
  GradcheckResult worst;
};

/// Compares the analytic Jacobian of forward() with respect to each target
/// (one backward per output element, graph retained) with central differences
/// (two forwards per target element, in the caller's grad mode, the element moved by
/// +eps and -eps in place and restored, also when forward throws); an element
/// passes when |analytic - numeric| <= atol + rtol * |numeric|.
/// Targets must be float64 leaves that require grad, read by forward(); their
/// .grad() is overwritten (a caller that must keep it restores it).
/// `subject` names forward's owner in `error`: "the function", "the module".
JacobianComparison compare_jacobians(const std::function<Tensor()>& forward, const std::vector<Tensor>& targets,
                                     const GradcheckOptions& options, const std::string& subject);

/// The end of a mismatch message: " at element I (output element J): analytic A,
/// numeric N (allowed difference D)", for the worst element of a failed comparison.
std::string mismatch_detail(const GradcheckResult& worst, const GradcheckOptions& options);

}  // namespace tg::detail
