// gemm through xtensor-blas over zero-copy adapted buffers, OpenBLAS underneath.
//
// xt::blas::gemm(A, B, C, transA, transB, alpha, beta) takes the row-major
// static-layout adaptors as they are (view_eval passes them through by
// reference: no copies) and writes C in place via cblas_?gemm.
#include <algorithm>
#include <array>

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xadapt.hpp>

#include "ops/blas.hpp"

namespace tg::detail {

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          const T* B, T beta, T* C) {
  if (M == 0 || N == 0) return;
  using Shape2 = std::array<std::size_t, 2>;
  auto sz = [](std::int64_t v) { return static_cast<std::size_t>(v); };
  auto c = xt::adapt(C, sz(M * N), xt::no_ownership(), Shape2{sz(M), sz(N)});
  if (K == 0) {  // BLAS rejects a zero leading dimension; the product is empty
    for (std::int64_t i = 0; i < M * N; ++i) C[i] = beta == T(0) ? T(0) : beta * C[i];
    return;
  }
  auto a = xt::adapt(A, sz(M * K), xt::no_ownership(), trans_a ? Shape2{sz(K), sz(M)} : Shape2{sz(M), sz(K)});
  auto b = xt::adapt(B, sz(K * N), xt::no_ownership(), trans_b ? Shape2{sz(N), sz(K)} : Shape2{sz(K), sz(N)});
  xt::blas::gemm(a, b, c, trans_a, trans_b, alpha, beta);
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, const float*,
                          float, float*);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                           const double*, double, double*);

}  // namespace tg::detail
