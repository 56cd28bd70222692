// tapegrad — tg::nn::Module, the base of every layer and model.
//
// A Module owns named parameters (tensors that require grad), named buffers
// (state that is saved but not trained) and named submodules, held by
// shared_ptr as libtorch's module holders are:
//
// <!-- snippet: file -->
// @code
//   struct Net : tg::nn::Module {
//     std::shared_ptr<tg::nn::Linear> fc1, fc2;
//     Net() {
//       fc1 = register_module("fc1", std::make_shared<tg::nn::Linear>(784, 32));
//       fc2 = register_module("fc2", std::make_shared<tg::nn::Linear>(32, 10));
//     }
//     tg::Tensor forward(const tg::Tensor& x) override { return (*fc2)(tg::relu((*fc1)(x))); }
//   };
// @endcode
//
// @code
//   auto net = std::make_shared<Net>();
//   tg::Tensor logits = (*net)(tg::randn({2, 784}));   // [2,10]
//   tg::sum(logits).backward();                        // fills net->fc1->weight.grad(), ...
// @endcode
//
// Call modules with operator(), not forward(): operator() puts the module's
// path into errors raised inside it, e.g.
//   "Sequential[7] Linear(196->8): input has 200 features, expected 196".
// Nothing here computes a gradient by hand: forward() uses differentiable ops
// and backward comes from the tape.
//
// Forward hooks (PyTorch's register_forward_pre_hook / register_forward_hook)
// watch or change what a module gets and returns without editing it:
// register_forward_pre_hook(hook) runs hook(module, input) before forward,
// register_forward_hook(hook) runs hook(module, input, output) after it; a hook
// returning a tensor replaces the input (output), one returning an undefined
// Tensor or nothing (void) keeps it. Each returns a RemovableHandle.
//
// A module taking several tensors (attention's q, k, v; a bilinear form)
// declares its own operator() and runs its body through with_module_path(),
// which gives errors inside it the same module-path prefix:
//
// <!-- snippet: file -->
// @code
//   struct Bilinear : tg::nn::Module {   // a^T W b for each row pair
//     tg::Tensor weight;
//     explicit Bilinear(std::int64_t n) { weight = register_parameter("weight", tg::randn({n, n})); }
//     using Module::operator();           // keep the one-tensor call visible
//     tg::Tensor operator()(const tg::Tensor& a, const tg::Tensor& b) {
//       return with_module_path([&] { return tg::sum(tg::matmul(a, weight) * b, {1}); });
//     }
//   };
// @endcode
//
// @code
//   Bilinear bilinear(3);
//   tg::Tensor scores = bilinear(tg::randn({2, 3}), tg::randn({2, 3}));   // [2]
//   tg::RemovableHandle h = bilinear.register_forward_hook(
//       [](tg::nn::Module& m, const tg::Tensor& x, const tg::Tensor& y) { /* log m.brief(), y.shape() */ });
//   h.remove();
// @endcode
//
// Such a module need not override the one-tensor forward(): the default throws
// std::invalid_argument naming the module. Forward hooks run only in the
// one-tensor operator() (they take one input).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg::nn {

/// (name, tensor) pairs in registration order; names are paths such as "features.0.weight".
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module;
/// How modules are held and shared: submodules, Sequential children, model handles.
using ModulePtr = std::shared_ptr<Module>;

/// Base of every layer and model: override forward(), register parameters,
/// buffers and submodules in the constructor, and call the module with
/// operator() (see the top of this file). Not copyable.
class Module {
 public:
  Module() = default;
  virtual ~Module();
  // Modules share their tensors through handles; a copy would silently alias them.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation. Users call operator(), which adds the module path to
  /// errors. The default throws std::invalid_argument naming the module: a
  /// module that takes several tensors has its own operator() instead.
  virtual Tensor forward(const Tensor& input);
  /// Runs the forward pre-hooks, forward() and the forward hooks; std::invalid_argument
  /// raised inside is rethrown with this module's path and description as prefix.
  Tensor operator()(const Tensor& input);

  // ---- forward hooks ---------------------------------------------------------------
  /// Runs before forward() with the module and its input; returns a replacement
  /// input, or an undefined Tensor to keep it.
  using ForwardPreHook = std::function<Tensor(Module&, const Tensor& input)>;
  /// Runs after forward() with the module, its input (after the pre-hooks) and
  /// its output; returns a replacement output, or an undefined Tensor to keep it.
  using ForwardHook = std::function<Tensor(Module&, const Tensor& input, const Tensor& output)>;
  /// Registers a hook run by operator() before forward(), after the ones
  /// registered earlier (each sees the input the previous one left). It stays
  /// until the handle's remove(); throws std::invalid_argument when empty.
  RemovableHandle register_forward_pre_hook(ForwardPreHook hook);
  /// Registers a hook run by operator() after forward(), in registration order
  /// (each sees the output the previous one left); as register_forward_pre_hook.
  RemovableHandle register_forward_hook(ForwardHook hook);
  /// Inspecting hooks (returning nothing): they see the call and change nothing.
  ///@{
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F, Module&, const Tensor&>>, int> = 0>
  RemovableHandle register_forward_pre_hook(F inspect) {
    return register_forward_pre_hook(ForwardPreHook([inspect = std::move(inspect)](Module& m, const Tensor& x) {
      inspect(m, x);
      return Tensor();
    }));
  }
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F, Module&, const Tensor&, const Tensor&>>,
                                      int> = 0>
  RemovableHandle register_forward_hook(F inspect) {
    return register_forward_hook(ForwardHook([inspect = std::move(inspect)](Module& m, const Tensor& x, const Tensor& y) {
      inspect(m, x, y);
      return Tensor();
    }));
  }
  ///@}

  // ---- parameters, buffers, submodules ---------------------------------------
  /// Every parameter of this module and (with recurse) of its submodules, in
  /// registration order, each tensor once.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Parameters with their paths: "weight", "0.bias", "features.conv1.weight".
  NamedTensors named_parameters(bool recurse = true) const;
  /// Buffers with their paths, as named_parameters.
  NamedTensors named_buffers(bool recurse = true) const;
  /// Direct submodules with their names.
  std::vector<std::pair<std::string, ModulePtr>> named_children() const;
  /// This module (path "") and every submodule below it, depth first.
  std::vector<std::pair<std::string, const Module*>> named_modules() const;
  /// Total number of parameter elements.
  std::int64_t num_parameters() const;

  // ---- modes and gradients -----------------------------------------------------
  /// Sets training mode on this module and every submodule (Dropout reads it).
  void train(bool on = true);
  /// Same as train(false).
  void eval() { train(false); }
  /// True in training mode (the default), false after eval().
  bool is_training() const { return training_; }
  /// Drops the gradient of every parameter (PyTorch's zero_grad(set_to_none=true)).
  void zero_grad();
  /// Converts every floating-point parameter and buffer to `dtype` in place:
  /// the tensor handles stay the same, so an optimizer built earlier still
  /// holds them. Gradients are dropped. Returns *this.
  Module& to(Dtype dtype);

  // ---- description ---------------------------------------------------------------
  /// The class name without namespaces ("Linear", or the user's "Net").
  std::string type_name() const;
  /// The settings shown inside the parentheses of the printout, PyTorch style
  /// ("in_features=2, out_features=16, bias=true"); empty by default.
  virtual std::string extra_repr() const { return ""; }
  /// The short description used in error messages, e.g. "Linear(196->8)";
  /// defaults to type_name() followed by "(extra_repr)" when that is not empty.
  virtual std::string brief() const;

 protected:
  /// Runs body() (any callable) and rethrows std::invalid_argument raised inside
  /// with this module's path and description as prefix, as operator() does; a
  /// module taking several tensors wraps its own operator()'s body in it.
  template <class F> decltype(auto) with_module_path(F&& body) {
    try {
      return body();
    } catch (const std::invalid_argument&) {
      rethrow_with_path();
    }
  }

  /// Registers a parameter under `name` (no dots, unique) and marks it
  /// requires_grad. Returns the same handle, for storing in a member.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Registers a buffer: saved in checkpoints and converted by to(), not trained.
  Tensor register_buffer(const std::string& name, Tensor tensor);
  /// Registers a submodule under `name` and returns it, typed.
  template <class M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  struct Hooks;
  [[noreturn]] void rethrow_with_path() const;
  void add_child(const std::string& name, ModulePtr module);
  void check_new_name(const std::string& name, const char* what) const;

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
  bool training_ = true;
  std::shared_ptr<Hooks> hooks_;  // null until a hook is registered; handles hold it weakly
};

/// PyTorch-like printout: "Linear(in_features=2, out_features=1, bias=true)", or
/// for modules with children one "(name): child" line each, indented by two.
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace tg::nn
