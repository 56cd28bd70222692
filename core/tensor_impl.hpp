// Private: what a Tensor handle points to. Not installed, not for users.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg {

namespace detail {
/// A 64-byte aligned block from the caching allocator (storage.cpp), given
/// back to it when the last tensor using it goes.
struct Storage {
  void* data = nullptr;
  std::size_t bytes = 0;
  /// Counts in-place changes of these bytes (shared by every view, as in
  /// PyTorch): a tensor saved for backward remembers it and refuses to be read
  /// once it moved (autograd::SavedTensor).
  std::atomic<std::uint64_t> version{0};
  /// Made under InferenceModeGuard: never saved for backward, so `version` stays put.
  bool inference = false;
  Storage(void* d, std::size_t b) : data(d), bytes(b) {}
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

std::shared_ptr<Storage> allocate_storage(std::size_t bytes);
}  // namespace detail

namespace autograd {
struct GradHooks;
}

class TensorImpl {
 public:
  std::shared_ptr<detail::Storage> storage;
  std::size_t offset_bytes = 0;
  Shape shape;
  Dtype dtype = kFloat32;
  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;
  Tensor grad;
  /// A leaf's gradient hooks (Tensor::register_hook), null until one is registered.
  std::shared_ptr<autograd::GradHooks> grad_hooks;
  /// For a view (reshape, narrow, squeeze, ... share their input's storage): the
  /// tensor first made with this storage, while it lives. In-place ops look it up
  /// (autograd::check_inplace): a change through a view also changes the base,
  /// whose recorded history tapegrad does not rewrite. detach() leaves it empty.
  std::weak_ptr<TensorImpl> view_base;

  void* data() const { return static_cast<char*>(storage->data) + offset_bytes; }

  // The library's ways into a handle (Tensor's constructor from an impl is private).
  static Tensor wrap(std::shared_ptr<TensorImpl> impl) { return Tensor(std::move(impl)); }
  /// The impl behind a defined handle.
  static TensorImpl& of(const Tensor& t) { return *t.impl_; }
  static const std::shared_ptr<TensorImpl>& ptr(const Tensor& t) { return t.impl_; }
  /// How many handles share this impl (1: the caller's is the only one).
  static long handle_count(const Tensor& t) { return t.impl_.use_count(); }
};

namespace detail {
/// A new tensor with uninitialised contents.
Tensor make_tensor(const Shape& shape, Dtype dtype);
/// A tensor sharing `base`'s storage with another shape (same numel or fewer
/// elements starting `offset_elems` in). No autograd state; its view_base is
/// base's own base while that lives, else base.
Tensor make_view(const Tensor& base, const Shape& shape, std::int64_t offset_elems = 0);
}  // namespace detail

}  // namespace tg
