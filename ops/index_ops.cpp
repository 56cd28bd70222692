// Indexing and masks: index_select, gather, scatter_add, take_along_dim,
// where, masked_fill.
//
// Indices are int64 tensors, checked against the indexed dimension before any
// element is read (a negative or too large index is an error, as in PyTorch's
// index_select and gather). The backward rules keep the indices as
// SavedTensors. gather's gradient is a scatter_add, scatter_add's a gather.
//
// Masks: tapegrad has no bool dtype; a mask is a tensor of any dtype whose
// non-zero elements (NaN included) are true. The comparisons (gt, lt, eq) give
// 1/0 tensors, so their outputs are masks as they are.
#include <cmath>
#include <cstring>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/slicing.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;

namespace {
// The int64 indices of `op`, all in [0, extent): checked before anything is read.
void check_indices(const Tensor& index, std::int64_t extent, int dim, const Tensor& x, const char* op) {
  const std::int64_t* idx = index.data<std::int64_t>();
  for (std::int64_t i = 0, n = index.numel(); i < n; ++i)
    if (idx[i] < 0 || idx[i] >= extent)
      detail::fail(op, ": index ", idx[i], " at position ", i, " is out of range for dimension ", dim, " (size ",
                   extent, ") of ", describe(x));
}

void check_int64_index(const Tensor& index, const char* op) {
  if (index.dtype() != kInt64) detail::fail(op, ": the index must be an int64 tensor, got ", describe(index));
}
}  // namespace

// ---- index_select --------------------------------------------------------------
namespace {
// zeros(shape) with slice i of `slices` (along d) added at index[i]: index_select's
// adjoint, recorded so that its own gradient (an index_select) is on the tape.
Tensor index_add_into_zeros(const Shape& shape, int d, const Tensor& index, const Tensor& slices) {
  const detail::AroundDim a = detail::around_dim(shape, d);
  Tensor out = zeros(shape, slices.dtype());
  detail::dispatch_float(slices.dtype(), "index_select backward", [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(slices.raw_data());
    T* p = static_cast<T*>(out.raw_data());
    const std::int64_t* id = index.data<std::int64_t>();
    const std::int64_t n = index.numel();
    for (std::int64_t o = 0; o < a.outer; ++o)
      for (std::int64_t i = 0; i < n; ++i) {
        T* to = p + (o * a.extent + id[i]) * a.inner;
        const T* from = g + (o * n + i) * a.inner;
        for (std::int64_t j = 0; j < a.inner; ++j) to[j] += from[j];
      }
  });
  if (autograd::needs_grad(slices))
    autograd::record("index_select_backward", {slices}, out, autograd::formulas(
        [d, index = SavedTensor(index)](const Tensor& g) { return index_select(g, d, index.get()); }));
  return out;
}
}  // namespace

Tensor index_select(const Tensor& x, int dim, const Tensor& index) {
  detail::check_defined(x, "index_select");
  detail::check_defined(index, "index_select");
  if (index.dtype() != kInt64 || index.dim() > 1)
    detail::fail("index_select: the index must be a 0-d or 1-D int64 tensor, got ", describe(index));
  if (x.dim() == 0) detail::fail("index_select: needs at least one dimension, got ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "index_select", x);
  const detail::AroundDim a = detail::around_dim(x.shape(), d);
  check_indices(index, a.extent, dim, x, "index_select");
  const std::int64_t k = index.numel();
  std::vector<std::int64_t> out_extents = x.shape().vec();
  out_extents[d] = k;  // more than x has, when indices repeat
  if (const char* problem = detail::shape_size_problem(out_extents))
    detail::fail("index_select: the output shape ", detail::extents_str(out_extents), " ", problem, " (", k,
                 " indices into ", describe(x), ")");
  Tensor y = detail::make_tensor(Shape(out_extents), x.dtype());
  const std::int64_t* idx = index.data<std::int64_t>();
  for (std::int64_t i = 0; i < k; ++i)  // slice idx[i] of every outer block to slice i
    detail::copy_runs(x, a.extent * a.inner, idx[i] * a.inner, y, k * a.inner, i * a.inner, a.outer, a.inner);
  if (autograd::needs_grad(x))
    autograd::record("index_select", {x}, y, autograd::formulas([shape = x.shape(), d, index = SavedTensor(index)](
                                                                   const Tensor& gy) {
      return index_add_into_zeros(shape, d, index.get(), gy);
    }));
  return y;
}

Tensor index_select(const Tensor& x, const Tensor& index) { return index_select(x, 0, index); }

// ---- gather and scatter_add -----------------------------------------------------
namespace {
// Checks gather's and scatter_add's arguments (src: scatter_add's values, or
// undefined) and returns dim, counted from the front.
int check_gather_args(const char* op, const Tensor& x, int dim, const Tensor& index, const Tensor* src) {
  detail::check_defined(x, op);
  detail::check_defined(index, op);
  check_int64_index(index, op);
  if (index.dim() != x.dim())
    detail::fail(op, ": the index ", describe(index), " must have as many dimensions as the input ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), op, x);
  for (int k = 0; k < x.dim(); ++k)
    if (k != d && index.shape()[k] > x.shape()[k])
      detail::fail(op, ": the index ", describe(index), " is larger than the input ", describe(x), " in dimension ",
                   k, " (only dimension ", dim, " may be larger)");
  if (src) {
    detail::check_defined(*src, op);
    if (src->dtype() != x.dtype())
      detail::fail(op, ": src ", describe(*src), " must have the dtype of the input ", describe(x));
    if (src->dim() != index.dim())
      detail::fail(op, ": src ", describe(*src), " must have as many dimensions as the index ", describe(index));
    for (int k = 0; k < index.dim(); ++k)
      if (index.shape()[k] > src->shape()[k])
        detail::fail(op, ": the index ", describe(index), " is larger than src ", describe(*src), " in dimension ", k);
  }
  check_indices(index, x.dim() == 0 ? 1 : x.shape()[d], dim, x, op);
  return d;
}

// Calls f(i, other, base) for each position of the index (shape `ishape`, i its
// row-major number): `other` is that position's element in a tensor of shape
// `other_shape` (at least ishape in every dimension), `base` its element in a
// tensor of shape `xshape` with the coordinate along `dim` left at 0.
template <class F>
void for_each_index(const Shape& ishape, const Shape& xshape, const Shape& other_shape, int dim, F f) {
  const int nd = ishape.size();
  const std::int64_t n = ishape.numel();
  const std::vector<std::int64_t> xs = xshape.strides(), os = other_shape.strides();
  std::vector<std::int64_t> coord(nd, 0);
  std::int64_t base = 0, other = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    f(i, other, base);
    for (int k = nd - 1; k >= 0; --k) {  // odometer
      if (k != dim) base += xs[k];
      other += os[k];
      if (++coord[k] < ishape[k]) break;
      if (k != dim) base -= xs[k] * ishape[k];
      other -= os[k] * ishape[k];
      coord[k] = 0;
    }
  }
}

std::int64_t stride_of(const Shape& s, int dim) { return s.size() == 0 ? 0 : s.strides()[dim]; }

// zeros(out_shape) with out[position p of the index] = x[p with index[p] along dim]:
// gather when out_shape is the index's shape, scatter_add's gradient for src otherwise.
Tensor gather_into(const Tensor& x, int d, const Tensor& index, const Shape& out_shape) {
  Tensor out = zeros(out_shape, x.dtype());
  const std::int64_t step = stride_of(x.shape(), d);
  const std::int64_t* idx = index.data<std::int64_t>();
  detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    for_each_index(index.shape(), x.shape(), out_shape, d,
                   [&](std::int64_t i, std::int64_t o, std::int64_t base) { po[o] = px[base + idx[i] * step]; });
  });
  // Each element of out came from one element of x: the adjoint adds it back there.
  if (autograd::needs_grad(x))
    autograd::record("gather", {x}, out, autograd::formulas([shape = x.shape(), d, index = SavedTensor(index)](
                                                               const Tensor& g) {
      return scatter_add(zeros(shape, g.dtype()), d, index.get(), g);
    }));
  return out;
}
}  // namespace

Tensor gather(const Tensor& x, int dim, const Tensor& index) {
  const int d = check_gather_args("gather", x, dim, index, nullptr);
  return gather_into(x, d, index, index.shape());
}

Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src) {
  const int d = check_gather_args("scatter_add", x, dim, index, &src);
  Tensor y = detail::make_tensor(x.shape(), x.dtype());
  std::memcpy(y.raw_data(), x.raw_data(), x.numel() * element_size(x.dtype()));
  const std::int64_t step = stride_of(x.shape(), d);
  const std::int64_t* idx = index.data<std::int64_t>();
  detail::dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* ps = static_cast<const T*>(src.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for_each_index(index.shape(), x.shape(), src.shape(), d,
                   [&](std::int64_t i, std::int64_t s, std::int64_t base) { py[base + idx[i] * step] += ps[s]; });
  });
  if (autograd::needs_grad(x, src))
    autograd::record("scatter_add", {x, src}, y, autograd::formulas(
        [](const Tensor& gy) { return gy; },
        // Each element of src went to one element of y; those the index does not reach get 0.
        [d, index = SavedTensor(index), src_shape = src.shape()](const Tensor& gy) {
          return gather_into(gy, d, index.get(), src_shape);
        }));
  return y;
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices, int dim) {
  detail::check_defined(x, "take_along_dim");
  detail::check_defined(indices, "take_along_dim");
  check_int64_index(indices, "take_along_dim");
  if (indices.dim() != x.dim())
    detail::fail("take_along_dim: the indices ", describe(indices), " must have as many dimensions as the input ",
                 describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "take_along_dim", x);
  if (x.dim() == 0) return gather(x, 0, indices);
  // Every dimension but dim broadcasts, as in PyTorch.
  Shape x_rest = x.shape(), i_rest = indices.shape();
  x_rest.set(d, 1);
  i_rest.set(d, 1);
  Shape x_target = broadcast_shapes(x_rest, i_rest, "take_along_dim"), i_target = x_target;
  x_target.set(d, x.shape()[d]);
  i_target.set(d, indices.shape()[d]);
  return gather(broadcast_to(x, x_target), d, broadcast_to(indices, i_target));
}

Tensor take_along_dim(const Tensor& x, const Tensor& indices) {
  detail::check_defined(x, "take_along_dim");
  detail::check_defined(indices, "take_along_dim");
  check_int64_index(indices, "take_along_dim");
  return gather(reshape(x, {-1}), 0, reshape(indices, {-1}));
}

// ---- where and masked_fill ------------------------------------------------------
namespace {
// out[i] = cond[i] != 0 ? when_true[i] : when_false[i], over tensors of one shape
// (the values of one dtype; the mask of any).
Tensor choose(const Tensor& cond, const Tensor& when_true, const Tensor& when_false) {
  Tensor out = detail::make_tensor(when_true.shape(), when_true.dtype());
  detail::dispatch_all(cond.dtype(), [&](auto cond_tag) {
    using C = decltype(cond_tag);
    const C* c = static_cast<const C*>(cond.raw_data());
    detail::dispatch_all(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* t = static_cast<const T*>(when_true.raw_data());
      const T* f = static_cast<const T*>(when_false.raw_data());
      T* o = static_cast<T*>(out.raw_data());
      for (std::int64_t i = 0, n = out.numel(); i < n; ++i) o[i] = c[i] != C(0) ? t[i] : f[i];
    });
  });
  return out;
}

// The dtype where computes in: float64 if either is, else float32 if either is, else int64.
Dtype where_dtype(const Tensor& a, const Tensor& b) {
  if (a.dtype() == kFloat64 || b.dtype() == kFloat64) return kFloat64;
  if (a.dtype() == kFloat32 || b.dtype() == kFloat32) return kFloat32;
  return kInt64;
}

// `t` detached, in `dtype` and broadcast to `shape`: an operand of choose().
Tensor operand(const Tensor& t, Dtype dtype, const Shape& shape) {
  return broadcast_to(t.detach().to(dtype), shape);
}
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_defined(cond, "where");
  detail::check_defined(a, "where");
  detail::check_defined(b, "where");
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const Dtype dtype = where_dtype(a, b);
  const Tensor mask = broadcast_to(cond.detach(), shape);
  Tensor y = choose(mask, operand(a, dtype, shape), operand(b, dtype, shape));
  // The condition is never differentiated (PyTorch's is a bool tensor).
  if (autograd::needs_grad(a, b))
    autograd::record("where", {a, b}, y, autograd::formulas(
        [mask = SavedTensor(mask), shape = a.shape()](const Tensor& gy) {
          return sum_to(where(mask.get(), gy, zeros_like(gy)), shape);
        },
        [mask = SavedTensor(mask), shape = b.shape()](const Tensor& gy) {
          return sum_to(where(mask.get(), zeros_like(gy), gy), shape);
        }));
  return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  detail::check_defined(x, "masked_fill");
  detail::check_defined(mask, "masked_fill");
  // [-2^63, 2^63) as doubles; NaN fails both comparisons.
  if (x.dtype() == kInt64 && !(value >= -9223372036854775808.0 && value < 9223372036854775808.0))
    detail::fail("masked_fill: ", value, " cannot be stored in the int64 tensor ", describe(x));
  // Out of place, PyTorch broadcasts x and the mask against each other.
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  const Tensor fill = broadcast_to(mask.detach(), shape);
  Tensor y = choose(fill, full(shape, value, x.dtype()), broadcast_to(x.detach(), shape));
  if (autograd::needs_grad(x))
    autograd::record("masked_fill", {x}, y, autograd::formulas(
        [fill = SavedTensor(fill), shape = x.shape()](const Tensor& gy) {
          return sum_to(where(fill.get(), zeros_like(gy), gy), shape);
        }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: each op's samples and error inputs; the generic test
// (tests/test_op_declarations.cpp) runs check_op over them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> index_op_declarations() {
  using inputs::any;
  using inputs::given;
  const Tensor m42 = ones({4, 2});
  // A mask with both values, and one that broadcasts (a column).
  const Tensor mask23 = tensor_i64({1, 0, 0, 1, 1, 0}, {2, 3});
  return {
      OpInfo("index_select")
          .sample("rows 2, 0, 2 of 3x2", {any({3, 2}), given(tensor_i64({2, 0, 2}, {3}))},
                  [](const OpArgs& v) { return index_select(v[0], 0, v[1]); })
          .sample("dim -1 of 2x3x4, repeated", {any({2, 3, 4}), given(tensor_i64({3, 3, 0, 1, 2}, {5}))},
                  [](const OpArgs& v) { return index_select(v[0], -1, v[1]); })
          .sample("dim 1 of 2x3x2 by a 0-d index", {any({2, 3, 2}), given(tensor_i64({1}, {}))},
                  [](const OpArgs& v) { return index_select(v[0], 1, v[1]); })
          .sample("no indices", {any({3, 2}), given(tensor_i64({}, {0}))},
                  [](const OpArgs& v) { return joined_to_input(index_select(v[0], 1, v[1]), v[0]); })
          .sample("the older dim-0 form", {any({3, 2}), given(tensor_i64({1, 1}, {2}))},
                  [](const OpArgs& v) { return index_select(v[0], v[1]); })
          .error("index out of range", [m42] { index_select(m42, 0, tensor_i64({0, 4}, {2})); },
                 {"index_select", "index 4", "dimension 0", "[4,2]"})
          .error("index out of range along dim 1", [m42] { index_select(m42, -1, tensor_i64({2}, {1})); },
                 {"index_select", "index 2", "dimension -1", "[4,2]"})
          .error("negative index", [m42] { index_select(m42, tensor_i64({-1}, {1})); }, {"index_select", "-1", "[4,2]"})
          .error("float indices", [m42] { index_select(m42, 0, tensor({1})); }, {"index_select", "int64", "float32"})
          .error("a 2-D index", [m42] { index_select(m42, 0, tensor_i64({0, 1}, {1, 2})); },
                 {"index_select", "[1,2] int64"})
          .error("dimension out of range", [m42] { index_select(m42, 2, tensor_i64({0}, {1})); },
                 {"index_select", "dimension 2", "[4,2]"}),
      OpInfo("gather")
          .sample("dim 1 of 3x4, index 3x2", {any({3, 4}), given(tensor_i64({3, 0, 1, 1, 2, 3}, {3, 2}))},
                  [](const OpArgs& v) { return gather(v[0], 1, v[1]); })
          .sample("dim 0 of 3x4, a smaller index", {any({3, 4}), given(tensor_i64({2, 0, 0, 1, 1, 2}, {2, 3}))},
                  [](const OpArgs& v) { return gather(v[0], 0, v[1]); })
          .sample("dim -2 of 2x3x2, an index longer than the dim",
                  {any({2, 3, 2}), inputs::indices({2, 5, 2}, 3)}, [](const OpArgs& v) { return gather(v[0], -2, v[1]); })
          .sample("0-d", {any({}), given(tensor_i64({0}, {}))}, [](const OpArgs& v) { return gather(v[0], 0, v[1]); })
          .sample("an empty index", {any({3, 2}), given(tensor_i64({}, {3, 0}))},
                  [](const OpArgs& v) { return joined_to_input(gather(v[0], 1, v[1]), v[0]); })
          .error("index out of range", [m42] { gather(m42, 1, tensor_i64({0, 2}, {1, 2})); },
                 {"gather", "index 2", "position 1", "dimension 1", "[4,2]"})
          .error("negative index", [m42] { gather(m42, 0, tensor_i64({-1}, {1, 1})); }, {"gather", "-1", "[4,2]"})
          .error("index larger outside dim", [m42] { gather(m42, 0, tensor_i64({0, 0, 0}, {1, 3})); },
                 {"gather", "[1,3] int64", "[4,2] float32", "dimension 1"})
          .error("index of another rank", [m42] { gather(m42, 0, tensor_i64({0}, {1})); },
                 {"gather", "[1] int64", "[4,2] float32"})
          .error("float index", [m42] { gather(m42, 0, ones({1, 1})); }, {"gather", "int64", "[1,1] float32"}),
      OpInfo("scatter_add")
          .sample("dim 0 of 3x4, index and src 2x4",
                  {any({3, 4}), given(tensor_i64({2, 0, 0, 1, 2, 2, 1, 0}, {2, 4})), any({2, 4})},
                  [](const OpArgs& v) { return scatter_add(v[0], 0, v[1], v[2]); })
          .sample("dim -1, src larger than the index",
                  {any({2, 3}), given(tensor_i64({2, 2, 0, 1}, {2, 2})), any({3, 4})},
                  [](const OpArgs& v) { return scatter_add(v[0], -1, v[1], v[2]); })
          .sample("dim 1 of 2x2x3", {any({2, 2, 3}), inputs::indices({2, 4, 3}, 2), any({2, 4, 3})},
                  [](const OpArgs& v) { return scatter_add(v[0], 1, v[1], v[2]); })
          .sample("0-d", {any({}), given(tensor_i64({0}, {})), any({})},
                  [](const OpArgs& v) { return scatter_add(v[0], 0, v[1], v[2]); })
          .error("index out of range", [m42] { scatter_add(m42, 0, tensor_i64({4}, {1, 1}), ones({1, 1})); },
                 {"scatter_add", "index 4", "[4,2]"})
          .error("index larger than src", [m42] { scatter_add(m42, 0, tensor_i64({0, 0}, {1, 2}), ones({1, 1})); },
                 {"scatter_add", "[1,2] int64", "[1,1] float32"})
          .error("src of another dtype",
                 [m42] { scatter_add(m42, 0, tensor_i64({0}, {1, 1}), ones({1, 1}, kFloat64)); },
                 {"scatter_add", "[1,1] float64", "[4,2] float32"}),
      OpInfo("take_along_dim")
          .composite_of_other_ops()
          .sample("dim 1 of 3x4, broadcast index 1x2", {any({3, 4}), given(tensor_i64({3, 1}, {1, 2}))},
                  [](const OpArgs& v) { return take_along_dim(v[0], v[1], 1); })
          .sample("dim -1 of 2x1x3, index 1x4x2", {any({2, 1, 3}), inputs::indices({1, 4, 2}, 3)},
                  [](const OpArgs& v) { return take_along_dim(v[0], v[1], -1); })
          .sample("flattened", {any({2, 3}), given(tensor_i64({5, 0, 5}, {3}))},
                  [](const OpArgs& v) { return take_along_dim(v[0], v[1]); })
          .error("ranks differ", [m42] { take_along_dim(m42, tensor_i64({0}, {1}), 0); },
                 {"take_along_dim", "[1] int64", "[4,2] float32"})
          .error("other dims do not broadcast", [m42] { take_along_dim(m42, tensor_i64({0, 0, 0}, {1, 3}), 0); },
                 {"take_along_dim", "[1,2]", "[1,3]"})
          .error("index out of range", [m42] { take_along_dim(m42, tensor_i64({2}, {1, 1}), 1); },
                 {"index 2", "[4,2]"}),
      OpInfo("where")
          .sample("2x3 mask, a and b 2x3", {given(mask23), any({2, 3}), any({2, 3})},
                  [](const OpArgs& v) { return where(v[0], v[1], v[2]); })
          .sample("a float mask from gt, broadcast a and b", {inputs::constant({2, 3}), any({3}), any({2, 1})},
                  [](const OpArgs& v) { return where(gt(v[0], 0.0), v[1], v[2]); })
          .sample("a column mask, 0-d b", {given(tensor_i64({0, 1}, {2, 1})), any({2, 3}), any({})},
                  [](const OpArgs& v) { return where(v[0], v[1], v[2]); })
          .sample("int64 a and float b", {given(mask23), inputs::indices({2, 3}, 7), any({2, 3})},
                  [](const OpArgs& v) { return where(v[0], v[1], v[2]); })
          .error("shapes do not broadcast", [] { where(ones({2, 3}), ones({2, 3}), ones({4})); },
                 {"where", "[2,3]", "[4]"})
          .error("mask does not broadcast", [] { where(ones({3}), ones({2, 2}), ones({2, 2})); },
                 {"where", "[3]", "[2,2]"}),
      OpInfo("masked_fill")
          .sample("2x3 int64 mask", {any({2, 3}), given(mask23)},
                  [](const OpArgs& v) { return masked_fill(v[0], v[1], -7.5); })
          .sample("a mask from lt, broadcast over rows", {any({2, 3}), inputs::constant({3})},
                  [](const OpArgs& v) { return masked_fill(v[0], lt(v[1], 0.0), 0.0); })
          .sample("0-d mask, false", {any({2, 2}), given(tensor_i64({0}, {}))},
                  [](const OpArgs& v) { return masked_fill(v[0], v[1], 2.0); })
          .sample("a mask larger than x (x broadcasts too)", {any({3}), given(tensor_i64({0, 1, 1, 1, 0, 0}, {2, 3}))},
                  [](const OpArgs& v) { return masked_fill(v[0], v[1], 0.5); })
          .error("shapes do not broadcast", [] { masked_fill(ones({2, 3}), ones({2, 2}), 0.0); },
                 {"masked_fill", "[2,3]", "[2,2]"})
          .error("NaN into int64", [] { masked_fill(tensor_i64({1}, {1}), ones({1}), std::nan("")); },
                 {"masked_fill", "nan", "[1] int64"}),
  };
}

}  // namespace tg
