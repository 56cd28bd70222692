// tg::optim::LBFGS: torch.optim.LBFGS's iteration and its strong-Wolfe line search
// (the minFunc / torch7 lswolfe scheme: bracket, then zoom by safeguarded cubic
// interpolation), on flat float64 copies of the parameters and gradients.
#include <algorithm>
#include <cmath>
#include <optional>

#include "core/dispatch.hpp"
#include "optim/hyperparameter.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/optim/lbfgs.hpp>

namespace tg::optim {

using tg::detail::fail;

namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double max_abs(const Vec& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}
// a += alpha * b
void axpy(Vec& a, double alpha, const Vec& b) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += alpha * b[i];
}

// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2,
// clamped to `bounds` (default: between x1 and x2); the bounds' middle when the
// cubic has no minimum.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds = std::nullopt) {
  const auto [lo, hi] = bounds ? *bounds : (x1 <= x2 ? std::make_pair(x1, x2) : std::make_pair(x2, x1));
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square < 0) return (lo + hi) / 2;
  const double d2 = std::sqrt(d2_square);
  const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                  : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(min_pos, lo), hi);
}

struct Point {
  double t, f;
  Vec g;
  double gtd;
};

struct LineSearchResult {
  double f;
  Vec g;
  double t;
  std::int64_t evals;
};

// Strong-Wolfe line search along d from the point with loss f, gradient g and slope
// gtd = g.d; `eval(t)` returns the loss and gradient at x + t d.
template <class Eval>
LineSearchResult strong_wolfe(const Eval& eval, double t, const Vec& d, double f, const Vec& g, double gtd,
                              double tolerance_change, double c1 = 1e-4, double c2 = 0.9, std::int64_t max_ls = 25) {
  const double d_norm = max_abs(d);
  auto [f_new, g_new] = eval(t);
  std::int64_t evals = 1;
  double gtd_new = dot(g_new, d);

  // Bracketing: grow t until the interval [t_prev, t] holds a point meeting the conditions.
  Point prev{0, f, g, gtd};
  std::vector<Point> bracket;
  bool done = false;
  std::int64_t ls_iter = 0;
  while (ls_iter < max_ls) {
    if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= prev.f)) {
      bracket = {prev, {t, f_new, g_new, gtd_new}};
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      bracket = {{t, f_new, g_new, gtd_new}};
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      bracket = {prev, {t, f_new, g_new, gtd_new}};
      break;
    }
    const double min_step = t + 0.01 * (t - prev.t), max_step = t * 10;
    const double next = cubic_interpolate(prev.t, prev.f, prev.gtd, t, f_new, gtd_new, std::make_pair(min_step, max_step));
    prev = {t, f_new, g_new, gtd_new};
    t = next;
    std::tie(f_new, g_new) = eval(t);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
  }
  if (ls_iter == max_ls) bracket = {{0, f, g, gtd}, {t, f_new, g_new, gtd_new}};

  // Zoom: shrink the bracket until a point meets the conditions.
  bool insufficient_progress = false;
  std::size_t low = bracket.front().f <= bracket.back().f ? 0 : 1, high = 1 - low;
  while (!done && ls_iter < max_ls) {
    if (std::abs(bracket[1].t - bracket[0].t) * d_norm < tolerance_change) break;
    t = cubic_interpolate(bracket[0].t, bracket[0].f, bracket[0].gtd, bracket[1].t, bracket[1].f, bracket[1].gtd);
    // A trial point too close to an end of the bracket is moved 10% of its width inside,
    // at once if it is on the boundary, else when the previous trial was close too.
    const double b_max = std::max(bracket[0].t, bracket[1].t), b_min = std::min(bracket[0].t, bracket[1].t);
    const double eps = 0.1 * (b_max - b_min);
    if (std::min(b_max - t, t - b_min) < eps) {
      if (insufficient_progress || t >= b_max || t <= b_min) {
        t = std::abs(t - b_max) < std::abs(t - b_min) ? b_max - eps : b_min + eps;
        insufficient_progress = false;
      } else {
        insufficient_progress = true;
      }
    } else {
      insufficient_progress = false;
    }
    std::tie(f_new, g_new) = eval(t);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
    if (f_new > f + c1 * t * gtd || f_new >= bracket[low].f) {
      bracket[high] = {t, f_new, g_new, gtd_new};  // not low enough: the new high end
      low = bracket[0].f <= bracket[1].f ? 0 : 1;
      high = 1 - low;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd)
        done = true;
      else if (gtd_new * (bracket[high].t - bracket[low].t) >= 0)
        bracket[high] = bracket[low];  // the old low end becomes the high end
      bracket[low] = {t, f_new, g_new, gtd_new};
    }
  }
  Point& best = bracket[bracket.size() == 1 ? 0 : low];
  return {best.f, std::move(best.g), best.t, evals};
}

}  // namespace

LBFGS::LBFGS(std::vector<Tensor> params, LBFGSOptions options)
    : Optimizer(std::vector<ParamGroup>{ParamGroup(std::move(params))}, options.lr(), "LBFGS", {}), options_(options) {
  if (options.max_iter() < 1) fail("LBFGS: max_iter must be >= 1, got ", options.max_iter());
  if (options.max_eval() < 1) fail("LBFGS: max_eval must be >= 1, got ", options.max_eval());
  if (options.history_size() < 1) fail("LBFGS: history_size must be >= 1, got ", options.history_size());
  check_nonnegative("LBFGS", "tolerance_grad", options.tolerance_grad());
  check_nonnegative("LBFGS", "tolerance_change", options.tolerance_change());
  if (!options.line_search_fn().empty() && options.line_search_fn() != "strong_wolfe")
    fail("LBFGS: line_search_fn must be empty (none) or 'strong_wolfe', got '", options.line_search_fn(), "'");
  for (const Tensor& p : params_) numel_ += p.numel();
}

void LBFGS::step() {
  fail("LBFGS: step() needs a closure that clears the gradients, computes the loss, calls backward() and returns "
       "the loss: use step(closure)");
}

Vec LBFGS::flat_grad() const {
  Vec out;
  out.reserve(static_cast<std::size_t>(numel_));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = grad_of(i);
    if (!g.defined()) {
      out.insert(out.end(), static_cast<std::size_t>(params_[i].numel()), 0.0);
      continue;
    }
    const Vec v = g.to_vector<double>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

Vec LBFGS::flat_params() const {
  Vec out;
  out.reserve(static_cast<std::size_t>(numel_));
  for (const Tensor& p : params_) {
    const Vec v = p.to_vector<double>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void LBFGS::set_flat_params(const Vec& x) {
  std::size_t offset = 0;
  for (Tensor& p : params_) {
    tg::detail::dispatch_float(p.dtype(), "LBFGS::step", [&](auto tag) {
      using T = decltype(tag);
      T* w = static_cast<T*>(p.raw_data());
      for (std::int64_t k = 0; k < p.numel(); ++k) w[k] = static_cast<T>(x[offset + static_cast<std::size_t>(k)]);
    });
    offset += static_cast<std::size_t>(p.numel());
    p.bump_version();
  }
}

void LBFGS::add_to_params(double step, const Vec& d) {
  std::size_t offset = 0;
  for (Tensor& p : params_) {
    tg::detail::dispatch_float(p.dtype(), "LBFGS::step", [&](auto tag) {
      using T = decltype(tag);
      T* w = static_cast<T*>(p.raw_data());
      for (std::int64_t k = 0; k < p.numel(); ++k)
        w[k] = static_cast<T>(w[k] + static_cast<T>(step * d[offset + static_cast<std::size_t>(k)]));
    });
    offset += static_cast<std::size_t>(p.numel());
    p.bump_version();  // a backward that saved p must not run on the stepped values
  }
}

double LBFGS::evaluate(const Closure& closure) {
  Tensor loss;
  {
    const RecordingGuard recording;
    loss = closure();
  }
  if (!loss.defined() || loss.numel() != 1)
    fail("LBFGS: the closure must return the loss as a one-element tensor, got ", loss.defined() ? describe(loss) : "an undefined tensor");
  return loss.item();
}

Tensor LBFGS::step(const Closure& closure) {
  if (!closure) fail("LBFGS: step(closure) got an empty closure");
  NoGradGuard no_grad;
  const double lr = group_lr_[0];
  const std::int64_t max_iter = options_.max_iter(), max_eval = options_.max_eval();
  const double tol_grad = options_.tolerance_grad(), tol_change = options_.tolerance_change();
  const auto history_size = static_cast<std::size_t>(options_.history_size());

  Tensor orig_loss;
  {
    const RecordingGuard recording;
    orig_loss = closure();
  }
  if (!orig_loss.defined() || orig_loss.numel() != 1)
    fail("LBFGS: the closure must return the loss as a one-element tensor, got ",
         orig_loss.defined() ? describe(orig_loss) : "an undefined tensor");
  double loss = orig_loss.item();
  std::int64_t current_evals = 1;
  ++func_evals_;
  Vec g = flat_grad();
  bool optimal = max_abs(g) <= tol_grad;
  if (optimal) return orig_loss;

  std::int64_t n_iter = 0;
  while (n_iter < max_iter) {
    ++n_iter;
    ++n_iter_;
    // The direction: steepest descent at first, then the two-loop recursion.
    if (n_iter_ == 1) {
      d_ = g;
      for (double& v : d_) v = -v;
      old_dirs_.clear();
      old_stps_.clear();
      ro_.clear();
      h_diag_ = 1;
    } else {
      Vec y = g;
      axpy(y, -1, prev_flat_grad_);
      Vec s = d_;
      for (double& v : s) v *= t_;
      const double ys = dot(y, s);
      if (ys > 1e-10) {  // keep only pairs with positive curvature
        if (old_dirs_.size() == history_size) {
          old_dirs_.erase(old_dirs_.begin());
          old_stps_.erase(old_stps_.begin());
          ro_.erase(ro_.begin());
        }
        h_diag_ = ys / dot(y, y);
        old_dirs_.push_back(std::move(y));
        old_stps_.push_back(std::move(s));
        ro_.push_back(1. / ys);
      }
      const std::size_t num_old = old_dirs_.size();
      Vec al(num_old);
      Vec q = g;
      for (double& v : q) v = -v;
      for (std::size_t k = num_old; k-- > 0;) {
        al[k] = dot(old_stps_[k], q) * ro_[k];
        axpy(q, -al[k], old_dirs_[k]);
      }
      for (double& v : q) v *= h_diag_;
      for (std::size_t k = 0; k < num_old; ++k) {
        const double be = dot(old_dirs_[k], q) * ro_[k];
        axpy(q, al[k] - be, old_stps_[k]);
      }
      d_ = std::move(q);
    }
    prev_flat_grad_ = g;
    prev_loss_ = loss;

    // The step length: a guess, then the line search or the fixed step.
    if (n_iter_ == 1) {
      double l1 = 0;
      for (double v : g) l1 += std::abs(v);
      t_ = std::min(1., 1. / l1) * lr;
    } else {
      t_ = lr;
    }
    const double gtd = dot(g, d_);
    if (gtd > -tol_change) break;  // not a descent direction any more

    std::int64_t ls_evals = 0;
    if (!options_.line_search_fn().empty()) {
      const Vec x_init = flat_params();
      auto eval = [&](double t) {
        add_to_params(t, d_);
        const double f = evaluate(closure);
        Vec grad = flat_grad();
        set_flat_params(x_init);
        return std::make_pair(f, std::move(grad));
      };
      LineSearchResult r = strong_wolfe(eval, t_, d_, loss, g, gtd, tol_change);
      loss = r.f;
      g = std::move(r.g);
      t_ = r.t;
      ls_evals = r.evals;
      add_to_params(t_, d_);
      optimal = max_abs(g) <= tol_grad;
    } else {
      add_to_params(t_, d_);
      if (n_iter != max_iter) {  // the last iteration's loss would only be needed by the next step
        loss = evaluate(closure);
        g = flat_grad();
        optimal = max_abs(g) <= tol_grad;
        ls_evals = 1;
      }
    }
    current_evals += ls_evals;
    func_evals_ += ls_evals;

    if (n_iter == max_iter || current_evals >= max_eval || optimal) break;
    if (max_abs(d_) * std::abs(t_) <= tol_change) break;  // the parameters barely moved
    if (std::abs(loss - prev_loss_) < tol_change) break;
  }
  return orig_loss;
}

// ---- state_dict ------------------------------------------------------------------------

std::vector<std::pair<std::string, Tensor>> LBFGS::state_dict() const {
  auto out = Optimizer::state_dict();
  out.emplace_back("func_evals", tensor_i64({func_evals_}, Shape{}));
  out.emplace_back("n_iter", tensor_i64({n_iter_}, Shape{}));
  if (n_iter_ == 0) return out;
  out.emplace_back("d", tensor(d_, kFloat64));
  out.emplace_back("t", scalar_tensor(t_, kFloat64));
  out.emplace_back("H_diag", scalar_tensor(h_diag_, kFloat64));
  out.emplace_back("prev_flat_grad", tensor(prev_flat_grad_, kFloat64));
  out.emplace_back("prev_loss", scalar_tensor(prev_loss_, kFloat64));
  if (!old_dirs_.empty()) {
    Vec dirs, stps;
    for (std::size_t k = 0; k < old_dirs_.size(); ++k) {
      dirs.insert(dirs.end(), old_dirs_[k].begin(), old_dirs_[k].end());
      stps.insert(stps.end(), old_stps_[k].begin(), old_stps_[k].end());
    }
    const Shape shape{static_cast<std::int64_t>(old_dirs_.size()), numel_};
    out.emplace_back("old_dirs", tensor(dirs, shape, kFloat64));
    out.emplace_back("old_stps", tensor(stps, shape, kFloat64));
    out.emplace_back("ro", tensor(ro_, kFloat64));
  }
  return out;
}

void LBFGS::load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state, const std::string& source) {
  static const std::vector<std::string> own = {"func_evals", "n_iter",         "d",         "t",        "H_diag",
                                               "prev_flat_grad", "prev_loss", "old_dirs", "old_stps", "ro"};
  std::vector<std::pair<std::string, Tensor>> base;
  std::map<std::string, Tensor> mine;
  for (const auto& [n, t] : state) {
    if (std::find(own.begin(), own.end(), n) == own.end()) {
      base.emplace_back(n, t);
      continue;
    }
    if (!t.defined()) fail("load: LBFGS state in '", source, "': tensor '", n, "' is undefined");
    if (!mine.emplace(n, t).second) fail("load: LBFGS state in '", source, "': tensor '", n, "' appears more than once");
  }
  auto refuse = [&](const std::string& n, const auto&... why) {
    fail("load: LBFGS state in '", source, "': tensor '", n, "' ", why...);
  };
  auto need = [&](const std::string& n) -> const Tensor& {
    const auto it = mine.find(n);
    if (it == mine.end()) refuse(n, "is missing");
    return it->second;
  };
  auto count = [&](const std::string& n) {
    const Tensor& t = need(n);
    if (t.dtype() != kInt64 || t.dim() != 0) refuse(n, "must be a 0-d int64 tensor, found ", describe(t));
    const std::int64_t v = t.data<std::int64_t>()[0];
    if (v < 0) refuse(n, "holds ", v, " (must be >= 0)");
    return v;
  };
  auto values = [&](const std::string& n, const Shape& shape) {
    const Tensor& t = need(n);
    if (t.dtype() != kFloat64 || t.shape() != shape)
      refuse(n, "must be a float64 tensor of shape ", shape.str(), ", found ", describe(t));
    Vec v = t.to_vector<double>();
    for (double x : v)
      if (!std::isfinite(x)) refuse(n, "holds ", x);
    return v;
  };
  const std::int64_t func_evals = count("func_evals"), n_iter = count("n_iter");
  Vec d, prev_grad, ro;
  std::vector<Vec> dirs, stps;
  double t = 0, h_diag = 1, prev_loss = 0;
  if (n_iter > 0) {
    d = values("d", Shape{numel_});
    t = values("t", Shape{})[0];
    h_diag = values("H_diag", Shape{})[0];
    prev_grad = values("prev_flat_grad", Shape{numel_});
    prev_loss = values("prev_loss", Shape{})[0];
    if (mine.count("ro")) {
      const std::int64_t k = need("ro").numel();
      if (k > options_.history_size()) refuse("ro", "holds ", k, " pairs, more than history_size ", options_.history_size());
      ro = values("ro", Shape{k});
      const Vec all_dirs = values("old_dirs", Shape{k, numel_}), all_stps = values("old_stps", Shape{k, numel_});
      for (std::int64_t j = 0; j < k; ++j) {
        dirs.emplace_back(all_dirs.begin() + j * numel_, all_dirs.begin() + (j + 1) * numel_);
        stps.emplace_back(all_stps.begin() + j * numel_, all_stps.begin() + (j + 1) * numel_);
      }
    } else if (mine.count("old_dirs") || mine.count("old_stps")) {
      refuse("ro", "is missing");
    }
  } else if (mine.size() > 2) {
    refuse(mine.count("d") ? "d" : mine.begin()->first, "is present, but n_iter is 0");
  }
  Optimizer::load_state_dict(base, source);  // checks and sets the learning rate last among the checks
  func_evals_ = func_evals;
  n_iter_ = n_iter;
  d_ = std::move(d);
  t_ = t;
  h_diag_ = h_diag;
  prev_flat_grad_ = std::move(prev_grad);
  prev_loss_ = prev_loss;
  old_dirs_ = std::move(dirs);
  old_stps_ = std::move(stps);
  ro_ = std::move(ro);
}

}  // namespace tg::optim
