// tapegrad — differentiable tensor ops.
//
// Every op here works on float32 and float64 (int64 only where noted), records
// itself on the tape when an input requires grad, and throws
// std::invalid_argument naming the op and the shapes when its arguments do not
// fit. Binary ops broadcast like NumPy. Each op's forward and backward rule live
// together in one file under ops/ (named in the comment of each group).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg {

// ---- arithmetic, NumPy broadcasting (ops/elementwise.cpp) --------------------
/// a + b, a - b, a * b, a / b element-wise; the result has the broadcast shape
/// of a and b (see broadcast_shapes). Mixed float32/float64 operands compute
/// in float64. Gradients are summed back to each operand's shape.
///@{
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
///@}
/// a + b, a - b, a * b, a / b with the scalar b applied to every element, in a's dtype.
///@{
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
///@}
/// a - b with a scalar a, element-wise.
Tensor rsub(double a, const Tensor& b);
/// a / b with a scalar a, element-wise.
Tensor rdiv(double a, const Tensor& b);
/// -x element-wise.
Tensor neg(const Tensor& x);

/// Operator spellings of add, sub, mul, div, rsub, rdiv and neg (same contracts).
///@{
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return rsub(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(double a, const Tensor& b) { return rdiv(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
///@}

/// Element-wise maximum / minimum with broadcasting (a NaN wins, as in PyTorch);
/// where a and b are equal, each gets half the gradient.
///@{
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
///@}
/// The angle of the point (b, a) element-wise, in [-pi, pi], with broadcasting.
Tensor atan2(const Tensor& a, const Tensor& b);

/// The shape two shapes broadcast to; throws naming `op` when they cannot.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

// ---- comparisons: 0/1 masks in the input's dtype, never differentiable -------
/// [a > b] and [a < b] element-wise, as 1/0 in a's (float) dtype; not recorded.
///@{
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
///@}
/// [a == b] element-wise with broadcasting, as 1/0 in their dtype (also int64,
/// so predicted and true labels compare directly); a and b must share a dtype.
Tensor eq(const Tensor& a, const Tensor& b);

// ---- element-wise math (ops/unary.cpp) ---------------------------------------
/// e^x element-wise.
Tensor exp(const Tensor& x);
/// Natural logarithm element-wise; x <= 0 gives -inf / NaN, not an exception.
Tensor log(const Tensor& x);
/// Square root element-wise; the gradient 1/(2 sqrt(x)) is infinite at 0.
Tensor sqrt(const Tensor& x);
/// |x| element-wise; the gradient is sign(x), 0 at 0.
Tensor abs(const Tensor& x);
/// x^exponent element-wise; the gradient is exponent * x^(exponent-1), and 0
/// for exponent 0 (also at x = 0, as in PyTorch).
Tensor pow(const Tensor& x, double exponent);
/// Limits values to [lo, hi]; the gradient is 1 inside, 0 where clamped.
/// Throws when lo > hi or a bound is NaN.
Tensor clamp(const Tensor& x, double lo = -std::numeric_limits<double>::infinity(),
             double hi = std::numeric_limits<double>::infinity());
/// Rounding and sign element-wise; their gradient is 0 everywhere, as in PyTorch.
/// round rounds half to even (0.5 -> 0, 1.5 -> 2, -0.5 -> -0); sign gives -1, 0 or 1.
///@{
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor round(const Tensor& x);
Tensor sign(const Tensor& x);
///@}
/// The error function element-wise; the gradient is 2/sqrt(pi) e^(-x^2).
Tensor erf(const Tensor& x);
/// log(1 + x) element-wise, accurate for small x.
Tensor log1p(const Tensor& x);
/// e^x - 1 element-wise, accurate for small x.
Tensor expm1(const Tensor& x);
/// 1 / sqrt(x) element-wise.
Tensor rsqrt(const Tensor& x);

// ---- activations (ops/activation.cpp) ----------------------------------------
/// 1 / (1 + e^-x) element-wise.
Tensor sigmoid(const Tensor& x);
/// Hyperbolic tangent element-wise.
Tensor tanh(const Tensor& x);
/// max(0, x) element-wise; the gradient is 0 at 0.
Tensor relu(const Tensor& x);
/// exp(x) / sum(exp(x)) along `axis`, computed stably (max subtracted).
Tensor softmax(const Tensor& x, int axis = -1);
/// x - logsumexp(x) along `axis`, computed stably.
Tensor log_softmax(const Tensor& x, int axis = -1);
/// PyTorch's element-wise activations (torch.nn.functional), float32 and
/// float64, with PyTorch's defaults. Where a formula has a kink, the gradient
/// at the kink is PyTorch's.
///@{
/// x for x > 0, negative_slope * x otherwise.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// x for x > 0, alpha (e^x - 1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
/// scale * elu(x, alpha) with the self-normalising constants alpha = 1.6733, scale = 1.0507.
Tensor selu(const Tensor& x);
/// x Phi(x) with Phi the standard normal CDF (approximate "none"), or
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (approximate "tanh").
/// Throws for any other `approximate`.
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
/// x sigmoid(x) (swish).
Tensor silu(const Tensor& x);
/// x tanh(softplus(x)).
Tensor mish(const Tensor& x);
/// log(1 + e^(beta x)) / beta, and x itself where beta x > threshold. Computed
/// without overflow for any threshold. Throws for beta = 0.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// clamp(x, min_val, max_val); the gradient is 0 at the bounds. Throws when
/// min_val > max_val (PyTorch returns max_val everywhere).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// clamp(x / 6 + 1/2, 0, 1).
Tensor hardsigmoid(const Tensor& x);
/// x hardsigmoid(x).
Tensor hardswish(const Tensor& x);
/// log(sigmoid(x)), as min(x, 0) - log(1 + e^-|x|): finite for every finite x.
Tensor logsigmoid(const Tensor& x);
/// x for x > 0, weight * x otherwise, with a learned weight of 1 element or one
/// per channel (dim 1 of x) of x's dtype; differentiable in x and weight.
Tensor prelu(const Tensor& x, const Tensor& weight);
///@}

// ---- reductions (ops/reduction.cpp) ------------------------------------------
/// Sum of all elements (0-d result). An int64 tensor sums exactly to int64
/// (wrapping around on overflow, as PyTorch), so counting works the PyTorch way:
/// `sum(eq(argmax(logits, 1), labels)).item()` is the number of correct predictions.
Tensor sum(const Tensor& x);
/// Sum over `axes` (negative counts from the back); keepdim keeps them as size 1.
/// int64 as for sum(x). Throws for an axis out of range or listed twice.
Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
/// Mean of all elements (0-d result); throws for an empty tensor.
Tensor mean(const Tensor& x);
/// Mean over `axes`, as sum(x, axes, keepdim) divided by the number of reduced
/// elements; throws when that number is 0.
Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
/// Result of max(x, dim) and min(x, dim) (PyTorch's torch.return_types.max/min):
/// the extreme values along the dimension and where they are.
struct MaxResult {
  Tensor values;   ///< differentiable: the gradient goes to the element at `indices`
  Tensor indices;  ///< int64, position of the first extreme value along the dimension
};
/// min(x, dim) returns the same pair as max(x, dim).
using MinResult = MaxResult;
/// Maximum / minimum along `dim`, with the index of the first one (a NaN counts
/// as the extreme value, as in PyTorch); keepdim keeps `dim` as size 1. Throws
/// for an empty dimension.
///@{
MaxResult max(const Tensor& x, int dim, bool keepdim = false);
MinResult min(const Tensor& x, int dim, bool keepdim = false);
///@}
/// Maximum / minimum of all elements (0-d result); the gradient is shared
/// evenly between tied elements, as in PyTorch. Throws for an empty tensor.
///@{
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
///@}
/// Index of the first maximum / minimum along `dim` (int64, not differentiable).
///@{
Tensor argmax(const Tensor& x, int dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int dim, bool keepdim = false);
///@}
/// Index of the first maximum / minimum of the flattened x (0-d int64).
///@{
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);
///@}
/// Product of all elements (0-d result); the gradient is exact with zeros in x
/// (the product of the other elements), as in PyTorch.
Tensor prod(const Tensor& x);
/// Product along `dim`; keepdim keeps it as size 1.
Tensor prod(const Tensor& x, int dim, bool keepdim = false);
/// Running sum along `dim`: y[..., i, ...] = sum of x[..., 0..i, ...].
Tensor cumsum(const Tensor& x, int dim);

// ---- statistics and norms (ops/statistics.cpp) --------------------------------
/// Variance over `dims` (empty: every element): sum((x - mean)^2) / (N - correction),
/// N the number of reduced elements; correction 1 is Bessel's (the default, as in
/// PyTorch), 0 the population variance. N <= correction gives inf or NaN, as in
/// PyTorch. keepdim keeps the reduced dimensions as size 1.
Tensor var(const Tensor& x, const std::vector<int>& dims, double correction = 1, bool keepdim = false);
/// Variance of all elements with correction 1.
Tensor var(const Tensor& x);
/// sqrt(var(x, dims, correction, keepdim)); the gradient is 0 where the result
/// is 0 (constant input), as in PyTorch.
Tensor std(const Tensor& x, const std::vector<int>& dims, double correction = 1, bool keepdim = false);
/// Standard deviation of all elements with correction 1.
Tensor std(const Tensor& x);
/// log(sum(exp(x))) over `dims`, computed stably (the maximum is subtracted
/// first); all -inf gives -inf. The gradient is softmax(x) over `dims`.
Tensor logsumexp(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);
/// Vector p-norm over `dims` (empty: every element) for p = 1, 2 or infinity
/// (PyTorch's linalg.vector_norm); other p throw. At x = 0 the gradient is 0
/// (PyTorch's subgradient); ties of the inf-norm share the gradient evenly.
Tensor norm(const Tensor& x, double p, const std::vector<int>& dims, bool keepdim = false);
/// p-norm of all elements (p = 1, 2 or infinity; 2 by default).
Tensor norm(const Tensor& x, double p = 2);
/// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- shapes (ops/shape_ops.cpp) ----------------------------------------------
// As in PyTorch: names, argument order, defaults; a negative dim counts from the
// back. Every op here works on float32, float64 and int64 and is differentiable.
/// Same elements, new shape; one extent may be -1 (inferred). Shares storage.
Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape);
/// Merges dimensions start_dim..end_dim into one (a 0-d tensor becomes [1]). Shares storage.
Tensor flatten(const Tensor& x, int start_dim = 0, int end_dim = -1);
/// Splits dimension `dim` into `sizes` (one may be -1, inferred); they must
/// multiply to its extent. Shares storage.
Tensor unflatten(const Tensor& x, int dim, const std::vector<std::int64_t>& sizes);
/// Inserts a dimension of extent 1 at `dim` (-x.dim()-1 <= dim <= x.dim()). Shares storage.
Tensor unsqueeze(const Tensor& x, int dim);
/// Drops every dimension of extent 1. Shares storage.
Tensor squeeze(const Tensor& x);
/// Drops dimension `dim` if its extent is 1 (otherwise the same shape). Shares storage.
Tensor squeeze(const Tensor& x, int dim);
/// Swaps two dimensions (copies into a contiguous tensor).
Tensor transpose(const Tensor& x, int dim0, int dim1);
/// Reorders dimensions: output dim i is input dim dims[i].
Tensor permute(const Tensor& x, const std::vector<int>& dims);
/// Moves dimension `source` to position `destination`, the others keeping their order (copies).
Tensor movedim(const Tensor& x, int source, int destination);
/// Moves dimensions source[i] to positions destination[i], the others filling
/// the remaining positions in their order (copies).
Tensor movedim(const Tensor& x, const std::vector<int>& source, const std::vector<int>& destination);
/// Broadcasts to a larger shape (copies); the gradient is summed back.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// broadcast_to where a size of -1 keeps x's extent ({-1, 4}: keep dim 0); new
/// leading dimensions need a size >= 0. Copies (tapegrad has no strided views).
Tensor expand(const Tensor& x, const std::vector<std::int64_t>& sizes);
/// Entries [start, start+length) of dimension `dim`; a negative start counts
/// from the end. Shares storage when the slice is one contiguous run (every
/// dimension before `dim` has extent 1, e.g. dim 0); copies otherwise.
Tensor narrow(const Tensor& x, int dim, std::int64_t start, std::int64_t length);
/// narrow(x, 0, start, length): tapegrad's older form, kept for its callers.
Tensor narrow(const Tensor& x, std::int64_t start, std::int64_t length);

// ---- joining and splitting (ops/join_ops.cpp) --------------------------------
/// Joins tensors along `dim`; their other extents must agree. float32 and
/// float64 inputs join in float64, int64 and float ones in the float dtype. A
/// 1-D empty tensor ([0]) joins anything (it is skipped), as in PyTorch.
Tensor cat(const std::vector<Tensor>& tensors, int dim = 0);
/// Joins tensors of one shape along a new dimension `dim`.
Tensor stack(const std::vector<Tensor>& tensors, int dim = 0);
/// Pieces of `split_size` entries along `dim` (the last may be shorter); each
/// is narrow(x, dim, ...), so a piece never used gets no (a zero) gradient.
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, int dim = 0);
/// Pieces of the given sizes along `dim`; they must add up to its extent.
/// `split(x, {2})` means sizes {2}, as in PyTorch (the list form wins).
///@{
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, int dim = 0);
std::vector<Tensor> split(const Tensor& x, std::initializer_list<std::int64_t> sizes, int dim = 0);
///@}
/// split(x, ceil(extent / chunks), dim): at most `chunks` pieces (fewer when
/// the extent does not allow that many, as in PyTorch; an empty dimension gives
/// `chunks` empty pieces).
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, int dim = 0);
/// The slices of `x` along `dim`, that dimension removed.
std::vector<Tensor> unbind(const Tensor& x, int dim = 0);

// ---- indexing and masks (ops/index_ops.cpp) ----------------------------------
// Indices are int64 tensors; an index outside [0, extent) throws (as PyTorch's
// index_select and gather do). A mask is a tensor of any dtype whose non-zero
// elements (NaN included) are true: gt, lt and eq give such 1/0 masks.
/// Entries of dimension `dim` picked by the 0-d or 1-D int64 `index` (a copy;
/// the gradient adds back into the picked entries).
Tensor index_select(const Tensor& x, int dim, const Tensor& index);
/// index_select(x, 0, index): tapegrad's older form, kept for its callers.
Tensor index_select(const Tensor& x, const Tensor& index);
/// out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for the others);
/// index has x's number of dimensions and extents no larger than x's outside dim.
Tensor gather(const Tensor& x, int dim, const Tensor& index);
/// A copy of x with src[i][j][k] added to out[index[i][j][k]][j][k] for dim 0
/// (likewise for the others); index is no larger than src anywhere, nor than x
/// outside dim. src and x have one dtype. Differentiable in x and src.
Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src);
/// gather along `dim` after broadcasting x and indices in every other dimension.
Tensor take_along_dim(const Tensor& x, const Tensor& indices, int dim);
/// take_along_dim of the flattened x and indices.
Tensor take_along_dim(const Tensor& x, const Tensor& indices);
/// a where cond is non-zero, b elsewhere; all three broadcast. a and b compute
/// in float64 if either is, else in float32 if either is, else int64. The
/// gradient goes to a where cond holds and to b elsewhere; cond gets none.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// x with `value` where mask is non-zero; x and the mask broadcast against each
/// other (as PyTorch's out-of-place masked_fill). The gradient is 0 at the filled entries.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// ---- linear algebra (ops/matmul.cpp) -----------------------------------------
/// Matrix product with PyTorch's rules: [M,K]x[K,N] -> [M,N]; a 1-D left
/// operand is a row and a 1-D right one a column, that dimension dropped from
/// the result ([K]x[K] -> 0-d, [M,K]x[K] -> [M], [K]x[K,N] -> [N]); dimensions
/// before the last two are batch dimensions and broadcast ([2,1,M,K]x[3,K,N] ->
/// [2,3,M,N]; gradients are summed back over the broadcast ones). Runs on
/// OpenBLAS sgemm/dgemm; transposes in backward are BLAS flags, not copies.
Tensor matmul(const Tensor& a, const Tensor& b);
/// Batched product of 3-D operands with one batch size: [B,M,K]x[B,K,N] -> [B,M,N]
/// (no broadcasting, as torch.bmm).
Tensor bmm(const Tensor& a, const Tensor& b);
/// torch.nn.functional.linear: input [..., in], weight [out, in] (PyTorch's
/// layout; nn::Linear stores its weight as [in, out]), optional bias [out] or
/// 0-d -> [..., out]. A 1-D weight [in] gives [...].
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor());
/// Einstein summation over 1 or more operands: "ij,jk->ik", "bhqd,bhkd->bhqk",
/// "i,i->", "ij->ji", "ii->i" (a diagonal), implicit output ("ij,jk": the
/// letters used once, in alphabetical order) and "..." (broadcast dimensions).
/// Extents of 1 broadcast. Operands contract left to right as products, so
/// gradients are those of the products, permutes and sums it is made of.
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

// ---- losses on the core ops (ops/loss.cpp; more in <tapegrad/nn/loss.hpp>) --
/// How a loss combines its per-sample (or per-element) values: Mean (the
/// default) and Sum give a 0-d tensor, None one value per sample or element.
/// BatchMean (PyTorch's reduction="batchmean") is the sum divided by the
/// extent of dimension 0; only nn::functional::kl_div takes it, every other
/// loss refuses it (as PyTorch does).
enum class Reduction { Mean, Sum, None, BatchMean };
/// Negative log-likelihood: log_probs [N,C], int64 targets [N] in [0,C).
/// Mean: -(1/N) sum_i log_probs[i, targets[i]]; Sum drops the 1/N; None gives [N].
/// Throws for other shapes, a target out of range, or Mean over N = 0.
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction = Reduction::Mean);
/// Binary cross-entropy (PyTorch's binary_cross_entropy) on
/// probabilities p in [0, 1] with targets y in [0, 1] of the same shape:
///   Mean: -(1/n) sum_i (y_i log p_i + (1 - y_i) log(1 - p_i)); Sum drops the 1/n; None gives p's shape.
/// Each log is clamped at -100, so p = 0 or 1 gives a large finite loss; the
/// gradient (p - y) / max(p (1 - p), 1e-12) stays finite too. Differentiable in
/// both arguments; int64 0/1 labels are taken as p's dtype. Throws for values
/// outside [0, 1] (NaN included), different shapes, or Mean over no element.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& targets, Reduction reduction = Reduction::Mean);

// ---- in-place (ops/inplace.cpp; fill_ and copy_ are Tensor members) ----------
// Each changes self's elements (the tensor behind the handle, which every
// copy of the handle sees) and returns self, bumps its version() (so a
// backward that saved self refuses to run), and, when grad mode is on and self
// or other requires grad, is recorded: self keeps its handle and gets a new
// grad_fn, whose input is self's history before the op. Refused on a leaf that
// requires grad while grad mode is on (change it under NoGradGuard). `other`
// broadcasts to self's shape, which never changes, and is converted to self's
// dtype; self must be float32 or float64 (zero_: any dtype).
/// self += other.
Tensor add_(const Tensor& self, const Tensor& other);
/// self += other (a scalar).
Tensor add_(const Tensor& self, double other);
/// self -= other. With mean and std of a data set, sub_(x, mean) then
/// div_(x, std) standardises it without a temporary of its size.
Tensor sub_(const Tensor& self, const Tensor& other);
/// self -= other (a scalar).
Tensor sub_(const Tensor& self, double other);
/// self *= other. other may be self itself (mul_(x, x) squares x) without a copy
/// when nothing is recorded.
Tensor mul_(const Tensor& self, const Tensor& other);
/// self *= other (a scalar).
Tensor mul_(const Tensor& self, double other);
/// self /= other.
Tensor div_(const Tensor& self, const Tensor& other);
/// self /= other (a scalar).
Tensor div_(const Tensor& self, double other);
/// self = max(0, self); NaN stays NaN.
Tensor relu_(const Tensor& self);
/// self = 0 (its old values get a zero gradient).
Tensor zero_(const Tensor& self);

}  // namespace tg
