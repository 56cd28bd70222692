// matmul: 2-D, batched 3-D, and 3-D x 2-D, on OpenBLAS gemm (ops/blas.cpp).
//
// The gradients are the formulas passed to autograd::formulas (their transposes
// are gemm flags, never copies); a 3-D x 2-D product is one 2-D gemm on [B*M, K]
// between reshapes, so B's gradient is summed over the batch by that gemm. The
// samples and error inputs are declared at the bottom.
#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/blas.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
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
    for (std::int64_t i = 0; i < batch; ++i)
      detail::gemm<T>(ta, tb, M, N, K, T(1), pa + i * M * K, pb + i * K * N, T(0), pc + i * M * N);
  });
  return c;
}

}  // namespace

Tensor matmul(const Tensor& a0, const Tensor& b0) {
  const auto ab = detail::promote_floating(a0, b0, "matmul");
  const Tensor &a = ab.first, &b = ab.second;
  const bool ok_rank = (a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && (b.dim() == 3 || b.dim() == 2));
  if (!ok_rank)
    detail::fail("matmul: expects [M,K]x[K,N], [B,M,K]x[B,K,N] or [B,M,K]x[K,N]; got shapes ", a.shape().str(),
                 " and ", b.shape().str());
  const std::int64_t k_a = a.shape().at(-1), k_b = b.shape().at(-2);
  if (k_a != k_b)
    detail::fail("matmul: shapes ", a.shape().str(), " and ", b.shape().str(), " do not align (", k_a, " != ", k_b,
                 ")");
  if (a.dim() == 3 && b.dim() == 3 && a.shape()[0] != b.shape()[0])
    detail::fail("matmul: batch sizes differ: shapes ", a.shape().str(), " and ", b.shape().str());
  // With K = 0 the operands can be empty while the output is not: [2^32,0] x [0,2^32].
  std::vector<std::int64_t> out = a.shape().vec();
  out.back() = b.shape().at(-1);
  if (const char* problem = detail::shape_size_problem(out))
    detail::fail("matmul: the product of shapes ", a.shape().str(), " and ", b.shape().str(), " would have shape ",
                 detail::extents_str(out), ", which ", problem);

  if (a.dim() == 3 && b.dim() == 2) {
    // [B,M,K] x [K,N]: one gemm over the B*M rows; reshape records the way back.
    const std::int64_t B = a.shape()[0], M = a.shape()[1];
    return reshape(matmul(reshape(a, {B * M, k_a}), b), {B, M, b.shape()[1]});
  }

  Tensor y = gemm_op(a, false, b, false);
  // gA = gY · Bᵀ and gB = Aᵀ · gY: each formula keeps only the operand it reads.
  if (autograd::needs_grad(a, b))
    autograd::record("matmul", {a, b}, y, autograd::formulas(
        [b = SavedTensor(a.requires_grad() ? b : Tensor())](const Tensor& gy) { return gemm_op(gy, false, b, true); },
        [a = SavedTensor(b.requires_grad() ? a : Tensor())](const Tensor& gy) { return gemm_op(a, true, gy, false); }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: samples and error inputs of matmul.
// ---------------------------------------------------------------------------
std::vector<OpInfo> matmul_op_declarations() {
  using inputs::any;
  const OpCall mm = [](const OpArgs& v) { return matmul(v[0], v[1]); };
  return {
      OpInfo("matmul")
          .sample("[3,4] x [4,2]", {any({3, 4}), any({4, 2})}, mm)
          .sample("[1,5] x [5,3], one row", {any({1, 5}), any({5, 3})}, mm)
          .sample("batched [2,3,4] x [2,4,5]", {any({2, 3, 4}), any({2, 4, 5})}, mm)
          .sample("batched times 2-D [2,3,4] x [4,2]", {any({2, 3, 4}), any({4, 2})}, mm)
          .sample("a constant right operand", {any({3, 4}), inputs::constant({4, 2})}, mm)
          .error("inner dimensions differ", [] { matmul(ones({3, 4}), ones({5, 2})); },
                 {"matmul: shapes [3,4] and [5,2] do not align (4 != 5)"})
          .error("batched, inner dimensions differ", [] { matmul(ones({2, 3, 4}), ones({2, 5, 6})); },
                 {"matmul", "[2,3,4]", "[2,5,6]"})
          .error("batched, batch sizes differ", [] { matmul(ones({2, 3, 4}), ones({3, 4, 5})); },
                 {"matmul", "[2,3,4]", "[3,4,5]", "batch"})
          .error("batched times 2-D, inner dimensions differ", [] { matmul(ones({2, 3, 4}), ones({5, 6})); },
                 {"matmul", "[2,3,4]", "[5,6]"})
          .error("a 1-D operand", [] { matmul(ones({4}), ones({4, 2})); }, {"matmul", "[4]", "[4,2]"})
          .error("int64 operands",
                 [] { matmul(tensor_i64({1, 2, 3, 4}, {2, 2}), tensor_i64({1, 2, 3, 4}, {2, 2})); },
                 {"matmul", "int64"}),
  };
}

}  // namespace tg
