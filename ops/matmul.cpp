// Matrix products on OpenBLAS gemm (ops/blas.cpp): matmul with PyTorch's rules
// (1-D operands, broadcast batch dimensions), bmm, linear, and einsum.
//
// One recorded op, product(), multiplies 2-D operands or 3-D ones of one batch
// size, each possibly transposed (a gemm flag, never a copy); its gradients are
// products again. Everything else is reshapes, broadcast_to, permutes and sums
// around it, so the gradients over 1-D operands, broadcast batches and einsum's
// contractions are those ops' own. The samples and error inputs are declared
// at the bottom.
#include <algorithm>
#include <string>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/parallel.hpp"
#include "core/tensor_impl.hpp"
#include "ops/blas.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/parallel.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

// op(a) · op(b) for 2-D operands, or batch by batch for 3-D ones (same batch).
// op(x) is x, or its transpose (last two dims) when the flag is set. Not recorded.
Tensor gemm_op(const Tensor& a, bool ta, const Tensor& b, bool tb) {
  const bool batched = a.dim() == 3;
  const std::int64_t batch = batched ? a.shape()[0] : 1;
  const std::int64_t M = ta ? a.shape().at(-1) : a.shape().at(-2);
  const std::int64_t K = ta ? a.shape().at(-2) : a.shape().at(-1);
  const std::int64_t N = tb ? b.shape().at(-2) : b.shape().at(-1);
  Tensor c = detail::make_tensor(batched ? Shape{batch, M, N} : Shape{M, N}, a.dtype());
  detail::dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* pc = static_cast<T*>(c.raw_data());
    auto run = [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t i = first; i < last; ++i)
        detail::gemm<T>(ta, tb, M, N, K, T(1), pa + i * M * K, pb + i * K * N, T(0), pc + i * M * N);
    };
    // Many small products (attention's [L,dh]x[dh,S] per head) are each too
    // small to split by rows, so the batch is split over the pool instead,
    // about 64^3 multiply-adds per chunk at least; each gemm then runs serially.
    const double macs = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
    if (batch > 1 && get_num_threads() > 1 && macs < 128.0 * 128.0 * 128.0) {
      const auto grain = static_cast<std::int64_t>(64.0 * 64.0 * 64.0 / std::max(macs, 1.0));
      detail::parallel_for(batch, std::max<std::int64_t>(1, grain), run);
    } else {
      run(0, batch);
    }
  });
  return c;
}

// op(a) · op(b) as a recorded op: 2-D operands, or 3-D ones with one batch
// size. Its gradients are products of the same kind with other transpose flags,
// so they are differentiable again:
//   gA = gY · op(B)ᵀ, or op(B) · gYᵀ when A enters transposed;
//   gB = op(A)ᵀ · gY, or gYᵀ · op(A) when B enters transposed.
// Each formula keeps only the operand it reads.
Tensor product(const Tensor& a, bool ta, const Tensor& b, bool tb) {
  Tensor y = gemm_op(a, ta, b, tb);
  if (autograd::needs_grad(a, b))
    autograd::record("matmul", {a, b}, y, autograd::formulas(
        [b = SavedTensor(a.requires_grad() ? b : Tensor()), ta, tb](const Tensor& gy) {
          return ta ? product(b.get(), tb, gy, true) : product(gy, false, b.get(), !tb);
        },
        [a = SavedTensor(b.requires_grad() ? a : Tensor()), ta, tb](const Tensor& gy) {
          return tb ? product(gy, true, a.get(), ta) : product(a.get(), !ta, gy, false);
        }));
  return y;
}

std::int64_t numel_of(const std::vector<std::int64_t>& extents) {
  std::int64_t n = 1;
  for (std::int64_t e : extents) n *= e;
  return n;
}

// Refuses an output shape whose element count overflows (with K = 0 the operands
// can be empty while the output is not: [2^32,0] x [0,2^32]).
void check_output_size(const char* op, const Tensor& a, const Tensor& b, const std::int64_t* first,
                       const std::int64_t* last) {
  if (const char* problem = detail::shape_size_problem(first, last))
    detail::fail(op, ": the product of shapes ", a.shape().str(), " and ", b.shape().str(), " would have shape ",
                 detail::extents_str(first, last), ", which ", problem);
}
void check_output_size(const char* op, const Tensor& a, const Tensor& b, const std::vector<std::int64_t>& out) {
  check_output_size(op, a, b, out.data(), out.data() + out.size());
}

}  // namespace

// PyTorch's rules: a 1-D left operand is a row [1,K] and a 1-D right one a
// column [K,1], that dimension dropped from the result; dimensions before the
// last two are batch dimensions and broadcast. A right operand without batch
// (or with a batch of one) takes the left's batch as rows of one 2-D gemm; other
// batched products broadcast both operands to the common batch (broadcast_to,
// whose gradient sums back over the broadcast dimensions) and run one gemm per
// batch entry.
Tensor matmul(const Tensor& a0, const Tensor& b0) {
  const auto ab = detail::promote_floating(a0, b0, "matmul");
  const Tensor &a = ab.first, &b = ab.second;
  if (a.dim() == 0 || b.dim() == 0)
    detail::fail("matmul: both operands need at least 1 dimension; got shapes ", a.shape().str(), " and ",
                 b.shape().str());
  const std::int64_t k_a = a.shape().at(-1), k_b = b.dim() == 1 ? b.shape()[0] : b.shape().at(-2);
  if (k_a != k_b)
    detail::fail("matmul: shapes ", a.shape().str(), " and ", b.shape().str(), " do not align (", k_a, " != ", k_b,
                 ")");
  if (a.dim() == 2 && b.dim() == 2) {  // the common case, kept direct (and free of heap allocations)
    const std::int64_t out[2] = {a.shape()[0], b.shape()[1]};
    check_output_size("matmul", a, b, out, out + 2);
    return product(a, false, b, false);
  }
  const std::vector<std::int64_t> av = a.shape().vec(), bv = b.shape().vec();
  const Shape batch_a(std::vector<std::int64_t>(av.begin(), av.end() - std::min<std::ptrdiff_t>(2, a.dim())));
  const Shape batch_b(std::vector<std::int64_t>(bv.begin(), bv.end() - std::min<std::ptrdiff_t>(2, b.dim())));
  Shape batch;
  try {
    batch = broadcast_shapes(batch_a, batch_b, "matmul");
  } catch (const std::invalid_argument&) {
    detail::fail("matmul: batch sizes differ: shapes ", a.shape().str(), " and ", b.shape().str(),
                 " (batch dimensions ", batch_a.str(), " and ", batch_b.str(), " do not broadcast)");
  }
  const std::int64_t M = a.dim() == 1 ? 1 : a.shape().at(-2), N = b.dim() == 1 ? 1 : b.shape().at(-1);
  std::vector<std::int64_t> full = batch.vec(), out = batch.vec();
  full.insert(full.end(), {M, N});
  if (a.dim() > 1) out.push_back(M);
  if (b.dim() > 1) out.push_back(N);
  check_output_size("matmul", a, b, full);

  if (a.dim() == 3 && b.dim() == 3 && batch_a == batch_b) return product(a, false, b, false);  // as bmm
  if (batch_b.numel() == 1) {
    // One right matrix for every row of the left: a single [rows, K] x [K, N] gemm.
    const Tensor a2 = reshape(a, {numel_of(batch_a.vec()) * M, k_a});
    const Tensor b2 = reshape(b, {k_b, N});
    return reshape(product(a2, false, b2, false), out);
  }
  std::vector<std::int64_t> a_full = batch.vec(), b_full = batch.vec();
  a_full.insert(a_full.end(), {M, k_a});
  b_full.insert(b_full.end(), {k_b, N});
  const std::int64_t B = batch.numel();
  const Tensor a3 = reshape(broadcast_to(a.dim() == 1 ? reshape(a, {1, k_a}) : a, Shape(a_full)), {B, M, k_a});
  const Tensor b3 = reshape(broadcast_to(b, Shape(b_full)), {B, k_b, N});
  return reshape(product(a3, false, b3, false), out);
}

Tensor bmm(const Tensor& a0, const Tensor& b0) {
  const auto ab = detail::promote_floating(a0, b0, "bmm");
  const Tensor &a = ab.first, &b = ab.second;
  if (a.dim() != 3 || b.dim() != 3)
    detail::fail("bmm: expects 3-D operands [B,M,K] and [B,K,N]; got shapes ", a.shape().str(), " and ",
                 b.shape().str());
  if (a.shape()[0] != b.shape()[0])
    detail::fail("bmm: batch sizes differ: shapes ", a.shape().str(), " and ", b.shape().str());
  if (a.shape()[2] != b.shape()[1])
    detail::fail("bmm: shapes ", a.shape().str(), " and ", b.shape().str(), " do not align (", a.shape()[2],
                 " != ", b.shape()[1], ")");
  check_output_size("bmm", a, b, {a.shape()[0], a.shape()[1], b.shape()[2]});
  return product(a, false, b, false);
}

// x W^T + b with W as stored ([out, in]): the transpose is a gemm flag, and
// leading dimensions of x fold into the rows of one gemm.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  const auto xw = detail::promote_floating(input, weight, "linear");
  const Tensor &x = xw.first, &w = xw.second;
  if (w.dim() != 1 && w.dim() != 2)
    detail::fail("linear: weight must be [out, in] (or [in]); got input ", x.shape().str(), " and weight ",
                 w.shape().str());
  if (x.dim() == 0)
    detail::fail("linear: input needs at least 1 dimension; got input [] and weight ", w.shape().str());
  const std::int64_t in = w.shape().at(-1);
  if (x.shape().at(-1) != in)
    detail::fail("linear: input ", x.shape().str(), " has ", x.shape().at(-1), " features, weight ", w.shape().str(),
                 " (as [out, in]) expects ", in);
  const std::int64_t out_features = w.dim() == 2 ? w.shape()[0] : 1;
  if (bias.defined()) {
    detail::check_floating(bias, "linear");
    // A 1-D weight takes no bias (PyTorch refuses that pair for a 2-D input too).
    if (w.dim() == 1)
      detail::fail("linear: a bias needs a 2-D weight [out, in]; got weight ", w.shape().str(), " and bias ",
                   bias.shape().str());
    if (bias.dim() > 1 || (bias.dim() == 1 && bias.shape()[0] != out_features))
      detail::fail("linear: bias ", bias.shape().str(), " does not fit weight ", w.shape().str(), ": expected [",
                   out_features, "] or [] (0-d)");
  }
  std::vector<std::int64_t> out = x.shape().vec();
  out.pop_back();
  std::vector<std::int64_t> full = out;
  full.push_back(out_features);
  check_output_size("linear", x, w, full);
  const std::int64_t rows = numel_of(out);
  if (w.dim() == 2) out.push_back(out_features);
  const Tensor x2 = x.dim() == 2 ? x : reshape(x, {rows, in});
  Tensor y = w.dim() == 2 ? product(x2, false, w, true) : product(x2, false, reshape(w, {in, 1}), false);
  if (bias.defined()) y = y + bias;
  return x.dim() == 2 && w.dim() == 2 ? y : reshape(y, out);
}

// ---------------------------------------------------------------------------
// einsum, reduced to diagonal masks, sums, permutes, reshapes and products, so
// its gradient is theirs.
// ---------------------------------------------------------------------------
namespace {

// Labels: letters are 0..51 (A-Z, then a-z, the order of the implicit output);
// the dimensions an ellipsis covers are kEllipsis + i, right-aligned across
// operands so they broadcast like NumPy's.
constexpr int kEllipsis = 52;

int letter_label(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' : c - 'a' + 26; }
char label_letter(int l) { return static_cast<char>(l < 26 ? 'A' + l : 'a' + l - 26); }

struct Term {
  std::vector<int> letters;  // label per position, -1 where the ellipsis stands
  bool ellipsis = false;
};

class Einsum {
 public:
  Einsum(std::string equation, const std::vector<Tensor>& operands) : eq_(std::move(equation)), ops_(operands) {}

  Tensor run();

 private:
  template <class... Args> [[noreturn]] void fail(const Args&... args) const {
    std::string shapes;
    for (std::size_t i = 0; i < ops_.size(); ++i) shapes += (i ? ", " : "") + ops_[i].shape().str();
    detail::fail("einsum: ", args..., " (equation '", eq_, "', operand shapes ", shapes.empty() ? "none" : shapes,
                 ")");
  }
  Term parse_term(const std::string& text, std::size_t offset, bool output) const;
  void parse();
  Tensor take_diagonals(Tensor x, std::vector<int>& labels) const;
  Tensor sum_out(const Tensor& x, std::vector<int>& labels, const std::vector<bool>& keep) const;
  Tensor contract(const Tensor& a, std::vector<int>& la, const Tensor& b, const std::vector<int>& lb,
                  const std::vector<bool>& keep) const;

  std::string eq_;
  std::vector<Tensor> ops_;
  std::vector<std::vector<int>> labels_;  // per operand, one label per dimension
  std::vector<int> output_;
  std::vector<std::int64_t> size_;        // per label: its extent (1 unless some operand says more)
};

Term Einsum::parse_term(const std::string& text, std::size_t offset, bool output) const {
  Term t;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ') continue;
    if (c == '.') {
      if (text.compare(i, 3, "...") != 0) fail("a '.' at index ", offset + i, " that is not part of an '...'");
      if (t.ellipsis) fail("more than one '...' in ", output ? "the output" : "one operand's subscripts");
      t.ellipsis = true;
      t.letters.push_back(-1);
      i += 2;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      t.letters.push_back(letter_label(c));
    } else {
      fail("invalid subscript '", c, "' at index ", offset + i, "; subscripts are letters a-z, A-Z");
    }
  }
  return t;
}

void Einsum::parse() {
  if (ops_.empty()) fail("no operands");
  for (const Tensor& t : ops_) detail::check_floating(t, "einsum");
  const std::size_t arrow = eq_.find("->");
  if (arrow != std::string::npos && eq_.find("->", arrow + 2) != std::string::npos) fail("more than one '->'");
  const std::string lhs = eq_.substr(0, arrow);
  std::vector<Term> terms;
  for (std::size_t start = 0;;) {
    const std::size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma - start), start, false));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ops_.size())
    fail("the equation has ", terms.size(), " operand subscript", terms.size() == 1 ? "" : "s", " but ", ops_.size(),
         " operand", ops_.size() == 1 ? " was" : "s were", " given");

  // Labels of every dimension; the ellipsis covers what the letters leave.
  int ellipsis_dims = 0;
  for (std::size_t k = 0; k < terms.size(); ++k) {
    const int named = static_cast<int>(terms[k].letters.size()) - (terms[k].ellipsis ? 1 : 0);
    const int nd = ops_[k].dim();
    if (terms[k].ellipsis ? nd < named : nd != named)
      fail("operand ", k, " has ", nd, " dimension", nd == 1 ? "" : "s", " but ", named, " subscript",
           named == 1 ? "" : "s", terms[k].ellipsis ? " and an '...'" : "");
    ellipsis_dims = std::max(ellipsis_dims, nd - named);
  }
  size_.assign(kEllipsis + ellipsis_dims, 1);
  std::vector<int> count(size_.size(), 0);  // per label: occurrences in the operands' subscripts
  for (std::size_t k = 0; k < terms.size(); ++k) {
    std::vector<int>& labels = labels_.emplace_back();
    const int covered = ops_[k].dim() - (static_cast<int>(terms[k].letters.size()) - (terms[k].ellipsis ? 1 : 0));
    for (int l : terms[k].letters) {
      if (l >= 0) {
        labels.push_back(l);
      } else {
        for (int i = 0; i < covered; ++i) labels.push_back(kEllipsis + ellipsis_dims - covered + i);
      }
    }
    std::vector<std::int64_t> seen(size_.size(), -1);  // this operand's extent per label
    for (std::size_t d = 0; d < labels.size(); ++d) {
      const int l = labels[d];
      const std::int64_t n = ops_[k].shape()[static_cast<int>(d)];
      if (seen[l] >= 0 && seen[l] != n)
        fail("subscript ", label_letter(l), " is repeated in operand ", k, " with extents ", seen[l], " and ", n);
      ++count[l];  // occurrences: "ii" uses i twice, so its implicit output is 0-d
      seen[l] = n;
      if (n != 1 && size_[l] != 1 && size_[l] != n) {
        if (l >= kEllipsis) fail("the dimensions under '...' do not broadcast (", size_[l], " and ", n, ")");
        fail("subscript ", label_letter(l), " has extent ", n, " in operand ", k, " but ", size_[l],
             " in an earlier one");
      }
      if (n != 1) size_[l] = n;
    }
  }

  if (arrow == std::string::npos) {
    // Implicit output: the ellipsis dimensions, then the letters used once, in alphabetical order.
    for (int l = 0; l < static_cast<int>(size_.size()); ++l)
      if (l >= kEllipsis || count[l] == 1) output_.push_back(l);
    std::rotate(output_.begin(), std::find_if(output_.begin(), output_.end(), [](int l) { return l >= kEllipsis; }),
                output_.end());
    return;
  }
  const Term out = parse_term(eq_.substr(arrow + 2), arrow + 2, true);
  std::vector<bool> in_output(size_.size(), false);
  for (int l : out.letters) {
    if (l < 0) {
      for (int i = 0; i < ellipsis_dims; ++i) output_.push_back(kEllipsis + i);
      continue;
    }
    if (count[l] == 0) fail("output subscript ", label_letter(l), " appears in no operand");
    if (in_output[l]) fail("output subscript ", label_letter(l), " appears more than once");
    in_output[l] = true;
    output_.push_back(l);
  }
}

// A label repeated within one operand picks its diagonal: x times an identity
// mask over the two dimensions, summed over the second.
Tensor Einsum::take_diagonals(Tensor x, std::vector<int>& labels) const {
  for (std::size_t q = 1; q < labels.size(); ++q) {
    const auto p = static_cast<std::size_t>(std::find(labels.begin(), labels.end(), labels[q]) - labels.begin());
    if (p == q) continue;
    const std::int64_t n = x.shape()[static_cast<int>(q)];
    std::vector<std::int64_t> mask_shape(labels.size(), 1);
    mask_shape[p] = mask_shape[q] = n;
    std::vector<double> identity(static_cast<std::size_t>(n * n), 0.0);
    for (std::int64_t i = 0; i < n; ++i) identity[static_cast<std::size_t>(i * n + i)] = 1.0;
    x = sum(x * tensor(identity, Shape(mask_shape), x.dtype()), {static_cast<int>(q)});
    labels.erase(labels.begin() + static_cast<std::ptrdiff_t>(q));
    --q;
  }
  return x;
}

// Sums x over the labels not in `keep`.
Tensor Einsum::sum_out(const Tensor& x, std::vector<int>& labels, const std::vector<bool>& keep) const {
  std::vector<int> axes, kept;
  for (std::size_t d = 0; d < labels.size(); ++d) {
    if (keep[labels[d]]) {
      kept.push_back(labels[d]);
    } else {
      axes.push_back(static_cast<int>(d));
    }
  }
  if (axes.empty()) return x;
  labels = kept;
  return sum(x, axes);
}

// One pairwise step: labels in both and kept are a batch, in both and not kept
// are contracted (the K of a product), the rest are rows (M) and columns (N).
Tensor Einsum::contract(const Tensor& a0, std::vector<int>& la, const Tensor& b0, const std::vector<int>& lb0,
                        const std::vector<bool>& keep) const {
  std::vector<int> lb = lb0;
  std::vector<bool> keep_a = keep, keep_b = keep;  // a label the other operand has is still needed
  for (int l : lb) keep_a[l] = true;
  for (int l : la) keep_b[l] = true;
  const Tensor a = sum_out(a0, la, keep_a), b = sum_out(b0, lb, keep_b);
  auto has = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
  std::vector<int> batch, rows, inner, cols;
  for (int l : la) (has(lb, l) ? (keep[l] ? batch : inner) : rows).push_back(l);
  for (int l : lb)
    if (!has(la, l)) cols.push_back(l);
  auto arranged = [&](const Tensor& x, const std::vector<int>& labels, std::initializer_list<const std::vector<int>*> groups) {
    std::vector<int> perm;
    std::vector<std::int64_t> extents;
    for (const std::vector<int>* g : groups) {
      std::int64_t n = 1;
      for (int l : *g) {
        perm.push_back(static_cast<int>(std::find(labels.begin(), labels.end(), l) - labels.begin()));
        n *= size_[l];
      }
      extents.push_back(n);
    }
    bool identity = true;
    for (std::size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int>(i);
    return reshape(identity ? x : permute(x, perm), extents);
  };
  const Tensor y = matmul(arranged(a, la, {&batch, &rows, &inner}), arranged(b, lb, {&batch, &inner, &cols}));
  la = batch;
  la.insert(la.end(), rows.begin(), rows.end());
  la.insert(la.end(), cols.begin(), cols.end());
  std::vector<std::int64_t> extents;
  for (int l : la) extents.push_back(size_[l]);
  return reshape(y, extents);
}

Tensor Einsum::run() {
  parse();
  std::vector<Tensor> xs;
  for (std::size_t k = 0; k < ops_.size(); ++k) {
    Tensor x = take_diagonals(ops_[k], labels_[k]);
    // A dimension of extent 1 that broadcasts against a larger one elsewhere
    // drops out here: the other operand carries the label.
    std::vector<int> labels;
    std::vector<std::int64_t> extents;
    for (std::size_t d = 0; d < labels_[k].size(); ++d) {
      const std::int64_t n = x.shape()[static_cast<int>(d)];
      if (n == 1 && size_[labels_[k][d]] != 1) continue;
      labels.push_back(labels_[k][d]);
      extents.push_back(n);
    }
    if (labels.size() != labels_[k].size()) x = reshape(x, extents);
    labels_[k] = labels;
    xs.push_back(x);
  }
  // Left to right, each step keeping the labels of the output and of the operands still to come.
  std::vector<bool> keep(size_.size(), false);
  for (int l : output_) keep[l] = true;
  std::vector<std::vector<bool>> keep_after(ops_.size(), keep);
  for (std::size_t k = ops_.size() - 1; k > 0; --k) {
    keep_after[k - 1] = keep_after[k];
    for (int l : labels_[k]) keep_after[k - 1][l] = true;
  }
  std::vector<int> labels = labels_[0];
  Tensor y = xs[0];
  for (std::size_t k = 1; k < xs.size(); ++k) y = contract(y, labels, xs[k], labels_[k], keep_after[k]);
  y = sum_out(y, labels, keep);
  // Every output label is still here: extent-1 dimensions were dropped only where another operand has the label.
  std::vector<int> perm;
  for (int l : output_) perm.push_back(static_cast<int>(std::find(labels.begin(), labels.end(), l) - labels.begin()));
  bool identity = true;
  for (std::size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int>(i);
  if (!identity) return permute(y, perm);
  // einsum never hands back an operand itself (PyTorch gives a view): a reshape shares storage.
  return reshape(y, y.shape().vec());
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  return Einsum(equation, operands).run();
}

// ---------------------------------------------------------------------------
// Declarations: samples and error inputs of matmul, bmm, linear and einsum.
// ---------------------------------------------------------------------------
std::vector<OpInfo> matmul_op_declarations() {
  using inputs::any;
  using inputs::constant;
  const OpCall mm = [](const OpArgs& v) { return matmul(v[0], v[1]); };
  const OpCall lin = [](const OpArgs& v) { return linear(v[0], v[1], v.size() > 2 ? v[2] : Tensor()); };
  auto es = [](std::string eq) { return OpCall([eq](const OpArgs& v) { return einsum(eq, v); }); };
  return {
      OpInfo("matmul")
          .sample("[3,4] x [4,2]", {any({3, 4}), any({4, 2})}, mm)
          .sample("[1,5] x [5,3], one row", {any({1, 5}), any({5, 3})}, mm)
          .sample("batched [2,3,4] x [2,4,5]", {any({2, 3, 4}), any({2, 4, 5})}, mm)
          .sample("batched times 2-D [2,3,4] x [4,2]", {any({2, 3, 4}), any({4, 2})}, mm)
          .sample("a constant right operand", {any({3, 4}), constant({4, 2})}, mm)
          .sample("matrix times vector [3,4] x [4]", {any({3, 4}), any({4})}, mm)
          .sample("vector times matrix [4] x [4,2]", {any({4}), any({4, 2})}, mm)
          .sample("vector times vector, 0-d result", {any({4}), any({4})}, mm)
          .sample("batch broadcast [2,1,3,4] x [4,2]", {any({2, 1, 3, 4}), any({4, 2})}, mm)
          .sample("batch broadcast [2,1,3,4] x [3,4,2]", {any({2, 1, 3, 4}), any({3, 4, 2})}, mm)
          .sample("2-D times batched [3,4] x [2,4,2]", {any({3, 4}), any({2, 4, 2})}, mm)
          .sample("vector times batched [4] x [2,4,3]", {any({4}), any({2, 4, 3})}, mm)
          .sample("batched times vector [2,3,4] x [4]", {any({2, 3, 4}), any({4})}, mm)
          .sample("batch of one on the right [2,3,4] x [1,4,2]", {any({2, 3, 4}), any({1, 4, 2})}, mm)
          .error("inner dimensions differ", [] { matmul(ones({3, 4}), ones({5, 2})); },
                 {"matmul: shapes [3,4] and [5,2] do not align (4 != 5)"})
          .error("batched, inner dimensions differ", [] { matmul(ones({2, 3, 4}), ones({2, 5, 6})); },
                 {"matmul", "[2,3,4]", "[2,5,6]"})
          .error("batched, batch sizes do not broadcast", [] { matmul(ones({2, 3, 4}), ones({3, 4, 5})); },
                 {"matmul", "[2,3,4]", "[3,4,5]", "batch", "do not broadcast"})
          .error("batched times 2-D, inner dimensions differ", [] { matmul(ones({2, 3, 4}), ones({5, 6})); },
                 {"matmul", "[2,3,4]", "[5,6]"})
          .error("vectors of different lengths", [] { matmul(ones({4}), ones({3})); },
                 {"matmul: shapes [4] and [3] do not align (4 != 3)"})
          .error("a 0-d operand", [] { matmul(ones({}), ones({4})); }, {"matmul", "at least 1 dimension", "[]", "[4]"})
          .error("int64 operands",
                 [] { matmul(tensor_i64({1, 2, 3, 4}, {2, 2}), tensor_i64({1, 2, 3, 4}, {2, 2})); },
                 {"matmul", "int64"}),
      OpInfo("bmm")
          .sample("[2,3,4] x [2,4,5]", {any({2, 3, 4}), any({2, 4, 5})}, [](const OpArgs& v) { return bmm(v[0], v[1]); })
          .sample("a constant left operand", {constant({3, 1, 2}), any({3, 2, 2})},
                  [](const OpArgs& v) { return bmm(v[0], v[1]); })
          .error("a 2-D operand", [] { bmm(ones({2, 3, 4}), ones({4, 5})); }, {"bmm", "3-D", "[2,3,4]", "[4,5]"})
          .error("batch sizes differ (bmm does not broadcast)", [] { bmm(ones({2, 3, 4}), ones({1, 4, 5})); },
                 {"bmm: batch sizes differ: shapes [2,3,4] and [1,4,5]"})
          .error("inner dimensions differ", [] { bmm(ones({2, 3, 4}), ones({2, 5, 5})); },
                 {"bmm: shapes [2,3,4] and [2,5,5] do not align (4 != 5)"}),
      OpInfo("linear")
          .composite_of_other_ops()
          .sample("[3,4], weight [2,4], bias [2]", {any({3, 4}), any({2, 4}), any({2})}, lin)
          .sample("no bias", {any({3, 4}), any({2, 4})}, lin)
          .sample("leading dimensions [2,3,4]", {any({2, 3, 4}), any({5, 4}), any({5})}, lin)
          .sample("1-D input [4]", {any({4}), any({3, 4}), any({3})}, lin)
          .sample("1-D weight [4]", {any({3, 4}), any({4})}, lin)
          .sample("0-d bias", {any({3, 4}), any({2, 4}), any({})}, lin)
          .sample("a constant weight", {any({3, 4}), constant({2, 4}), any({2})}, lin)
          .error("features differ", [] { linear(ones({2, 3}), ones({4, 2})); },
                 {"linear: input [2,3] has 3 features, weight [4,2] (as [out, in]) expects 2"})
          .error("bias of the wrong length", [] { linear(ones({2, 3}), ones({4, 3}), ones({3})); },
                 {"linear", "bias [3]", "weight [4,3]", "[4]"})
          .error("1-D weight with a bias", [] { linear(ones({2, 3}), ones({3}), ones({})); },
                 {"linear", "2-D weight", "[3]", "[]"})
          .error("3-D weight", [] { linear(ones({2, 3}), ones({1, 4, 3})); }, {"linear", "weight", "[1,4,3]"})
          .error("0-d input", [] { linear(ones({}), ones({4, 3})); }, {"linear", "input", "[4,3]"}),
      OpInfo("einsum")
          .composite_of_other_ops()
          .sample("ij,jk->ik", {any({3, 4}), any({4, 2})}, es("ij,jk->ik"))
          .sample("bij,bjk->bik", {any({2, 3, 4}), any({2, 4, 2})}, es("bij,bjk->bik"))
          .sample("bhqd,bhkd->bhqk (attention scores)", {any({2, 2, 3, 4}), any({2, 2, 5, 4})}, es("bhqd,bhkd->bhqk"))
          .sample("i,i-> (dot)", {any({4}), any({4})}, es("i,i->"))
          .sample("ij->ji", {any({3, 4})}, es("ij->ji"))
          .sample("ii->i (diagonal)", {any({3, 3})}, es("ii->i"))
          .sample("implicit output ij,jk", {any({3, 4}), any({4, 2})}, es("ij,jk"))
          .sample("three operands ij,jk,kl->il", {any({2, 3}), any({3, 4}), any({4, 2})}, es("ij,jk,kl->il"))
          .sample("outer product i,j->ij", {any({3}), any({2})}, es("i,j->ij"))
          .sample("ellipsis ...ij,...jk->...ik with broadcast", {any({2, 1, 3, 4}), any({3, 4, 2})},
                  es("...ij,...jk->...ik"))
          .sample("extent-1 broadcast i,i->i", {any({1}), any({3})}, es("i,i->i"))
          .sample("sum of a label in one operand only", {any({3, 4}), any({3})}, es("ij,i->i"))
          .error("operand count", [] { einsum("ij,jk->ik", {ones({2, 3})}); },
                 {"einsum", "ij,jk->ik", "2 operand subscripts but 1 operand was given", "[2,3]"})
          .error("extents differ", [] { einsum("ij,jk->ik", {ones({2, 3}), ones({4, 2})}); },
                 {"einsum", "subscript j has extent 4 in operand 1 but 3", "ij,jk->ik", "[2,3], [4,2]"})
          .error("subscript count", [] { einsum("ij->i", {ones({2, 3, 4})}); },
                 {"einsum", "operand 0 has 3 dimensions but 2 subscripts", "[2,3,4]"})
          .error("invalid character", [] { einsum("i1->i", {ones({2, 3})}); }, {"einsum", "invalid subscript '1'"})
          .error("output label not in the operands", [] { einsum("ij->k", {ones({2, 3})}); },
                 {"einsum", "output subscript k appears in no operand"})
          .error("output label twice", [] { einsum("ij->ii", {ones({2, 3})}); },
                 {"einsum", "output subscript i appears more than once"})
          .error("repeated label of two extents", [] { einsum("ii->i", {ones({2, 3})}); },
                 {"einsum", "subscript i is repeated in operand 0 with extents 2 and 3"})
          .error("a lone '.'", [] { einsum("i.,i", {ones({2, 3}), ones({2})}); }, {"einsum", "'.'", "'...'"})
          .error("two arrows", [] { einsum("ij->i->i", {ones({2, 3})}); }, {"einsum", "more than one '->'"})
          .error("int64 operand", [] { einsum("i,i->", {tensor_i64({1, 2}, {2}), ones({2})}); }, {"einsum", "int64"}),
  };
}

}  // namespace tg
