// tapegrad — the declarations of nn::functional's composite functions: each
// one's sample inputs and error inputs (see <tapegrad/core/op_info.hpp>), for
// tg::check_op, as <tapegrad/ops/declared_ops.hpp> lists the ops'.
#pragma once

#include <vector>

#include <tapegrad/core/op_info.hpp>

namespace tg::nn::functional {

/// Every function of tg::nn::functional built from other ops (so declared
/// composite_of_other_ops), each declared next to its definition in nn/*.cpp,
/// in file order. The ops they call are in tg::declared_ops().
///
/// @code
///   for (const tg::OpInfo& f : tg::nn::functional::declared_functions()) std::cout << tg::check_op(f).str() << "\n";
/// @endcode
const std::vector<OpInfo>& declared_functions();

}  // namespace tg::nn::functional
