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

#include <tapegrad/tensor.hpp>

namespace tg {

// ---- arithmetic, NumPy broadcasting (ops/elementwise.cpp) --------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor rsub(double a, const Tensor& b);  // a - b
Tensor rdiv(double a, const Tensor& b);  // a / b
Tensor neg(const Tensor& x);

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

/// The shape two shapes broadcast to; throws naming `op` when they cannot.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

// ---- comparisons: 0/1 masks in the input's dtype, never differentiable -------
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor eq(const Tensor& a, const Tensor& b);  // also int64

// ---- element-wise math (ops/unary.cpp) ---------------------------------------
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
/// Limits values to [lo, hi]; the gradient is 1 inside, 0 where clamped. NaN bounds are refused.
Tensor clamp(const Tensor& x, double lo = -std::numeric_limits<double>::infinity(),
             double hi = std::numeric_limits<double>::infinity());

// ---- activations (ops/activation.cpp) ----------------------------------------
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
/// exp(x) / sum(exp(x)) along `axis`, computed stably (max subtracted).
Tensor softmax(const Tensor& x, int axis = -1);
/// x - logsumexp(x) along `axis`, computed stably.
Tensor log_softmax(const Tensor& x, int axis = -1);

// ---- reductions (ops/reduction.cpp) ------------------------------------------
/// Sum of all elements (0-d result).
Tensor sum(const Tensor& x);
/// Sum over `axes` (negative counts from the back); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdim = false);
struct MaxResult {
  Tensor values;   // differentiable: the gradient goes to the first maximum
  Tensor indices;  // int64, position of the first maximum along the axis
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
enum class Reduction { Mean, Sum, None };
/// Negative log-likelihood: log_probs [N,C], int64 targets [N] in [0,C).
/// Mean: -(1/N) sum_i log_probs[i, targets[i]].
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction = Reduction::Mean);

}  // namespace tg
