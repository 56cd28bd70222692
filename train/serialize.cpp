// tg::save / tg::load for modules and optimizers: maps their named tensors to
// the checkpoint format (nn/checkpoint_format.cpp) and checks that a file fits
// the object before changing anything.
#include <map>

#include "core/dispatch.hpp"
#include "train/checkpoint_format.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/train/serialize.hpp>

namespace tg {
namespace {

constexpr const char* kModuleKind = "module";

std::string optimizer_kind(const optim::Optimizer& o) { return "optimizer:" + o.name(); }

// "module" -> "a module's parameters", "optimizer:SGD" -> "SGD optimizer state"
std::string describe_kind(const std::string& kind) {
  if (kind == kModuleKind) return "a module's parameters";
  if (kind.rfind("optimizer:", 0) == 0) return kind.substr(10) + " optimizer state";
  if (kind.rfind("scheduler:", 0) == 0) return kind.substr(10) + " scheduler state";
  return "'" + kind + "'";
}

nn::NamedTensors module_tensors(const nn::Module& module) {
  nn::NamedTensors all = module.named_parameters();
  for (auto& b : module.named_buffers()) all.push_back(std::move(b));
  return all;
}

template <class Scheduler> void save_scheduler(const Scheduler& s, const std::string& path) {
  detail::write_checkpoint(path, "scheduler:" + s.name(), s.state_dict());
}

template <class Scheduler> void load_scheduler(Scheduler& s, const std::string& path, const ReadLimits& limits) {
  detail::CheckpointContents file = detail::read_checkpoint(path, limits);
  if (file.kind != "scheduler:" + s.name())
    detail::fail("load: '", path, "' holds ", describe_kind(file.kind), ", not ", s.name(), " scheduler state");
  s.load_state_dict(file.tensors, path);
}

}  // namespace

void save(const nn::Module& module, const std::string& path) {
  detail::write_checkpoint(path, kModuleKind, module_tensors(module));
}

void load(nn::Module& module, const std::string& path, const ReadLimits& limits) {
  detail::CheckpointContents file = detail::read_checkpoint(path, limits);
  if (file.kind != kModuleKind)
    detail::fail("load: '", path, "' holds ", describe_kind(file.kind), ", not a module's parameters");
  std::map<std::string, Tensor> stored(file.tensors.begin(), file.tensors.end());
  const nn::NamedTensors wanted = module_tensors(module);
  const std::string model = module.type_name();
  // Check everything first, so a refused file leaves the model as it was.
  for (const auto& [name, t] : wanted) {
    auto it = stored.find(name);
    if (it == stored.end())
      detail::fail("load: '", path, "' has no tensor '", name, "', which the model (", model, ") needs");
    const Tensor& s = it->second;
    if (s.dtype() != t.dtype())
      detail::fail("load: tensor '", name, "' in '", path, "' is ", dtype_name(s.dtype()), ", but the model's is ",
                   dtype_name(t.dtype()));
    if (s.shape() != t.shape())
      detail::fail("load: tensor '", name, "' in '", path, "' has shape ", s.shape().str(), ", but the model's has shape ",
                   t.shape().str());
  }
  if (stored.size() != wanted.size())
    for (const auto& [name, t] : file.tensors) {
      bool known = false;
      for (const auto& w : wanted) known |= w.first == name;
      if (!known)
        detail::fail("load: '", path, "' has tensor '", name, "' ", t.shape().str(), ", which the model (", model,
                     ") does not have");
    }
  NoGradGuard no_grad;
  for (auto [name, t] : wanted) t.copy_(stored.at(name));
}

void save(const optim::Optimizer& optimizer, const std::string& path) {
  detail::write_checkpoint(path, optimizer_kind(optimizer), optimizer.state_dict());
}

void load(optim::Optimizer& optimizer, const std::string& path, const ReadLimits& limits) {
  detail::CheckpointContents file = detail::read_checkpoint(path, limits);
  if (file.kind != optimizer_kind(optimizer))
    detail::fail("load: '", path, "' holds ", describe_kind(file.kind), ", not ", optimizer.name(), " optimizer state");
  optimizer.load_state_dict(file.tensors, path);
}

void save(const optim::LRScheduler& scheduler, const std::string& path) { save_scheduler(scheduler, path); }
void save(const optim::ReduceLROnPlateau& scheduler, const std::string& path) { save_scheduler(scheduler, path); }
void load(optim::LRScheduler& scheduler, const std::string& path, const ReadLimits& limits) {
  load_scheduler(scheduler, path, limits);
}
void load(optim::ReduceLROnPlateau& scheduler, const std::string& path, const ReadLimits& limits) {
  load_scheduler(scheduler, path, limits);
}

}  // namespace tg
