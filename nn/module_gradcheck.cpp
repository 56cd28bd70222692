// gradcheck_module: tg::gradcheck's comparison (core/jacobian_check.hpp) with
// the input and each trainable parameter of a module as the checked tensors;
// parameters are perturbed in place, and their .grad() is restored afterwards.
#include "core/dispatch.hpp"
#include "core/jacobian_check.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/module_gradcheck.hpp>

namespace tg::nn {
namespace {

GradcheckResult failure(const std::string& message) {
  GradcheckResult r;
  r.message = "gradcheck_module: " + message;
  return r;
}

// Puts the targets' .grad() back as it was when the guard was made.
class RestoreGrads {
 public:
  explicit RestoreGrads(const NamedTensors& targets) : targets_(targets) {
    for (const auto& entry : targets_) saved_.push_back(entry.second.grad());
  }
  ~RestoreGrads() {
    for (std::size_t t = 0; t < targets_.size(); ++t) {
      Tensor target = targets_[t].second;
      target.set_grad(saved_[t]);
    }
  }
  RestoreGrads(const RestoreGrads&) = delete;
  RestoreGrads& operator=(const RestoreGrads&) = delete;

 private:
  const NamedTensors& targets_;
  std::vector<Tensor> saved_;
};

}  // namespace

GradcheckResult gradcheck_module(Module& module, const Tensor& input, const GradcheckOptions& opt) {
  tg::detail::check_defined(input, "gradcheck_module");
  // What is checked: the input (when it is a float tensor) and every trainable parameter.
  NamedTensors targets;
  Tensor x = input;
  if (is_floating(input.dtype())) {
    NoGradGuard no_grad;
    x = input.detach().to(kFloat64).clone();
    x.requires_grad_(true);
    targets.emplace_back("input", x);
  }
  for (const auto& [name, p] : module.named_parameters()) {
    if (!p.requires_grad()) continue;
    if (p.dtype() != kFloat64)
      return failure("parameter '" + name + "' is " + describe(p) +
                     "; finite differences need float64 parameters (call module.to(tg::kFloat64) first)");
    targets.emplace_back(name, p);
  }
  if (targets.empty()) return failure("the module has no parameter that requires grad and the input is not a float tensor");

  std::vector<Tensor> tensors;
  for (const auto& entry : targets) tensors.push_back(entry.second);
  tg::detail::JacobianComparison cmp;
  {
    RestoreGrads restore(targets);
    cmp = tg::detail::compare_jacobians([&] { return module(x); }, tensors, opt, "the module");
  }
  if (!cmp.error.empty()) return failure(cmp.error);
  if (cmp.vacuous && !opt.allow_vacuous)
    return failure("both Jacobians are entirely zero, so the check proves nothing (vacuous); set "
                   "GradcheckOptions::allow_vacuous if that is expected");
  GradcheckResult result = cmp.worst;
  if (!result.passed) {
    const std::string& name = targets[result.input].first;
    result.message = "gradcheck_module: " + module.brief() + ": Jacobian mismatch for " +
                     (name == "input" ? "the input" : "parameter '" + name + "'") +
                     tg::detail::mismatch_detail(result, opt);
  }
  return result;
}

}  // namespace tg::nn
