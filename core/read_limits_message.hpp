// Private: the common wording of a refusal by a ReadLimits limit.
#pragma once

#include <string>

namespace tg::detail {

/// "(the limit tg::ReadLimits::<field>); raise it, with tg::set_read_limits or
/// per call, if the file is genuine" — the end of every such message.
std::string raise_limit_advice(const char* field);

}  // namespace tg::detail
