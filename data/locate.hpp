// Private: locating the IDX files of a data set inside one directory.
#pragma once

#include <string>

namespace tg::detail {

/// The path of `stem` (plain) or `stem`.gz inside `dir`, preferring the plain
/// file (no decompression); "" when neither is a regular file.
std::string idx_file_in(const std::string& dir, const std::string& stem);

}  // namespace tg::detail
