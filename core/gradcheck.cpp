// gradcheck: analytic Jacobian (one backward per output element, graph
// retained) against central differences (two forwards per input element).
// compare_jacobians is the algorithm; gradcheck (here) and gradcheck_module
// (nn/module_gradcheck.cpp) choose what to check and word the messages.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/dispatch.hpp"
#include "core/jacobian_check.hpp"
#include "core/tensor_impl.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/gradcheck.hpp>

namespace tg {
namespace detail {

JacobianComparison compare_jacobians(const std::function<Tensor()>& forward, const std::vector<Tensor>& targets,
                                     const GradcheckOptions& opt, const std::string& subject) {
  JacobianComparison cmp;
  // analytic[t][j * n_t + i] = d out_j / d target_t[i]
  std::vector<std::vector<double>> analytic(targets.size());
  std::int64_t n_out = 0;
  {
    Tensor out = forward();
    if (!out.defined()) {
      cmp.error = subject + " returned an undefined tensor";
      return cmp;
    }
    if (!is_floating(out.dtype())) {
      cmp.error = subject + " returned " + describe(out) + ", not a float tensor";
      return cmp;
    }
    n_out = out.numel();
    for (std::size_t t = 0; t < targets.size(); ++t)
      analytic[t].assign(static_cast<std::size_t>(n_out * targets[t].numel()), 0.0);
    if (out.requires_grad()) {
      std::vector<double> onehot(static_cast<std::size_t>(n_out), 0.0);
      for (std::int64_t j = 0; j < n_out; ++j) {
        for (Tensor target : targets) target.zero_grad();
        onehot[j] = 1.0;
        out.backward(tensor(onehot, out.shape(), out.dtype()), /*retain_graph=*/true);
        onehot[j] = 0.0;
        for (std::size_t t = 0; t < targets.size(); ++t) {
          const Tensor g = targets[t].grad();
          if (!g.defined()) continue;
          const std::vector<double> gv = g.to_vector<double>();
          const std::int64_t n_in = static_cast<std::int64_t>(gv.size());
          for (std::int64_t i = 0; i < n_in; ++i) analytic[t][j * n_in + i] = gv[i];
        }
      }
    }
  }

  // Grad mode stays as the caller has it: a function may take gradients
  // itself (a gradient penalty), which needs the tape even here.
  auto evaluate = [&] { return forward().to_vector<double>(); };
  GradcheckResult& result = cmp.worst;
  result.passed = true;
  double worst_excess = -1;
  bool any_nonzero = false;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    Tensor x = targets[t];
    double* data = x.data<double>();
    const std::int64_t n_in = x.numel();
    for (std::int64_t i = 0; i < n_in; ++i) {
      const double saved = data[i];
      std::vector<double> plus, minus;
      try {
        data[i] = saved + opt.eps;
        plus = evaluate();
        data[i] = saved - opt.eps;
        minus = evaluate();
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
          worst_excess = std::isnan(excess) ? INFINITY : excess;
          result.input = static_cast<int>(t);
          result.input_element = i;
          result.output_element = j;
          result.analytic = a;
          result.numeric = numeric;
        }
      }
    }
  }
  cmp.vacuous = !any_nonzero;
  return cmp;
}

std::string mismatch_detail(const GradcheckResult& worst, const GradcheckOptions& opt) {
  std::ostringstream os;
  os.precision(10);
  os << " at element " << worst.input_element << " (output element " << worst.output_element << "): analytic "
     << worst.analytic << ", numeric " << worst.numeric << " (allowed difference "
     << opt.atol + opt.rtol * std::abs(worst.numeric) << ")";
  return os.str();
}

}  // namespace detail

namespace {

GradcheckResult failure(std::string message) {
  GradcheckResult r;
  r.message = "gradcheck: " + std::move(message);
  return r;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& user_inputs,
                          const GradcheckOptions& opt) {
  // Work on float64 copies so the caller's tensors and their .grad() stay as they were.
  std::vector<Tensor> inputs;
  std::vector<int> checked;
  std::vector<Tensor> targets;
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
    targets.push_back(copy);
    checked.push_back(static_cast<int>(k));
  }
  if (checked.empty()) return failure("no input requires grad, so there is nothing to check");

  const detail::JacobianComparison cmp =
      detail::compare_jacobians([&] { return f(inputs); }, targets, opt, "the function");
  if (!cmp.error.empty()) return failure(cmp.error);
  if (cmp.vacuous && !opt.allow_vacuous)
    return failure(
        "both Jacobians are entirely zero, so the check proves nothing (vacuous). Use inputs where the "
        "function has a non-zero gradient, or set GradcheckOptions::allow_vacuous");
  GradcheckResult result = cmp.worst;
  if (result.input >= 0) result.input = checked[result.input];  // a target's index -> the input's
  if (!result.passed)
    result.message = "gradcheck: Jacobian mismatch for input " + std::to_string(result.input) +
                     detail::mismatch_detail(result, opt);
  return result;
}

namespace {

// The flattened tensors end to end, as one recorded op (its backward hands each
// input its slice), so gradcheck can check several gradients at once.
Tensor join_flat(const std::vector<Tensor>& parts) {
  std::int64_t n = 0;
  for (const Tensor& p : parts) n += p.numel();
  Tensor out = detail::make_tensor(Shape{n}, kFloat64);
  double* o = out.data<double>();
  for (const Tensor& p : parts) {
    const Tensor p64 = p.to(kFloat64);
    const double* src = p64.data<double>();
    o = std::copy(src, src + p64.numel(), o);
  }
  if (autograd::needs_grad_list(parts)) {
    std::vector<Shape> shapes;
    for (const Tensor& p : parts) shapes.push_back(p.shape());
    autograd::record("join_flat", parts, out, [shapes](const Tensor& gy) {
      autograd::Grads g;
      std::int64_t offset = 0;
      for (const Shape& s : shapes) {
        g.push_back(detail::make_view(gy, s, offset).clone());
        offset += s.numel();
      }
      return g;
    });
  }
  return out;
}

// A fixed, sign-mixed grad_output: the same for every run, and not the user's RNG stream.
Tensor fixed_grad_output(const Shape& shape) {
  std::vector<double> v(static_cast<std::size_t>(shape.numel()));
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  for (double& x : v) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<double>(state >> 11) / 9007199254740992.0 * 2.0 - 1.0;  // uniform in [-1, 1)
  }
  return tensor(v, shape, kFloat64);
}

}  // namespace

GradcheckResult gradgradcheck(const GradcheckFunction& f, const std::vector<Tensor>& user_inputs,
                              const GradcheckOptions& opt) {
  const std::size_t n = user_inputs.size();
  Shape out_shape;
  {
    NoGradGuard no_grad;
    std::vector<Tensor> probe;
    for (const Tensor& in : user_inputs) probe.push_back(in.defined() ? in.detach() : in);
    const Tensor y = f(probe);
    if (!y.defined()) {
      GradcheckResult r = failure("the function returned an undefined tensor");
      r.message = "grad" + r.message;
      return r;
    }
    out_shape = y.shape();
  }
  Tensor v = fixed_grad_output(out_shape).requires_grad_();
  std::vector<Tensor> inputs_and_v(user_inputs);
  inputs_and_v.push_back(v);

  auto gradients = [&f, n](const std::vector<Tensor>& in) {
    const std::vector<Tensor> x(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
    const Tensor& grad_output = in[n];
    // These gradients need the tape, even when the caller turned grad mode off.
    struct GradOn {
      bool prev = GradMode::is_enabled();
      GradOn() { GradMode::set_enabled(true); }
      ~GradOn() { GradMode::set_enabled(prev); }
    } grad_on;
    const Tensor y = f(x);
    std::vector<Tensor> wrt;
    for (const Tensor& t : x)
      if (t.defined() && t.requires_grad()) wrt.push_back(t);
    if (!y.requires_grad()) return zeros(Shape{1}, kFloat64);  // no gradient at all: reported as vacuous
    std::vector<Tensor> g = autograd::grad({y}, wrt, {grad_output.to(y.dtype())}, /*retain_graph=*/true,
                                           /*create_graph=*/true, /*allow_unused=*/true);
    for (std::size_t k = 0; k < g.size(); ++k)
      if (!g[k].defined()) g[k] = zeros(wrt[k].shape(), kFloat64);
    return join_flat(g);
  };
  GradcheckResult r = gradcheck(gradients, inputs_and_v, opt);
  if (!r.message.empty()) r.message = "grad" + r.message;  // "gradgradcheck: ..."
  return r;
}

}  // namespace tg
