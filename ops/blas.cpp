// gemm through xtensor-blas over zero-copy adapted buffers, OpenBLAS underneath.
//
// xt::blas::gemm(A, B, C, transA, transB, alpha, beta) takes the row-major
// static-layout adaptors as they are (view_eval passes them through by
// reference: no copies) and writes C in place via cblas_?gemm.
#include <algorithm>
#include <array>

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xadapt.hpp>

#include "core/parallel.hpp"
#include "ops/blas.hpp"
#include <tapegrad/core/parallel.hpp>

namespace tg::detail {

extern "C" void openblas_set_num_threads(int num_threads);

namespace {

// OpenBLAS at `n` threads for one call, back to one afterwards.
struct OpenBlasThreads {
  explicit OpenBlasThreads(int n) { openblas_set_num_threads(n); }
  ~OpenBlasThreads() { openblas_set_num_threads(1); }
};

// One gemm on dense row-major operands.
template <class T>
void gemm_serial(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
                 const T* B, T beta, T* C) {
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

// Below this many multiply-adds a split costs more than it saves (the pool's
// wake-up is a few microseconds); 128^3 measured as the break-even here.
constexpr double kParallelMacs = 128.0 * 128.0 * 128.0;
// From this size on OpenBLAS's own threading wins: its threads share one packed
// copy of B, where row blocks each pack B again (sgemm 2048: 178 vs 127 GFLOP/s).
// The price — its threads spin for a while after the call — is small next to
// a product this large.
constexpr double kOpenBlasThreadsMacs = 512.0 * 512.0 * 512.0;

}  // namespace

// OpenBLAS runs single-threaded (core/parallel.cpp), so medium products are split
// here over tapegrad's pool: by rows of C, each block one gemm on contiguous rows
// of A and C; with A transposed (its rows are not contiguous in memory) by
// columns of C. Very large products get OpenBLAS's threads for the duration of
// the call.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          const T* B, T beta, T* C) {
  if (M == 0 || N == 0) return;
  if (K == 1 && alpha == T(1) && beta == T(0) && static_cast<double>(M) * static_cast<double>(N) < kParallelMacs) {
    // A small outer product (a [M,1] by [1,N] gradient, as of a layer with one
    // output): each element is one product, so the result is the same as any
    // BLAS kernel's, fma(a, b, +0) -- "+ T(0)" gives -0 as +0 as it does --
    // without the call's setup, which costs more than the products here.
    for (std::int64_t i = 0; i < M; ++i) {
      const T a = A[i];  // op(A) is [M,1]: the same elements transposed or not
      T* __restrict c = C + i * N;
      for (std::int64_t j = 0; j < N; ++j) c[j] = a * B[j] + T(0);
    }
    return;
  }
  static const bool kernels_settled = (settle_blas_kernels(), true);  // before the first product
  (void)kernels_settled;
  const int threads = get_num_threads();
  const double macs = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const bool parallel = threads > 1 && !in_parallel_region();
  if (parallel && macs >= kOpenBlasThreadsMacs) {
    OpenBlasThreads use(threads);
    gemm_serial(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
    return;
  }
  const bool split = parallel && !trans_a && M >= 2 * 16 && macs >= kParallelMacs;
  if (parallel && trans_a && N >= 2 * 16 && macs >= kParallelMacs && K > 0) {
    // A transposed (dW = Xᵀ·gY, a third of a Transformer's products): split by
    // columns of C instead, each block one gemm on a column block of op(B) and
    // C, addressed through the leading dimensions (no copies).
    const std::int64_t blocks = std::min<std::int64_t>(threads, N / 16);
    parallel_for(blocks, 1, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t b = first; b < last; ++b) {
        const std::int64_t c0 = (N * b / blocks) / 16 * 16;
        const std::int64_t c1 = b + 1 == blocks ? N : (N * (b + 1) / blocks) / 16 * 16;
        if (c1 <= c0) continue;
        using Index = xt::blas_index_t;
        cxxblas::gemm<Index>(cxxblas::StorageOrder::RowMajor, cxxblas::Transpose::Trans,
                             trans_b ? cxxblas::Transpose::Trans : cxxblas::Transpose::NoTrans,
                             static_cast<Index>(M), static_cast<Index>(c1 - c0), static_cast<Index>(K), alpha, A,
                             static_cast<Index>(M), trans_b ? B + c0 * K : B + c0,
                             static_cast<Index>(trans_b ? K : N), beta, C + c0, static_cast<Index>(N));
      }
    });
    return;
  }
  if (!split) {
    gemm_serial(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
    return;
  }
  const std::int64_t blocks = std::min<std::int64_t>(threads, M / 16);
  parallel_for(blocks, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t b = first; b < last; ++b) {
      // Row blocks rounded to multiples of 16 so every block starts cache-line aligned.
      const std::int64_t r0 = (M * b / blocks) / 16 * 16;
      const std::int64_t r1 = b + 1 == blocks ? M : (M * (b + 1) / blocks) / 16 * 16;
      if (r1 > r0) gemm_serial(false, trans_b, r1 - r0, N, K, alpha, A + r0 * K, B, beta, C + r0 * N);
    }
  });
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, const float*,
                          float, float*);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                           const double*, double, double*);

}  // namespace tg::detail
