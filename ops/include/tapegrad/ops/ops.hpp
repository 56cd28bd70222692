// tapegrad — differentiable tensor ops.
//
// Every op here works on float32 and float64 (int64 only where noted), records
// itself on the tape when an input requires grad, and throws
// std::invalid_argument naming the op and the shapes when its arguments do not
// fit. Binary ops broadcast like NumPy. Each op's forward and backward rule live
// together in one file under ops/ (named in the comment of each group).
#pragma once

#include <cstdint>
#include <limits>
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
/// x^exponent element-wise; the gradient is exponent * x^(exponent-1).
Tensor pow(const Tensor& x, double exponent);
/// Limits values to [lo, hi]; the gradient is 1 inside, 0 where clamped.
/// Throws when lo > hi or a bound is NaN.
Tensor clamp(const Tensor& x, double lo = -std::numeric_limits<double>::infinity(),
             double hi = std::numeric_limits<double>::infinity());

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

// ---- reductions (ops/reduction.cpp) ------------------------------------------
/// Sum of all elements (0-d result).
Tensor sum(const Tensor& x);
/// Sum over `axes` (negative counts from the back); keepdim keeps them as size 1.
/// Throws for an axis out of range or listed twice.
Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
/// Mean of all elements (0-d result); throws for an empty tensor.
Tensor mean(const Tensor& x);
/// Mean over `axes`, as sum(x, axes, keepdim) divided by the number of reduced
/// elements; throws when that number is 0.
Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
/// Result of max(x, axis): the maxima and where they are.
struct MaxResult {
  Tensor values;   ///< differentiable: the gradient goes to the first maximum
  Tensor indices;  ///< int64, position of the first maximum along the axis
};
/// Maximum along one axis, with the index of the first maximum (as np.argmax).
MaxResult max(const Tensor& x, int axis, bool keepdim = false);
/// Maximum of all elements (0-d result).
Tensor max(const Tensor& x);
/// Index of the first maximum along `axis` (int64, not differentiable).
Tensor argmax(const Tensor& x, int axis);
/// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- shapes (ops/shape_ops.cpp) ----------------------------------------------
/// Same elements, new shape; one extent may be -1 (inferred). Shares storage.
Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape);
/// Merges dimensions start_dim..end_dim into one.
Tensor flatten(const Tensor& x, int start_dim = 0, int end_dim = -1);
/// Swaps two dimensions (copies into a contiguous tensor).
Tensor transpose(const Tensor& x, int dim0, int dim1);
/// Reorders dimensions: output dim i is input dim dims[i].
Tensor permute(const Tensor& x, const std::vector<int>& dims);
/// Broadcasts to a larger shape (copies); the gradient is summed back.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Rows [start, start+length) of the first dimension (shares storage).
Tensor narrow(const Tensor& x, std::int64_t start, std::int64_t length);
/// Rows of the first dimension picked by int64 `indices` (a copy; the gradient scatters back).
Tensor index_select(const Tensor& x, const Tensor& indices);

// ---- linear algebra (ops/matmul.cpp) -----------------------------------------
/// [M,K]x[K,N] -> [M,N]; [B,M,K]x[B,K,N] -> [B,M,N]; [B,M,K]x[K,N] -> [B,M,N].
/// Runs on OpenBLAS sgemm/dgemm; transposes in backward are BLAS flags, not copies.
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- losses on the core ops (ops/loss.cpp; more in <tapegrad/nn/loss.hpp>) --
/// How a loss combines its per-sample (or per-element) values: Mean (the
/// default) and Sum give a 0-d tensor, None one value per sample or element.
enum class Reduction { Mean, Sum, None };
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

}  // namespace tg
