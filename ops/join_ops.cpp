// Joining and splitting: cat, stack, split, chunk, unbind.
//
// cat copies its inputs into one new tensor; its gradient is a narrow of the
// output's gradient per input (computed only for inputs that need one). stack
// is cat of unsqueezed inputs. split, chunk and unbind return narrows of the
// input (views where the slice is contiguous, as narrow does), each recorded on
// its own: an output that is never used contributes no gradient, which is the
// zero gradient PyTorch gives it.
#include <algorithm>
#include <initializer_list>
#include <limits>
#include <optional>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include "ops/slicing.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {

namespace {
// PyTorch's legacy rule: a 1-D tensor with no elements joins anything (it is
// skipped), so `acc = cat({acc, x})` can start from an empty `acc`.
bool skipped_by_cat(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }

// The dtype cat computes in: float64 if any input is, else float32 if any is, else int64.
Dtype joined_dtype(const std::vector<Tensor>& tensors) {
  Dtype d = kInt64;
  for (const Tensor& t : tensors)
    if (t.dtype() == kFloat64 || (t.dtype() == kFloat32 && d == kInt64)) d = t.dtype();
  return d;
}
}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int dim) {
  if (tensors.empty()) detail::fail("cat: expected a non-empty list of tensors");
  for (const Tensor& t : tensors) detail::check_defined(t, "cat");
  // The shape every other input must match outside `dim`: the first input that is not skipped.
  const auto first = std::find_if(tensors.begin(), tensors.end(), [](const Tensor& t) { return !skipped_by_cat(t); });
  const Tensor& ref = first == tensors.end() ? tensors.front() : *first;
  if (ref.dim() == 0)
    detail::fail("cat: a 0-d tensor (", describe(ref), " at position ", first - tensors.begin(),
                 ") cannot be concatenated; unsqueeze it or use stack");
  const int d = detail::wrap_dim(dim, ref.dim(), "cat", ref);
  std::int64_t total = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped_by_cat(t) && first != tensors.end()) continue;
    if (t.dim() != ref.dim())
      detail::fail("cat: tensors must have the same number of dimensions, got ", describe(ref), " and ", describe(t),
                   " at position ", i);
    for (int k = 0; k < t.dim(); ++k)
      if (k != d && t.shape()[k] != ref.shape()[k])
        detail::fail("cat: sizes must match except in dimension ", dim, ", got ", describe(ref), " and ", describe(t),
                     " at position ", i, " (dimension ", k, " differs)");
    const auto sum = detail::checked_sum(total, t.shape()[d]);
    if (!sum) detail::fail("cat: joining ", tensors.size(), " tensors such as ", describe(t), " along dimension ", dim,
                           " gives more than 2^63 - 1 entries");
    total = *sum;
  }
  std::vector<std::int64_t> out_extents = ref.shape().vec();
  out_extents[d] = total;
  if (const char* problem = detail::shape_size_problem(out_extents))
    detail::fail("cat: the result ", detail::extents_str(out_extents), " of joining tensors such as ", describe(ref),
                 " ", problem);
  const Dtype dtype = joined_dtype(tensors);
  Tensor y = detail::make_tensor(Shape(out_extents), dtype);
  const detail::AroundDim a = detail::around_dim(y.shape(), d);
  std::vector<std::int64_t> offsets(tensors.size(), 0);  // where each input starts along d
  std::vector<bool> skipped(tensors.size(), false);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    offsets[i] = offset;
    const Tensor& t = tensors[i];
    skipped[i] = skipped_by_cat(t) && first != tensors.end();
    if (skipped[i]) continue;
    const std::int64_t n = t.shape()[d];
    // Off the tape: the engine gives each gradient its input's dtype.
    const Tensor same_dtype = t.dtype() == dtype ? t : t.detach().to(dtype);
    detail::copy_runs(same_dtype, n * a.inner, 0, y, total * a.inner, offset * a.inner, a.outer, n * a.inner);
    offset += n;
  }
  if (autograd::needs_grad_list(tensors)) {
    std::vector<Shape> shapes;
    for (const Tensor& t : tensors) shapes.push_back(t.shape());
    autograd::record("cat", tensors, y,
                     autograd::BackwardFn([shapes, offsets, skipped, d](const Tensor& gy,
                                                                        const autograd::NeedsGrad& needs) {
                       autograd::Grads g(shapes.size());
                       for (std::size_t i = 0; i < shapes.size(); ++i) {
                         if (!needs[i]) continue;
                         g[i] = skipped[i] ? zeros(shapes[i], gy.dtype()) : narrow(gy, d, offsets[i], shapes[i][d]);
                       }
                       return g;
                     }));
    autograd::set_attributes(y, autograd::OpAttributes().set_ints("dim", {d}));
  }
  return y;
}

Tensor stack(const std::vector<Tensor>& tensors, int dim) {
  if (tensors.empty()) detail::fail("stack: expected a non-empty list of tensors");
  for (const Tensor& t : tensors) detail::check_defined(t, "stack");
  for (std::size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].shape() != tensors[0].shape())
      detail::fail("stack: every tensor must have the same shape, got ", describe(tensors[0]), " at position 0 and ",
                   describe(tensors[i]), " at position ", i);
  const int nd = tensors[0].dim();
  if (dim < -nd - 1 || dim > nd)
    detail::fail("stack: dimension ", dim, " is out of range for tensors ", describe(tensors[0]), " (expected ",
                 -nd - 1, " to ", nd, ")");
  std::vector<Tensor> unsqueezed;
  unsqueezed.reserve(tensors.size());
  for (const Tensor& t : tensors) unsqueezed.push_back(unsqueeze(t, dim));
  return cat(unsqueezed, dim < 0 ? dim + nd + 1 : dim);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, int dim) {
  detail::check_defined(x, "split");
  if (x.dim() == 0) detail::fail("split: needs at least one dimension, got ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "split", x);
  const std::int64_t extent = x.shape()[d];
  if (split_size < 0 || (split_size == 0 && extent != 0))
    detail::fail("split: split_size must be positive (0 only for an empty dimension), got ", split_size, " for ",
                 describe(x), " along dimension ", dim);
  std::vector<Tensor> pieces;
  if (extent == 0) {
    pieces.push_back(narrow(x, d, 0, 0));  // one empty piece, as in PyTorch
    return pieces;
  }
  // `start < extent` keeps start + split_size from being summed past int64.
  for (std::int64_t start = 0; start < extent; start += std::min(split_size, extent - start))
    pieces.push_back(narrow(x, d, start, std::min(split_size, extent - start)));
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, int dim) {
  detail::check_defined(x, "split");
  if (x.dim() == 0) detail::fail("split: needs at least one dimension, got ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "split", x);
  const std::int64_t extent = x.shape()[d];
  std::int64_t total = 0;
  bool fits = true;
  for (std::int64_t s : sizes) {
    const auto sum = s < 0 ? std::nullopt : detail::checked_sum(total, s);
    fits = fits && sum.has_value();
    if (!fits) break;
    total = *sum;
  }
  if (!fits || total != extent)
    detail::fail("split: sizes ", detail::extents_str(sizes), " must be non-negative and add up to ", extent,
                 ", the size of dimension ", dim, " of ", describe(x));
  std::vector<Tensor> pieces;
  std::int64_t start = 0;
  for (std::int64_t s : sizes) {
    pieces.push_back(narrow(x, d, start, s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, std::initializer_list<std::int64_t> sizes, int dim) {
  return split(x, std::vector<std::int64_t>(sizes), dim);
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, int dim) {
  detail::check_defined(x, "chunk");
  if (x.dim() == 0) detail::fail("chunk: needs at least one dimension, got ", describe(x));
  if (chunks <= 0) detail::fail("chunk: the number of chunks must be positive, got ", chunks, " for ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "chunk", x);
  const std::int64_t extent = x.shape()[d];
  if (extent == 0) {  // PyTorch gives `chunks` empty pieces here, where split gives one
    std::vector<Tensor> pieces;
    for (std::int64_t i = 0; i < chunks; ++i) pieces.push_back(narrow(x, d, 0, 0));
    return pieces;
  }
  // ceil(extent / chunks) without extent + chunks - 1, which could overflow.
  return split(x, extent / chunks + (extent % chunks != 0), d);
}

std::vector<Tensor> unbind(const Tensor& x, int dim) {
  detail::check_defined(x, "unbind");
  if (x.dim() == 0) detail::fail("unbind: needs at least one dimension, got ", describe(x));
  const int d = detail::wrap_dim(dim, x.dim(), "unbind", x);
  std::vector<Tensor> slices;
  for (std::int64_t i = 0; i < x.shape()[d]; ++i) slices.push_back(squeeze(narrow(x, d, i, 1), d));
  return slices;
}

// ---------------------------------------------------------------------------
// Declarations: each op's samples and error inputs; the generic test
// (tests/test_op_declarations.cpp) runs check_op over them. The splitting ops
// return several tensors: their samples use some of the pieces (the others
// must then get no gradient) or join them again.
// ---------------------------------------------------------------------------
std::vector<OpInfo> join_op_declarations() {
  using inputs::any;
  return {
      OpInfo("cat")
          .sample("2x3 and 1x3 along dim 0", {any({2, 3}), any({1, 3})},
                  [](const OpArgs& v) { return cat({v[0], v[1]}); })
          .sample("three along dim -1", {any({2, 1}), any({2, 3}), any({2, 2})},
                  [](const OpArgs& v) { return cat({v[0], v[1], v[2]}, -1); })
          .sample("the same tensor twice along dim 1 of 3-D", {any({2, 2, 3})},
                  [](const OpArgs& v) { return cat({v[0], v[0]}, 1); })
          .sample("an empty piece along dim 1", {any({2, 0}), any({2, 3})},
                  [](const OpArgs& v) { return cat({v[0], v[1]}, 1); })
          .sample("a 1-D empty tensor joins anything", {any({0}), any({2, 2})},
                  [](const OpArgs& v) { return cat({v[0], v[1]}, 1); })
          .sample("an int64 tensor joins a float one", {inputs::indices({1, 3}, 5), any({2, 3})},
                  [](const OpArgs& v) { return cat({v[0], v[1]}); })
          .error("no tensors", [] { cat({}); }, {"cat", "non-empty"})
          .error("extents differ outside dim", [] { cat({ones({2, 3}), ones({2, 4})}); },
                 {"cat", "[2,3]", "[2,4]", "position 1", "dimension 1"})
          .error("different numbers of dimensions", [] { cat({ones({2, 3}), ones({3})}, 0); },
                 {"cat", "[2,3]", "[3]"})
          .error("a 0-d tensor", [] { cat({scalar_tensor(1), scalar_tensor(2)}); }, {"cat", "0-d", "[] float32"})
          .error("dimension out of range", [] { cat({ones({2, 3}), ones({2, 3})}, 2); },
                 {"cat", "dimension 2", "[2,3]"})
          .error("an undefined tensor", [] { cat({ones({2}), Tensor()}); }, {"cat", "undefined"}),
      OpInfo("stack")
          .composite_of_other_ops()
          .sample("two 2x3 at dim 0", {any({2, 3}), any({2, 3})}, [](const OpArgs& v) { return stack({v[0], v[1]}); })
          .sample("three 2x3 at dim -1", {any({2, 3}), any({2, 3}), any({2, 3})},
                  [](const OpArgs& v) { return stack({v[0], v[1], v[2]}, -1); })
          .sample("0-d tensors", {any({}), any({})}, [](const OpArgs& v) { return stack({v[0], v[1]}); })
          .error("shapes differ", [] { stack({ones({2, 3}), ones({3, 2})}); }, {"stack", "[2,3]", "[3,2]", "position 1"})
          .error("dimension out of range", [] { stack({ones({2, 3})}, 3); }, {"stack", "3", "[2,3]", "-3 to 2"})
          .error("no tensors", [] { stack({}); }, {"stack", "non-empty"}),
      OpInfo("split")
          .composite_of_other_ops()
          .sample("5 rows in pieces of 2, the last piece only", {any({5, 3})},
                  [](const OpArgs& v) { return split(v[0], 2)[2]; })
          .sample("4 columns in pieces of 3, joined in reverse", {any({2, 4})},
                  [](const OpArgs& v) {
                    const auto p = split(v[0], 3, -1);
                    return cat({p[1], p[0]}, 1);
                  })
          .sample("sizes {1, 0, 3} along dim 1, the middle and last", {any({2, 4, 2})},
                  [](const OpArgs& v) {
                    const auto p = split(v[0], {1, 0, 3}, 1);
                    return cat({p[2], p[1]}, 1);
                  })
          .sample("an empty dimension (one empty piece)", {any({0, 3}), any({2})},
                  [](const OpArgs& v) { return joined_to_input(split(v[0], 2)[0], v[1]); })
          .error("split_size 0", [] { split(ones({4, 2}), 0); }, {"split", "0", "[4,2]"})
          .error("sizes that do not add up", [] { split(ones({4, 2}), {1, 2}); }, {"split", "[1,2]", "4", "[4,2]"})
          .error("a negative size", [] { split(ones({4, 2}), {5, -1}); }, {"split", "[5,-1]", "[4,2]"})
          .error("sizes whose sum overflows",
                 [] { split(ones({4}), {std::numeric_limits<std::int64_t>::max(), 2}); },
                 {"split", "[9223372036854775807,2]", "[4]"})
          .error("dimension out of range", [] { split(ones({4, 2}), 1, 2); }, {"split", "dimension 2", "[4,2]"})
          .error("a 0-d tensor", [] { split(scalar_tensor(1), 1); }, {"split", "[] float32"}),
      OpInfo("chunk")
          .composite_of_other_ops()
          .sample("5 rows in 3 chunks, the first and last", {any({5, 2})},
                  [](const OpArgs& v) {
                    const auto p = chunk(v[0], 3);
                    return cat({p[0], p[2]});
                  })
          .sample("6 along dim -1 in 4 chunks (3 come out)", {any({2, 6})},
                  [](const OpArgs& v) { return chunk(v[0], 4, -1)[2]; })
          .error("0 chunks", [] { chunk(ones({4, 2}), 0); }, {"chunk", "0", "[4,2]"})
          .error("dimension out of range", [] { chunk(ones({4, 2}), 2, -3); }, {"chunk", "-3", "[4,2]"}),
      OpInfo("unbind")
          .composite_of_other_ops()
          .sample("rows of 3x2, the second only", {any({3, 2})}, [](const OpArgs& v) { return unbind(v[0])[1]; })
          .sample("dim -1 of 2x3x2, stacked again in reverse", {any({2, 3, 2})},
                  [](const OpArgs& v) {
                    const auto p = unbind(v[0], -1);
                    return stack({p[1], p[0]});
                  })
          .error("dimension out of range", [] { unbind(ones({4, 2}), 2); }, {"unbind", "dimension 2", "[4,2]"})
          .error("a 0-d tensor", [] { unbind(scalar_tensor(1)); }, {"unbind", "[] float32"}),
  };
}

}  // namespace tg
