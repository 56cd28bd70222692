// tapegrad — numerical gradient checking, for built-in and user-defined ops.
//
// gradcheck compares the analytic Jacobian (from backward) with central finite
// differences, element by element, with PyTorch's semantics and defaults:
// float64 inputs, eps = 1e-6, and an element passes when
//     |analytic - numeric| <= atol + rtol * |numeric|   (atol 1e-5, rtol 1e-3).
//
// @code
//   auto r = tg::gradcheck([](const std::vector<tg::Tensor>& in) { return tg::sigmoid(in[0]); },
//                          {tg::randn({3, 4}, tg::kFloat64).requires_grad_()});
//   if (!r) std::cerr << r.message;
// @endcode
//
// gradgradcheck (below) checks second derivatives the same way.
//
// Only inputs with requires_grad() are checked; others (int64 targets, fixed
// weights) are passed through unchanged. The caller's tensors are not touched:
// gradcheck works on copies.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg {

/// Tolerances and switches of gradcheck (PyTorch's defaults).
struct GradcheckOptions {
  double eps = 1e-6;   ///< finite-difference step: (f(x + eps) - f(x - eps)) / (2 eps)
  double atol = 1e-5;  ///< absolute tolerance of an element
  double rtol = 1e-3;  ///< tolerance relative to |numeric|
  /// A check where both Jacobians are entirely zero proves nothing and fails
  /// unless this is set (vacuous checks hide broken backward rules).
  bool allow_vacuous = false;
  /// float32 inputs are refused (finite differences need float64) unless this
  /// asks gradcheck to convert them to float64 first.
  bool convert_float32 = false;
};

/// What gradcheck found. The element fields describe the worst element (the
/// one furthest beyond, or closest to, its tolerance); they stay -1 / 0 when
/// the check could not run (undefined or float32 input, nothing to check, ...).
struct GradcheckResult {
  bool passed = false;  ///< every element within tolerance, and the check not vacuous
  /// Empty on success; otherwise what failed, with the worst element.
  std::string message;
  int input = -1;                  ///< index of the input with the worst element
  std::int64_t input_element = -1;  ///< flat index into that input
  std::int64_t output_element = -1; ///< flat index into the output
  double analytic = 0;  ///< d output / d input at that element, from backward
  double numeric = 0;   ///< the same derivative by central differences
  /// Same as passed.
  explicit operator bool() const { return passed; }
};

/// The function under test: inputs -> one tensor (of any shape; every element is checked).
using GradcheckFunction = std::function<Tensor(const std::vector<Tensor>&)>;

/// Compares f's analytic Jacobian with central finite differences for every
/// input that requires grad (see the top of this file). Never throws for a
/// failed check: the result says what failed; exceptions from f propagate.
/// Costs one backward per output element and two forwards per input element.
GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

/// Checks second derivatives (PyTorch's gradgradcheck): with a fixed
/// pseudo-random grad_output v of f's output shape, the gradients
/// autograd::grad(f(inputs), inputs, {v}, create_graph) are themselves
/// gradchecked with respect to the inputs and to v. So it verifies that every
/// backward rule f uses is differentiated correctly (the double backward), which
/// is what a Hessian-vector product or a gradient penalty relies on. The input
/// index n in a failure (n = inputs.size()) is v. Same options and costs as
/// gradcheck, on a function with one more input.
GradcheckResult gradgradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tg
