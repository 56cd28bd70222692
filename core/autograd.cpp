// The tape: recording nodes, and the engine that runs them backward.
//
// The engine itself only orders nodes, calls each rule with its NeedsGrad mask,
// checks what the rule returned and routes the gradients. Anomaly detection and
// the profiler are EngineHooks installed around it (bottom of this file).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "core/accumulate.hpp"
#include "core/dispatch.hpp"
#include "core/engine.hpp"
#include "core/pointer_map.hpp"
#include "core/tensor_impl.hpp"
#include <tapegrad/core/autograd.hpp>

namespace tg {

namespace {
thread_local bool grad_enabled = true;
thread_local bool inference_enabled = false;
thread_local std::vector<autograd::EngineHook*> hooks;
std::atomic<std::int64_t> live_node_count{0};

// Destroying the last handle of a long graph would otherwise recurse once per
// node (node -> closure -> saved tensor -> its grad_fn -> ...) and overflow the
// stack after ~100k ops. Instead, a node being destroyed hands its upstream
// nodes and its closure to this per-thread list, and the outermost destructor
// frees them one at a time.
struct Graveyard {
  std::vector<std::shared_ptr<autograd::Node>> nodes;
  std::vector<autograd::BackwardFn> closures;
  bool draining = false;
};
thread_local Graveyard graveyard;
}  // namespace

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool on) { grad_enabled = on; }
bool InferenceMode::is_enabled() { return inference_enabled; }
void InferenceMode::set_enabled(bool on) { inference_enabled = on; }

namespace autograd {

TapeNode::TapeNode(std::string name, std::vector<Edge> in, BackwardFn fn)
    : Node(std::move(name)), inputs(std::move(in)), backward(std::move(fn)) {
  std::vector<bool> mask;
  for (const Edge& e : inputs) mask.push_back(e.needs_grad());
  needs = NeedsGrad(std::move(mask));
  live_node_count.fetch_add(1, std::memory_order_relaxed);
}

TapeNode::~TapeNode() {
  live_node_count.fetch_sub(1, std::memory_order_relaxed);
  Graveyard& g = graveyard;
  for (Edge& e : inputs)
    if (e.node) g.nodes.push_back(std::move(e.node));
  if (backward) g.closures.push_back(std::move(backward));
  if (g.draining) return;
  g.draining = true;
  while (!g.nodes.empty() || !g.closures.empty()) {
    if (!g.closures.empty()) {
      BackwardFn fn = std::move(g.closures.back());
      g.closures.pop_back();
    } else {
      std::shared_ptr<Node> n = std::move(g.nodes.back());
      g.nodes.pop_back();
    }
  }
  g.draining = false;
}

InstallHook::InstallHook(EngineHook* hook) : hook_(hook) { hooks.push_back(hook); }
InstallHook::~InstallHook() { hooks.erase(std::find(hooks.begin(), hooks.end(), hook_)); }

std::int64_t live_nodes() { return live_node_count.load(std::memory_order_relaxed); }

bool needs_grad_list(const std::vector<Tensor>& ts) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : ts)
    if (t.requires_grad()) return true;
  return false;
}

// ---------------------------------------------------------------------------
// Saved tensors
// ---------------------------------------------------------------------------
namespace {
// The node whose rule this thread is running, named by SavedTensor's error and
// re-attached to a saved output under create_graph.
thread_local TapeNode* running_node = nullptr;

// The backward pass this thread is running (0: none), unique per pass: the
// outputs of a several-output op hand their gradients over within one pass.
thread_local std::uint64_t current_pass = 0;
std::atomic<std::uint64_t> pass_counter{0};

// a + g, recorded when grad mode is on (under create_graph), in place otherwise.
void add_into(Tensor& acc, const Tensor& g) {
  if (!GradMode::is_enabled()) return detail::accumulate_into(acc, g);
  acc = acc.defined() ? detail::add_gradients(acc, g) : g;
}

struct RunningNode {
  TapeNode* prev;
  explicit RunningNode(TapeNode* n) : prev(running_node) { running_node = n; }
  ~RunningNode() { running_node = prev; }
};
}  // namespace

// ---------------------------------------------------------------------------
// Ops with several outputs (see Context::record_outputs in the header)
// ---------------------------------------------------------------------------
// What the hidden node and the thin output nodes of one op call share: the
// outputs' shapes, and the gradients the thin nodes handed over in `pass`.
// It holds no node, so it makes no cycle.
struct OutputGroup {
  std::string name;
  const Node* node = nullptr;  // the hidden node, which runs the op's rule
  Dtype link_dtype = kFloat32;  // of the hidden node's scalar output
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  std::vector<Tensor> grads;
  std::uint64_t pass = 0;
};

namespace {
// The rule of output k's thin node: hands its gradient to the group and sends
// the hidden node a zero, so that it runs (after every thin node, by topological order).
BackwardFn hand_over(const std::shared_ptr<OutputGroup>& group, std::size_t k) {
  return [group, k](const Tensor& gy, const NeedsGrad&) -> Grads {
    OutputGroup& g = *group;
    if (g.pass != current_pass) {  // the first hand-over of this pass: older ones are stale
      g.grads.assign(g.shapes.size(), Tensor());
      g.pass = current_pass;
    }
    add_into(g.grads[k], gy);
    return {zeros({}, g.link_dtype)};
  };
}

std::string output_node_name(const OutputGroup& g, std::size_t k) { return g.name + "[" + std::to_string(k) + "]"; }

// A saved output k read by the group's rule under create_graph: its data as
// the output of a new thin node on the running hidden node, so what the rule
// computes from it is differentiated through the op (as SavedTensor::output).
Tensor reattach_output(const std::shared_ptr<OutputGroup>& group, std::size_t k, const Tensor& data) {
  if (running_node != group->node) return data;  // read outside the op's own backward
  Tensor link = zeros({}, group->link_dtype);
  TensorImpl& im = TensorImpl::of(link);
  im.grad_fn = running_node->shared_from_this();
  im.requires_grad = true;
  Tensor out = detail::make_view(data, data.shape());
  record(output_node_name(*group, k), {link}, out, hand_over(group, k));
  return out;
}
}  // namespace

std::shared_ptr<OutputGroup> Context::record_outputs(const std::string& name, const std::vector<Tensor>& inputs,
                                                     std::vector<Tensor>& outputs,
                                                     const std::vector<bool>& differentiable, MultiBackwardFn backward) {
  if (differentiable.size() != outputs.size())
    throw std::logic_error(name + ": record_outputs got " + std::to_string(differentiable.size()) +
                           " differentiable flags for " + std::to_string(outputs.size()) + " outputs");
  auto group = std::make_shared<OutputGroup>();
  group->name = name;
  bool any = false;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& y = outputs[k];
    if (!y.defined()) detail::fail(name, ": recorded an undefined output ", k);
    group->shapes.push_back(y.shape());
    group->dtypes.push_back(y.dtype());
    if (!differentiable[k]) continue;
    if (y.grad_fn() || y.requires_grad())
      throw std::logic_error(name + ": output " + std::to_string(k) + " passed to record_outputs must be a fresh tensor");
    if (!any) group->link_dtype = y.dtype();
    any = true;
  }
  if (!any) return group;
  Tensor link = zeros({}, group->link_dtype);
  record(name, inputs, link,
         BackwardFn([group, backward = std::move(backward)](const Tensor&, const NeedsGrad& needs) {
           OutputGroup& g = *group;
           std::vector<Tensor> gys(g.shapes.size());
           if (g.pass == current_pass) gys.swap(g.grads);
           g.grads.clear();
           for (std::size_t k = 0; k < gys.size(); ++k)
             if (!gys[k].defined()) gys[k] = zeros(g.shapes[k], g.dtypes[k]);  // PyTorch's materialized zeros
           return backward(gys, needs);
         }));
  group->node = link.grad_fn().get();
  for (std::size_t k = 0; k < outputs.size(); ++k)
    if (differentiable[k]) record(output_node_name(*group, k), {link}, outputs[k], hand_over(group, k));
  return group;
}

SavedTensor::SavedTensor(Tensor t) : tensor_(std::move(t)), version_(tensor_.defined() ? tensor_.version() : 0) {
  // An inference tensor keeps no version counter, so a change to it could not be detected.
  if (tensor_.defined() && tensor_.is_inference())
    detail::fail("an inference tensor, ", describe(tensor_),
                 ", cannot be saved for backward: it was made under tg::InferenceModeGuard, which keeps no version "
                 "counter; clone() it outside the guard to use it with autograd");
}

SavedTensor SavedTensor::output(const Tensor& y) {
  SavedTensor s(y.defined() ? y.detach() : Tensor());
  s.is_output_ = true;
  return s;
}

Tensor SavedTensor::get() const {
  if (tensor_.defined() && tensor_.version() != version_) {
    const std::string who = running_node ? "backward of '" + running_node->name() + "'" : "a saved tensor";
    throw std::runtime_error(
        who + ": a tensor it saved, " + describe(tensor_) + ", was changed in place after the forward pass (version " +
        std::to_string(tensor_.version()) + ", saved at version " + std::to_string(version_) +
        "). Change it after backward(), or change a clone() of it; in-place changes are copy_, fill_, add_, mul_, relu_, zero_, set_data "
        "(Module::to), an optimizer step");
  }
  // Under create_graph the op's output is its node's output again, so what a
  // rule computes from it is differentiated through the op.
  if (is_output_ && running_node && GradMode::is_enabled()) {
    if (group_) return reattach_output(group_, group_index_, tensor_);
    Tensor attached = detail::make_view(tensor_, tensor_.shape());
    TensorImpl& im = TensorImpl::of(attached);
    im.grad_fn = running_node->shared_from_this();
    im.requires_grad = true;
    return attached;
  }
  return tensor_;
}

void Context::save_for_backward(const std::vector<Tensor>& tensors) {
  saved_.clear();
  for (const Tensor& t : tensors) saved_.emplace_back(t);
  unpacked_.clear();
}

void Context::keep_output_as_output(const Tensor& out) {
  for (SavedTensor& s : saved_)
    if (s.defined() && s.tensor_.is_same(out)) s = SavedTensor::output(out);
}

void Context::keep_outputs_as_outputs(const std::vector<Tensor>& outs, const std::shared_ptr<OutputGroup>& group) {
  for (SavedTensor& s : saved_)
    for (std::size_t k = 0; k < outs.size(); ++k)
      if (s.defined() && s.tensor_.is_same(outs[k]) && outs[k].grad_fn()) {  // non-differentiable ones make no cycle
        s = SavedTensor::output(outs[k]);
        s.group_ = group;
        s.group_index_ = k;
      }
}

void Context::mark_non_differentiable(const std::vector<Tensor>& outputs) {
  non_differentiable_.insert(non_differentiable_.end(), outputs.begin(), outputs.end());
}

bool Context::is_non_differentiable(const Tensor& out) const {
  for (const Tensor& t : non_differentiable_)
    if (t.is_same(out)) return true;
  return false;
}

const std::vector<Tensor>& Context::saved() const {
  unpacked_.clear();
  for (const SavedTensor& s : saved_) unpacked_.push_back(s.get());
  return unpacked_;
}

// ---------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------
void record(std::string name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward) {
  if (!output.defined()) detail::fail(name, ": recorded an undefined output");
  if (TensorImpl::of(output).grad_fn || output.requires_grad())
    throw std::logic_error(name + ": the output passed to autograd::record must be a fresh tensor");
  std::vector<Edge> edges(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!in.defined()) continue;
    // Read through the impl: grad_fn() returns a copy of the pointer, and every
    // copy is two atomic operations on this path taken by every recorded op.
    const TensorImpl& im = TensorImpl::of(in);
    edges[i].shape = im.shape;
    edges[i].dtype = im.dtype;
    if (!im.requires_grad) continue;
    if (im.grad_fn)
      edges[i].node = im.grad_fn;
    else
      edges[i].leaf = TensorImpl::ptr(in);
  }
  auto node = std::make_shared<TapeNode>(std::move(name), std::move(edges), std::move(backward));
  for (EngineHook* h : hooks) h->on_record(*node, output);
  for (EngineHook* h : hooks) h->on_record_inputs(*node, inputs, output);
  TensorImpl& out = TensorImpl::of(output);
  out.grad_fn = std::move(node);
  out.requires_grad = true;
}

void check_inplace(const Tensor& self, const char* op, const std::vector<Tensor>& others) {
  detail::check_defined(self, op);
  if (self.is_leaf() && self.requires_grad() && GradMode::is_enabled())
    detail::fail(op, ": a leaf tensor that requires grad, ", describe(self),
                 ", cannot be changed in place while grad mode is on (its gradient would belong to values it no "
                 "longer holds); change it under tg::NoGradGuard, or change a clone() of it");
  check_inplace_view(self, op, others);
}

void check_inplace_view(const Tensor& self, const char* op, const std::vector<Tensor>& others) {
  if (!GradMode::is_enabled()) return;
  const std::shared_ptr<TensorImpl> base_impl = TensorImpl::of(self).view_base.lock();
  if (!base_impl) return;
  const Tensor base = TensorImpl::wrap(base_impl);
  const bool operand_tracked =
      std::any_of(others.begin(), others.end(), [](const Tensor& o) { return o.requires_grad(); });
  if (!base.requires_grad() && !self.requires_grad() && !operand_tracked) return;
  detail::fail(op, ": ", describe(self), " is a view of ", describe(base), base.is_leaf() ? ", a leaf" : "",
               base.requires_grad() ? " that requires grad" : "",
               ", and cannot be changed in place while grad mode is on: the change would reach the base, whose "
               "recorded history tapegrad does not rewrite, so a gradient through it would be wrong; change a "
               "clone() of the view, or the base itself");
}

void record_inplace(std::string name, Tensor& self, const std::vector<Tensor>& others, BackwardFn backward) {
  // `before` stands for self's values before the op: it takes over self's
  // history, and self (the same handle the caller holds) becomes the output of
  // the new node, whose input 0 is that history.
  Tensor before = detail::make_view(self, self.shape());
  TensorImpl& b = TensorImpl::of(before);
  TensorImpl& s = TensorImpl::of(self);
  b.grad_fn = std::move(s.grad_fn);
  b.requires_grad = s.requires_grad;
  s.requires_grad = false;
  std::vector<Tensor> inputs{before};
  inputs.insert(inputs.end(), others.begin(), others.end());
  record(std::move(name), inputs, self, std::move(backward));
  // retain_grad() asked for the gradient of this tensor, which now is the new node's output.
  if (b.grad_fn) {
    auto& old_node = static_cast<TapeNode&>(*b.grad_fn);
    if (old_node.retained_output.lock().get() == &s) {
      static_cast<TapeNode&>(*s.grad_fn).retained_output = std::move(old_node.retained_output);
      old_node.retained_output.reset();
    }
  }
}

OpAttributes& OpAttributes::set_ints(const std::string& name, std::vector<std::int64_t> values) {
  for (auto& [n, v] : ints_)
    if (n == name) {
      v = std::move(values);
      return *this;
    }
  ints_.emplace_back(name, std::move(values));
  return *this;
}

OpAttributes& OpAttributes::set_real(const std::string& name, double value) {
  for (auto& [n, v] : reals_)
    if (n == name) {
      v = value;
      return *this;
    }
  reals_.emplace_back(name, value);
  return *this;
}

const std::vector<std::int64_t>& OpAttributes::ints(const std::string& name) const {
  for (const auto& [n, v] : ints_)
    if (n == name) return v;
  throw std::logic_error("OpAttributes: no integer attribute '" + name + "' was recorded");
}

double OpAttributes::real(const std::string& name) const {
  for (const auto& [n, v] : reals_)
    if (n == name) return v;
  throw std::logic_error("OpAttributes: no real attribute '" + name + "' was recorded");
}

void set_attributes(const Tensor& output, OpAttributes attributes) {
  const std::shared_ptr<Node> node = output.grad_fn();
  if (!node) throw std::logic_error("autograd::set_attributes: the tensor " + describe(output) + " has no grad_fn");
  node->attributes_ = std::move(attributes);
}

void retain_output_grad(const Tensor& t) {
  if (auto fn = t.grad_fn()) static_cast<TapeNode&>(*fn).retained_output = TensorImpl::ptr(t);
}

// ---------------------------------------------------------------------------
// The backward pass
// ---------------------------------------------------------------------------
namespace {

// Nodes reachable from `roots`, each after every node that consumes its output.
std::vector<TapeNode*> topological_order(const std::vector<TapeNode*>& roots) {
  std::vector<TapeNode*> postorder;
  postorder.reserve(64);
  detail::PointerMap<char> visited;
  // Iterative DFS: a graph of a million ops must not overflow the stack.
  for (TapeNode* root : roots) {
    if (!visited.emplace(root).second) continue;
    std::vector<std::pair<TapeNode*, std::size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        auto* child = static_cast<TapeNode*>(node->inputs[next++].node.get());
        if (child && visited.emplace(child).second) stack.emplace_back(child, 0);
        continue;
      }
      postorder.push_back(node);
      stack.pop_back();
    }
  }
  std::reverse(postorder.begin(), postorder.end());
  return postorder;
}

// Checks a rule's result against its node's inputs: one entry per input, a
// gradient exactly where the mask asks for one, each of its input's shape.
void check_grads(const TapeNode& node, Grads& gx) {
  // The op's name for the messages, built only when one is thrown (this runs for every node).
  const auto op = [&node] { return "backward of '" + node.name() + "'"; };
  if (gx.size() != node.inputs.size())
    throw std::logic_error(op() + " returned " + std::to_string(gx.size()) + " gradients for " +
                           std::to_string(node.inputs.size()) + " inputs");
  for (std::size_t i = 0; i < gx.size(); ++i) {
    const Edge& e = node.inputs[i];
    Tensor& g = gx[i];
    if (!g.defined()) continue;
    if (!e.needs_grad())
      throw std::logic_error(op() + " computed a gradient for input " + std::to_string(i) +
                             ", which needs none (check needs[" + std::to_string(i) + "])");
    if (g.shape() != e.shape)
      throw std::logic_error(op() + " returned a gradient of shape " + g.shape().str() + " for input " +
                             std::to_string(i) + " of shape " + e.shape.str());
    if (g.dtype() != e.dtype) g = g.to(e.dtype);
  }
}

// g after the tensor's gradient hooks, in registration order.
Tensor apply_hooks(const std::shared_ptr<GradHooks>& hooks, Tensor g) {
  if (!hooks) return g;
  const auto copy = hooks->hooks;  // a hook may remove itself
  for (const auto& [id, hook] : copy) {
    Tensor replaced = hook(g);
    if (!replaced.defined()) continue;
    if (replaced.shape() != g.shape())
      detail::fail("register_hook: a gradient hook returned ", describe(replaced), " for a gradient of shape ",
                   g.shape().str(), "; a hook must return a tensor of the gradient's shape, or nothing");
    g = replaced.dtype() == g.dtype() ? replaced : replaced.to(g.dtype());
  }
  return g;
}

// One summed gradient per node or leaf. Under create_graph the sum is a
// recorded op (the gradient must stay differentiable); otherwise it is added in place.
void accumulate(Tensor& acc, const Tensor& g, bool create_graph) {
  if (!create_graph) return detail::accumulate_into(acc, g);
  acc = acc.defined() ? detail::add_gradients(acc, g) : g;
}

// What one pass computes: either gradients accumulated into the leaves'
// grad() (backward), or the gradients of chosen tensors, returned (grad).
struct Pass {
  bool retain_graph = false, create_graph = false;
  // grad(): where each wanted tensor's gradient goes, by its node or its leaf.
  bool capture = false;
  std::unordered_map<const Node*, std::size_t> wanted_nodes;
  std::unordered_map<const TensorImpl*, std::size_t> wanted_leaves;
  std::vector<Tensor> captured;
};

// Runs the rules of the graph behind `roots`, seeded with `seeds`.
void run(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds, Pass& pass) {
  struct GradModeScope {
    bool prev = GradMode::is_enabled();
    explicit GradModeScope(bool on) { GradMode::set_enabled(on); }
    ~GradModeScope() { GradMode::set_enabled(prev); }
  } grad_mode(pass.create_graph);
  struct PassScope {  // a rule may run a nested pass; ours resumes after it
    std::uint64_t prev = current_pass;
    PassScope() { current_pass = ++pass_counter; }
    ~PassScope() { current_pass = prev; }
  } pass_scope;

  // Gradients waiting for each node, and for each leaf (summed over the pass,
  // so a leaf's hooks see the whole gradient once, as in PyTorch).
  detail::PointerMap<Tensor> pending;  // a node's entry is emptied when its rule runs
  std::vector<std::pair<std::shared_ptr<TensorImpl>, Tensor>> leaves;
  leaves.reserve(16);
  detail::PointerMap<std::size_t> leaf_slot;  // index into leaves
  auto to_leaf = [&](const std::shared_ptr<TensorImpl>& leaf, const Tensor& g) {
    auto [slot, fresh] = leaf_slot.emplace(leaf.get());
    if (fresh) {
      *slot = leaves.size();
      leaves.emplace_back(leaf, Tensor());
    }
    accumulate(leaves[*slot].second, g, pass.create_graph);
  };

  std::vector<TapeNode*> root_nodes;
  for (std::size_t r = 0; r < roots.size(); ++r) {
    const Tensor g = seeds[r].dtype() == roots[r].dtype() ? seeds[r] : seeds[r].to(roots[r].dtype());
    if (roots[r].is_leaf()) {
      to_leaf(TensorImpl::ptr(roots[r]), g);
      continue;
    }
    auto* node = static_cast<TapeNode*>(roots[r].grad_fn().get());
    root_nodes.push_back(node);
    accumulate(pending[node], g, pass.create_graph);
  }
  const std::vector<TapeNode*> order = topological_order(root_nodes);

  // grad(): only the nodes on a path to a wanted tensor run, and only the
  // inputs on such a path get a gradient (a narrower mask than the node's own).
  std::unordered_map<const Node*, NeedsGrad> narrowed;
  if (pass.capture) {
    std::unordered_set<const Node*> leads;  // a wanted node, or one that reaches a wanted tensor
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      TapeNode* node = *it;
      std::vector<bool> mask(node->inputs.size(), false);
      bool any = false;
      for (std::size_t i = 0; i < node->inputs.size(); ++i) {
        const Edge& e = node->inputs[i];
        mask[i] = e.node ? leads.count(e.node.get()) > 0 : e.leaf && pass.wanted_leaves.count(e.leaf.get()) > 0;
        any = any || mask[i];
      }
      if (any) narrowed.emplace(node, NeedsGrad(std::move(mask)));
      if (any || pass.wanted_nodes.count(node)) leads.insert(node);
    }
  }

  for (TapeNode* node : order) {
    Tensor* waiting = pending.find(node);
    if (!waiting) continue;  // no gradient flowed into this node
    Tensor gy = std::move(*waiting);
    gy = apply_hooks(node->output_hooks, std::move(gy));
    if (pass.capture) {
      if (auto w = pass.wanted_nodes.find(node); w != pass.wanted_nodes.end())
        accumulate(pass.captured[w->second], gy, pass.create_graph);
    } else if (auto out = node->retained_output.lock()) {
      detail::accumulate_into_grad(*out, gy);
    }
    const NeedsGrad* needs = &node->needs;
    if (pass.capture) {
      auto n = narrowed.find(node);
      if (n == narrowed.end()) continue;  // leads to no wanted tensor
      needs = &n->second;
    }
    if (node->released() || !node->backward)
      throw std::runtime_error(
          "backward: trying to run backward through the graph a second time: the saved values of op '" +
          node->name() +
          "' were freed by the first backward. Pass retain_graph=true to the first backward() if you need "
          "to run backward twice.");

    for (EngineHook* h : hooks) h->before_backward(*node);
    Grads gx;
    {
      RunningNode running(node);
      gx = node->backward(gy, *needs);
    }
    check_grads(*node, gx);
    for (EngineHook* h : hooks) h->after_backward(*node, gx);

    for (std::size_t i = 0; i < gx.size(); ++i) {
      if (!gx[i].defined() || !(*needs)[i]) continue;
      const Edge& e = node->inputs[i];
      if (e.node)
        accumulate(pending[e.node.get()], gx[i], pass.create_graph);
      else
        to_leaf(e.leaf, gx[i]);
    }
    if (!pass.retain_graph) node->release();
  }

  for (auto& [leaf, g] : leaves) {
    g = apply_hooks(leaf->grad_hooks, std::move(g));
    if (pass.capture) {
      if (auto w = pass.wanted_leaves.find(leaf.get()); w != pass.wanted_leaves.end())
        accumulate(pass.captured[w->second], g, pass.create_graph);
    } else {
      detail::accumulate_into_grad(*leaf, std::move(g), pass.create_graph);
    }
  }
  for (EngineHook* h : hooks) h->on_backward_end();
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& seed, bool retain_graph, bool create_graph) {
  if (!root.requires_grad())
    detail::fail("backward: the tensor ", describe(root),
                 " does not require grad: no input of the ops that produced it had requires_grad set");
  detail::check_defined(seed, "backward");
  if (seed.shape() != root.shape())
    detail::fail("backward: gradient shape ", seed.shape().str(), " does not match the tensor's shape ",
                 root.shape().str());
  Pass pass;
  pass.retain_graph = retain_graph;
  pass.create_graph = create_graph;
  run({root}, {seed}, pass);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph, bool create_graph,
                         bool allow_unused) {
  if (outputs.empty()) detail::fail("autograd::grad: no outputs given");
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    detail::fail("autograd::grad: ", grad_outputs.size(), " grad_outputs for ", outputs.size(),
                 " outputs (give one per output, or none)");
  std::vector<Tensor> seeds;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& y = outputs[k];
    detail::check_defined(y, "autograd::grad");
    if (!y.requires_grad())
      detail::fail("autograd::grad: output ", k, ", ", describe(y),
                   ", does not require grad: no input of the ops that produced it had requires_grad set");
    Tensor seed = grad_outputs.empty() ? Tensor() : grad_outputs[k];
    if (!seed.defined()) {
      if (y.numel() != 1)
        detail::fail("autograd::grad: grad can be implicitly created only for one-element outputs; output ", k,
                     " is ", describe(y), ". Pass grad_outputs of the outputs' shapes");
      seed = ones(y.shape(), y.dtype());
    } else if (seed.shape() != y.shape()) {
      detail::fail("autograd::grad: grad_outputs[", k, "] has shape ", seed.shape().str(), ", output ", k,
                   " has shape ", y.shape().str());
    }
    seeds.push_back(seed);
  }
  Pass pass;
  pass.retain_graph = retain_graph.value_or(create_graph);
  pass.create_graph = create_graph;
  pass.capture = true;
  pass.captured.resize(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    detail::check_defined(x, "autograd::grad");
    if (!x.requires_grad())
      detail::fail("autograd::grad: input ", k, ", ", describe(x), ", does not require grad");
    if (x.is_leaf())
      pass.wanted_leaves.emplace(&TensorImpl::of(x), k);
    else
      pass.wanted_nodes.emplace(x.grad_fn().get(), k);
  }
  run(outputs, seeds, pass);
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Tensor& g = pass.captured[k];
    if (!g.defined() && !allow_unused)
      detail::fail("autograd::grad: input ", k, ", ", describe(inputs[k]),
                   ", was not used to compute the outputs (pass allow_unused=true to get an undefined gradient)");
    // A gradient the caller gets must be theirs alone: not a buffer the engine or a seed also holds.
    if (g.defined() && !create_graph && !detail::owns_its_buffer(g)) g = g.detach().clone();
  }
  return std::move(pass.captured);
}

// ---------------------------------------------------------------------------
// Gradient hooks of tensors
// ---------------------------------------------------------------------------
}  // namespace autograd

RemovableHandle Tensor::register_hook(GradHook hook) {
  if (!defined()) detail::fail("Tensor::register_hook: the tensor is undefined");
  if (!requires_grad())
    detail::fail("Tensor::register_hook: cannot register a hook on ", describe(*this),
                 ", which does not require grad");
  if (!hook) detail::fail("Tensor::register_hook: the hook is empty");
  std::shared_ptr<autograd::GradHooks>& list =
      is_leaf() ? impl_->grad_hooks : static_cast<autograd::TapeNode&>(*impl_->grad_fn).output_hooks;
  if (!list) list = std::make_shared<autograd::GradHooks>();
  const std::uint64_t id = list->next_id++;
  list->hooks.emplace_back(id, std::move(hook));
  return RemovableHandle([weak = std::weak_ptr<autograd::GradHooks>(list), id] {
    if (auto l = weak.lock())
      l->hooks.erase(std::remove_if(l->hooks.begin(), l->hooks.end(), [id](const auto& h) { return h.first == id; }),
                     l->hooks.end());
  });
}

namespace autograd {

// ---------------------------------------------------------------------------
// Hooks: anomaly detection
// ---------------------------------------------------------------------------
namespace {

// "NaN" or "Inf" when t holds one, else null.
const char* non_finite_kind(const Tensor& t) {
  const std::optional<double> bad = detail::first_non_finite(t);
  if (!bad) return nullptr;
  return std::isnan(*bad) ? "NaN" : "Inf";
}

std::string input_shapes(const std::vector<Edge>& inputs) {
  std::string s;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    s += (i ? ", " : "") + inputs[i].shape.str() + " " + dtype_name(inputs[i].dtype);
  return s;
}

struct AnomalyHook final : EngineHook {
  void on_record(const TapeNode& node, const Tensor& output) override {
    if (const char* bad = non_finite_kind(output))
      throw AnomalyError("anomaly detected: forward of op '" + node.name() + "' produced " + bad +
                         " in its output " + describe(output) + " (inputs: " + input_shapes(node.inputs) + ")");
  }
  void after_backward(const TapeNode& node, const Grads& grads) override {
    for (std::size_t i = 0; i < grads.size(); ++i)
      if (const char* bad = non_finite_kind(grads[i]))
        throw AnomalyError("anomaly detected: backward of op '" + node.name() + "' produced " + bad +
                           " in the gradient of input " + std::to_string(i) + " (inputs: " +
                           input_shapes(node.inputs) + ")");
  }
};
thread_local AnomalyHook anomaly_hook;
thread_local std::unique_ptr<InstallHook> anomaly_installed;

}  // namespace

DetectAnomalyGuard::DetectAnomalyGuard() : prev_(is_enabled()) {
  if (!prev_) anomaly_installed = std::make_unique<InstallHook>(&anomaly_hook);
}
DetectAnomalyGuard::~DetectAnomalyGuard() {
  if (!prev_) anomaly_installed.reset();
}
bool DetectAnomalyGuard::is_enabled() { return anomaly_installed != nullptr; }

// ---------------------------------------------------------------------------
// Hooks: the profiler
// ---------------------------------------------------------------------------
namespace {

using Clock = std::chrono::steady_clock;

struct ProfileHook final : EngineHook {
  std::unordered_map<std::string, Profiler::Entry> entries;
  Clock::time_point last = Clock::now(), backward_start;
  InstallHook installed{this};

  Profiler::Entry& entry(const std::string& op) {
    Profiler::Entry& e = entries[op];
    e.op = op;
    return e;
  }
  void on_record(const TapeNode& node, const Tensor&) override {
    const auto now = Clock::now();
    Profiler::Entry& e = entry(node.name());
    e.forward_calls++;
    e.forward_seconds += std::chrono::duration<double>(now - last).count();
    last = now;
  }
  void before_backward(const TapeNode&) override { backward_start = Clock::now(); }
  void after_backward(const TapeNode& node, const Grads&) override {
    Profiler::Entry& e = entry(node.name());
    e.backward_calls++;
    e.backward_seconds += std::chrono::duration<double>(Clock::now() - backward_start).count();
  }
  void on_backward_end() override { last = Clock::now(); }
};
thread_local ProfileHook* profiling = nullptr;

}  // namespace

Profiler::Profiler() {
  if (profiling) throw std::logic_error("autograd::Profiler: one profiler at a time per thread");
  profiling = new ProfileHook();
}
Profiler::~Profiler() {
  delete profiling;
  profiling = nullptr;
}
void Profiler::mark() { profiling->last = Clock::now(); }

std::vector<Profiler::Entry> Profiler::entries() const {
  std::vector<Entry> out;
  for (const auto& [name, e] : profiling->entries) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.forward_seconds + a.backward_seconds > b.forward_seconds + b.backward_seconds;
  });
  return out;
}

std::string Profiler::table() const {
  const std::vector<Entry> es = entries();
  double total = 0;
  for (const Entry& e : es) total += e.forward_seconds + e.backward_seconds;
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-16s %8s %11s %11s %11s %7s\n", "op", "calls", "forward ms", "backward ms",
                "total ms", "share");
  out += line;
  for (const Entry& e : es) {
    const double t = e.forward_seconds + e.backward_seconds;
    std::snprintf(line, sizeof line, "%-16s %8lld %11.3f %11.3f %11.3f %6.1f%%\n", e.op.c_str(),
                  static_cast<long long>(e.forward_calls), 1e3 * e.forward_seconds, 1e3 * e.backward_seconds, 1e3 * t,
                  total > 0 ? 100 * t / total : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-16s %8s %11s %11s %11.3f\n", "total", "", "", "", 1e3 * total);
  return out + line;
}

}  // namespace autograd
}  // namespace tg
