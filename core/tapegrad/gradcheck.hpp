// tapegrad — numerical gradient checking, for built-in and user-defined ops.
//
// gradcheck compares the analytic Jacobian (from backward) with central finite
// differences, element by element, with PyTorch's semantics and defaults:
// float64 inputs, eps = 1e-6, and an element passes when
//     |analytic - numeric| <= atol + rtol * |numeric|   (atol 1e-5, rtol 1e-3).
//
//   auto r = tg::gradcheck([](const std::vector<tg::Tensor>& in) { return tg::sigmoid(in[0]); },
//                          {tg::randn({3, 4}, tg::kFloat64).requires_grad_()});
//   if (!r) std::cerr << r.message;
//
// Only inputs with requires_grad() are checked; others (int64 targets, fixed
// weights) are passed through unchanged. The caller's tensors are not touched:
// gradcheck works on copies.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/tensor.hpp>

namespace tg {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  /// A check where both Jacobians are entirely zero proves nothing and fails
  /// unless this is set (vacuous checks hide broken backward rules).
  bool allow_vacuous = false;
  /// float32 inputs are refused (finite differences need float64) unless this
  /// asks gradcheck to convert them to float64 first.
  bool convert_float32 = false;
};

struct GradcheckResult {
  bool passed = false;
  /// Empty on success; otherwise what failed, with the worst element.
  std::string message;
  int input = -1;                  // index of the input with the worst element
  std::int64_t input_element = -1;  // flat index into that input
  std::int64_t output_element = -1; // flat index into the output
  double analytic = 0;
  double numeric = 0;
  explicit operator bool() const { return passed; }
};

using GradcheckFunction = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace tg
