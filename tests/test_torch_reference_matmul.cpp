// tapegrad against PyTorch for matmul, bmm, linear and einsum: the cases of
// tests/data/matmul_ops_reference.txt, written by
// tests/torch_reference/matmul_ops.py with PyTorch (never run here), run
// through tapegrad by name. Inputs, seeds and so every product and gradient are
// multiples of 1/8, so every value must agree exactly; a call PyTorch refuses
// must throw std::invalid_argument here.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "torch_reference_file.hpp"

using namespace tg;

namespace {

using Case = testing::ReferenceCase;

Tensor linear_of(const std::vector<Tensor>& v) { return linear(v[0], v[1], v.size() > 2 ? v[2] : Tensor()); }

// The same names, and the same calls, as CASES in tests/torch_reference/matmul_ops.py.
const std::map<std::string, Case>& cases() {
  using V = const std::vector<Tensor>&;
  const Case mm = [](V v) { return matmul(v[0], v[1]); };
  const Case bm = [](V v) { return bmm(v[0], v[1]); };
  auto es = [](std::string eq) { return Case([eq](V v) { return einsum(eq, v); }); };
  static const std::map<std::string, Case> all = {
      {"matmul_2d", mm},
      {"matmul_2d_float32", mm},
      {"matmul_matrix_vector", mm},
      {"matmul_vector_matrix", mm},
      {"matmul_vector_vector", mm},
      {"matmul_batched", mm},
      {"matmul_batched_2d_right", mm},
      {"matmul_batch_broadcast", mm},
      {"matmul_2d_left_batched_right", mm},
      {"matmul_vector_batched", mm},
      {"matmul_batched_vector", mm},
      {"matmul_right_batch_of_one", mm},
      {"matmul_empty_inner", mm},
      {"matmul_batches_do_not_broadcast", mm},
      {"matmul_vectors_differ", mm},
      {"matmul_0d", mm},
      {"bmm", bm},
      {"bmm_no_broadcast", bm},
      {"bmm_2d", bm},
      {"linear_bias", linear_of},
      {"linear_no_bias", linear_of},
      {"linear_leading_dims", linear_of},
      {"linear_1d_input", linear_of},
      {"linear_1d_weight", linear_of},
      {"linear_1d_weight_with_bias", linear_of},
      {"linear_0d_bias", linear_of},
      {"linear_bias_wrong_length", linear_of},
      {"linear_features_differ", linear_of},
      {"einsum_matmul", es("ij,jk->ik")},
      {"einsum_bmm", es("bij,bjk->bik")},
      {"einsum_attention", es("bhqd,bhkd->bhqk")},
      {"einsum_dot", es("i,i->")},
      {"einsum_transpose", es("ij->ji")},
      {"einsum_diagonal", es("ii->i")},
      {"einsum_trace", es("ii")},
      {"einsum_implicit", es("ij,jk")},
      {"einsum_implicit_reordered", es("ba,cb")},
      {"einsum_three", es("ij,jk,kl->il")},
      {"einsum_outer", es("i,j->ij")},
      {"einsum_sum_one_operand", es("ij,i->i")},
      {"einsum_ellipsis", es("...ij,...jk->...ik")},
      {"einsum_ellipsis_summed", es("...j->j")},
      {"einsum_broadcast_extent_1", es("i,i->i")},
      {"einsum_spaces_uppercase", es("A b , b C -> C A")},
      {"einsum_elementwise", es("ij,ij->ij")},
      {"einsum_three_shared_batch", es("bi,bi,bi->b")},
      {"einsum_three_cycle", es("ij,jk,ki->i")},
      {"einsum_ellipsis_diagonal", es("...ii->...i")},
      {"einsum_batch_extent_1", es("bij,bjk->bik")},
      {"einsum_extents_differ", es("ij,jk->ik")},
      {"einsum_operand_count", es("ij,jk->ik")},
      {"einsum_output_not_in_input", es("ij->k")},
      {"einsum_repeated_extents_differ", es("ii->i")},
  };
  return all;
}

}  // namespace

TEST_CASE("matmul, bmm, linear and einsum agree with PyTorch", "[ops][torch_reference][matmul]") {
  testing::check_against_pytorch("tests/data/matmul_ops_reference.txt", cases(), testing::exactly());
}

TEST_CASE("einsum equals its spelled-out products and sums", "[ops][matmul]") {
  const Tensor a = randn({2, 3, 4}, kFloat64), b = randn({2, 4, 5}, kFloat64), c = randn({5, 3}, kFloat64);
  auto close = [](const Tensor& x, const Tensor& y) {
    REQUIRE(x.shape() == y.shape());
    const auto xv = x.to_vector(), yv = y.to_vector();
    for (std::size_t i = 0; i < xv.size(); ++i) CHECK(xv[i] == Approx(yv[i]).margin(1e-12));
  };
  close(einsum("bij,bjk,kl->bil", {a, b, c}), matmul(matmul(a, b), c));
  close(einsum("bij->", {a}), sum(a));
  close(einsum("bij->jb", {a}), permute(sum(a, {1}), {1, 0}));
  // Attention scores q·kᵀ, as nn code writes them.
  const Tensor q = randn({2, 3, 4}, kFloat64), k = randn({2, 6, 4}, kFloat64);
  close(einsum("bqd,bkd->bqk", {q, k}), matmul(q, transpose(k, 1, 2)));
}

TEST_CASE("matmul gradients sum over broadcast batch dimensions", "[ops][matmul]") {
  // [2,1,3,4] x [3,4,2] -> [2,3,3,2]: each right matrix meets both left batches.
  const Tensor a = randn({2, 1, 3, 4}, kFloat64).requires_grad_(), b = randn({3, 4, 2}, kFloat64).requires_grad_();
  sum(matmul(a, b)).backward();
  // d sum(A B) / dB[j] = sum over the batches it meets of A[i]ᵀ 1 = column sums of A over i and rows.
  const Tensor want_b = broadcast_to(reshape(sum(a.detach(), {0, 1, 2}), {1, 4, 1}), Shape{3, 4, 2});
  const auto gb = b.grad().to_vector(), wb = want_b.to_vector();
  for (std::size_t i = 0; i < gb.size(); ++i) CHECK(gb[i] == Approx(wb[i]).margin(1e-12));
  CHECK(a.grad().shape() == Shape{2, 1, 3, 4});
}
