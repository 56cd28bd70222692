// tapegrad against PyTorch: the cases of tests/data/shape_ops_reference.txt,
// written by tests/torch_reference/shape_ops.py with PyTorch (never run here),
// run through tapegrad by name. Inputs, outputs and gradients are multiples of
// 1/8, so every value must agree exactly; a call PyTorch refuses must throw
// std::invalid_argument here.
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

// The extents of each piece, as an int64 [pieces, dims] tensor (the Python side's `sizes`).
Tensor sizes(const std::vector<Tensor>& pieces) {
  std::vector<std::int64_t> v;
  for (const Tensor& p : pieces) v.insert(v.end(), p.shape().begin(), p.shape().end());
  return tensor_i64(v, {static_cast<std::int64_t>(pieces.size()), pieces.empty() ? 0 : pieces[0].dim()});
}

std::vector<Tensor> reversed(std::vector<Tensor> v) { return {v.rbegin(), v.rend()}; }

// The same names, and the same calls, as CASES in tests/torch_reference/shape_ops.py.
const std::map<std::string, Case>& cases() {
  using V = const std::vector<Tensor>&;
  static const std::map<std::string, Case> all = {
      {"cat_dim0", [](V v) { return cat({v[0], v[1]}); }},
      {"cat_three_dim_neg1", [](V v) { return cat({v[0], v[1], v[2]}, -1); }},
      {"cat_same_twice_dim1", [](V v) { return cat({v[0], v[0]}, 1); }},
      {"cat_legacy_empty", [](V v) { return cat({v[0], v[1]}, 1); }},
      {"cat_int64", [](V v) { return cat({v[0], v[1]}); }},
      {"cat_int64_and_float", [](V v) { return cat({v[0], v[1]}); }},
      {"cat_shapes_differ", [](V v) { return cat({v[0], v[1]}); }},
      {"cat_0d", [](V v) { return cat({v[0], v[1]}); }},
      {"stack_dim1", [](V v) { return stack({v[0], v[1]}, 1); }},
      {"stack_dim_neg1", [](V v) { return stack({v[0], v[1], v[2]}, -1); }},
      {"stack_0d", [](V v) { return stack({v[0], v[1]}); }},
      {"stack_shapes_differ", [](V v) { return stack({v[0], v[1]}); }},
      {"split_last_piece", [](V v) { return split(v[0], 2)[2]; }},
      {"split_pieces", [](V v) { return sizes(split(v[0], 2)); }},
      {"split_reversed_dim_neg1", [](V v) { return cat(reversed(split(v[0], 3, -1)), 1); }},
      {"split_sizes_dim1",
       [](V v) {
         const auto p = split(v[0], {1, 0, 3}, 1);
         return cat({p[2], p[1]}, 1);
       }},
      {"split_empty_dim", [](V v) { return sizes(split(v[0], 2)); }},
      {"split_sizes_do_not_add_up", [](V v) { return split(v[0], {1, 2})[0]; }},
      {"split_size_0", [](V v) { return split(v[0], 0)[0]; }},
      {"chunk_first_and_last",
       [](V v) {
         const auto p = chunk(v[0], 3);
         return cat({p[0], p[2]});
       }},
      {"chunk_5_in_3", [](V v) { return sizes(chunk(v[0], 3)); }},
      {"chunk_6_in_4", [](V v) { return sizes(chunk(v[0], 4, -1)); }},
      {"chunk_1_in_3", [](V v) { return sizes(chunk(v[0], 3)); }},
      {"chunk_empty_in_3", [](V v) { return sizes(chunk(v[0], 3)); }},
      {"chunk_0", [](V v) { return chunk(v[0], 0)[0]; }},
      {"unbind_one_used", [](V v) { return unbind(v[0], 1)[2]; }},
      {"unbind_restacked", [](V v) { return stack(reversed(unbind(v[0], -1))); }},
      {"unsqueeze_neg1", [](V v) { return unsqueeze(v[0], -1); }},
      {"unsqueeze_0d", [](V v) { return unsqueeze(v[0], 0); }},
      {"unsqueeze_out_of_range", [](V v) { return unsqueeze(v[0], 3); }},
      {"squeeze_all", [](V v) { return squeeze(v[0]); }},
      {"squeeze_dim_neg2", [](V v) { return squeeze(v[0], -2); }},
      {"squeeze_not_1", [](V v) { return squeeze(v[0], 0); }},
      {"squeeze_0d", [](V v) { return squeeze(v[0], -1); }},
      {"expand_keep", [](V v) { return expand(v[0], {2, -1, 4}); }},
      {"expand_0d", [](V v) { return expand(v[0], {2, 3}); }},
      {"expand_bad", [](V v) { return expand(v[0], {4, 3}); }},
      {"expand_new_dim_minus_1", [](V v) { return expand(v[0], {-1, 2, 3}); }},
      {"flatten_middle", [](V v) { return flatten(v[0], -3, -2); }},
      {"flatten_0d", [](V v) { return flatten(v[0]); }},
      {"unflatten_infer", [](V v) { return unflatten(v[0], 1, {3, -1}); }},
      {"unflatten_bad", [](V v) { return unflatten(v[0], 1, {2, 2}); }},
      {"movedim_one", [](V v) { return movedim(v[0], 0, -1); }},
      {"movedim_two", [](V v) { return movedim(v[0], {0, 1}, {2, 0}); }},
      {"narrow_dim1", [](V v) { return narrow(v[0], 1, 1, 3); }},
      {"narrow_negative_start", [](V v) { return narrow(v[0], -2, -3, 2); }},
      {"narrow_past_end", [](V v) { return narrow(v[0], 0, 3, 2); }},
      {"index_select_dim_neg1", [](V v) { return index_select(v[0], -1, v[1]); }},
      {"index_select_0d_index", [](V v) { return index_select(v[0], 1, v[1]); }},
      {"index_select_int64", [](V v) { return index_select(v[0], 1, v[1]); }},
      {"index_select_negative", [](V v) { return index_select(v[0], 0, v[1]); }},
      {"gather_dim1", [](V v) { return gather(v[0], 1, v[1]); }},
      {"gather_smaller_dim0", [](V v) { return gather(v[0], 0, v[1]); }},
      {"gather_int64", [](V v) { return gather(v[0], 1, v[1]); }},
      {"gather_0d", [](V v) { return gather(v[0], 0, v[1]); }},
      {"gather_out_of_range", [](V v) { return gather(v[0], 1, v[1]); }},
      {"scatter_add_dim0", [](V v) { return scatter_add(v[0], 0, v[1], v[2]); }},
      {"scatter_add_src_larger", [](V v) { return scatter_add(v[0], -1, v[1], v[2]); }},
      {"take_along_dim_broadcast", [](V v) { return take_along_dim(v[0], v[1], 1); }},
      {"take_along_dim_flat", [](V v) { return take_along_dim(v[0], v[1]); }},
      {"take_along_dim_negative", [](V v) { return take_along_dim(v[0], v[1], 1); }},
      {"where_same_shape", [](V v) { return where(v[0], v[1], v[2]); }},
      {"where_broadcast", [](V v) { return where(v[0], v[1], v[2]); }},
      {"where_int64_and_float", [](V v) { return where(v[0], v[1], v[2]); }},
      {"where_do_not_broadcast", [](V v) { return where(v[0], v[1], v[2]); }},
      {"masked_fill_same_shape", [](V v) { return masked_fill(v[0], v[1], -7.5); }},
      {"masked_fill_broadcast_mask", [](V v) { return masked_fill(v[0], v[1], 0.0); }},
      {"masked_fill_mask_larger", [](V v) { return masked_fill(v[0], v[1], 0.0); }},
      {"masked_fill_int64", [](V v) { return masked_fill(v[0], v[1], 9); }},
  };
  return all;
}

}  // namespace

TEST_CASE("joining, splitting, shape, indexing and mask ops agree with PyTorch", "[ops][torch_reference]") {
  testing::check_against_pytorch("tests/data/shape_ops_reference.txt", cases(), testing::exactly());
}
