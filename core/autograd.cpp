// The tape: recording nodes, and the engine that runs them backward.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <unordered_map>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include "core/dispatch.hpp"
#include "core/engine.hpp"
#include "core/tensor_impl.hpp"
#include "ops/accumulate.hpp"
#include <tapegrad/autograd.hpp>

namespace tg {

namespace {
thread_local bool grad_enabled = true;
thread_local bool anomaly_enabled = false;

// Profiler state (autograd::Profiler): per-op totals and the forward interval start.
struct ProfileState {
  std::unordered_map<std::string, autograd::Profiler::Entry> entries;
  std::chrono::steady_clock::time_point last;
};
thread_local ProfileState* profiling = nullptr;
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

namespace autograd {

Node::Node(std::string name, std::vector<Edge> inputs, BackwardFn backward)
    : name_(std::move(name)), inputs_(std::move(inputs)), backward_(std::move(backward)) {
  live_node_count.fetch_add(1, std::memory_order_relaxed);
}

Node::~Node() {
  live_node_count.fetch_sub(1, std::memory_order_relaxed);
  Graveyard& g = graveyard;
  for (Edge& e : inputs_)
    if (e.node) g.nodes.push_back(std::move(e.node));
  if (backward_) g.closures.push_back(std::move(backward_));
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

std::int64_t live_nodes() { return live_node_count.load(std::memory_order_relaxed); }

bool needs_grad_list(const std::vector<Tensor>& ts) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : ts)
    if (t.requires_grad()) return true;
  return false;
}

void Context::save_for_backward(const std::vector<Tensor>& tensors) {
  saved_.clear();
  for (const Tensor& t : tensors) saved_.push_back(t.defined() ? t.detach() : Tensor());
}

DetectAnomalyGuard::DetectAnomalyGuard() : prev_(anomaly_enabled) { anomaly_enabled = true; }
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_enabled = prev_; }
bool DetectAnomalyGuard::is_enabled() { return anomaly_enabled; }

namespace {

// "NaN" or "Inf" when t holds one, else null.
const char* first_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return nullptr;
  return detail::dispatch_float(t.dtype(), "anomaly check", [&](auto tag) -> const char* {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(t.raw_data());
    for (std::int64_t i = 0, n = t.numel(); i < n; ++i)
      if (!std::isfinite(p[i])) return std::isnan(p[i]) ? "NaN" : "Inf";
    return nullptr;
  });
}

std::string input_shapes(const std::vector<Edge>& inputs) {
  std::string s;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    s += (i ? ", " : "") + inputs[i].shape.str() + " " + dtype_name(inputs[i].dtype);
  return s;
}

}  // namespace

Profiler::Profiler() {
  if (profiling) throw std::logic_error("autograd::Profiler: one profiler at a time per thread");
  profiling = new ProfileState();
  profiling->last = std::chrono::steady_clock::now();
}
Profiler::~Profiler() {
  delete profiling;
  profiling = nullptr;
}
void Profiler::mark() { profiling->last = std::chrono::steady_clock::now(); }

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

// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------
class Engine {
 public:
  static void record(std::string name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn fn) {
    if (!output.defined()) detail::fail(name, ": recorded an undefined output");
    if (output.grad_fn() || output.requires_grad())
      throw std::logic_error(name + ": the output passed to autograd::record must be a fresh tensor");
    std::vector<Edge> edges;
    edges.reserve(inputs.size());
    for (const Tensor& in : inputs) {
      Edge e;
      if (in.defined()) {
        e.shape = in.shape();
        e.dtype = in.dtype();
        if (in.requires_grad()) {
          if (in.grad_fn())
            e.node = in.grad_fn();
          else
            e.leaf = in.impl_ptr();
        }
      }
      edges.push_back(std::move(e));
    }
    if (anomaly_enabled)
      if (const char* bad = first_non_finite(output))
        throw AnomalyError("anomaly detected: forward of op '" + name + "' produced " + bad +
                           " in its output " + describe(output) + " (inputs: " + input_shapes(edges) + ")");
    if (profiling) {
      const auto now = std::chrono::steady_clock::now();
      auto& e = profiling->entries[name];
      e.op = name;
      e.forward_calls++;
      e.forward_seconds += std::chrono::duration<double>(now - profiling->last).count();
      profiling->last = now;
    }
    auto node = std::make_shared<Node>(std::move(name), std::move(edges), std::move(fn));
    node->output_shape_ = output.shape();
    node->output_dtype_ = output.dtype();
    output.impl()->grad_fn = std::move(node);
    output.impl()->requires_grad = true;
  }

  static void retain(const Tensor& t) {
    if (auto fn = t.grad_fn()) fn->retained_output_ = t.impl_ptr();
  }

  static void run(const Tensor& root, const Tensor& seed, bool retain_graph) {
    if (!root.requires_grad())
      detail::fail("backward: the tensor ", describe(root),
                   " does not require grad: no input of the ops that produced it had requires_grad set");
    detail::check_defined(seed, "backward");
    if (seed.shape() != root.shape())
      detail::fail("backward: gradient shape ", seed.shape().str(), " does not match the tensor's shape ",
                   root.shape().str());
    Tensor grad = seed.dtype() == root.dtype() ? seed : seed.to(root.dtype());

    if (root.is_leaf()) {
      NoGradGuard no_grad;
      detail::accumulate_into(root.impl()->grad, grad);
      return;
    }

    std::vector<std::shared_ptr<Node>> order = topological_order(root.grad_fn());
    order.front()->pending_grad_ = grad;
    try {
      NoGradGuard no_grad;
      for (auto& node : order) run_node(*node, retain_graph);
      if (profiling) profiling->last = std::chrono::steady_clock::now();
    } catch (...) {
      for (auto& node : order) node->pending_grad_ = Tensor();
      throw;
    }
  }

 private:
  // Nodes reachable from `root`, each after every node that consumes its output.
  static std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
    std::vector<std::shared_ptr<Node>> postorder;
    std::unordered_set<Node*> visited{root.get()};
    // Iterative DFS: a graph of a million ops must not overflow the stack.
    std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs_.size()) {
        std::shared_ptr<Node> child = node->inputs_[next++].node;
        if (child && visited.insert(child.get()).second) stack.emplace_back(std::move(child), 0);
        continue;
      }
      postorder.push_back(std::move(node));
      stack.pop_back();
    }
    return {postorder.rbegin(), postorder.rend()};
  }

  static void run_node(Node& node, bool retain_graph) {
    if (!node.pending_grad_.defined()) return;  // no gradient flowed into this node
    if (node.released_ || !node.backward_)
      throw std::runtime_error(
          "backward: trying to run backward through the graph a second time: the saved values of op '" +
          node.name_ +
          "' were freed by the first backward. Pass retain_graph=true to the first backward() if you need "
          "to run backward twice.");
    Tensor gy = std::move(node.pending_grad_);
    node.pending_grad_ = Tensor();
    if (auto out = node.retained_output_.lock()) detail::accumulate_into(out->grad, gy);

    const auto start = profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    Grads gx = node.backward_(gy);
    if (profiling) {
      auto& e = profiling->entries[node.name_];
      e.op = node.name_;
      e.backward_calls++;
      e.backward_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (gx.size() != node.inputs_.size())
      throw std::logic_error("backward of '" + node.name_ + "' returned " + std::to_string(gx.size()) +
                             " gradients for " + std::to_string(node.inputs_.size()) + " inputs");
    for (std::size_t i = 0; i < gx.size(); ++i) {
      Edge& e = node.inputs_[i];
      if ((!e.node && !e.leaf) || !gx[i].defined()) continue;
      Tensor g = std::move(gx[i]);
      if (g.shape() != e.shape)
        throw std::logic_error("backward of '" + node.name_ + "' returned a gradient of shape " +
                               g.shape().str() + " for input " + std::to_string(i) + " of shape " +
                               e.shape.str());
      if (g.dtype() != e.dtype) g = g.to(e.dtype);
      if (anomaly_enabled)
        if (const char* bad = first_non_finite(g))
          throw AnomalyError("anomaly detected: backward of op '" + node.name_ + "' produced " + bad +
                             " in the gradient of input " + std::to_string(i) + " (inputs: " +
                             input_shapes(node.inputs_) + ")");
      if (e.node)
        detail::accumulate_into(e.node->pending_grad_, g);
      else
        detail::accumulate_into(e.leaf->grad, g);
    }
    if (!retain_graph) {
      node.released_ = true;
      node.backward_ = nullptr;
    }
  }
};

void record(std::string name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward) {
  Engine::record(std::move(name), inputs, output, std::move(backward));
}

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  Engine::run(root, grad, retain_graph);
}

void retain_output_grad(const Tensor& t) { Engine::retain(t); }

}  // namespace autograd
}  // namespace tg
