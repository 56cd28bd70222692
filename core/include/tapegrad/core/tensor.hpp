// tapegrad — the Tensor handle and its factories.
//
// A tg::Tensor is a cheap, shared handle (one shared_ptr) to a contiguous,
// row-major block of elements of one runtime dtype, plus its autograd state.
// Copying a Tensor copies the handle, not the data — as in PyTorch.
//
// Contract (see README "API tour"):
//  * Storage is 64-byte aligned, reference counted and owned by tapegrad.
//  * Every tensor is contiguous; reshape/flatten/detach share storage.
//  * Differentiable ops live in <tapegrad/ops/ops.hpp>; every op records itself on
//    the tape when grad mode is on and an input requires grad.
//  * Bad arguments throw std::invalid_argument naming the op and the shapes.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <tapegrad/core/dtype.hpp>
#include <tapegrad/core/shape.hpp>

namespace tg {

namespace autograd {
struct Node;
}
class TensorImpl;  // what a handle points to; private to the library

/// Undoes one registration (a gradient hook, a module hook) on remove().
/// Dropping the handle leaves the registration in place, as in PyTorch.
class RemovableHandle {
 public:
  RemovableHandle() = default;
  explicit RemovableHandle(std::function<void()> remover) : remover_(std::move(remover)) {}
  /// Removes the registration; later calls do nothing.
  void remove() {
    if (!remover_) return;
    std::function<void()> remover = std::move(remover_);
    remover_ = nullptr;
    remover();
  }

 private:
  std::function<void()> remover_;
};
[[noreturn]] void throw_dtype_mismatch(const char* what, Dtype have, Dtype want);

/// A shared handle to a contiguous, row-major block of elements of one dtype,
/// with its autograd state (see the contract at the top of this file).
/// Metadata and element access on an undefined tensor throw std::invalid_argument.
class Tensor {
 public:
  /// An undefined tensor (no data); `defined()` is false.
  Tensor() = default;
  /// False for a default-constructed tensor (no data).
  bool defined() const { return static_cast<bool>(impl_); }

  // ---- metadata -----------------------------------------------------------
  /// The extents, outermost first.
  const Shape& shape() const;
  /// Extent of dimension `axis` (negative counts from the back); throws when out of range.
  std::int64_t size(int axis) const;
  /// Number of dimensions (0 for a scalar tensor).
  int dim() const;
  /// Number of elements (1 for a 0-d tensor).
  std::int64_t numel() const;
  /// The element type.
  Dtype dtype() const;

  // ---- element access -----------------------------------------------------
  /// Pointer to the first element; throws std::invalid_argument if T does not
  /// match dtype() (float for float32, double for float64, std::int64_t for int64).
  ///@{
  template <class T> T* data() {
    check_dtype<T>("Tensor::data");
    return static_cast<T*>(raw_data());
  }
  template <class T> const T* data() const {
    check_dtype<T>("Tensor::data");
    return static_cast<const T*>(raw_data());
  }
  ///@}
  /// Untyped pointer to the first element (dtype() tells how to read it).
  ///@{
  void* raw_data();
  const void* raw_data() const;
  ///@}

  /// The value of a one-element tensor (any shape with numel() == 1), converted
  /// to double / to T; throws std::invalid_argument for any other size.
  ///@{
  double item() const;
  template <class T> T item() const { return static_cast<T>(item()); }
  ///@}
  /// All elements in row-major order, converted to T (float, double, std::int64_t or int).
  template <class T = double> std::vector<T> to_vector() const;

  // ---- conversions and copies ----------------------------------------------
  /// A copy in another dtype (differentiable between float32 and float64);
  /// this same tensor when it already has `dtype`.
  Tensor to(Dtype dtype) const;
  /// A deep copy (differentiable).
  Tensor clone() const;
  /// Shares the storage, cut off from the tape: requires_grad() is false.
  Tensor detach() const;

  // ---- autograd ---------------------------------------------------------------
  /// True for leaves marked with requires_grad_() and for results of recorded ops.
  bool requires_grad() const;
  /// Marks a leaf as needing a gradient. Throws on a non-leaf or an int64 tensor.
  Tensor& requires_grad_(bool on = true);
  /// True for tensors the user created (no grad_fn) — gradients accumulate only in leaves.
  bool is_leaf() const;
  /// The accumulated gradient (undefined until a backward pass reaches this tensor).
  Tensor grad() const;
  /// Replaces the accumulated gradient (undefined clears it); throws when `g`'s shape differs.
  void set_grad(const Tensor& g);
  /// Drops the accumulated gradient (PyTorch's zero_grad(set_to_none=true)).
  void zero_grad();
  /// Asks a non-leaf to keep its gradient in grad() during backward; throws when
  /// the tensor does not require grad.
  void retain_grad();
  /// The node that produced this tensor, or null for leaves.
  std::shared_ptr<autograd::Node> grad_fn() const;

  /// Backward from a one-element tensor (the seed gradient is 1): accumulates
  /// into grad() of every leaf it depends on that requires grad. The graph is
  /// freed afterwards unless retain_graph (which defaults to create_graph).
  /// With create_graph the backward rules are themselves recorded, so the
  /// gradients left in grad() can be differentiated again (they hold the leaf
  /// through their graph: clear them with zero_grad() when done, or prefer
  /// autograd::grad). Throws std::invalid_argument when the tensor has more than
  /// one element or does not require grad.
  void backward(std::optional<bool> retain_graph = std::nullopt, bool create_graph = false) const;
  /// Backward with an explicit gradient of the same shape as this tensor
  /// (converted to its dtype; undefined means ones); otherwise as backward().
  void backward(const Tensor& gradient, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;

  /// A gradient hook: gets the gradient with respect to this tensor, summed
  /// over all its uses, each time a backward pass computes it; returns a
  /// replacement of the same shape, or an undefined Tensor to keep it.
  using GradHook = std::function<Tensor(const Tensor&)>;
  /// Registers `hook` (PyTorch's Tensor.register_hook): it runs before the
  /// gradient reaches grad() or flows on to the ops that produced this tensor,
  /// also in autograd::grad. Hooks run in registration order; they stay with
  /// the tensor (a leaf) or with the op that produced it (a non-leaf) until
  /// the returned handle's remove(). Throws std::invalid_argument when the
  /// tensor does not require grad.
  RemovableHandle register_hook(GradHook hook);
  /// An inspecting hook (returns nothing): sees the gradient, leaves it as is.
  template <class F, std::enable_if_t<std::is_void_v<std::invoke_result_t<F, const Tensor&>>, int> = 0>
  RemovableHandle register_hook(F inspect) {
    return register_hook(GradHook([inspect = std::move(inspect)](const Tensor& g) {
      inspect(g);
      return Tensor();
    }));
  }

  // ---- in-place (more in <tapegrad/ops/ops.hpp>: add_, mul_, relu_, zero_) --
  /// Sets every element to `value`; not recorded (for initialisers). Refused on
  /// a tensor that requires grad while grad mode is on.
  Tensor& fill_(double value);
  /// Copies the values of `src` (same shape; converted to this dtype). Recorded
  /// as PyTorch's copy_ when grad mode is on and this tensor or `src` requires
  /// grad: this tensor then has grad_fn "copy_", src gets the whole gradient
  /// and the overwritten values none. Refused on a leaf that requires grad
  /// while grad mode is on, and when the shapes differ.
  Tensor& copy_(const Tensor& src);

  /// Replaces this tensor's elements by a copy of `src`'s, converted to `dtype`,
  /// under the same handle (PyTorch's `param.data = src.to(dtype)`): every holder of
  /// this tensor (a module's member, an optimizer) sees the new values and dtype.
  /// Not recorded; drops grad(). Throws when the shapes differ, for a non-float
  /// dtype, or on a non-leaf.
  void set_data(const Tensor& src, Dtype dtype);

  /// How many in-place changes this tensor's elements have seen (PyTorch's
  /// `_version`; shared with every view of the same storage). fill_, copy_,
  /// set_data, the optimizers and gradient accumulation raise it; a backward
  /// that saved the tensor refuses to run once it has moved.
  std::uint64_t version() const;
  /// Raises version(): call it after changing elements in place through data<T>()
  /// yourself, so that a backward which saved this tensor refuses the changed values.
  /// Does nothing for an inference tensor, which cannot be saved.
  void bump_version();
  /// True for a tensor made under tg::InferenceModeGuard (and its views): it
  /// keeps no version counter and cannot be saved for backward (see InferenceMode).
  bool is_inference() const;

  /// Same tensor (identity, not value equality).
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }
  /// A key identifying the tensor behind this handle (equal for copies of the
  /// handle, null when undefined): for sets of distinct tensors.
  const void* id() const { return impl_.get(); }

 private:
  friend class TensorImpl;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  template <class T> void check_dtype(const char* what) const {
    if (dtype() != dtype_of<T>()) throw_dtype_mismatch(what, dtype(), dtype_of<T>());
  }
  std::shared_ptr<TensorImpl> impl_;
};

/// PyTorch-style printout, "tensor([[1., 2.], [3., 4.]], dtype=float64, requires_grad=true)";
/// over 1000 elements show the first and last three per dimension.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// "[2,3] float32" — used in error messages.
std::string describe(const Tensor& t);

// ---- factories ---------------------------------------------------------------
// Factories make leaves that do not require grad; call requires_grad_() to train them.
/// Uninitialised storage of the given shape.
Tensor empty(const Shape& shape, Dtype dtype = kFloat32);
/// Every element 0.
Tensor zeros(const Shape& shape, Dtype dtype = kFloat32);
/// Every element 1.
Tensor ones(const Shape& shape, Dtype dtype = kFloat32);
/// Every element `value` (converted to `dtype`).
Tensor full(const Shape& shape, double value, Dtype dtype = kFloat32);
/// Values in row-major order; `values.size()` must equal the product of `shape`
/// (std::invalid_argument otherwise).
Tensor tensor(const std::vector<double>& values, const Shape& shape, Dtype dtype = kFloat32);
/// A 1-D tensor.
Tensor tensor(const std::vector<double>& values, Dtype dtype = kFloat32);
/// Exact int64 values (labels, indices).
Tensor tensor_i64(const std::vector<std::int64_t>& values, const Shape& shape);
/// A 0-d tensor holding one value.
Tensor scalar_tensor(double value, Dtype dtype = kFloat32);
/// [0, 1, ..., end-1]
Tensor arange(std::int64_t end, Dtype dtype = kFloat32);
/// start, start+step, ... while < end (> end for a negative step); the step must
/// be finite and non-zero.
Tensor arange(double start, double end, double step = 1.0, Dtype dtype = kFloat32);
/// Zeros / ones of t's shape and dtype.
///@{
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
///@}

// ---- random numbers (one global generator, seeded by manual_seed) -----------
/// Reseeds the global generator behind the random factories, Dropout and the
/// initialisers: the same seed then gives the same sequence of draws. Before
/// any call the generator has a fixed default seed.
void manual_seed(std::uint64_t seed);
/// Standard normal samples.
Tensor randn(const Shape& shape, Dtype dtype = kFloat32);
/// Uniform samples in [0, 1).
Tensor rand(const Shape& shape, Dtype dtype = kFloat32);
/// Uniform integers in [low, high) as int64.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape);
/// A random permutation of 0..n-1 (int64), from the global generator: it takes
/// one 64-bit draw as the seed of randperm(n, seed). Throws for n < 0.
std::vector<std::int64_t> randperm(std::int64_t n);
/// A permutation of 0..n-1 fixed by (n, seed, stream) alone, the same with every
/// compiler, standard library and platform; the global generator is neither used
/// nor advanced. `stream` picks one of many unrelated permutations of one seed —
/// data::epoch_order passes the epoch (for BatchLoader, DataLoader and
/// DistributedSampler), data::random_split uses stream 0. Fisher-Yates over
/// std::mt19937_64 seeded with s = SplitMix64(SplitMix64(seed) + stream), each
/// index drawn without modulo bias. Throws for n < 0.
std::vector<std::int64_t> randperm(std::int64_t n, std::uint64_t seed, std::uint64_t stream = 0);

}  // namespace tg
