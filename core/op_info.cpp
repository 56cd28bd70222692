// check_op: the generic checks over an op's declared samples and error inputs.
#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/gradcheck.hpp>
#include <tapegrad/core/op_info.hpp>

namespace tg {

namespace inputs {
InputSpec any(const Shape& shape) { return {shape, Domain::Any, true, 0, {}}; }
InputSpec positive(const Shape& shape) { return {shape, Domain::Positive, true, 0, {}}; }
InputSpec away_from_zero(const Shape& shape) { return {shape, Domain::AwayFromZero, true, 0, {}}; }
InputSpec constant(const Shape& shape) { return {shape, Domain::Any, false, 0, {}}; }
InputSpec indices(const Shape& shape, std::int64_t high) { return {shape, Domain::Index, false, high, {}}; }
InputSpec given(const Tensor& values) {
  return {values.shape(), Domain::Given, is_floating(values.dtype()), 0, values};
}
}  // namespace inputs

OpInfo& OpInfo::sample(std::string description, std::vector<InputSpec> specs, OpCall call) {
  samples.push_back({std::move(description), std::move(specs), std::move(call)});
  return *this;
}
OpInfo& OpInfo::error(std::string description, std::function<void()> call, std::vector<std::string> fragments) {
  errors.push_back({std::move(description), std::move(call), std::move(fragments)});
  return *this;
}
OpInfo& OpInfo::not_differentiable() {
  differentiable = false;
  return *this;
}
OpInfo& OpInfo::gradient_jumps_here() {
  if (samples.empty()) throw std::logic_error("OpInfo::gradient_jumps_here: " + name + " has no sample yet");
  samples.back().gradient_is_smooth = false;
  return *this;
}
OpInfo& OpInfo::second_order_step(double eps) {
  second_order_eps = eps;
  return *this;
}
OpInfo& OpInfo::composite_of_other_ops() {
  composite = true;
  return *this;
}

std::string OpCheckReport::str() const {
  if (failures.empty()) return op + ": " + std::to_string(checks) + " checks passed";
  std::string s;
  for (const std::string& f : failures) s += op + ": " + f + "\n";
  return s;
}

namespace {

// The sample's inputs in float64 (float specs) and int64, drawn from `seed`.
OpArgs make_inputs(const std::vector<InputSpec>& specs, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  OpArgs out;
  for (const InputSpec& s : specs) {
    if (s.domain == Domain::Given) {
      out.push_back(is_floating(s.given.dtype()) ? s.given.detach().to(kFloat64).clone() : s.given);
      continue;
    }
    const std::int64_t n = s.shape.numel();
    if (s.domain == Domain::Index) {
      std::uniform_int_distribution<std::int64_t> d(0, s.index_high - 1);
      std::vector<std::int64_t> v(static_cast<std::size_t>(n));
      for (auto& x : v) x = d(gen);
      out.push_back(tensor_i64(v, s.shape));
      continue;
    }
    std::vector<double> v(static_cast<std::size_t>(n));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (auto& x : v) {
      const double r = u(gen);
      switch (s.domain) {
        case Domain::Positive: x = 0.5 + 2.0 * r; break;
        case Domain::AwayFromZero: x = (u(gen) < 0.5 ? -1 : 1) * (0.3 + 1.2 * r); break;
        default: x = -2.0 + 4.0 * r; break;
      }
    }
    out.push_back(tensor(v, s.shape, kFloat64));
  }
  return out;
}

// Copies of `args` where input k requires grad when want[k] (float inputs only).
OpArgs with_grad(const OpArgs& args, const std::vector<bool>& want, Dtype dtype = kFloat64) {
  OpArgs out;
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (!is_floating(args[k].dtype())) {
      out.push_back(args[k]);
      continue;
    }
    Tensor t = args[k].detach().to(dtype).clone();
    if (want[k]) t.requires_grad_(true);
    out.push_back(t);
  }
  return out;
}

std::string what_of(const std::exception& e) { return e.what(); }

// A different value for every element of `t`, written in place: float values
// scaled and shifted, int64 ones (indices) in reverse order, so they stay in range.
void change_in_place(Tensor& t) {
  NoGradGuard no_grad;
  if (is_floating(t.dtype())) {
    std::vector<double> v = t.to_vector<double>();
    for (double& x : v) x = 1.5 * x + 0.25;
    t.copy_(tensor(v, t.shape(), t.dtype()));
    return;
  }
  std::vector<std::int64_t> v = t.to_vector<std::int64_t>();
  std::reverse(v.begin(), v.end());
  t.copy_(tensor_i64(v, t.shape()));
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x[i] - y[i]) <= 1e-12 * (1 + std::abs(x[i])))) return false;
  return true;
}

// For each input and for the output: run the forward, change that tensor in
// place, run backward. It must throw the saved-tensor error, or give exactly the
// gradients of an unchanged run.
template <class Fail>
void check_saved_tensors(const OpSample& s, const OpArgs& base, const std::vector<bool>& diff, std::uint64_t seed,
                         const std::string& where, std::int64_t& checks, Fail& fail) {
  auto fresh_inputs = [&] {
    OpArgs args = with_grad(base, diff);
    for (Tensor& t : args)
      if (!is_floating(t.dtype())) t = t.clone();  // int64 inputs are changed too: never base's
    return args;
  };
  const OpArgs reference = fresh_inputs();
  const Tensor y0 = s.call(reference);
  if (!y0.requires_grad()) return;
  const Tensor seed_grad = make_inputs({inputs::any(y0.shape())}, seed * 7919)[0].to(y0.dtype());
  y0.backward(seed_grad);

  for (std::size_t k = 0; k <= base.size(); ++k) {  // k == base.size(): the output
    ++checks;
    const std::string what = k < base.size() ? "input " + std::to_string(k) : std::string("the output");
    OpArgs args = fresh_inputs();
    Tensor y = s.call(args);
    if (k < base.size())
      change_in_place(args[k]);
    else
      change_in_place(y);
    try {
      y.backward(seed_grad);
    } catch (const std::runtime_error& e) {
      if (what_of(e).find("changed in place") == std::string::npos)
        fail(where, "after changing " + what + " in place, backward threw another error: " + what_of(e));
      continue;
    }
    for (std::size_t j = 0; j < args.size(); ++j)
      if (diff[j] && !same_values(args[j].grad(), reference[j].grad())) {
        fail(where, "backward read " + what + " after it was changed in place, and gave input " + std::to_string(j) +
                        " another gradient instead of refusing (keep what a backward reads as an autograd::SavedTensor)");
        break;
      }
  }
}

}  // namespace

OpCheckReport check_op(const OpInfo& info) {
  OpCheckReport r;
  r.op = info.name;
  auto fail = [&](const std::string& where, const std::string& what) { r.failures.push_back(where + ": " + what); };

  std::uint64_t seed = 0x0b1f0;
  for (const OpSample& s : info.samples) {
    const std::string where = "sample '" + s.description + "'";
    const OpArgs base = make_inputs(s.inputs, ++seed);
    std::vector<bool> diff(s.inputs.size());
    bool any_diff = false;
    for (std::size_t k = 0; k < s.inputs.size(); ++k) {
      diff[k] = s.inputs[k].differentiable && is_floating(base[k].dtype());
      any_diff = any_diff || diff[k];
    }
    try {
      // float64 gradcheck.
      if (info.differentiable && any_diff) {
        ++r.checks;
        GradcheckResult g = gradcheck(s.call, with_grad(base, diff));
        if (!g) fail(where, g.message);
        // ... and its backward differentiated again (create_graph).
        if (s.gradient_is_smooth) {
          ++r.checks;
          GradcheckOptions second;
          second.eps = info.second_order_eps;
          GradcheckResult gg = gradgradcheck(s.call, with_grad(base, diff), second);
          if (!gg) fail(where, gg.message);
        }
      }
      // The float32 forward agrees with the float64 one.
      {
        ++r.checks;
        Tensor y64, y32;
        {
          NoGradGuard no_grad;
          y64 = s.call(with_grad(base, std::vector<bool>(base.size(), false)));
          y32 = s.call(with_grad(base, std::vector<bool>(base.size(), false), kFloat32));
        }
        if (y64.shape() != y32.shape()) {
          fail(where, "float32 output " + describe(y32) + " has another shape than float64's " + describe(y64));
        } else if (is_floating(y64.dtype()) && y32.dtype() != kFloat32) {
          fail(where, "float32 inputs gave a " + describe(y32) + " output");
        } else {
          const std::vector<double> a = y64.to_vector<double>(), b = y32.to_vector<double>();
          for (std::size_t i = 0; i < a.size(); ++i)
            if (!(std::abs(a[i] - b[i]) <= 1e-4 + 1e-3 * std::abs(a[i])) && !(std::isnan(a[i]) && std::isnan(b[i]))) {
              std::ostringstream os;
              os.precision(9);
              os << "float32 forward differs from float64 at element " << i << ": " << b[i] << " vs " << a[i];
              fail(where, os.str());
              break;
            }
        }
      }
      // A non-differentiable op records nothing.
      if (!info.differentiable && any_diff) {
        ++r.checks;
        if (s.call(with_grad(base, diff)).requires_grad()) fail(where, "the output requires grad");
      }
      // The backward honours the mask.
      std::size_t n_diff = 0;
      for (bool d : diff) n_diff += d;
      if (info.differentiable && n_diff >= 2) {
        const OpArgs all = with_grad(base, diff);
        const Tensor y = s.call(all);
        const Tensor seed_grad = make_inputs({inputs::any(y.shape())}, seed * 7919)[0].to(y.dtype());
        y.backward(seed_grad);
        for (std::size_t k = 0; k < base.size(); ++k) {
          if (!diff[k]) continue;
          ++r.checks;
          std::vector<bool> only(base.size(), false);
          only[k] = true;
          const OpArgs one = with_grad(base, only);
          s.call(one).backward(seed_grad);
          for (std::size_t j = 0; j < one.size(); ++j)
            if (j != k && one[j].requires_grad() && one[j].grad().defined())
              fail(where, "with only input " + std::to_string(k) + " requiring grad, input " + std::to_string(j) +
                              " got a gradient");
          const Tensor gk = one[k].grad(), ga = all[k].grad();
          if (gk.defined() != ga.defined()) {
            fail(where, "input " + std::to_string(k) + " gets a gradient only when the others require grad too");
            continue;
          }
          if (!gk.defined()) continue;
          const std::vector<double> a = ga.to_vector<double>(), b = gk.to_vector<double>();
          for (std::size_t i = 0; i < a.size(); ++i)
            if (std::abs(a[i] - b[i]) > 1e-12 * (1 + std::abs(a[i]))) {
              fail(where, "input " + std::to_string(k) + "'s gradient changes when the other inputs do not require grad");
              break;
            }
        }
      }
      // A tensor the backward reads is saved with its version: changing an input
      // or the output in place after the forward pass makes backward refuse, or
      // (when the backward never reads it) leaves every gradient as it was.
      if (info.differentiable && any_diff) check_saved_tensors(s, base, diff, seed, where, r.checks, fail);
    } catch (const std::exception& e) {
      fail(where, std::string("threw: ") + e.what());
    }
  }

  for (const OpErrorInput& e : info.errors) {
    const std::string where = "error input '" + e.description + "'";
    ++r.checks;
    try {
      e.call();
      fail(where, "did not throw");
    } catch (const std::invalid_argument& ex) {
      const std::string msg = what_of(ex);
      for (const std::string& f : e.fragments)
        if (msg.find(f) == std::string::npos) fail(where, "message '" + msg + "' lacks '" + f + "'");
    } catch (const std::exception& ex) {
      fail(where, "threw a std::exception other than std::invalid_argument: " + what_of(ex));
    }
  }
  return r;
}

}  // namespace tg
