// Shape ops: reshape, flatten, unflatten, unsqueeze, squeeze, transpose,
// permute, movedim, broadcast_to, expand, narrow.
//
// reshape and everything built on it (flatten, unflatten, unsqueeze, squeeze)
// share storage, as does narrow when its slice is one contiguous run (tensors
// are contiguous, so these are free); transpose/permute/movedim,
// broadcast_to/expand and other slices copy into a new contiguous tensor.
//
// Each op's gradient is the formula passed to autograd::formulas in its
// definition (the composites are reshapes, permutes and broadcasts); the samples
// and error inputs are declared at the bottom, with those of Tensor::to and
// Tensor::clone. Joining and splitting: ops/join_ops.cpp; indexing and masks:
// ops/index_ops.cpp.

#include <algorithm>
#include <limits>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/broadcast.hpp"
#include "ops/declarations.hpp"
#include "ops/slicing.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {

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
      if (inner_step == 1) {  // the last dimension stays last: contiguous runs (attention's heads)
        std::copy(px + offset, px + offset + inner, py + r * inner);
      } else {
        for (std::int64_t i = 0; i < inner; ++i) py[r * inner + i] = px[offset + i * inner_step];
      }
      for (int d = nd - 2; d >= 0; --d) {
        offset += step[d];
        if (++idx[d] < out_shape[d]) break;
        offset -= step[d] * out_shape[d];
        idx[d] = 0;
      }
    }
  });
  if (autograd::needs_grad(x)) {
    autograd::record("permute", {x}, y,
                     autograd::formulas([inverse](const Tensor& gy) { return permute(gy, inverse); }));
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dims", {perm.begin(), perm.end()}));
  }
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

Tensor expand(const Tensor& x, const std::vector<std::int64_t>& sizes) {
  detail::check_defined(x, "expand");
  const std::string request = detail::extents_str(sizes);
  const int nd = x.dim();
  if (static_cast<int>(sizes.size()) < nd)
    detail::fail("expand: ", request, " has fewer dimensions than ", describe(x));
  const std::size_t lead = sizes.size() - nd;  // new dimensions, in front
  std::vector<std::int64_t> target(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::int64_t want = sizes[i];
    if (i < lead) {
      // -1 keeps an extent; a new leading dimension has none to keep.
      if (want < 0)
        detail::fail("expand: size ", want, " for the new leading dimension ", i, " of ", request, " (expanding ",
                     describe(x), ") must be non-negative");
      target[i] = want;
      continue;
    }
    const std::int64_t have = x.shape()[static_cast<int>(i - lead)];
    if (want == -1) {
      target[i] = have;
    } else if (want < 0 || (have != 1 && want != have)) {
      detail::fail("expand: cannot expand ", describe(x), " to ", request, ": dimension ", i, " has size ", have,
                   have == 1 ? ", which expands to a non-negative size, not " : ", which is not 1 and differs from ",
                   want);
    } else {
      target[i] = want;
    }
  }
  if (target.size() > Shape::kMaxDims)
    detail::fail("expand: ", request, " has more than ", Shape::kMaxDims, " dimensions (expanding ", describe(x), ")");
  if (const char* problem = detail::shape_size_problem(target))
    detail::fail("expand: cannot expand ", describe(x), " to ", request, ", which ", problem);
  return broadcast_to(x, Shape(target));
}

Tensor unsqueeze(const Tensor& x, int dim) {
  detail::check_defined(x, "unsqueeze");
  const int nd = x.dim();
  if (dim < -nd - 1 || dim > nd)
    detail::fail("unsqueeze: dimension ", dim, " is out of range for ", describe(x), " (expected ", -nd - 1, " to ",
                 nd, ")");
  const int at = dim < 0 ? dim + nd + 1 : dim;
  std::vector<std::int64_t> dims = x.shape().vec();
  if (nd == Shape::kMaxDims)
    detail::fail("unsqueeze: ", describe(x), " already has the most dimensions a tensor can have (", Shape::kMaxDims,
                 ")");
  dims.insert(dims.begin() + at, 1);
  return reshape(x, dims);
}

Tensor squeeze(const Tensor& x) {
  detail::check_defined(x, "squeeze");
  std::vector<std::int64_t> dims;
  for (std::int64_t e : x.shape())
    if (e != 1) dims.push_back(e);
  return reshape(x, dims);
}

Tensor squeeze(const Tensor& x, int dim) {
  detail::check_defined(x, "squeeze");
  const int d = detail::wrap_dim(dim, x.dim(), "squeeze", x);
  if (x.dim() == 0 || x.shape()[d] != 1) return reshape(x, x.shape().vec());  // PyTorch: a no-op, still a new tensor
  std::vector<std::int64_t> dims = x.shape().vec();
  dims.erase(dims.begin() + d);
  return reshape(x, dims);
}

Tensor unflatten(const Tensor& x, int dim, const std::vector<std::int64_t>& sizes) {
  detail::check_defined(x, "unflatten");
  if (x.dim() == 0) detail::fail("unflatten: needs at least one dimension, got ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "unflatten", x);
  const std::int64_t extent = x.shape()[d];
  const std::string request = detail::extents_str(sizes);
  if (sizes.empty()) detail::fail("unflatten: sizes must not be empty (unflattening dimension ", dim, " of ", describe(x), ")");
  std::vector<std::int64_t> pieces = sizes;
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1 && infer < 0) {
      infer = static_cast<int>(i);
      continue;
    }
    if (sizes[i] < 0)
      detail::fail("unflatten: sizes ", request, " for dimension ", dim, " of ", describe(x),
                   sizes[i] == -1 ? " hold -1 twice; only one size can be inferred" : " hold a negative size");
    const auto product = detail::checked_product(known, sizes[i]);
    if (!product)
      detail::fail("unflatten: sizes ", request, " for dimension ", dim, " of ", describe(x),
                   " multiply to more than 2^63 - 1");
    known = *product;
  }
  if (infer >= 0) {
    if (known == 0 || extent % known != 0)
      detail::fail("unflatten: cannot infer the -1 in sizes ", request, " for dimension ", dim, " (size ", extent,
                   ") of ", describe(x));
    pieces[infer] = extent / known;
  } else if (known != extent) {
    detail::fail("unflatten: sizes ", request, " multiply to ", known, ", not to the size ", extent, " of dimension ",
                 dim, " of ", describe(x));
  }
  std::vector<std::int64_t> dims(x.shape().begin(), x.shape().begin() + d);
  dims.insert(dims.end(), pieces.begin(), pieces.end());
  dims.insert(dims.end(), x.shape().begin() + d + 1, x.shape().end());
  if (dims.size() > Shape::kMaxDims)
    detail::fail("unflatten: ", describe(x), " unflattened by ", request, " would have ", dims.size(),
                 " dimensions; at most ", Shape::kMaxDims, " are supported");
  if (const char* problem = detail::shape_size_problem(dims))
    detail::fail("unflatten: the result ", detail::extents_str(dims), " of unflattening ", describe(x), " ", problem);
  return reshape(x, dims);
}

Tensor movedim(const Tensor& x, const std::vector<int>& source, const std::vector<int>& destination) {
  detail::check_defined(x, "movedim");
  const int nd = x.dim();
  auto list = [](const std::vector<int>& v) {
    return detail::extents_str(std::vector<std::int64_t>(v.begin(), v.end()));
  };
  if (source.size() != destination.size())
    detail::fail("movedim: source ", list(source), " and destination ", list(destination),
                 " must have the same number of dimensions (moving those of ", describe(x), ")");
  // Output position p takes input dimension order[p]: the moved dimensions
  // first, then the others in their order, into the positions left free.
  std::vector<int> order(std::max(nd, 1), -1);
  std::vector<bool> moved(std::max(nd, 1), false);
  for (std::size_t i = 0; i < source.size(); ++i) {
    const int from = detail::wrap_dim(source[i], nd, "movedim", x);
    const int to = detail::wrap_dim(destination[i], nd, "movedim", x);
    if (moved[from]) detail::fail("movedim: source ", list(source), " repeats dimension ", source[i], " of ", describe(x));
    if (order[to] != -1)
      detail::fail("movedim: destination ", list(destination), " repeats dimension ", destination[i], " of ",
                   describe(x));
    moved[from] = true;
    order[to] = from;
  }
  if (nd == 0) return reshape(x, {});
  int next = 0;
  for (int& o : order) {
    if (o != -1) continue;
    while (moved[next]) ++next;
    o = next++;
  }
  return permute(x, order);
}

Tensor movedim(const Tensor& x, int source, int destination) {
  return movedim(x, std::vector<int>{source}, std::vector<int>{destination});
}

namespace {
// zeros(shape) with `slice` placed at [start, start + slice.size(dim)) along dim:
// the gradient of narrow, and so of cat, split, chunk and unbind.
Tensor embed_slice(const Tensor& slice, const Shape& shape, int dim, std::int64_t start) {
  Tensor out = zeros(shape, slice.dtype());
  const detail::AroundDim a = detail::around_dim(shape, dim);
  const std::int64_t length = slice.shape()[dim];
  detail::copy_runs(slice, length * a.inner, 0, out, a.extent * a.inner, start * a.inner, a.outer, length * a.inner);
  // narrow's adjoint, recorded so that its own gradient (a narrow) is on the tape.
  if (autograd::needs_grad(slice))
    autograd::record("narrow_backward", {slice}, out, autograd::formulas([dim, start, length](const Tensor& g) {
      return narrow(g, dim, start, length);
    }));
  return out;
}
}  // namespace

Tensor narrow(const Tensor& x, int dim, std::int64_t start, std::int64_t length) {
  detail::check_defined(x, "narrow");
  if (x.dim() == 0) detail::fail("narrow: needs at least one dimension, got ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "narrow", x);
  const std::int64_t extent = x.shape()[d];
  // A negative start counts from the end, as in PyTorch. length > extent - from,
  // not from + length > extent: the sum could overflow.
  const std::int64_t from = start < 0 && start >= -extent ? start + extent : start;
  if (from < 0 || length < 0 || from > extent || length > extent - from)
    detail::fail("narrow: ", length, " elements from index ", start, " of dimension ", dim, " are outside ",
                 describe(x));
  Shape s = x.shape();
  s.set(d, length);  // length <= extent: no larger than x
  const detail::AroundDim a = detail::around_dim(x.shape(), d);
  Tensor y;
  if (a.outer == 1) {
    y = detail::make_view(x, s, from * a.inner);  // one contiguous run: share x's storage
  } else {
    y = detail::make_tensor(s, x.dtype());
    detail::copy_runs(x, extent * a.inner, from * a.inner, y, length * a.inner, 0, a.outer, length * a.inner);
  }
  if (autograd::needs_grad(x))
    autograd::record("narrow", {x}, y, autograd::formulas([shape = x.shape(), d, from](const Tensor& gy) {
      return embed_slice(gy, shape, d, from);
    }));
  return y;
}

Tensor narrow(const Tensor& x, std::int64_t start, std::int64_t length) { return narrow(x, 0, start, length); }

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
          .sample("2x3x2x2 dims -3..-2", {any({2, 3, 2, 2})}, [](const OpArgs& v) { return flatten(v[0], -3, -2); })
          .sample("0-d (becomes [1])", {any({})}, [](const OpArgs& v) { return flatten(v[0]); })
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
          .sample("rows 1 and 2 of 4x3 (dim 0: a view)", {any({4, 3})},
                  [](const OpArgs& v) { return narrow(v[0], 0, 1, 2); })
          .sample("columns 1..3 of 2x4 (a copy)", {any({2, 4})}, [](const OpArgs& v) { return narrow(v[0], 1, 1, 3); })
          .sample("dim -2 of 2x5x3, negative start", {any({2, 5, 3})},
                  [](const OpArgs& v) { return narrow(v[0], -2, -3, 2); })
          .sample("an empty slice", {any({3, 4})},
                  [](const OpArgs& v) { return joined_to_input(narrow(v[0], 1, 4, 0), v[0]); })
          .sample("the older dim-0 form", {any({4, 3})}, [](const OpArgs& v) { return narrow(v[0], 1, 2); })
          .error("rows past the end", [] { narrow(ones({4, 2}), 3, 2); }, {"narrow", "[4,2]"})
          .error("negative start before the beginning", [] { narrow(ones({4, 2}), 1, -3, 1); },
                 {"narrow", "-3", "dimension 1", "[4,2]"})
          .error("negative length", [] { narrow(ones({4, 2}), 0, 1, -1); }, {"narrow", "-1", "[4,2]"})
          .error("a length whose end overflows",
                 [] { narrow(ones({2, 4}), 1, 2, std::numeric_limits<std::int64_t>::max()); },
                 {"narrow", "9223372036854775807", "[2,4]"})
          .error("dimension out of range", [] { narrow(ones({4, 2}), 2, 0, 1); },
                 {"narrow", "dimension 2", "[4,2] float32", "-2 to 1"})
          .error("a 0-d tensor", [] { narrow(scalar_tensor(1), 0, 0, 1); }, {"narrow", "[] float32"}),
      OpInfo("unsqueeze")
          .composite_of_other_ops()
          .sample("2x3 at 1", {any({2, 3})}, [](const OpArgs& v) { return unsqueeze(v[0], 1); })
          .sample("2x3 at -1 (the end)", {any({2, 3})}, [](const OpArgs& v) { return unsqueeze(v[0], -1); })
          .sample("0-d", {any({})}, [](const OpArgs& v) { return unsqueeze(v[0], 0); })
          .error("dimension out of range", [m23] { unsqueeze(m23, 3); }, {"unsqueeze", "3", "[2,3]", "-3 to 2"})
          .error("too many dimensions", [] { unsqueeze(ones({1, 1, 1, 1, 1, 1, 1, 1}), 0); },
                 {"unsqueeze", "[1,1,1,1,1,1,1,1]", "8"}),
      OpInfo("squeeze")
          .composite_of_other_ops()
          .sample("every extent-1 dimension of 1x3x1x2", {any({1, 3, 1, 2})}, [](const OpArgs& v) { return squeeze(v[0]); })
          .sample("dim -2 of 3x1x2", {any({3, 1, 2})}, [](const OpArgs& v) { return squeeze(v[0], -2); })
          .sample("a dim whose extent is not 1 (no-op)", {any({3, 2})}, [](const OpArgs& v) { return squeeze(v[0], 0); })
          .sample("0-d", {any({})}, [](const OpArgs& v) { return squeeze(v[0], -1); })
          .error("dimension out of range", [m23] { squeeze(m23, -3); }, {"squeeze", "-3", "[2,3]"}),
      OpInfo("expand")
          .composite_of_other_ops()
          .sample("3x1 to [2, -1, 4]", {any({3, 1})}, [](const OpArgs& v) { return expand(v[0], {2, -1, 4}); })
          .sample("0-d to [2, 3]", {any({})}, [](const OpArgs& v) { return expand(v[0], {2, 3}); })
          .sample("1x3 to [0, 3] (empty)", {any({1, 3})},
                  [](const OpArgs& v) { return joined_to_input(expand(v[0], {0, 3}), v[0]); })
          .error("an extent that is not 1", [m23] { expand(m23, {4, 3}); }, {"expand", "[2,3]", "[4,3]", "dimension 0"})
          .error("fewer sizes than dimensions", [m23] { expand(m23, {3}); }, {"expand", "[3]", "[2,3]"})
          .error("-1 for a new dimension", [m23] { expand(m23, {-1, 2, 3}); }, {"expand", "-1", "[2,3]"})
          .error("a negative size", [] { expand(ones({1}), {-2}); }, {"expand", "-2", "[1]"})
          .error("a shape too large to count",
                 [] { expand(ones({1, 1}), {std::int64_t{1} << 40, std::int64_t{1} << 40}); },
                 {"expand", "[1,1]", "[1099511627776,1099511627776]", "2^63 - 1"}),
      OpInfo("unflatten")
          .composite_of_other_ops()
          .sample("dim 1 of 2x6 into [3, -1]", {any({2, 6})}, [](const OpArgs& v) { return unflatten(v[0], 1, {3, -1}); })
          .sample("dim -1 of 12 into [2, 3, 2]", {any({12})}, [](const OpArgs& v) { return unflatten(v[0], -1, {2, 3, 2}); })
          .sample("an empty dim into [0, 4]", {any({3, 0}), any({2})},
                  [](const OpArgs& v) { return joined_to_input(unflatten(v[0], 1, {0, 4}), v[1]); })
          .error("sizes that do not multiply to the extent", [m23] { unflatten(m23, 1, {2, 2}); },
                 {"unflatten", "[2,2]", "4", "3", "[2,3]"})
          .error("-1 that cannot be inferred", [m23] { unflatten(m23, 1, {2, -1}); }, {"unflatten", "[2,-1]", "[2,3]"})
          .error("two -1", [] { unflatten(ones({4}), 0, {-1, -1}); }, {"unflatten", "[-1,-1]", "[4]"})
          .error("no sizes", [m23] { unflatten(m23, 0, {}); }, {"unflatten", "empty", "[2,3]"})
          .error("sizes whose product overflows",
                 [] { unflatten(zeros({0}), 0, {0, std::int64_t{1} << 62, std::int64_t{1} << 62}); },
                 {"unflatten", "[0]", "2^63 - 1"})
          .error("dimension out of range", [m23] { unflatten(m23, 2, {3}); }, {"unflatten", "dimension 2", "[2,3]"}),
      OpInfo("movedim")
          .composite_of_other_ops()
          .sample("dim 0 of 2x3x4 to -1", {any({2, 3, 4})}, [](const OpArgs& v) { return movedim(v[0], 0, -1); })
          .sample("dims (0, 1) of 2x3x4 to (2, 0)", {any({2, 3, 4})},
                  [](const OpArgs& v) { return movedim(v[0], {0, 1}, {2, 0}); })
          .sample("0-d", {any({})}, [](const OpArgs& v) { return movedim(v[0], 0, 0); })
          .error("a source repeated", [] { movedim(ones({2, 3, 4}), {0, 0}, {1, 2}); }, {"movedim", "[0,0]", "[2,3,4]"})
          .error("a destination repeated", [] { movedim(ones({2, 3, 4}), {0, 1}, {2, -1}); },
                 {"movedim", "[2,-1]", "[2,3,4]"})
          .error("lists of different lengths", [] { movedim(ones({2, 3, 4}), {0}, {1, 2}); },
                 {"movedim", "[0]", "[1,2]", "[2,3,4]"})
          .error("dimension out of range", [m23] { movedim(m23, 0, 2); }, {"movedim", "dimension 2", "[2,3]"}),
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
          })
          .second_order_step(1e-3),
      OpInfo("clone").sample("3x2", {any({3, 2})}, [](const OpArgs& v) { return v[0].clone(); }),
  };
}

}  // namespace tg
