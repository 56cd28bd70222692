// tg::nn::Module: registration, traversal, modes, dtype conversion, printing,
// and the error path that operator() adds to exceptions raised inside a module.
#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <ostream>
#include <stdexcept>
#include <typeinfo>
#include <unordered_set>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/module.hpp>

namespace tg::nn {
namespace {

// An error raised inside a module call, carrying what the calling modules need
// to prefix their part of the path. what() is the full message at every level:
//   <root type><path> <origin>: <detail>      e.g. "Sequential[7] Linear(196->8): input has ..."
// or, raised by the outermost module itself:  "<origin>: <detail>".
class ModuleError : public std::invalid_argument {
 public:
  ModuleError(const Module* raised_by, std::string path, std::string origin, std::string detail)
      : std::invalid_argument(compose(raised_by, path, origin, detail)),
        raised_by(raised_by),
        path(std::move(path)),
        origin(std::move(origin)),
        detail(std::move(detail)) {}

  const Module* raised_by;  // the module whose operator() built this error
  std::string path;         // from raised_by down to the module that failed ("[7]", ".features[3]")
  std::string origin;       // brief() of the module that failed
  std::string detail;       // the original message

 private:
  static std::string compose(const Module* by, const std::string& path, const std::string& origin,
                             const std::string& detail) {
    if (path.empty()) return origin + ": " + detail;
    return by->type_name() + path + " " + origin + ": " + detail;
  }
};

// "features.3" -> ".features[3]": indices read like subscripts, names like members.
std::string format_path(const std::string& dotted) {
  std::string out;
  std::size_t start = 0;
  while (start < dotted.size()) {
    std::size_t end = dotted.find('.', start);
    if (end == std::string::npos) end = dotted.size();
    const std::string part = dotted.substr(start, end - start);
    const bool index = part.find_first_not_of("0123456789") == std::string::npos;
    out += index ? "[" + part + "]" : "." + part;
    start = end + 1;
  }
  return out;
}

std::string join(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  return name.empty() ? prefix : prefix + "." + name;
}

void collect_tensors(const Module& m, const std::string& prefix, bool recurse, bool want_buffers,
                     const NamedTensors& own, NamedTensors& out, std::unordered_set<const void*>& seen) {
  for (const auto& [name, t] : own)
    if (seen.insert(t.id()).second) out.emplace_back(join(prefix, name), t);
  if (!recurse) return;
  for (const auto& [name, child] : m.named_children()) {
    const NamedTensors child_own = want_buffers ? child->named_buffers(false) : child->named_parameters(false);
    collect_tensors(*child, join(prefix, name), true, want_buffers, child_own, out, seen);
  }
}

void print(std::ostream& os, const Module& m, int indent) {
  os << m.type_name() << '(';
  const auto children = m.named_children();
  const std::string extra = m.extra_repr();
  if (children.empty()) {
    os << extra << ')';
    return;
  }
  const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
  os << '\n';
  if (!extra.empty()) os << pad << extra << '\n';
  for (const auto& [name, child] : children) {
    os << pad << '(' << name << "): ";
    print(os, *child, indent + 2);
    os << '\n';
  }
  os << std::string(static_cast<std::size_t>(indent), ' ') << ')';
}

}  // namespace

// The forward hooks of one module, each with the id its handle removes it by.
// Handles hold the list weakly: removing after the module is gone does nothing.
struct Module::Hooks {
  std::vector<std::pair<std::uint64_t, ForwardPreHook>> pre;
  std::vector<std::pair<std::uint64_t, ForwardHook>> post;
  std::uint64_t next_id = 0;
};

namespace {
template <class HookSet, class List>
RemovableHandle add_hook(const std::shared_ptr<HookSet>& hooks, List& list, typename List::value_type::second_type hook) {
  const std::uint64_t id = hooks->next_id++;
  list.emplace_back(id, std::move(hook));
  return RemovableHandle([weak = std::weak_ptr<HookSet>(hooks), &list, id] {
    if (weak.lock())  // `list` lives in the Hooks object, so it is alive too
      list.erase(std::remove_if(list.begin(), list.end(), [id](const auto& h) { return h.first == id; }), list.end());
  });
}
}  // namespace

Module::~Module() = default;

Tensor Module::forward(const Tensor&) {
  // operator() adds the module path and brief() in front.
  tg::detail::fail("no one-tensor forward(): it takes several inputs, call it through its own operator()");
}

Tensor Module::operator()(const Tensor& input) {
  if (!hooks_) return with_module_path([&] { return forward(input); });
  // Copies: a hook may remove itself (or register another) while they run.
  const auto pre = hooks_->pre;
  const auto post = hooks_->post;
  return with_module_path([&] {
    Tensor x = input;
    for (const auto& [id, hook] : pre)
      if (Tensor replaced = hook(*this, x); replaced.defined()) x = replaced;
    Tensor y = forward(x);
    for (const auto& [id, hook] : post)
      if (Tensor replaced = hook(*this, x, y); replaced.defined()) y = replaced;
    return y;
  });
}

void Module::rethrow_with_path() const {
  try {
    throw;
  } catch (const ModuleError& e) {
    // Raised in a submodule: extend the path from this module down to it.
    std::string path = e.path;
    for (const auto& [name, m] : named_modules())
      if (m == e.raised_by && !name.empty()) {
        path = format_path(name) + path;
        break;
      }
    throw ModuleError(this, path, e.origin, e.detail);
  } catch (const std::invalid_argument& e) {
    throw ModuleError(this, "", brief(), e.what());
  }
}

RemovableHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  if (!hook) tg::detail::fail(type_name(), ".register_forward_pre_hook: the hook is empty");
  if (!hooks_) hooks_ = std::make_shared<Hooks>();
  return add_hook(hooks_, hooks_->pre, std::move(hook));
}

RemovableHandle Module::register_forward_hook(ForwardHook hook) {
  if (!hook) tg::detail::fail(type_name(), ".register_forward_hook: the hook is empty");
  if (!hooks_) hooks_ = std::make_shared<Hooks>();
  return add_hook(hooks_, hooks_->post, std::move(hook));
}

// ---- registration --------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what) const {
  if (name.empty() || name.find('.') != std::string::npos)
    tg::detail::fail(type_name(), ": cannot register ", what, " '", name, "': names must be non-empty and contain no '.'");
  auto taken = [&](const auto& list) {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_))
    tg::detail::fail(type_name(), ": cannot register ", what, " '", name, "': the name is already used");
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "parameter");
  tg::detail::check_floating(tensor, "Module::register_parameter");
  if (!tensor.is_leaf()) tensor = tensor.detach();  // parameters are leaves of the tape
  tensor.requires_grad_(requires_grad);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, "buffer");
  tg::detail::check_defined(tensor, "Module::register_buffer");
  buffers_.emplace_back(name, tensor);
  return tensor;
}

void Module::add_child(const std::string& name, ModulePtr module) {
  check_new_name(name, "submodule");
  if (!module) tg::detail::fail(type_name(), ": cannot register submodule '", name, "': it is null");
  if (module.get() == this) tg::detail::fail(type_name(), ": cannot register a module as its own submodule");
  children_.emplace_back(name, std::move(module));
}

// ---- traversal ------------------------------------------------------------------

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  std::unordered_set<const void*> seen;
  collect_tensors(*this, "", recurse, false, parameters_, out, seen);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  std::unordered_set<const void*> seen;
  collect_tensors(*this, "", recurse, true, buffers_, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& entry : named_parameters(recurse)) out.push_back(std::move(entry.second));
  return out;
}

std::vector<std::pair<std::string, ModulePtr>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out{{"", this}};
  for (const auto& [name, child] : children_)
    for (const auto& [sub, m] : child->named_modules()) out.emplace_back(join(name, sub), m);
  return out;
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

// ---- modes, gradients, dtype -------------------------------------------------------

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

Module& Module::to(Dtype dtype) {
  if (!is_floating(dtype)) tg::detail::fail(type_name(), ".to: parameters must be float32 or float64, not ", dtype_name(dtype));
  NamedTensors all = named_parameters();
  for (auto& b : named_buffers()) all.push_back(b);
  NoGradGuard no_grad;
  for (auto& [name, t] : all) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) continue;
    // Swap the storage under the existing handle (PyTorch's `param.data = ...`),
    // so every holder of this tensor (members, optimizers) sees the new dtype.
    t.set_data(t, dtype);
  }
  return *this;
}

// ---- description ---------------------------------------------------------------------

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  // Drop namespaces ("tg::nn::Linear" -> "Linear"), but not inside template arguments.
  const std::size_t stop = name.find('<');
  const std::size_t colon = name.rfind("::", stop);
  if (colon != std::string::npos) name = name.substr(colon + 2);
  return name;
}

std::string Module::brief() const {
  const std::string extra = extra_repr();
  return extra.empty() ? type_name() : type_name() + "(" + extra + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& module) {
  print(os, module, 0);
  return os;
}

}  // namespace tg::nn
