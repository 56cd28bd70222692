// The list of every built-in op's declaration (see <tapegrad/ops/declared_ops.hpp>).
#include "ops/declarations.hpp"
#include <tapegrad/ops/declared_ops.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {

Tensor joined_to_input(const Tensor& empty_output, const Tensor& input) {
  return cat({reshape(empty_output, {-1}), reshape(input, {-1})});
}

const std::vector<OpInfo>& declared_ops() {
  static const std::vector<OpInfo> all = [] {
    std::vector<OpInfo> out;
    for (auto&& file : {
             activation_op_declarations(),
             conv_op_declarations(),
             elementwise_op_declarations(),
             image_op_declarations(),
             index_op_declarations(),
             inplace_op_declarations(),
             join_op_declarations(),
             loss_op_declarations(),
             matmul_op_declarations(),
             normalization_op_declarations(),
             pad_op_declarations(),
             pool_op_declarations(),
             recurrent_op_declarations(),
             reduction_op_declarations(),
             resample_op_declarations(),
             shape_op_declarations(),
             statistics_op_declarations(),
             unary_op_declarations(),
         })
      out.insert(out.end(), file.begin(), file.end());
    return out;
  }();
  return all;
}

}  // namespace tg
