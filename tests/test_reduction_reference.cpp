// tapegrad against PyTorch: the cases of tests/data/reduction_ops_reference.txt,
// written by tests/torch_reference/reduction_ops.py with PyTorch (never run
// here), run through tapegrad by name. These ops round (exp, log, erf, sqrt),
// so floats agree to a relative 1e-12 (NaN with NaN, infinities exactly);
// int64 results (indices) exactly. A call PyTorch refuses must throw
// std::invalid_argument here.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "torch_reference_file.hpp"

using namespace tg;

namespace {

using Case = testing::ReferenceCase;
constexpr double kInf = std::numeric_limits<double>::infinity();

// The same names, and the same calls, as CASES in tests/torch_reference/reduction_ops.py.
const std::map<std::string, Case>& cases() {
  using V = const std::vector<Tensor>&;
  static const std::map<std::string, Case> all = {
      {"max_dim1", [](V v) { return max(v[0], 1).values; }},
      {"max_dim1_indices", [](V v) { return max(v[0], 1).indices; }},
      {"max_dim0_keepdim", [](V v) { return max(v[0], 0, true).values; }},
      {"max_dim_ties", [](V v) { return max(v[0], 1).values; }},
      {"max_dim_ties_indices", [](V v) { return max(v[0], 1).indices; }},
      {"max_dim_nan_indices", [](V v) { return max(v[0], 1).indices; }},
      {"max_0d", [](V v) { return max(v[0], 0).values; }},
      {"max_dim_out_of_range", [](V v) { return max(v[0], 2).values; }},
      {"max_dim_empty", [](V v) { return max(v[0], 0).values; }},
      {"min_dim_neg1", [](V v) { return min(v[0], -1).values; }},
      {"min_dim_neg1_indices", [](V v) { return min(v[0], -1).indices; }},
      {"min_dim1_keepdim_ties", [](V v) { return min(v[0], 1, true).values; }},
      {"max_all_ties", [](V v) { return max(v[0]); }},
      {"min_all", [](V v) { return min(v[0]); }},
      {"min_all_ties", [](V v) { return min(v[0]); }},
      {"max_all_nan", [](V v) { return max(v[0]); }},
      {"max_all_empty", [](V v) { return max(v[0]); }},
      {"argmax_dim1", [](V v) { return argmax(v[0], 1); }},
      {"argmax_dim0_keepdim", [](V v) { return argmax(v[0], 0, true); }},
      {"argmax_all", [](V v) { return argmax(v[0]); }},
      {"argmax_ties", [](V v) { return argmax(v[0]); }},
      {"argmin_dim_neg1", [](V v) { return argmin(v[0], -1); }},
      {"argmin_all", [](V v) { return argmin(v[0]); }},
      {"argmin_empty", [](V v) { return argmin(v[0]); }},
      {"prod_all", [](V v) { return prod(v[0]); }},
      {"prod_dim1_zeros", [](V v) { return prod(v[0], 1); }},
      {"prod_dim0_keepdim", [](V v) { return prod(v[0], 0, true); }},
      {"prod_all_one_zero", [](V v) { return prod(v[0]); }},
      {"prod_all_two_zeros", [](V v) { return prod(v[0]); }},
      {"prod_empty_dim", [](V v) { return prod(v[0], 1); }},
      {"cumsum_dim0", [](V v) { return cumsum(v[0], 0); }},
      {"cumsum_0d", [](V v) { return cumsum(v[0], 0); }},
      {"cumsum_dim_neg1", [](V v) { return cumsum(v[0], -1); }},
      {"var_all", [](V v) { return var(v[0]); }},
      {"var_dims_correction0_keepdim", [](V v) { return var(v[0], {0, 2}, 0, true); }},
      {"var_dim1_correction2", [](V v) { return var(v[0], {1}, 2); }},
      {"var_correction_too_large", [](V v) { return var(v[0], {1}, 3); }},
      {"var_int64", [](V v) { return var(v[0]); }},
      {"std_all", [](V v) { return tg::std(v[0]); }},
      {"std_dim_neg2", [](V v) { return tg::std(v[0], {-2}); }},
      {"std_constant", [](V v) { return tg::std(v[0], {1}, 0); }},
      {"logsumexp_dim1", [](V v) { return logsumexp(v[0], {1}); }},
      {"logsumexp_dims_keepdim", [](V v) { return logsumexp(v[0], {0, 2}, true); }},
      {"logsumexp_large", [](V v) { return logsumexp(v[0], {-1}); }},
      {"logsumexp_infinities", [](V v) { return logsumexp(v[0], {1}); }},
      {"logsumexp_empty_dim", [](V v) { return logsumexp(v[0], {1}); }},
      {"norm2_all", [](V v) { return norm(v[0]); }},
      {"norm2_dim1_keepdim", [](V v) { return norm(v[0], 2, {1}, true); }},
      {"norm2_zero_row", [](V v) { return norm(v[0], 2, {1}); }},
      {"norm2_empty", [](V v) { return norm(v[0], 2, {0}); }},
      {"norm1_dims", [](V v) { return norm(v[0], 1, {0, 2}); }},
      {"norm1_zero", [](V v) { return norm(v[0], 1); }},
      {"norminf_dim0_ties", [](V v) { return norm(v[0], kInf, {0}); }},
      {"norminf_all_ties", [](V v) { return norm(v[0], kInf); }},
      {"norminf_nan", [](V v) { return norm(v[0], kInf); }},
      {"norminf_zero", [](V v) { return norm(v[0], kInf); }},
      {"maximum_broadcast", [](V v) { return maximum(v[0], v[1]); }},
      {"maximum_ties", [](V v) { return maximum(v[0], v[1]); }},
      {"minimum_broadcast_ties", [](V v) { return minimum(v[0], v[1]); }},
      {"maximum_nan", [](V v) { return maximum(v[0], v[1]); }},
      {"minimum_nan", [](V v) { return minimum(v[0], v[1]); }},
      {"maximum_shapes_differ", [](V v) { return maximum(v[0], v[1]); }},
      {"floor", [](V v) { return floor(v[0]); }},
      {"ceil", [](V v) { return ceil(v[0]); }},
      {"round_half_even", [](V v) { return round(v[0]); }},
      {"sign", [](V v) { return sign(v[0]); }},
      {"erf", [](V v) { return erf(v[0]); }},
      {"log1p", [](V v) { return log1p(v[0]); }},
      {"expm1", [](V v) { return expm1(v[0]); }},
      {"rsqrt", [](V v) { return rsqrt(v[0]); }},
      {"atan2_broadcast", [](V v) { return atan2(v[0], v[1]); }},
      {"atan2_quadrants", [](V v) { return atan2(v[0], v[1]); }},
      {"pow_exponent_0", [](V v) { return pow(v[0], 0.0); }},
      {"pow_exponent_0_times_x", [](V v) { return pow(v[0], 0.0) * v[0]; }},
  };
  return all;
}

}  // namespace

TEST_CASE("reductions, statistics, norms and element-wise math agree with PyTorch", "[ops][torch_reference]") {
  testing::check_against_pytorch("tests/data/reduction_ops_reference.txt", cases(), testing::within(1e-12, 1e-14));
}
