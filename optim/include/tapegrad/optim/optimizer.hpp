// tapegrad — the optimizer base class (tg::optim::Optimizer) and parameter groups.
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
//   // Parameter groups: the bias without weight decay and at a smaller lr.
//   auto other = std::make_shared<tg::nn::Linear>(3, 1);
//   tg::optim::SGD grouped({tg::optim::ParamGroup({other->weight}),
//                           tg::optim::ParamGroup({other->bias}, {{"weight_decay", 0.0}, {"lr", 0.01}})},
//                          tg::optim::SGDOptions(0.1).weight_decay(1e-4));
// @endcode
//
// An optimizer holds the parameter handles (not copies) and per-parameter
// state. step() updates each parameter that has a gradient, in place, under
// NoGradGuard; parameters without a gradient are skipped, as in PyTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg::optim {

/// Parameters that share hyper-parameters, as PyTorch's param_groups entries:
/// `options` overrides the optimizer's defaults by name for this group only, e.g.
/// {{"lr", 0.01}, {"weight_decay", 0.0}}. The names are those of the optimizer's
/// options class ("beta1"/"beta2" for Adam's betas; booleans as 0 or 1); an
/// unknown name is refused by the optimizer's constructor.
struct ParamGroup {
  /// `params` with `options` overriding the optimizer's defaults.
  ParamGroup(std::vector<Tensor> params, std::map<std::string, double> options = {})  // NOLINT: implicit, for braces
      : params(std::move(params)), options(std::move(options)) {}
  std::vector<Tensor> params;             ///< the group's parameters
  std::map<std::string, double> options;  ///< overrides of the defaults, by name
};

/// Base of every optimizer: holds the parameter handles in groups, each group's
/// learning rate and per-parameter state; subclasses implement step(). Not copyable.
class Optimizer {
 public:
  /// Re-evaluates the model: clears the gradients, computes the loss, calls
  /// backward() and returns the loss (PyTorch's closure).
  using Closure = std::function<Tensor()>;

  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  virtual void step() = 0;
  /// Calls `closure` (with gradients recorded) and then step(); returns the
  /// closure's loss. LBFGS calls the closure as often as its line search needs.
  virtual Tensor step(const Closure& closure);
  /// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=true)).
  void zero_grad();

  /// The learning rate of the first parameter group (the only one, unless groups were given).
  double lr() const { return group_lr_[0]; }
  /// The learning rate of parameter group `group`.
  double lr(std::size_t group) const;
  /// Sets the learning rate of every group; must be >= 0.
  void set_lr(double lr);
  /// Sets the learning rate of parameter group `group`; must be >= 0.
  void set_lr(std::size_t group, double lr);
  /// Number of parameter groups (1 when constructed from a plain parameter list).
  std::size_t num_groups() const { return group_lr_.size(); }
  /// The parameters, all groups in order.
  const std::vector<Tensor>& parameters() const { return params_; }
  /// The parameters of group `group`.
  std::vector<Tensor> group_parameters(std::size_t group) const;
  /// "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS".
  const std::string& name() const { return name_; }

  /// Each group's learning rate when the first scheduler was attached (PyTorch's
  /// "initial_lr"): the base every scheduler scales. The first call records them.
  const std::vector<double>& initial_lrs();

  /// The state a checkpoint holds, as named tensors: "lr" (float64; 0-d for one
  /// group, else one value per group), "num_params" (int64), and per parameter i
  /// (counted over all groups) that has state: "step.i" (int64) and one tensor per
  /// buffer, e.g. "momentum_buffer.i", "exp_avg.i", "exp_avg_sq.i".
  virtual std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Replaces the state by `state` (as produced by state_dict()). Everything is
  /// checked before anything changes: unknown or duplicate names, a parameter
  /// or group count that differs, buffers whose shape or dtype differ from their
  /// parameter's. Errors name the tensor and `source` (e.g. the file name).
  virtual void load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state,
                               const std::string& source = "state_dict");

 protected:
  /// Checks the parameters (at least one over all groups; defined, float, leaves,
  /// no repeats) and takes each group's lr from its "lr" override or `default_lr`.
  Optimizer(std::vector<ParamGroup> groups, double default_lr, std::string name,
            std::vector<std::string> buffer_names);

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
  /// The option overrides group g was given (see ParamGroup).
  const std::map<std::string, double>& group_overrides(std::size_t g) const { return group_overrides_[g]; }
  /// "SGD" for a single group, "SGD parameter group 1" otherwise: the owner named in errors.
  std::string group_owner(std::size_t g) const;
  /// Index range [first, second) of group g's parameters in params_.
  std::pair<std::size_t, std::size_t> group_range(std::size_t g) const { return {group_begin_[g], group_begin_[g + 1]}; }
  /// The loop of a step() that updates parameter by parameter: under NoGradGuard,
  /// calls `update(group, i, grad)` for every parameter i that has a gradient, then
  /// bumps its version (a backward that saved it must not run on the stepped values).
  void update_each(const std::function<void(std::size_t group, std::size_t i, const Tensor& grad)>& update);

  std::vector<Tensor> params_;     ///< the parameter handles, all groups in order
  std::vector<ParamState> state_;  ///< state_[i] belongs to params_[i]
  std::vector<double> group_lr_;   ///< each group's current learning rate (see lr(), set_lr())

 private:
  std::string name_;
  std::vector<std::string> buffer_names_;
  std::vector<std::size_t> group_begin_;  // group g is params_[group_begin_[g], group_begin_[g + 1])
  std::vector<std::map<std::string, double>> group_overrides_;
  std::vector<double> initial_lrs_;
};

}  // namespace tg::optim
