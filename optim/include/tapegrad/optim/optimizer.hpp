// tapegrad — the optimizer base class (tg::optim::Optimizer).
//
// @code
//   tg::Tensor x = tg::randn({16, 3}), y = tg::randn({16, 1});
//   auto model = std::make_shared<tg::nn::Linear>(3, 1);
//   tg::optim::SGD opt(model->parameters(), tg::optim::SGDOptions(0.1).momentum(0.9));
//   for (int step = 0; step < 20; ++step) {
//     opt.zero_grad();
//     tg::nn::functional::mse_loss((*model)(x), y).backward();
//     opt.step();
//   }
// @endcode
//
// An optimizer holds the parameter handles (not copies) and per-parameter
// state. step() updates each parameter that has a gradient, in place, under
// NoGradGuard; parameters without a gradient are skipped, as in PyTorch.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg::optim {

/// Base of every optimizer: holds the parameter handles, the learning rate and
/// per-parameter state; subclasses implement step(). Not copyable.
class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  virtual void step() = 0;
  /// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=true)).
  void zero_grad();

  /// The learning rate used by the next step (schedulers change it).
  double lr() const { return lr_; }
  /// Sets the learning rate; must be >= 0.
  void set_lr(double lr);
  /// The parameters, in the order given to the constructor.
  const std::vector<Tensor>& parameters() const { return params_; }
  /// "SGD", "Adam", "AdamW".
  const std::string& name() const { return name_; }

  /// The state a checkpoint holds, as named tensors: "lr" (float64), "num_params"
  /// (int64), and per parameter i that has state: "step.i" (int64) and one
  /// tensor per buffer, e.g. "momentum_buffer.i", "exp_avg.i", "exp_avg_sq.i".
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Replaces the state by `state` (as produced by state_dict()). Everything is
  /// checked before anything changes: unknown or duplicate names, a parameter
  /// count that differs, buffers whose shape or dtype differ from their
  /// parameter's. Errors name the tensor and `source` (e.g. the file name).
  void load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state,
                       const std::string& source = "state_dict");

 protected:
  /// Checks the parameters (at least one; defined, float, leaves, no repeats).
  Optimizer(std::vector<Tensor> params, double lr, std::string name, std::vector<std::string> buffer_names);

  /// Per-parameter state: steps taken and the buffers named by buffer_names
  /// (undefined until the first step that needs them).
  struct ParamState {
    std::int64_t step = 0;        ///< updates applied to this parameter so far
    std::vector<Tensor> buffers;  ///< one per buffer name; use buffer() to read them
  };
  /// The gradient of parameter i, checked against it; undefined when it has none.
  Tensor grad_of(std::size_t i) const;
  /// Buffer b of parameter i, created as zeros like the parameter on first use
  /// (and converted if the parameter's dtype changed since).
  Tensor& buffer(std::size_t i, std::size_t b);

  std::vector<Tensor> params_;     ///< the parameter handles, as given to the constructor
  std::vector<ParamState> state_;  ///< state_[i] belongs to params_[i]
  double lr_;                      ///< the current learning rate (see lr(), set_lr())

 private:
  std::string name_;
  std::vector<std::string> buffer_names_;
};

}  // namespace tg::optim
