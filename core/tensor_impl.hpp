// Private: what a Tensor handle points to. Not installed, not for users.
#pragma once

#include <cstddef>
#include <memory>

#include <tapegrad/autograd.hpp>
#include <tapegrad/tensor.hpp>

namespace tg::detail {

/// A 64-byte aligned block from the caching allocator (storage.cpp), or
/// memory owned by someone else (`owned == false`, never freed by us).
struct Storage {
  void* data = nullptr;
  std::size_t bytes = 0;
  bool owned = true;
  Storage(void* d, std::size_t b, bool o) : data(d), bytes(b), owned(o) {}
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

std::shared_ptr<Storage> allocate_storage(std::size_t bytes);

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::size_t offset_bytes = 0;
  Shape shape;
  Dtype dtype = kFloat32;
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;
  Tensor grad;

  void* data() const { return static_cast<char*>(storage->data) + offset_bytes; }
};

/// A new tensor with uninitialised contents.
Tensor make_tensor(const Shape& shape, Dtype dtype);
/// A tensor sharing `base`'s storage with another shape (same numel or fewer
/// elements starting `offset_elems` in). No autograd state.
Tensor make_view(const Tensor& base, const Shape& shape, std::int64_t offset_elems = 0);

}  // namespace tg::detail
