// Private: each ops file's list of op declarations (defined at the bottom of
// that file). ops/declared_ops.cpp joins them; adding an ops file adds one line
// here and one there.
#pragma once

#include <vector>

#include <tapegrad/core/op_info.hpp>

namespace tg {
/// For samples whose output is empty, where gradcheck would find nothing to
/// check: the output and the input, flattened and joined. The gradient then
/// also shows that the empty output hands nothing back.
Tensor joined_to_input(const Tensor& empty_output, const Tensor& input);

std::vector<OpInfo> activation_op_declarations();
std::vector<OpInfo> conv_op_declarations();
std::vector<OpInfo> elementwise_op_declarations();
std::vector<OpInfo> image_op_declarations();
std::vector<OpInfo> index_op_declarations();
std::vector<OpInfo> inplace_op_declarations();
std::vector<OpInfo> join_op_declarations();
std::vector<OpInfo> loss_op_declarations();
std::vector<OpInfo> matmul_op_declarations();
std::vector<OpInfo> normalization_op_declarations();
std::vector<OpInfo> pad_op_declarations();
std::vector<OpInfo> pool_op_declarations();
std::vector<OpInfo> recurrent_op_declarations();
std::vector<OpInfo> reduction_op_declarations();
std::vector<OpInfo> resample_op_declarations();
std::vector<OpInfo> shape_op_declarations();
std::vector<OpInfo> statistics_op_declarations();
std::vector<OpInfo> unary_op_declarations();
}  // namespace tg
