// Private: the one gemm every matrix product in tapegrad goes through.
#pragma once

#include <cstdint>

namespace tg::detail {

/// Checks, once per process, that OpenBLAS runs kernels that fit the CPU and
/// switches them if not (ops/config.cpp; <tapegrad/ops/config.hpp> says when).
/// gemm calls it before its first product.
void settle_blas_kernels();

/// C = alpha * op(A) * op(B) + beta * C for dense row-major matrices, where
/// op(A) is [M,K] (A stored [M,K], or [K,M] when trans_a) and op(B) is [K,N]
/// (B stored [K,N], or [N,K] when trans_b). Transposes are BLAS flags: no copies.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          const T* B, T beta, T* C);

}  // namespace tg::detail
