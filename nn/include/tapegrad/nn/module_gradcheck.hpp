// tapegrad — gradient checking for whole modules.
//
// @code
//   auto net = std::make_shared<tg::nn::Sequential>(
//       std::make_shared<tg::nn::Linear>(3, 5), std::make_shared<tg::nn::Tanh>(),
//       std::make_shared<tg::nn::Linear>(5, 2));
//   net->to(tg::kFloat64);
//   tg::GradcheckResult r = tg::nn::gradcheck_module(*net, tg::randn({4, 3}, tg::kFloat64));
//   if (!r) std::cerr << r.message;
// @endcode
//
// Checks the gradient of the module's output with respect to its input and to
// every parameter that requires grad against central finite differences, with
// tg::gradcheck's rule and options (<tapegrad/core/gradcheck.hpp>). Parameters are
// perturbed in place and restored; their .grad() is restored too.
#pragma once

#include <tapegrad/core/gradcheck.hpp>
#include <tapegrad/nn/module.hpp>

namespace tg::nn {

/// The module's parameters must be float64 (call module.to(tg::kFloat64)); a
/// float input is checked as well (converted to float64), an int64 input is
/// passed through. The module must be deterministic: put Dropout in eval().
/// On failure, result.message names the parameter ("input" or its path).
GradcheckResult gradcheck_module(Module& module, const Tensor& input, const GradcheckOptions& options = {});

}  // namespace tg::nn
