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
/// The switch is per thread and on by default; prefer NoGradGuard to set_enabled.
class GradMode {
 public:
  /// True when ops in this thread record themselves on the tape.
  static bool is_enabled();
  /// Turns recording on or off for this thread until changed again.
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

/// @namespace tg::autograd
/// The tape: recording ops (needs_grad, record), running backward, custom ops
/// (Function, Context), anomaly detection and the per-op Profiler.
namespace autograd {

/// One gradient per op input, in input order; an undefined Tensor means "none".
using Grads = std::vector<Tensor>;
/// Maps the gradient of an op's output to the gradients of its inputs.
using BackwardFn = std::function<Grads(const Tensor& grad_output)>;

struct Node;

/// Where the gradient of one input goes: to the node that produced it, or
/// into a leaf's .grad(), or nowhere (input does not require grad).
struct Edge {
  std::shared_ptr<Node> node;                ///< the op that produced the input, or null
  std::shared_ptr<detail::TensorImpl> leaf;  ///< the leaf whose .grad() receives it, or null
  Shape shape;             ///< the input's shape, checked against the gradient its rule returns
  Dtype dtype = kFloat32;  ///< the input's dtype; a float gradient of the other dtype is converted
};

/// One recorded op on the tape.
struct Node {
  /// Made by autograd::record; counts towards live_nodes() until destroyed.
  Node(std::string name, std::vector<Edge> inputs, BackwardFn backward);
  /// Frees long chains of upstream nodes iteratively, so deep graphs cannot overflow the stack.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// The op's name as recorded ("matmul", "relu", a Function's name), used in errors.
  const std::string& name() const { return name_; }
  /// One Edge per input of the op, in the order given to record().
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
/// needs_grad for a run-time list of tensors.
bool needs_grad_list(const std::vector<Tensor>& ts);

/// Records `output` as produced by op `name` from `inputs`. `output` must be a
/// fresh tensor (no grad_fn); it becomes a non-leaf that requires grad.
/// `backward` must return exactly one gradient per input, each of that input's
/// shape (checked when it runs; std::logic_error otherwise). Throws
/// std::invalid_argument for an undefined output and std::logic_error for one
/// that already has a grad_fn or requires grad; AnomalyError under
/// DetectAnomalyGuard when the output holds NaN or Inf.
void record(std::string name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward);

/// Runs backward from `root` with seed gradient `grad` (see Tensor::backward).
/// Throws std::invalid_argument when `root` does not require grad or `grad`'s
/// shape differs from it; std::runtime_error when the walk reaches a node
/// released by an earlier backward without retain_graph.
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

/// Number of Nodes alive in this process — tests use it to prove graphs are freed.
std::int64_t live_nodes();

/// Thrown under DetectAnomalyGuard by the first op whose forward output or
/// backward gradient holds NaN or Inf. The message names the op, its input
/// shapes, and whether it was the forward or the backward.
class AnomalyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// RAII: anomaly detection on in this thread for its lifetime (off by default;
/// costs one scan of every recorded output and every gradient). See AnomalyError.
class DetectAnomalyGuard {
 public:
  /// Turns detection on; the previous state comes back on destruction (guards nest).
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;
  /// True while a guard lives in this thread.
  static bool is_enabled();

 private:
  bool prev_;
};

/// Per-op time of a piece of training, for finding the next bottleneck.
///
/// @code
///   tg::autograd::Profiler prof;
///   ... forward, backward ...
///   std::cout << prof.table();
/// @endcode
/// Backward time is measured around each node's rule. Forward time is the time
/// from the previous recorded op (or mark()) to this op's record, so it covers
/// the op's kernel and any untaped work just before it: call mark() after work
/// that is not part of the forward (an optimizer step, data loading).
/// Thread-local; one Profiler at a time per thread.
class Profiler {
 public:
  /// Totals of one op name since the profiler started.
  struct Entry {
    std::string op;  ///< the op's recorded name
    /// Times the op was recorded (forward) and times its backward rule ran.
    ///@{
    std::int64_t forward_calls = 0, backward_calls = 0;
    ///@}
    /// Seconds: summed forward intervals (see Profiler) and time inside the backward rule.
    ///@{
    double forward_seconds = 0, backward_seconds = 0;
    ///@}
  };
  /// Starts profiling this thread; throws std::logic_error if a Profiler already runs in it.
  Profiler();
  /// Stops profiling and drops the collected entries.
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

/// What a custom Function's forward hands to its backward: saved tensors and
/// plain values. One Context per call of Function::apply.
class Context {
 public:
  /// Keeps tensors for backward (stored detached, so saving the output is safe).
  void save_for_backward(const std::vector<Tensor>& tensors);
  /// The tensors of the last save_for_backward, in the order given.
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

/// Base of a custom op, defined without editing tapegrad (libtorch's Function API).
/// Derived provides `static Tensor forward(Context&, args...)`, `static Grads
/// backward(Context&, const Tensor& grad_output)` and, optionally, its own `name`:
/// @code
///   struct Swish : tg::autograd::Function<Swish> {
///     static constexpr const char* name = "swish";
///     static Tensor forward(Context& ctx, const Tensor& x) {
///       Tensor s = sigmoid(x);
///       ctx.save_for_backward({x, s});
///       return x * s;
///     }
///     static Grads backward(Context& ctx, const Tensor& gy) {
///       const Tensor& x = ctx.saved()[0]; const Tensor& s = ctx.saved()[1];
///       return {gy * (s + x * s * (1.0 - s))};
///     }
///   };
///   Tensor y = Swish::apply(x);
/// @endcode
/// forward runs with grad mode off; backward must return one gradient per Tensor
/// argument of forward, in order (non-Tensor arguments are passed through).
template <class Derived> struct Function {
  /// The op's name on the tape and in errors; Derived hides it with its own.
  static constexpr const char* name = "custom_function";

  /// Runs Derived::forward with grad mode off and, when grad mode is on and a
  /// Tensor argument requires grad, records Derived::backward for the result.
  /// Returns forward's result (detached first if forward returned an input as-is).
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
