// tg::optim::Optimizer: parameter checks, per-parameter state, and the
// state_dict used by checkpoints.
#include <cmath>
#include <map>
#include <unordered_set>

#include "core/dispatch.hpp"
#include "optim/hyperparameter.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tg::optim {

using tg::detail::fail;

Optimizer::Optimizer(std::vector<ParamGroup> groups, double default_lr, std::string name,
                     std::vector<std::string> buffer_names)
    : name_(std::move(name)), buffer_names_(std::move(buffer_names)) {
  group_begin_.push_back(0);
  for (ParamGroup& g : groups) {
    const auto lr = g.options.find("lr");
    group_lr_.push_back(lr == g.options.end() ? default_lr : lr->second);
    group_overrides_.push_back(std::move(g.options));
    for (Tensor& p : g.params) params_.push_back(std::move(p));
    group_begin_.push_back(params_.size());
  }
  if (params_.empty())
    fail(name_, ": got no parameters to optimize (an empty list; did the model register its parameters?)");
  std::unordered_set<const void*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined()) fail(name_, ": parameter ", i, " is undefined");
    if (!is_floating(p.dtype())) fail(name_, ": parameter ", i, " is ", describe(p), "; only float tensors can be optimized");
    if (!p.is_leaf())
      fail(name_, ": parameter ", i, " ", describe(p), " is not a leaf (it was produced by an op); optimize leaves");
    if (!seen.insert(p.id()).second) fail(name_, ": parameter ", i, " appears more than once in the list");
  }
  for (std::size_t g = 0; g < group_lr_.size(); ++g) check_nonnegative(group_owner(g), "learning rate", group_lr_[g]);
  state_.resize(params_.size());
  for (ParamState& s : state_) s.buffers.resize(buffer_names_.size());
}

Optimizer::~Optimizer() = default;

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

Tensor Optimizer::step(const Closure& closure) {
  Tensor loss;
  {
    const RecordingGuard recording;  // the closure records its forward pass even if the caller is under NoGradGuard
    loss = closure();
  }
  step();
  return loss;
}

double Optimizer::lr(std::size_t group) const {
  if (group >= group_lr_.size()) fail(name_, ": no parameter group ", group, " (it has ", group_lr_.size(), ")");
  return group_lr_[group];
}

void Optimizer::set_lr(double lr) {
  check_nonnegative(name_, "learning rate", lr);
  for (double& g : group_lr_) g = lr;
}

void Optimizer::set_lr(std::size_t group, double lr) {
  if (group >= group_lr_.size()) fail(name_, ": no parameter group ", group, " (it has ", group_lr_.size(), ")");
  check_nonnegative(group_owner(group), "learning rate", lr);
  group_lr_[group] = lr;
}

std::vector<Tensor> Optimizer::group_parameters(std::size_t group) const {
  if (group >= group_lr_.size()) fail(name_, ": no parameter group ", group, " (it has ", group_lr_.size(), ")");
  return {params_.begin() + static_cast<std::ptrdiff_t>(group_begin_[group]),
          params_.begin() + static_cast<std::ptrdiff_t>(group_begin_[group + 1])};
}

std::string Optimizer::group_owner(std::size_t g) const {
  return group_lr_.size() == 1 ? name_ : name_ + " parameter group " + std::to_string(g);
}

const std::vector<double>& Optimizer::initial_lrs() {
  if (initial_lrs_.empty()) initial_lrs_ = group_lr_;
  return initial_lrs_;
}

Tensor Optimizer::grad_of(std::size_t i) const {
  const Tensor g = params_[i].grad();
  if (!g.defined()) return g;
  if (g.shape() != params_[i].shape() || g.dtype() != params_[i].dtype())
    fail(name_, ": gradient ", describe(g), " of parameter ", i, " does not match the parameter ", describe(params_[i]));
  return g;
}

Tensor& Optimizer::buffer(std::size_t i, std::size_t b) {
  Tensor& buf = state_[i].buffers[b];
  if (!buf.defined()) {
    buf = zeros(params_[i].shape(), params_[i].dtype());
  } else if (buf.dtype() != params_[i].dtype()) {  // the model was converted with Module::to
    NoGradGuard no_grad;
    buf = buf.to(params_[i].dtype());
  }
  return buf;
}

void Optimizer::update_each(const std::function<void(std::size_t, std::size_t, const Tensor&)>& update) {
  NoGradGuard no_grad;
  for (std::size_t grp = 0; grp < num_groups(); ++grp) {
    const auto [begin, end] = group_range(grp);
    for (std::size_t i = begin; i < end; ++i) {
      const Tensor grad = grad_of(i);
      if (!grad.defined()) continue;
      update(grp, i, grad);
      params_[i].bump_version();
    }
  }
}

// ---- state_dict ------------------------------------------------------------------------

std::vector<std::pair<std::string, Tensor>> Optimizer::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  if (group_lr_.size() == 1)
    out.emplace_back("lr", scalar_tensor(group_lr_[0], kFloat64));
  else
    out.emplace_back("lr", tensor(group_lr_, kFloat64));
  out.emplace_back("num_params", tensor_i64({static_cast<std::int64_t>(params_.size())}, Shape{}));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const ParamState& s = state_[i];
    if (s.step == 0) continue;
    out.emplace_back("step." + std::to_string(i), tensor_i64({s.step}, Shape{}));
    for (std::size_t b = 0; b < buffer_names_.size(); ++b)
      if (s.buffers[b].defined()) out.emplace_back(buffer_names_[b] + "." + std::to_string(i), s.buffers[b].clone());
  }
  return out;
}

void Optimizer::load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state, const std::string& source) {
  auto refuse = [&](const std::string& tensor_name, const auto&... why) {
    fail("load: ", name_, " state in '", source, "': tensor '", tensor_name, "' ", why...);
  };
  auto scalar_of = [&](const std::string& n, const Tensor& t, Dtype want) {
    if (t.dtype() != want || t.dim() != 0)
      refuse(n, "must be a 0-d ", dtype_name(want), " tensor, found ", describe(t));
  };

  // Validate everything into a new state first; commit only if all of it fits.
  std::vector<ParamState> fresh(params_.size());
  for (ParamState& s : fresh) s.buffers.resize(buffer_names_.size());
  std::vector<double> new_lrs = group_lr_;
  bool have_lr = false, have_count = false;
  std::unordered_set<std::string> names;
  for (const auto& [n, t] : state) {
    if (!names.insert(n).second) refuse(n, "appears more than once");
    if (!t.defined()) refuse(n, "is undefined");
    if (n == "lr") {
      if (group_lr_.size() == 1) {
        scalar_of(n, t, kFloat64);
      } else if (t.dtype() != kFloat64 || t.dim() != 1 || t.numel() != static_cast<std::int64_t>(group_lr_.size())) {
        refuse(n, "must be a float64 tensor of ", group_lr_.size(), " learning rates (one per parameter group), found ",
               describe(t));
      }
      new_lrs = t.to_vector<double>();
      for (double lr : new_lrs)
        if (!(lr >= 0) || std::isinf(lr)) refuse(n, "holds the learning rate ", lr, " (must be finite and >= 0)");
      have_lr = true;
      continue;
    }
    if (n == "num_params") {
      scalar_of(n, t, kInt64);
      const auto count = t.item<std::int64_t>();
      if (count != static_cast<std::int64_t>(params_.size()))
        refuse(n, "says the state was saved for ", count, " parameters, but this optimizer has ", params_.size());
      have_count = true;
      continue;
    }
    // "<what>.<index>"
    const std::size_t dot = n.rfind('.');
    const std::string what = dot == std::string::npos ? n : n.substr(0, dot);
    const std::string index_text = dot == std::string::npos ? "" : n.substr(dot + 1);
    if (index_text.empty() || index_text.size() > 9 || index_text.find_first_not_of("0123456789") != std::string::npos)
      refuse(n, "is not part of ", name_, "'s state");
    const std::size_t i = std::stoul(index_text);
    if (i >= params_.size()) refuse(n, "refers to parameter ", i, ", but this optimizer has ", params_.size());
    if (what == "step") {
      scalar_of(n, t, kInt64);
      fresh[i].step = t.data<std::int64_t>()[0];  // exactly: through double, counts above 2^53 would change
      if (fresh[i].step <= 0) refuse(n, "holds step count ", fresh[i].step, " (must be positive)");
      continue;
    }
    std::size_t b = 0;
    while (b < buffer_names_.size() && buffer_names_[b] != what) ++b;
    if (b == buffer_names_.size()) refuse(n, "is not part of ", name_, "'s state");
    const Tensor& p = params_[i];
    if (t.dtype() != p.dtype())
      refuse(n, "has dtype ", dtype_name(t.dtype()), ", but parameter ", i, " is ", dtype_name(p.dtype()));
    if (t.shape() != p.shape())
      refuse(n, "has shape ", t.shape().str(), ", but parameter ", i, " has shape ", p.shape().str());
    // Values no optimizer could have produced: non-finite ones anywhere, negative
    // ones in a running average of squares (Adam's exp_avg_sq).
    const std::vector<double> values = t.to_vector<double>();
    for (std::size_t k = 0; k < values.size(); ++k) {
      if (!std::isfinite(values[k])) refuse(n, "holds ", values[k], " at element ", k);
      if (what.size() > 3 && what.compare(what.size() - 3, 3, "_sq") == 0 && values[k] < 0)
        refuse(n, "holds ", values[k], " at element ", k, ", but it is a running average of squares");
    }
    fresh[i].buffers[b] = t.clone();
  }
  if (!have_lr) refuse("lr", "is missing");
  if (!have_count) refuse("num_params", "is missing");
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    bool any_buffer = false;
    for (const Tensor& buf : fresh[i].buffers) any_buffer |= buf.defined();
    if (any_buffer && fresh[i].step == 0) refuse("step." + std::to_string(i), "is missing");
  }
  group_lr_ = std::move(new_lrs);
  state_ = std::move(fresh);
}

}  // namespace tg::optim
