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
// Writing an op (ops/*.cpp hold every built-in one; docs/architecture.md):
//
// <!-- snippet: file -->
// @code
//   tg::Tensor square(const tg::Tensor& x) {
//     tg::Tensor y = tg::mul(x.detach(), x.detach());  // any computation, kept off the tape
//     if (tg::autograd::needs_grad(x))
//       tg::autograd::record("square", {x}, y, tg::autograd::formulas(
//           [x = tg::autograd::SavedTensor(x)](const tg::Tensor& gy) {
//             return gy * x.get() * 2.0;  // d square / dx
//           }));
//     return y;
//   }
// @endcode
//
// @code
//   tg::Tensor x = tg::randn({3}, tg::kFloat64).requires_grad_();
//   tg::sum(square(x)).backward();   // x.grad() = 2 x
// @endcode
//
// formulas() takes one gradient formula per input and calls only those whose
// input needs a gradient. A rule that shares work between inputs takes the
// mask itself: [](const Tensor& gy, const NeedsGrad& needs) -> Grads, returning
// an undefined Tensor where needs[i] is false (the engine checks it).
// Backward rules run with grad mode off — on under create_graph, so that the
// gradient they compute is itself recorded: write them with tapegrad ops
// only, and gradients of gradients come for free. Each gradient has its
// input's shape. Keep every tensor a rule reads as a SavedTensor (below), so
// an in-place change between forward and backward is refused instead of read;
// an op's *output* is saved as SavedTensor::output(y).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/core/tensor.hpp>

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

/// Inference mode (PyTorch's torch.inference_mode): grad mode off, and the
/// tensors made while it is on are *inference tensors* (Tensor::is_inference),
/// which keep no version counter. What it skips, exactly: everything
/// NoGradGuard skips (recording: nodes, edges, saved tensors), plus the
/// version-counter bump of every in-place change of an inference tensor
/// (fill_, copy_, add_, mul_, relu_, zero_, an optimizer step, bump_version).
/// Out-of-place ops do no other autograd work with grad mode off, so for them
/// it costs and saves what NoGradGuard does. In exchange an inference tensor
/// can never be saved for backward: an op that would save one (outside the
/// mode, with another input requiring grad) throws; clone() it outside the
/// mode to get a normal tensor. Unlike PyTorch, in-place changes of inference
/// tensors outside the mode and requires_grad_() on them are allowed.
class InferenceMode {
 public:
  /// True while an InferenceModeGuard lives in this thread.
  static bool is_enabled();

 private:
  friend class InferenceModeGuard;
  static void set_enabled(bool on);
};

/// RAII: inference mode on (and grad mode off) in this thread for its
/// lifetime; both come back as they were on destruction (guards nest).
class InferenceModeGuard {
 public:
  InferenceModeGuard() : prev_inference_(InferenceMode::is_enabled()) { InferenceMode::set_enabled(true); }
  ~InferenceModeGuard() { InferenceMode::set_enabled(prev_inference_); }
  InferenceModeGuard(const InferenceModeGuard&) = delete;
  InferenceModeGuard& operator=(const InferenceModeGuard&) = delete;

 private:
  NoGradGuard no_grad_;
  bool prev_inference_;
};

/// @namespace tg::autograd
/// The tape: recording ops (needs_grad, record), running backward, custom ops
/// (Function, Context), anomaly detection and the per-op Profiler.
namespace autograd {

/// One gradient per op input, in input order; an undefined Tensor means "none".
using Grads = std::vector<Tensor>;

/// Which inputs of a recorded op need a gradient (PyTorch's grad_input_mask):
/// input i does when it requires grad. A backward rule computes exactly those.
class NeedsGrad {
 public:
  NeedsGrad() = default;
  explicit NeedsGrad(std::vector<bool> mask) : mask_(std::move(mask)) {}
  /// True when input i needs its gradient.
  bool operator[](std::size_t i) const { return i < mask_.size() && mask_[i]; }
  /// Number of inputs of the op.
  std::size_t size() const { return mask_.size(); }

 private:
  std::vector<bool> mask_;
};

struct OutputGroup;  // private: the outputs of one several-output Function call (core/autograd.cpp)

/// A tensor a backward rule keeps from the forward pass, with the version() it
/// had then (PyTorch's SavedVariable). Reading it after an in-place change
/// (fill_, copy_, add_, mul_, relu_, zero_, set_data or Module::to, an optimizer step) throws
/// std::runtime_error naming the op whose backward reads it, instead of
/// computing a gradient from the changed values. Every tensor a backward rule
/// reads is kept as one: an input as `SavedTensor(x)`, the op's own output as
/// `SavedTensor::output(y)`, int64 indices as `SavedTensor(idx)`:
/// `[x = autograd::SavedTensor(x)](const Tensor& gy) { return gy / x.get(); }`.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Keeps `t` (an undefined tensor keeps nothing).
  explicit SavedTensor(Tensor t);
  /// Keeps the output of the op being recorded. Holding the output itself
  /// would make a cycle (output -> its node -> the rule -> output), so this
  /// keeps its data only; when the rule runs under create_graph, get() hands
  /// back that data attached to the op's node again, so a gradient computed
  /// from the output is differentiated through the op (exp's `gy * y`).
  static SavedTensor output(const Tensor& y);
  /// The tensor, after checking that it has not changed since it was saved.
  Tensor get() const;
  /// Same as get(), so a saved tensor passes wherever a `const Tensor&` is taken.
  operator Tensor() const { return get(); }
  bool defined() const { return tensor_.defined(); }

 private:
  friend class Context;
  Tensor tensor_;
  std::uint64_t version_ = 0;
  bool is_output_ = false;
  // Output `group_index_` of a several-output op: re-attached through its own output node.
  std::shared_ptr<OutputGroup> group_;
  std::size_t group_index_ = 0;
};

/// Maps the gradient of an op's output to the gradients of the inputs that need one.
using BackwardFn = std::function<Grads(const Tensor& grad_output, const NeedsGrad& needs)>;
/// The same for an op with several outputs: one gradient per output, in order.
using MultiBackwardFn = std::function<Grads(const std::vector<Tensor>& grad_outputs, const NeedsGrad& needs)>;

/// The arguments of a recorded op that are not tensors (stride, padding, an
/// axis, a scalar), by name, for tools that read a traced graph
/// (tg::onnx::export_model). Only ops such a tool maps set them, right after
/// record(): `autograd::set_attributes(y, OpAttributes().set_ints("dim", {d}))`.
class OpAttributes {
 public:
  /// Sets (or replaces) an attribute; returns *this for chaining.
  ///@{
  OpAttributes& set_ints(const std::string& name, std::vector<std::int64_t> values);
  OpAttributes& set_real(const std::string& name, double value);
  ///@}
  /// The attribute called `name`; throws std::logic_error naming it when the op did not set it.
  ///@{
  const std::vector<std::int64_t>& ints(const std::string& name) const;
  double real(const std::string& name) const;
  ///@}
  bool empty() const { return ints_.empty() && reals_.empty(); }

 private:
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> ints_;
  std::vector<std::pair<std::string, double>> reals_;
};

/// Attaches `attributes` to the node that produced `output` (recorded just
/// before); throws std::logic_error when `output` has no grad_fn.
void set_attributes(const Tensor& output, OpAttributes attributes);

/// One recorded op on the tape, as seen from a tensor's grad_fn().
class Node {
 public:
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// The op's name as recorded ("matmul", "relu", a Function's name), used in errors.
  const std::string& name() const { return name_; }
  /// True once a backward pass without retain_graph has run through it.
  bool released() const { return released_; }
  /// The op's non-tensor arguments, when the op sets them (see OpAttributes); else empty.
  const OpAttributes& attributes() const { return attributes_; }

 protected:
  explicit Node(std::string name) : name_(std::move(name)) {}
  std::string name_;
  bool released_ = false;

 private:
  friend void set_attributes(const Tensor& output, OpAttributes attributes);
  OpAttributes attributes_;
};

/// True when grad mode is on and any argument requires grad.
template <class... Ts> bool needs_grad(const Ts&... ts) {
  return GradMode::is_enabled() && (ts.requires_grad() || ...);
}
/// needs_grad for a run-time list of tensors.
bool needs_grad_list(const std::vector<Tensor>& ts);

/// Records `output` as produced by op `name` from `inputs`. `output` must be a
/// fresh tensor (no grad_fn); it becomes a non-leaf that requires grad.
/// `backward` gets the output's gradient and the NeedsGrad mask of the inputs and
/// returns one entry per input: a gradient of that input's shape where the mask
/// is set, an undefined Tensor where it is not (both checked when it runs;
/// std::logic_error otherwise). Throws std::invalid_argument for an undefined
/// output and std::logic_error for one that already has a grad_fn or requires
/// grad; AnomalyError under DetectAnomalyGuard when the output holds NaN or Inf.
void record(std::string name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward);

/// record() with a rule that ignores the mask (`Grads(const Tensor& gy)`): the
/// gradients of inputs that need none are computed, then dropped.
template <class Rule, std::enable_if_t<std::is_invocable_r_v<Grads, Rule, const Tensor&>, int> = 0>
void record(std::string name, const std::vector<Tensor>& inputs, Tensor& output, Rule rule) {
  record(std::move(name), inputs, output, BackwardFn([rule = std::move(rule)](const Tensor& gy, const NeedsGrad& needs) {
           Grads g = rule(gy);
           for (std::size_t i = 0; i < g.size(); ++i)
             if (!needs[i]) g[i] = Tensor();
           return g;
         }));
}

/// A backward rule made of one gradient formula per input, in input order
/// (the shape of PyTorch's derivatives.yaml): formula i maps the output's
/// gradient to input i's and runs only when input i needs a gradient.
template <class... Formulas> BackwardFn formulas(Formulas... fs) {
  return [fs...](const Tensor& gy, const NeedsGrad& needs) -> Grads {
    Grads out;
    out.reserve(sizeof...(Formulas));
    std::size_t i = 0;
    ((out.push_back(needs[i] ? Tensor(fs(gy)) : Tensor()), ++i), ...);
    return out;
  };
}

/// Runs backward from `root` with seed gradient `grad` (see Tensor::backward).
/// Throws std::invalid_argument when `root` does not require grad or `grad`'s
/// shape differs from it; std::runtime_error when the walk reaches a node
/// released by an earlier backward without retain_graph.
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph, bool create_graph = false);

/// The gradients of `outputs` with respect to `inputs` (PyTorch's
/// torch.autograd.grad), returned instead of accumulated into grad(): one per
/// input, in order. `grad_outputs` holds one seed per output (empty, or an
/// undefined entry, means ones for a one-element output). With create_graph the
/// result is itself differentiable, for gradients of gradients (a Hessian-vector
/// product, a gradient penalty); retain_graph defaults to create_graph. Only the
/// ops between the outputs and the inputs run. An input the outputs do not
/// depend on throws std::invalid_argument unless allow_unused, which gives an
/// undefined Tensor for it; so do inputs or outputs that do not require grad.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

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
///   tg::Tensor x = tg::randn({64, 32}), w = tg::randn({32, 10}).requires_grad_();
///   tg::autograd::Profiler prof;
///   tg::Tensor loss = tg::mean(tg::relu(tg::matmul(x, w)));   // forward: matmul, relu, mean
///   loss.backward();                                          // backward
///   std::cout << prof.table();                                // one row per op, most expensive first
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
  /// Keeps tensors for backward, each as a SavedTensor (so an in-place change
  /// before backward is refused); saving forward's result is safe (it is kept
  /// as SavedTensor::output).
  void save_for_backward(const std::vector<Tensor>& tensors);
  /// The tensors of the last save_for_backward, in the order given; throws
  /// std::runtime_error when one was changed in place since it was saved.
  /// Under create_graph they are the tensors themselves (an input still
  /// requires grad), so a backward written with tapegrad ops is differentiable.
  const std::vector<Tensor>& saved() const;
  /// In backward: whether the Tensor argument `i` of forward needs its gradient
  /// (PyTorch's ctx.needs_input_grad); a gradient returned for one that does not
  /// is dropped, so skipping its computation is only a saving.
  bool needs_input_grad(std::size_t i) const { return needs_[i]; }
  /// In forward: these outputs get no gradient (PyTorch's
  /// ctx.mark_non_differentiable), e.g. the indices of a sort: they come back
  /// without requires_grad, and backward gets zeros for them. int64 outputs
  /// never get one anyway.
  void mark_non_differentiable(const std::vector<Tensor>& outputs);

 private:
  template <class Derived> friend struct Function;
  // forward's results, if saved, must not be held as themselves (a cycle through their nodes).
  void keep_output_as_output(const Tensor& out);
  void keep_outputs_as_outputs(const std::vector<Tensor>& outs, const std::shared_ptr<OutputGroup>& group);
  bool is_non_differentiable(const Tensor& out) const;
  // Records an op with several outputs (forward returned std::vector<Tensor>).
  // The tape's nodes have one output each, so this records one hidden node
  // holding `backward` with `inputs` as its inputs, and one thin node per
  // differentiable output whose only input is the hidden node's (scalar,
  // meaningless) output. In a backward pass the thin nodes run first (they
  // consume the hidden node's output) and hand their output's gradient to the
  // group; the hidden node then calls `backward` with all of them, zeros for
  // outputs no gradient reached and for non-differentiable ones. Outputs with
  // differentiable[k] false are left as they are. The group lets saved outputs
  // be re-attached under create_graph (keep_outputs_as_outputs).
  static std::shared_ptr<OutputGroup> record_outputs(const std::string& name, const std::vector<Tensor>& inputs,
                                                     std::vector<Tensor>& outputs,
                                                     const std::vector<bool>& differentiable, MultiBackwardFn backward);
  std::vector<Tensor> non_differentiable_;  // only until apply has read it
  std::vector<SavedTensor> saved_;
  mutable std::vector<Tensor> unpacked_;  // saved_'s tensors during one backward, then dropped
  NeedsGrad needs_;
};

/// Base of a custom op, defined without editing tapegrad (libtorch's Function API).
/// Derived provides `static Tensor forward(Context&, args...)`, `static Grads
/// backward(Context&, const Tensor& grad_output)` and, optionally, its own `name`:
/// <!-- snippet: file -->
/// @code
///   struct Swish : tg::autograd::Function<Swish> {
///     static constexpr const char* name = "swish";
///     static tg::Tensor forward(tg::autograd::Context& ctx, const tg::Tensor& x) {
///       ctx.save_for_backward({x});
///       return x * tg::sigmoid(x);
///     }
///     static tg::autograd::Grads backward(tg::autograd::Context& ctx, const tg::Tensor& gy) {
///       const tg::Tensor x = ctx.saved()[0];
///       const tg::Tensor s = tg::sigmoid(x);  // from the saved input, so differentiable again
///       return {gy * (s + x * s * (1.0 - s))};
///     }
///   };
/// @endcode
/// It is then used like any op:
/// @code
///   tg::Tensor x = tg::randn({3}, tg::kFloat64).requires_grad_();
///   tg::Tensor y = Swish::apply(x);
///   tg::sum(y).backward();   // x.grad() = s + x s (1 - s) with s = sigmoid(x)
/// @endcode
/// forward runs with grad mode off; backward must return one gradient per Tensor
/// argument of forward, in order (non-Tensor arguments are passed through; a
/// `std::vector<Tensor>` argument counts as its tensors, each one input).
///
/// Several outputs: forward returns `std::vector<Tensor>`, apply returns the
/// same, and backward is `static Grads backward(Context&, const
/// std::vector<Tensor>& grad_outputs)` with one gradient per output, as in
/// PyTorch zeros of the output's shape for an output no gradient reached (or
/// one marked non-differentiable):
/// <!-- snippet: file -->
/// @code
///   struct SortPair : tg::autograd::Function<SortPair> {   // element-wise (min, max) of a and b
///     static constexpr const char* name = "sort_pair";
///     static std::vector<tg::Tensor> forward(tg::autograd::Context& ctx, const tg::Tensor& a, const tg::Tensor& b) {
///       tg::Tensor swap = tg::lt(b - a, 0.0);   // 1 where b < a: an output, but no gradient goes through it
///       ctx.save_for_backward({swap});
///       ctx.mark_non_differentiable({swap});
///       return {tg::where(swap, b, a), tg::where(swap, a, b), swap};
///     }
///     static tg::autograd::Grads backward(tg::autograd::Context& ctx, const std::vector<tg::Tensor>& g) {
///       const tg::Tensor& swap = ctx.saved()[0];   // g[2], swap's gradient, is zeros
///       return {tg::where(swap, g[1], g[0]), tg::where(swap, g[0], g[1])};
///     }
///   };
/// @endcode
/// @code
///   tg::Tensor a = tg::tensor({1.0, 5.0}).requires_grad_(), b = tg::tensor({3.0, 2.0}).requires_grad_();
///   std::vector<tg::Tensor> out = SortPair::apply(a, b);   // min [1,2], max [3,5], swap [0,1]
///   tg::sum(out[1]).backward();                            // a.grad() = [0,1], b.grad() = [1,0]
/// @endcode
template <class Derived> struct Function {
  /// The op's name on the tape and in errors; Derived hides it with its own.
  static constexpr const char* name = "custom_function";

  /// Runs Derived::forward with grad mode off and, when grad mode is on and a
  /// Tensor argument requires grad, records Derived::backward for the result.
  /// Returns forward's result: a Tensor, or std::vector<Tensor> for several
  /// outputs (an output that is an input as-is, or repeats an earlier output,
  /// is detached first).
  template <class... Args> static auto apply(const Args&... args) {
    std::vector<Tensor> inputs;
    (collect(inputs, args), ...);
    auto ctx = std::make_shared<Context>();
    using Result = decltype(Derived::forward(*ctx, args...));
    static_assert(std::is_same_v<Result, Tensor> || std::is_same_v<Result, std::vector<Tensor>>,
                  "Function: forward must return Tensor or std::vector<Tensor>");
    Result out;
    {
      NoGradGuard no_grad;
      out = Derived::forward(*ctx, args...);
    }
    if (!needs_grad_list(inputs)) return out;
    if constexpr (std::is_same_v<Result, Tensor>) {
      if (ctx->is_non_differentiable(out) || !is_floating(out.dtype())) return out;
      out = fresh(out, inputs, {});
      ctx->non_differentiable_.clear();
      ctx->keep_output_as_output(out);
      record(Derived::name, inputs, out, BackwardFn([ctx](const Tensor& gy, const NeedsGrad& needs) {
               ctx->needs_ = needs;
               Grads g = Derived::backward(*ctx, gy);
               return finish(*ctx, std::move(g), needs);
             }));
    } else {
      std::vector<bool> differentiable;
      for (std::size_t k = 0; k < out.size(); ++k) {
        if (!out[k].defined())
          throw std::invalid_argument(std::string(Derived::name) + ": forward returned an undefined output " +
                                      std::to_string(k));
        differentiable.push_back(is_floating(out[k].dtype()) && !ctx->is_non_differentiable(out[k]));
        out[k] = fresh(out[k], inputs, std::vector<Tensor>(out.begin(), out.begin() + k));
      }
      ctx->non_differentiable_.clear();
      auto group = Context::record_outputs(
          Derived::name, inputs, out, differentiable,
          MultiBackwardFn([ctx](const std::vector<Tensor>& gys, const NeedsGrad& needs) {
            ctx->needs_ = needs;
            Grads g = Derived::backward(*ctx, gys);
            return finish(*ctx, std::move(g), needs);
          }));
      ctx->keep_outputs_as_outputs(out, group);
    }
    return out;
  }

 private:
  // The Tensor arguments of forward become the op's inputs; the others are passed through.
  static void collect(std::vector<Tensor>& out, const Tensor& t) { out.push_back(t); }
  static void collect(std::vector<Tensor>& out, const std::vector<Tensor>& ts) {
    out.insert(out.end(), ts.begin(), ts.end());
  }
  template <class T> static void collect(std::vector<Tensor>&, const T&) {}
  // An output that is an input, or an earlier output, as-is gets a handle of its own to record.
  static Tensor fresh(const Tensor& out, const std::vector<Tensor>& inputs, const std::vector<Tensor>& earlier) {
    for (const std::vector<Tensor>* list : {&inputs, &earlier})
      for (const Tensor& t : *list)
        if (t.is_same(out)) return out.detach();
    return out;
  }
  // After backward: drop the unpacked saved tensors, and gradients nobody asked for.
  static Grads finish(Context& ctx, Grads g, const NeedsGrad& needs) {
    ctx.unpacked_.clear();
    for (std::size_t i = 0; i < g.size(); ++i)
      if (!needs[i]) g[i] = Tensor();
    return g;
  }
};

}  // namespace autograd
}  // namespace tg
