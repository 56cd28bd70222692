// tapegrad — the declarations of the built-in ops: every op's sample inputs and
// error inputs (see <tapegrad/core/op_info.hpp>), for tg::check_op.
#pragma once

#include <vector>

#include <tapegrad/core/op_info.hpp>

namespace tg {

/// Every differentiable op and comparison in <tapegrad/ops/...>, each declared
/// next to its definition in ops/*.cpp, in file order.
///
/// @code
///   for (const tg::OpInfo& op : tg::declared_ops()) std::cout << tg::check_op(op).str() << "\n";
/// @endcode
const std::vector<OpInfo>& declared_ops();

}  // namespace tg
