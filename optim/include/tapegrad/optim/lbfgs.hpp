// tapegrad — L-BFGS with an optional strong-Wolfe line search (tg::optim::LBFGS).
//
// @code
//   tg::Tensor x = tg::randn({32, 2}), y = tg::randn({32, 1});
//   auto model = std::make_shared<tg::nn::Linear>(2, 1);
//   tg::optim::LBFGS opt(model->parameters(), tg::optim::LBFGSOptions(1.0).line_search_fn("strong_wolfe"));
//   for (int step = 0; step < 5; ++step)
//     opt.step([&] {
//       opt.zero_grad();
//       tg::Tensor loss = tg::nn::functional::mse_loss((*model)(x), y);
//       loss.backward();
//       return loss;
//     });
// @endcode
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include <tapegrad/optim/optimizer.hpp>

namespace tg::optim {

/// LBFGS settings, chainable. Defaults (PyTorch's): lr 1, max_iter 20, max_eval
/// max_iter * 5 / 4, tolerance_grad 1e-7, tolerance_change 1e-9, history_size 100,
/// line_search_fn "" (none; or "strong_wolfe").
class LBFGSOptions {
 public:
  /// The learning rate; every other setting at its default.
  LBFGSOptions(double lr = 1.0) : lr_(lr) {}  // NOLINT: implicit, so LBFGS(params, 1.0) works
  /// Setters: each changes one setting and returns *this for chaining.
  ///@{
  LBFGSOptions& lr(double v) { lr_ = v; return *this; }
  LBFGSOptions& max_iter(std::int64_t v) { max_iter_ = v; return *this; }
  /// Maximal closure evaluations per step; 0 means max_iter * 5 / 4.
  LBFGSOptions& max_eval(std::int64_t v) { max_eval_ = v; return *this; }
  LBFGSOptions& tolerance_grad(double v) { tolerance_grad_ = v; return *this; }
  LBFGSOptions& tolerance_change(double v) { tolerance_change_ = v; return *this; }
  LBFGSOptions& history_size(std::int64_t v) { history_size_ = v; return *this; }
  LBFGSOptions& line_search_fn(std::string v) { line_search_fn_ = std::move(v); return *this; }
  ///@}
  /// Getters of the settings above.
  ///@{
  double lr() const { return lr_; }
  std::int64_t max_iter() const { return max_iter_; }
  std::int64_t max_eval() const { return max_eval_ > 0 ? max_eval_ : max_iter_ * 5 / 4; }
  double tolerance_grad() const { return tolerance_grad_; }
  double tolerance_change() const { return tolerance_change_; }
  std::int64_t history_size() const { return history_size_; }
  const std::string& line_search_fn() const { return line_search_fn_; }
  ///@}

 private:
  double lr_;
  std::int64_t max_iter_ = 20;
  std::int64_t max_eval_ = 0;
  double tolerance_grad_ = 1e-7;
  double tolerance_change_ = 1e-9;
  std::int64_t history_size_ = 100;
  std::string line_search_fn_;
};

/// L-BFGS as torch.optim.LBFGS: each step(closure) runs up to max_iter iterations of
/// the two-loop recursion over the last history_size (s, y) pairs, with a fixed step
/// (lr; min(1, 1 / |g|_1) * lr on the very first iteration) or PyTorch's strong-Wolfe
/// line search (cubic interpolation, c1 = 1e-4, c2 = 0.9, at most 25 evaluations).
/// All parameters form one group (PyTorch refuses per-parameter options here too); the
/// algorithm runs in float64 whatever the parameters' dtype. The closure must clear the
/// gradients, compute the loss, call backward() and return the loss.
class LBFGS : public Optimizer {
 public:
  /// Throws std::invalid_argument for the parameter lists Optimizer refuses, a negative
  /// lr or tolerance, max_iter or history_size < 1, and an unknown line_search_fn.
  LBFGS(std::vector<Tensor> params, LBFGSOptions options = {});
  /// As above, for a braced list of parameters.
  LBFGS(std::initializer_list<Tensor> params, LBFGSOptions options = {}) : LBFGS(std::vector<Tensor>(params), options) {}
  /// Refused: L-BFGS re-evaluates the loss, so it needs step(closure).
  void step() override;
  /// Up to max_iter iterations; returns the loss of the closure's first evaluation.
  Tensor step(const Closure& closure) override;
  /// The settings given at construction.
  const LBFGSOptions& options() const { return options_; }
  /// Closure evaluations over all steps so far.
  std::int64_t func_evals() const { return func_evals_; }

  /// Optimizer::state_dict() plus "func_evals", "n_iter" (int64) and, after the first
  /// iteration, "d", "t", "H_diag", "prev_flat_grad", "prev_loss" and the history
  /// "old_dirs", "old_stps" ([k, n]), "ro" ([k]) when k > 0 pairs are stored (float64).
  std::vector<std::pair<std::string, Tensor>> state_dict() const override;
  void load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state,
                       const std::string& source = "state_dict") override;

 private:
  std::vector<double> flat_grad() const;
  std::vector<double> flat_params() const;
  void set_flat_params(const std::vector<double>& x);
  void add_to_params(double step, const std::vector<double>& d);
  double evaluate(const Closure& closure);

  LBFGSOptions options_;
  std::int64_t numel_ = 0;
  // PyTorch's state: counters, the last direction and step, the history, the last gradient.
  std::int64_t func_evals_ = 0, n_iter_ = 0;
  std::vector<double> d_, prev_flat_grad_, ro_;
  std::vector<std::vector<double>> old_dirs_, old_stps_;
  double t_ = 0, h_diag_ = 1, prev_loss_ = 0;
};

}  // namespace tg::optim
