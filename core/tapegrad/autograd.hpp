// tapegrad — the dynamic tape.
//
// Every differentiable op computes its result eagerly and, when grad mode is on
// and one of its inputs requires grad, records one Node: the op's name, one
// Edge per input, and a backward rule (a closure holding only what the rule
// needs). Tensor::backward() walks the recorded nodes in reverse topological
// order, calling each rule once with the summed gradient of its output, and
// accumulates into the .grad() of the leaves that require grad.
//
// After a backward pass the nodes it ran are released (their closures and
// saved tensors freed) unless retain_graph is asked for; running backward
// through a released node throws.
//
// Writing an op (see ops/*.cpp for ~30 examples, README "Custom ops"):
//
//   Tensor square(const Tensor& x) {
//     Tensor y = mul(x, x);                                 // any computation
//     if (autograd::needs_grad(x))
//       autograd::record("square", {x}, y,
//           [x](const Tensor& gy) -> autograd::Grads { return {gy * x * 2.0}; });
//     return y;
//   }
//
// Backward rules run with grad mode off and may use any tapegrad op. They return
// one gradient per input, each of that input's shape (or undefined for "none").
// Save an op's *output* with .detach() to avoid a reference cycle.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/tensor.hpp>

namespace tg {

/// Grad mode: when off, ops record nothing (inference, optimizer updates).
class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool on);
};

/// RAII: turns grad mode off in this thread for its lifetime.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

namespace autograd {

using Grads = std::vector<Tensor>;
/// Maps the gradient of an op's output to the gradients of its inputs.
using BackwardFn = std::function<Grads(const Tensor& grad_output)>;

struct Node;

/// Where the gradient of one input goes: to the node that produced it, or
/// into a leaf's .grad(), or nowhere (input does not require grad).
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<detail::TensorImpl> leaf;
  Shape shape;  // the input's shape, checked against the gradient its rule returns
  Dtype dtype = kFloat32;
};

/// One recorded op on the tape.
struct Node {
  Node(std::string name, std::vector<Edge> inputs, BackwardFn backward);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& inputs() const { return inputs_; }
  /// True once a backward pass without retain_graph has run through it.
  bool released() const { return released_; }

 private:
  friend class Engine;
  std::string name_;
  std::vector<Edge> inputs_;
  BackwardFn backward_;
  bool released_ = false;
  // Engine state during one backward pass.
  Tensor pending_grad_;
  std::weak_ptr<detail::TensorImpl> retained_output_;
  Shape output_shape_;
  Dtype output_dtype_ = kFloat32;
};

/// True when grad mode is on and any argument requires grad.
template <class... Ts> bool needs_grad(const Ts&... ts) {
  return GradMode::is_enabled() && (ts.requires_grad() || ...);
}
bool needs_grad_list(const std::vector<Tensor>& ts);

/// Records `output` as produced by op `name` from `inputs`. `output` must be a
/// fresh tensor (no grad_fn); it becomes a non-leaf that requires grad.
void record(std::string name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward);

/// Runs backward from `root` with seed gradient `grad` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

/// Number of Nodes alive in this process — tests use it to prove graphs are freed.
std::int64_t live_nodes();

/// Anomaly detection (off by default; costs one scan of every recorded output
/// and gradient). While a DetectAnomalyGuard lives in this thread, the first op
/// whose forward output or backward gradient holds NaN or Inf throws
/// AnomalyError naming the op, its input shapes, and whether it was the forward
/// or the backward.
class AnomalyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;
  static bool is_enabled();

 private:
  bool prev_;
};

/// Per-op time of a piece of training, for finding the next bottleneck.
///
///   tg::autograd::Profiler prof;
///   ... forward, backward ...
///   std::cout << prof.table();
///
/// Backward time is measured around each node's rule. Forward time is the time
/// from the previous recorded op (or mark()) to this op's record, so it covers
/// the op's kernel and any untaped work just before it: call mark() after work
/// that is not part of the forward (an optimizer step, data loading).
/// Thread-local; one Profiler at a time per thread.
class Profiler {
 public:
  struct Entry {
    std::string op;
    std::int64_t forward_calls = 0, backward_calls = 0;
    double forward_seconds = 0, backward_seconds = 0;
  };
  Profiler();
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;
  /// Starts the next forward interval now.
  void mark();
  /// Ops sorted by total time, most expensive first.
  std::vector<Entry> entries() const;
  /// A text table of entries(): op, calls, forward ms, backward ms, share of the total.
  std::string table() const;
};

// ---------------------------------------------------------------------------
// Custom ops without editing tapegrad — the libtorch-style Function API.
//
//   struct Swish : tg::autograd::Function<Swish> {
//     static constexpr const char* name = "swish";
//     static Tensor forward(Context& ctx, const Tensor& x) {
//       Tensor s = sigmoid(x);
//       ctx.save_for_backward({x, s});
//       return x * s;
//     }
//     static Grads backward(Context& ctx, const Tensor& gy) {
//       const Tensor& x = ctx.saved()[0]; const Tensor& s = ctx.saved()[1];
//       return {gy * (s + x * s * (1.0 - s))};
//     }
//   };
//   Tensor y = Swish::apply(x);
//
// forward runs with grad mode off; backward gets one gradient per Tensor
// argument of forward, in order (non-Tensor arguments are passed through).
// ---------------------------------------------------------------------------
class Context {
 public:
  /// Keeps tensors for backward (stored detached, so saving the output is safe).
  void save_for_backward(const std::vector<Tensor>& tensors);
  const std::vector<Tensor>& saved() const { return saved_; }
  /// Non-tensor values backward needs (sizes, flags, constants).
  std::vector<double> values;

 private:
  std::vector<Tensor> saved_;
};

namespace detail_function {
inline void collect(std::vector<Tensor>& out, const Tensor& t) { out.push_back(t); }
template <class T> void collect(std::vector<Tensor>&, const T&) {}
}  // namespace detail_function

template <class Derived> struct Function {
  static constexpr const char* name = "custom_function";

  template <class... Args> static Tensor apply(const Args&... args) {
    std::vector<Tensor> inputs;
    (detail_function::collect(inputs, args), ...);
    auto ctx = std::make_shared<Context>();
    Tensor out;
    {
      NoGradGuard no_grad;
      out = Derived::forward(*ctx, args...);
    }
    if (!needs_grad_list(inputs)) return out;
    for (const Tensor& in : inputs)
      if (in.is_same(out)) out = out.detach();  // forward returned an input as-is
    record(Derived::name, inputs, out,
           [ctx](const Tensor& gy) { return Derived::backward(*ctx, gy); });
    return out;
  }
};

}  // namespace autograd
}  // namespace tg
