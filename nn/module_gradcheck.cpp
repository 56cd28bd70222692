// gradcheck_module: the analytic Jacobian of module(x) with respect to x and
// each parameter (one backward per output element, graph retained) against
// central differences (two forwards per element, the parameter perturbed in
// place), compared with tg::gradcheck's rule |a - n| <= atol + rtol |n|.
#include <cmath>
#include <sstream>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/module_gradcheck.hpp>

namespace tg::nn {
namespace {

GradcheckResult failure(const std::string& message) {
  GradcheckResult r;
  r.message = "gradcheck_module: " + message;
  return r;
}

std::vector<double> evaluate(Module& module, const Tensor& x) {
  NoGradGuard no_grad;
  return module(x).to_vector<double>();
}

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

  std::vector<Tensor> saved_grads;
  for (const auto& entry : targets) saved_grads.push_back(entry.second.grad());
  auto restore_grads = [&] {
    for (std::size_t t = 0; t < targets.size(); ++t) targets[t].second.set_grad(saved_grads[t]);
  };

  // analytic[t][j * n_t + i] = d out_j / d target_t[i]
  std::vector<std::vector<double>> analytic(targets.size());
  std::int64_t n_out = 0;
  try {
    Tensor out = module(x);
    if (!is_floating(out.dtype())) return failure("the module returned " + describe(out) + ", not a float tensor");
    n_out = out.numel();
    for (std::size_t t = 0; t < targets.size(); ++t)
      analytic[t].assign(static_cast<std::size_t>(n_out * targets[t].second.numel()), 0.0);
    if (out.requires_grad()) {
      std::vector<double> onehot(static_cast<std::size_t>(n_out), 0.0);
      for (std::int64_t j = 0; j < n_out; ++j) {
        for (auto& entry : targets) entry.second.zero_grad();
        onehot[j] = 1.0;
        out.backward(tensor(onehot, out.shape(), out.dtype()), /*retain_graph=*/true);
        onehot[j] = 0.0;
        for (std::size_t t = 0; t < targets.size(); ++t) {
          const Tensor g = targets[t].second.grad();
          if (!g.defined()) continue;
          const std::vector<double> gv = g.to_vector<double>();
          const std::int64_t n_in = static_cast<std::int64_t>(gv.size());
          for (std::int64_t i = 0; i < n_in; ++i) analytic[t][j * n_in + i] = gv[i];
        }
      }
    }
  } catch (...) {
    restore_grads();
    throw;
  }
  restore_grads();

  GradcheckResult result;
  result.passed = true;
  double worst_excess = -1;
  bool any_nonzero = false;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    double* data = targets[t].second.data<double>();
    const std::int64_t n_in = targets[t].second.numel();
    for (std::int64_t i = 0; i < n_in; ++i) {
      const double saved = data[i];
      data[i] = saved + opt.eps;
      std::vector<double> plus, minus;
      try {
        plus = evaluate(module, x);
        data[i] = saved - opt.eps;
        minus = evaluate(module, x);
      } catch (...) {
        data[i] = saved;
        throw;
      }
      data[i] = saved;
      for (std::int64_t j = 0; j < n_out; ++j) {
        const double numeric = (plus[j] - minus[j]) / (2 * opt.eps);
        const double a = analytic[t][j * n_in + i];
        if (a != 0 || numeric != 0) any_nonzero = true;
        const double excess = std::abs(a - numeric) - (opt.atol + opt.rtol * std::abs(numeric));
        const bool nan = std::isnan(a) || std::isnan(numeric);
        if (excess > worst_excess || nan) {
          if (excess > 0 || nan) result.passed = false;
          worst_excess = nan ? INFINITY : excess;
          result.input = static_cast<int>(t);
          result.input_element = i;
          result.output_element = j;
          result.analytic = a;
          result.numeric = numeric;
        }
      }
    }
  }

  if (!any_nonzero && !opt.allow_vacuous)
    return failure("both Jacobians are entirely zero, so the check proves nothing (vacuous); set "
                   "GradcheckOptions::allow_vacuous if that is expected");
  if (!result.passed) {
    std::ostringstream os;
    os.precision(10);
    os << "gradcheck_module: " << module.brief() << ": Jacobian mismatch for "
       << (targets[result.input].first == "input" ? "the input" : "parameter '" + targets[result.input].first + "'")
       << " at element " << result.input_element << " (output element " << result.output_element
       << "): analytic " << result.analytic << ", numeric " << result.numeric << " (allowed difference "
       << opt.atol + opt.rtol * std::abs(result.numeric) << ")";
    result.message = os.str();
  }
  return result;
}

}  // namespace tg::nn
