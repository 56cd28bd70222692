// gradcheck: analytic Jacobian (one backward per output element, graph
// retained) against central differences (two forwards per input element).
#include <cmath>
#include <sstream>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/gradcheck.hpp>

namespace tg {
namespace {

GradcheckResult failure(std::string message) {
  GradcheckResult r;
  r.message = "gradcheck: " + std::move(message);
  return r;
}

// Output of f as a float64 vector (f run without recording).
std::vector<double> evaluate(const GradcheckFunction& f, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  return f(inputs).to_vector<double>();
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& user_inputs,
                          const GradcheckOptions& opt) {
  // Work on float64 copies so the caller's tensors and their .grad() stay as they were.
  std::vector<Tensor> inputs;
  std::vector<int> checked;
  for (std::size_t k = 0; k < user_inputs.size(); ++k) {
    const Tensor& in = user_inputs[k];
    if (!in.defined()) return failure("input " + std::to_string(k) + " is undefined");
    if (!in.requires_grad()) {
      inputs.push_back(in);
      continue;
    }
    if (in.dtype() != kFloat64 && !opt.convert_float32)
      return failure("input " + std::to_string(k) + " is " + describe(in) +
                     "; finite differences need float64 inputs (convert with .to(tg::kFloat64), or set "
                     "GradcheckOptions::convert_float32)");
    NoGradGuard no_grad;
    Tensor copy = in.detach().to(kFloat64).clone();
    copy.requires_grad_(true);
    inputs.push_back(copy);
    checked.push_back(static_cast<int>(k));
  }
  if (checked.empty()) return failure("no input requires grad, so there is nothing to check");

  Tensor out = f(inputs);
  if (!out.defined()) return failure("the function returned an undefined tensor");
  if (!is_floating(out.dtype())) return failure("the function returned " + describe(out) + ", not a float tensor");
  const std::int64_t n_out = out.numel();

  // analytic[c][j * n_in + i] = d out_j / d input_i for checked input c.
  std::vector<std::vector<double>> analytic(checked.size());
  for (std::size_t c = 0; c < checked.size(); ++c)
    analytic[c].assign(static_cast<std::size_t>(n_out * inputs[checked[c]].numel()), 0.0);
  if (out.requires_grad()) {
    for (std::int64_t j = 0; j < n_out; ++j) {
      for (int k : checked) inputs[k].zero_grad();
      std::vector<double> onehot(static_cast<std::size_t>(n_out), 0.0);
      onehot[j] = 1.0;
      out.backward(tensor(onehot, out.shape(), out.dtype()), /*retain_graph=*/true);
      for (std::size_t c = 0; c < checked.size(); ++c) {
        const Tensor g = inputs[checked[c]].grad();
        if (!g.defined()) continue;
        const std::vector<double> gv = g.to_vector<double>();
        const std::int64_t n_in = static_cast<std::int64_t>(gv.size());
        for (std::int64_t i = 0; i < n_in; ++i) analytic[c][j * n_in + i] = gv[i];
      }
    }
  }

  GradcheckResult result;
  result.passed = true;
  double worst_excess = -1;
  bool any_nonzero = false;
  for (std::size_t c = 0; c < checked.size(); ++c) {
    Tensor& x = inputs[checked[c]];
    const std::int64_t n_in = x.numel();
    for (std::int64_t i = 0; i < n_in; ++i) {
      double* p = x.data<double>() + i;
      const double saved = *p;
      *p = saved + opt.eps;
      const std::vector<double> plus = evaluate(f, inputs);
      *p = saved - opt.eps;
      const std::vector<double> minus = evaluate(f, inputs);
      *p = saved;
      for (std::int64_t j = 0; j < n_out; ++j) {
        const double numeric = (plus[j] - minus[j]) / (2 * opt.eps);
        const double a = analytic[c][j * n_in + i];
        if (a != 0 || numeric != 0) any_nonzero = true;
        const double excess = std::abs(a - numeric) - (opt.atol + opt.rtol * std::abs(numeric));
        if (excess > worst_excess || std::isnan(a) || std::isnan(numeric)) {
          if (excess > 0 || std::isnan(a) || std::isnan(numeric)) result.passed = false;
          worst_excess = std::isnan(excess) ? INFINITY : excess;
          result.input = checked[c];
          result.input_element = i;
          result.output_element = j;
          result.analytic = a;
          result.numeric = numeric;
        }
      }
    }
  }

  if (!any_nonzero && !opt.allow_vacuous)
    return failure(
        "both Jacobians are entirely zero, so the check proves nothing (vacuous). Use inputs where the "
        "function has a non-zero gradient, or set GradcheckOptions::allow_vacuous");
  if (!result.passed) {
    std::ostringstream os;
    os.precision(10);
    os << "gradcheck: Jacobian mismatch for input " << result.input << " at element " << result.input_element
       << " (output element " << result.output_element << "): analytic " << result.analytic << ", numeric "
       << result.numeric << " (allowed difference " << opt.atol + opt.rtol * std::abs(result.numeric) << ")";
    result.message = os.str();
  }
  return result;
}

}  // namespace tg
