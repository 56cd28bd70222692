// Shape ops: reshape, flatten, transpose, permute, broadcast_to, narrow, index_select.
//
// reshape/flatten/narrow share storage (tensors are contiguous, so these are
// free); transpose/permute/broadcast_to copy into a new contiguous tensor.
//
// Backward rules:
//   reshape/flatten: gx = reshape(gy, x.shape)
//   permute(dims):   gx = permute(gy, inverse(dims))   (transpose is a permute)
//   broadcast_to:    gx = sum_to(gy, x.shape)
//   narrow:          gx = zeros(x.shape) with gy in rows [start, start+length)
//   index_select:    gx = zeros(x.shape) with gy rows added at `indices`
#include <cstring>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/broadcast.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {

using autograd::Grads;

Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& dims) {
  detail::check_defined(x, "reshape");
  auto request = [&] {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
    return s + "]";
  };
  Shape target;
  int infer = -1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (infer >= 0) detail::fail("reshape: only one dimension can be -1, got ", request());
      infer = static_cast<int>(i);
      target.push_back(1);
    } else if (dims[i] < 0) {
      detail::fail("reshape: invalid extent ", dims[i], " for ", describe(x));
    } else {
      target.push_back(dims[i]);
    }
  }
  if (infer >= 0) {
    // The product of the given extents (the inferred one is 1 for now); Shape::numel
    // refuses a product that overflows.
    const std::int64_t known = target.numel();
    if (known == 0 || x.numel() % known != 0)
      detail::fail("reshape: cannot reshape ", describe(x), " (", x.numel(), " elements) into ", request());
    target[infer] = x.numel() / known;
  }
  if (target.numel() != x.numel())
    detail::fail("reshape: cannot reshape ", describe(x), " (", x.numel(), " elements) into ", request(), " (",
                 target.numel(), " elements)");
  Tensor y = detail::make_view(x, target);
  if (autograd::needs_grad(x))
    autograd::record("reshape", {x}, y,
                     [shape = x.shape()](const Tensor& gy) -> Grads { return {reshape(gy, shape.vec())}; });
  return y;
}

Tensor flatten(const Tensor& x, int start_dim, int end_dim) {
  detail::check_defined(x, "flatten");
  if (x.dim() == 0) return reshape(x, {1});
  const int s = normalize_axis(start_dim, x.dim(), "flatten");
  const int e = normalize_axis(end_dim, x.dim(), "flatten");
  if (s > e) detail::fail("flatten: start_dim ", start_dim, " comes after end_dim ", end_dim, " for ", describe(x));
  std::vector<std::int64_t> dims;
  std::int64_t merged = 1;
  for (int i = 0; i < x.dim(); ++i) {
    if (i < s || i > e) {
      dims.push_back(x.shape()[i]);
    } else {
      merged *= x.shape()[i];
      if (i == e) dims.push_back(merged);
    }
  }
  return reshape(x, dims);
}

Tensor permute(const Tensor& x, const std::vector<int>& dims) {
  detail::check_defined(x, "permute");
  const int nd = x.dim();
  if (static_cast<int>(dims.size()) != nd)
    detail::fail("permute: ", dims.size(), " dimensions given for ", describe(x));
  std::vector<int> perm(nd), inverse(nd, -1);
  for (int i = 0; i < nd; ++i) {
    perm[i] = normalize_axis(dims[i], nd, "permute");
    if (inverse[perm[i]] != -1) detail::fail("permute: dimension ", dims[i], " repeated for ", describe(x));
    inverse[perm[i]] = i;
  }
  const auto in_strides = x.shape().strides();
  Shape out_shape;
  std::vector<std::int64_t> step(nd);  // input stride along each output dimension
  for (int i = 0; i < nd; ++i) {
    out_shape.push_back(x.shape()[perm[i]]);
    step[i] = in_strides[perm[i]];
  }
  Tensor y = detail::make_tensor(out_shape, x.dtype());
  detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    const std::int64_t n = y.numel();
    if (nd == 0 || n == 0) {
      if (n) *py = *px;
      return;
    }
    const std::int64_t inner = out_shape[nd - 1], inner_step = step[nd - 1];
    std::vector<std::int64_t> idx(nd, 0);
    std::int64_t offset = 0;
    for (std::int64_t r = 0; r < n / inner; ++r) {
      for (std::int64_t i = 0; i < inner; ++i) py[r * inner + i] = px[offset + i * inner_step];
      for (int d = nd - 2; d >= 0; --d) {
        offset += step[d];
        if (++idx[d] < out_shape[d]) break;
        offset -= step[d] * out_shape[d];
        idx[d] = 0;
      }
    }
  });
  if (autograd::needs_grad(x))
    autograd::record("permute", {x}, y, [inverse](const Tensor& gy) -> Grads { return {permute(gy, inverse)}; });
  return y;
}

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  detail::check_defined(x, "transpose");
  std::vector<int> dims(x.dim());
  for (int i = 0; i < x.dim(); ++i) dims[i] = i;
  std::swap(dims[normalize_axis(dim0, x.dim(), "transpose")], dims[normalize_axis(dim1, x.dim(), "transpose")]);
  return permute(x, dims);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  detail::check_defined(x, "broadcast_to");
  if (x.shape() == shape) return x;
  if (broadcast_shapes(x.shape(), shape, "broadcast_to") != shape)
    detail::fail("broadcast_to: cannot broadcast ", describe(x), " to ", shape.str());
  Tensor y = detail::make_tensor(shape, x.dtype());
  detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    const detail::BroadcastPlan plan = detail::make_broadcast_plan(x.shape(), shape, shape);
    detail::for_each_row(plan, px, py, py,
                         [](T* o, const T* in, T*, std::int64_t n, std::int64_t s_in, std::int64_t) {
                           if (s_in == 0) {
                             std::fill(o, o + n, *in);
                           } else {
                             for (std::int64_t i = 0; i < n; ++i) o[i] = in[i * s_in];
                           }
                         });
  });
  if (autograd::needs_grad(x))
    autograd::record("broadcast_to", {x}, y,
                     [shape = x.shape()](const Tensor& gy) -> Grads { return {sum_to(gy, shape)}; });
  return y;
}

Tensor narrow(const Tensor& x, std::int64_t start, std::int64_t length) {
  detail::check_defined(x, "narrow");
  if (x.dim() == 0) detail::fail("narrow: needs at least one dimension, got ", describe(x));
  if (start < 0 || length < 0 || start + length > x.shape()[0])
    detail::fail("narrow: rows [", start, ", ", start + length, ") are outside ", describe(x));
  Shape s = x.shape();
  s[0] = length;
  const std::int64_t row = x.shape()[0] == 0 ? 0 : x.numel() / x.shape()[0];
  Tensor y = detail::make_view(x, s, start * row);
  if (autograd::needs_grad(x))
    autograd::record("narrow", {x}, y, [shape = x.shape(), start, row](const Tensor& gy) -> Grads {
      Tensor gx = zeros(shape, gy.dtype());
      std::memcpy(static_cast<char*>(gx.raw_data()) + start * row * element_size(gy.dtype()), gy.raw_data(),
                  gy.numel() * element_size(gy.dtype()));
      return {gx};
    });
  return y;
}

Tensor index_select(const Tensor& x, const Tensor& indices) {
  detail::check_defined(x, "index_select");
  detail::check_defined(indices, "index_select");
  if (indices.dtype() != kInt64 || indices.dim() != 1)
    detail::fail("index_select: indices must be a 1-D int64 tensor, got ", describe(indices));
  if (x.dim() == 0) detail::fail("index_select: needs at least one dimension, got ", describe(x));
  const std::int64_t rows = x.shape()[0];
  const std::int64_t row = rows == 0 ? 0 : x.numel() / rows;
  const std::int64_t* idx = indices.data<std::int64_t>();
  const std::int64_t k = indices.numel();
  for (std::int64_t i = 0; i < k; ++i)
    if (idx[i] < 0 || idx[i] >= rows)
      detail::fail("index_select: index ", idx[i], " is out of range for ", describe(x));
  Shape s = x.shape();
  s[0] = k;
  Tensor y = detail::make_tensor(s, x.dtype());
  const std::size_t bytes = row * element_size(x.dtype());
  for (std::int64_t i = 0; i < k; ++i)
    std::memcpy(static_cast<char*>(y.raw_data()) + i * bytes,
                static_cast<const char*>(x.raw_data()) + idx[i] * bytes, bytes);
  if (autograd::needs_grad(x))
    autograd::record("index_select", {x, indices}, y, [shape = x.shape(), indices, row](const Tensor& gy) -> Grads {
      Tensor gx = zeros(shape, gy.dtype());
      detail::dispatch_float(gy.dtype(), "index_select backward", [&](auto tag) {
        using T = decltype(tag);
        const T* g = static_cast<const T*>(gy.raw_data());
        T* p = static_cast<T*>(gx.raw_data());
        const std::int64_t* id = indices.data<std::int64_t>();
        for (std::int64_t i = 0; i < indices.numel(); ++i)
          for (std::int64_t j = 0; j < row; ++j) p[id[i] * row + j] += g[i * row + j];
      });
      return {gx, Tensor()};
    });
  return y;
}

}  // namespace tg
