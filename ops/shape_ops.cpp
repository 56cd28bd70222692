// Shape ops: reshape, flatten, transpose, permute, broadcast_to, narrow, index_select.
//
// reshape/flatten/narrow share storage (tensors are contiguous, so these are
// free); transpose/permute/broadcast_to copy into a new contiguous tensor.
//
// Each op's gradient is the formula passed to autograd::formulas in its
// definition (flatten is a reshape, transpose a permute); the samples and error
// inputs are declared at the bottom, with those of Tensor::to and Tensor::clone.
#include <cstring>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/broadcast.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;

Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& dims) {
  detail::check_defined(x, "reshape");
  auto request = [&] {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
    return s + "]";
  };
  std::vector<std::int64_t> extents;  // as requested, the -1 counted as 1 for now
  int infer = -1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (infer >= 0) detail::fail("reshape: only one dimension can be -1, got ", request());
      infer = static_cast<int>(i);
      extents.push_back(1);
    } else if (dims[i] < 0) {
      detail::fail("reshape: invalid extent ", dims[i], " for ", describe(x));
    } else {
      extents.push_back(dims[i]);
    }
  }
  if (extents.size() > Shape::kMaxDims)
    detail::fail("reshape: ", request(), " has ", extents.size(), " dimensions; at most ", Shape::kMaxDims,
                 " are supported");
  // Checked here, not by Shape, so that the message names reshape: extents such
  // as [0, 2^62, 2^62] hold no elements but their strides overflow.
  if (const char* problem = detail::shape_size_problem(extents))
    detail::fail("reshape: cannot reshape ", describe(x), " into ", request(), ", which ", problem);
  Shape target(extents);
  if (infer >= 0) {
    // The product of the given extents (the inferred one is 1 for now).
    const std::int64_t known = target.numel();
    if (known == 0 || x.numel() % known != 0)
      detail::fail("reshape: cannot reshape ", describe(x), " (", x.numel(), " elements) into ", request());
    target.set(infer, x.numel() / known);  // known * (numel / known) <= numel: the shape stays valid
  }
  if (target.numel() != x.numel())
    detail::fail("reshape: cannot reshape ", describe(x), " (", x.numel(), " elements) into ", request(), " (",
                 target.numel(), " elements)");
  Tensor y = detail::make_view(x, target);
  if (autograd::needs_grad(x))
    autograd::record("reshape", {x}, y,
                     autograd::formulas([shape = x.shape()](const Tensor& gy) { return reshape(gy, shape.vec()); }));
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
    autograd::record("permute", {x}, y,
                     autograd::formulas([inverse](const Tensor& gy) { return permute(gy, inverse); }));
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
                     autograd::formulas([shape = x.shape()](const Tensor& gy) { return sum_to(gy, shape); }));
  return y;
}

Tensor narrow(const Tensor& x, std::int64_t start, std::int64_t length) {
  detail::check_defined(x, "narrow");
  if (x.dim() == 0) detail::fail("narrow: needs at least one dimension, got ", describe(x));
  // length > rows - start, not start + length > rows: the sum could overflow.
  if (start < 0 || length < 0 || start > x.shape()[0] || length > x.shape()[0] - start)
    detail::fail("narrow: ", length, " rows from row ", start, " are outside ", describe(x));
  Shape s = x.shape();
  s.set(0, length);  // length <= rows: no larger than x
  const std::int64_t row = x.shape()[0] == 0 ? 0 : x.numel() / x.shape()[0];
  Tensor y = detail::make_view(x, s, start * row);
  // gx: zeros, with gy in rows [start, start + length).
  if (autograd::needs_grad(x))
    autograd::record("narrow", {x}, y, autograd::formulas([shape = x.shape(), start, row](const Tensor& gy) {
      Tensor gx = zeros(shape, gy.dtype());
      std::memcpy(static_cast<char*>(gx.raw_data()) + start * row * element_size(gy.dtype()), gy.raw_data(),
                  gy.numel() * element_size(gy.dtype()));
      return gx;
    }));
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
  std::vector<std::int64_t> out_extents = x.shape().vec();
  out_extents[0] = k;  // more rows than x has, when indices repeat
  if (const char* problem = detail::shape_size_problem(out_extents))
    detail::fail("index_select: the output shape ", detail::extents_str(out_extents), " ", problem, " (", k,
                 " indices into ", describe(x), ")");
  const Shape s(out_extents);
  Tensor y = detail::make_tensor(s, x.dtype());
  const std::size_t bytes = row * element_size(x.dtype());
  for (std::int64_t i = 0; i < k; ++i)
    std::memcpy(static_cast<char*>(y.raw_data()) + i * bytes,
                static_cast<const char*>(x.raw_data()) + idx[i] * bytes, bytes);
  if (autograd::needs_grad(x)) {
    // gx: zeros, with each row of gy added at its index.
    auto scatter_rows = [shape = x.shape(), indices = SavedTensor(indices), row](const Tensor& gy) {
      Tensor gx = zeros(shape, gy.dtype());
      detail::dispatch_float(gy.dtype(), "index_select backward", [&](auto tag) {
        using T = decltype(tag);
        const T* g = static_cast<const T*>(gy.raw_data());
        T* p = static_cast<T*>(gx.raw_data());
        const Tensor& saved_indices = indices.get();
        const std::int64_t* id = saved_indices.data<std::int64_t>();
        for (std::int64_t i = 0; i < saved_indices.numel(); ++i)
          for (std::int64_t j = 0; j < row; ++j) p[id[i] * row + j] += g[i * row + j];
      });
      return gx;
    };
    // The int64 indices never require grad, so their formula never runs.
    autograd::record("index_select", {x, indices}, y,
                     autograd::formulas(scatter_rows, [](const Tensor&) { return Tensor(); }));
  }
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: each op's samples (with their domain) and error inputs; the
// generic test (tests/test_op_declarations.cpp) runs check_op over them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> shape_op_declarations() {
  using inputs::any;
  const Tensor m23 = ones({2, 3});
  return {
      OpInfo("reshape")
          .sample("2x6 to [4, -1]", {any({2, 6})}, [](const OpArgs& v) { return reshape(v[0], {4, -1}); })
          .error("wrong number of elements", [m23] { reshape(m23, {4, 2}); }, {"reshape", "[2,3]", "[4,2]"})
          .error("two inferred extents", [m23] { reshape(m23, {-1, -1}); }, {"reshape", "only one"})
          .error("inferred extent does not divide", [m23] { reshape(m23, {4, -1}); }, {"reshape", "[2,3]", "4"})
          .error("extents whose product overflows", [] { reshape(zeros({0, 3}), {std::int64_t{1} << 62, 4}); },
                 {"reshape: cannot reshape [0,3] float32 into [4611686018427387904,4], which has more than 2^63 - 1 "
                  "elements"})
          .error("an empty shape whose strides overflow",
                 [] { reshape(zeros({0}), {0, std::int64_t{1} << 62, std::int64_t{1} << 62}); },
                 {"reshape: cannot reshape [0] float32 into [0,4611686018427387904,4611686018427387904], which is too "
                  "large: its extents other than 0 multiply to more than 2^63 - 1"}),
      OpInfo("flatten")
          .composite_of_other_ops()
          .sample("2x3x2 from dim 1", {any({2, 3, 2})}, [](const OpArgs& v) { return flatten(v[0], 1); })
          .error("start_dim out of range", [m23] { flatten(m23, 2); }, {"flatten", "2", "2 dimensions"})
          .error("start_dim after end_dim", [] { flatten(ones({2, 3, 4}), 2, 1); }, {"flatten", "2", "1"}),
      OpInfo("transpose")
          .composite_of_other_ops()
          .sample("3x5", {any({3, 5})}, [](const OpArgs& v) { return transpose(v[0], 0, 1); })
          .error("axis out of range", [m23] { transpose(m23, 0, 5); }, {"transpose", "axis 5", "2 dimensions"}),
      OpInfo("permute")
          .sample("2x3x4 as (1, 2, 0)", {any({2, 3, 4})}, [](const OpArgs& v) { return permute(v[0], {1, 2, 0}); })
          .error("an axis twice", [m23] { permute(m23, {0, 0}); }, {"permute", "[2,3]"})
          .error("wrong number of axes", [m23] { permute(m23, {1, 0, 2}); }, {"permute", "[2,3]"}),
      OpInfo("broadcast_to")
          .sample("2x1 to 3x2x4", {any({2, 1})}, [](const OpArgs& v) { return broadcast_to(v[0], {3, 2, 4}); })
          .error("incompatible shape", [] { broadcast_to(ones({3}), {2, 4}); }, {"broadcast_to", "[3]", "[2,4]"}),
      OpInfo("narrow")
          .sample("rows 1 and 2 of 4x3", {any({4, 3})}, [](const OpArgs& v) { return narrow(v[0], 1, 2); })
          .error("rows past the end", [] { narrow(ones({4, 2}), 3, 2); }, {"narrow", "[4,2]"})
          .error("negative start", [] { narrow(ones({4, 2}), -1, 2); }, {"narrow", "-1", "[4,2]"}),
      OpInfo("index_select")
          .sample("rows 2, 0, 2 of 3x2", {any({3, 2}), inputs::given(tensor_i64({2, 0, 2}, {3}))},
                  [](const OpArgs& v) { return index_select(v[0], v[1]); })
          .error("index out of range", [] { index_select(ones({4, 2}), tensor_i64({0, 4}, {2})); },
                 {"index_select", "4", "[4,2]"})
          .error("negative index", [] { index_select(ones({4, 2}), tensor_i64({-1}, {1})); },
                 {"index_select", "-1", "[4,2]"})
          .error("float indices", [] { index_select(ones({4, 2}), tensor({1})); },
                 {"index_select", "int64", "float32"}),
      // Tensor::to and Tensor::clone are defined in core/tensor.cpp (core cannot
      // see this list); they are declared here. The round trip through the other
      // float dtype records both directions of "to"; its values are small enough
      // that float32 rounding stays far below gradcheck's tolerance.
      OpInfo("to").sample(
          "to the other float dtype and back",
          {inputs::given(tensor({0.5e-3, -0.75e-3, 1e-3, -0.25e-3, 0.125e-3, -1e-3}, {2, 3}, kFloat64))},
          [](const OpArgs& v) {
            const Dtype d = v[0].dtype();
            return v[0].to(d == kFloat64 ? kFloat32 : kFloat64).to(d);
          }),
      OpInfo("clone").sample("3x2", {any({3, 2})}, [](const OpArgs& v) { return v[0].clone(); }),
  };
}

}  // namespace tg
