// Private: each nn file's list of declarations of its nn::functional composites
// (defined at the bottom of that file). nn/declared_functions.cpp joins them;
// adding a file adds one line here and one there.
#pragma once

#include <vector>

#include <tapegrad/core/op_info.hpp>

namespace tg::nn::functional {
std::vector<OpInfo> dropout_function_declarations();
std::vector<OpInfo> loss_function_declarations();
std::vector<OpInfo> embedding_function_declarations();
std::vector<OpInfo> normalization_function_declarations();
}  // namespace tg::nn::functional
