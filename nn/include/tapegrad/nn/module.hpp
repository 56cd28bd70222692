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
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
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

  /// The computation. Users call operator(), which adds the module path to errors.
  virtual Tensor forward(const Tensor& input) = 0;
  /// Runs forward(); std::invalid_argument raised inside is rethrown with this
  /// module's path and description as prefix.
  Tensor operator()(const Tensor& input);

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
  void add_child(const std::string& name, ModulePtr module);
  void check_new_name(const std::string& name, const char* what) const;

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
  bool training_ = true;
};

/// PyTorch-like printout: "Linear(in_features=2, out_features=1, bias=true)", or
/// for modules with children one "(name): child" line each, indented by two.
std::ostream& operator<<(std::ostream& os, const Module& module);

}  // namespace tg::nn
