// Private: the tape's node type and the engine's hook interface (core/autograd.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::autograd {

/// Where the gradient of one input goes: to the node that produced it, or
/// into a leaf's .grad(), or nowhere (the input does not require grad).
struct Edge {
  std::shared_ptr<Node> node;         ///< the op that produced the input, or null
  std::shared_ptr<TensorImpl> leaf;   ///< the leaf whose .grad() receives it, or null
  Shape shape;                        ///< the input's shape, checked against its gradient
  Dtype dtype = kFloat32;             ///< a float gradient of the other dtype is converted to it
  bool needs_grad() const { return node || leaf; }
};

/// The gradient hooks of one tensor (Tensor::register_hook), in registration
/// order: a leaf keeps them in its TensorImpl, a non-leaf in its grad_fn node,
/// so they outlive the handle they were registered through, as in PyTorch.
struct GradHooks {
  std::vector<std::pair<std::uint64_t, std::function<Tensor(const Tensor&)>>> hooks;
  std::uint64_t next_id = 0;
};

/// The engine's node: the public Node plus its inputs and its rule.
struct TapeNode final : Node, std::enable_shared_from_this<TapeNode> {
  TapeNode(std::string name, std::vector<Edge> inputs, BackwardFn backward);
  /// Frees long chains of upstream nodes iteratively, so deep graphs cannot overflow the stack.
  ~TapeNode() override;

  std::vector<Edge> inputs;
  NeedsGrad needs;
  BackwardFn backward;
  /// Set by Tensor::retain_grad on a non-leaf: its gradient is kept in its .grad().
  std::weak_ptr<TensorImpl> retained_output;
  /// Hooks registered on the node's output (null until one is).
  std::shared_ptr<GradHooks> output_hooks;

  void release() {
    released_ = true;
    backward = nullptr;
  }
};

/// Observers of the engine, installed per thread (anomaly detection, the
/// profiler): the engine calls every installed hook, and knows none of them.
struct EngineHook {
  virtual ~EngineHook() = default;
  /// An op was recorded with this output.
  virtual void on_record(const TapeNode& node, const Tensor& output) {}
  /// The same moment, with the op's inputs as passed to record() (tracing for export).
  virtual void on_record_inputs(const TapeNode& node, const std::vector<Tensor>& inputs, const Tensor& output) {}
  /// A node's rule is about to run / has returned these gradients (already checked).
  virtual void before_backward(const TapeNode& node) {}
  virtual void after_backward(const TapeNode& node, const Grads& grads) {}
  /// A backward pass finished.
  virtual void on_backward_end() {}
};

/// Installs `hook` in this thread for the guard's lifetime (hooks nest).
class InstallHook {
 public:
  explicit InstallHook(EngineHook* hook);
  ~InstallHook();
  InstallHook(const InstallHook&) = delete;
  InstallHook& operator=(const InstallHook&) = delete;

 private:
  EngineHook* hook_;
};

/// Makes the node that produced `t` keep its output gradient in t.grad().
void retain_output_grad(const Tensor& t);

/// The check every in-place op (`op`: its name) makes first, as in PyTorch:
/// refuses an undefined `self`, a leaf that requires grad while grad mode is on,
/// and what check_inplace_view refuses. `others`: the op's tensor operands.
void check_inplace(const Tensor& self, const char* op, const std::vector<Tensor>& others = {});
/// With grad mode on, refuses to change in place a view (TensorImpl::view_base)
/// of a living base when the base, the view or one of `others` requires grad:
/// the change reaches the base, whose recorded history tapegrad does not rewrite
/// (PyTorch's CopySlices), so a gradient through the base would silently be wrong.
void check_inplace_view(const Tensor& self, const char* op, const std::vector<Tensor>& others);

/// Records an in-place op that has just changed `self`: self keeps its handle
/// and gets a new grad_fn, a node named `name` whose inputs are self's values
/// before the op (input 0, carrying self's old history) and `others`;
/// `backward` returns one gradient per input in that order. Call it only when
/// needs_grad(self, others...), after the op's version bump, so that an output
/// it saves (SavedTensor::output(self)) holds the new version.
void record_inplace(std::string name, Tensor& self, const std::vector<Tensor>& others, BackwardFn backward);

}  // namespace tg::autograd
