// Private: the JSON header of a safetensors file — a strict reader made for its
// one schema, its writer, and the check that the tensors' byte ranges tile the
// data. Knows nothing about modules.
//
// Why our own reader rather than a JSON library: the header has one fixed shape
// (an object of tensor entries and one "__metadata__" object of strings), so a
// reader that follows that shape needs no recursion (no depth limit to get
// right), builds nothing but the entries (a generic DOM of a 100 MB header of
// tiny numbers would take gigabytes), refuses duplicate keys (which nlohmann's
// parser silently resolves to the last), and names the tensor in every error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tapegrad/core/dtype.hpp>
#include <tapegrad/io/safetensors.hpp>

namespace tg::io::detail {

/// The element types tapegrad reads: its own three, and two it converts to float32.
enum class FileDtype { F32, F64, I64, F16, BF16 };

/// "F32", "F64", "I64", "F16", "BF16".
const char* file_dtype_name(FileDtype dtype);
/// Bytes per element in the file.
std::size_t file_element_size(FileDtype dtype);
/// The dtype a tensor of `dtype` has once read (F16 and BF16 become float32).
Dtype loaded_dtype(FileDtype dtype);
/// The file dtype that stores `dtype`.
FileDtype file_dtype_of(Dtype dtype);

/// One tensor's entry in the header.
struct HeaderEntry {
  std::string name;
  FileDtype dtype = FileDtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  ///< byte range in the data
};

struct Header {
  std::vector<HeaderEntry> tensors;  ///< in the header's order
  Metadata metadata;
};

/// Parses the header's JSON text. `where` starts every message
/// ("read_safetensors: 'model.safetensors'"); errors are std::invalid_argument.
/// At most `max_tensors` entries (tg::ReadLimits::max_checkpoint_tensors),
/// counted while reading so that no more are built.
Header parse_header(std::string_view json, const std::string& where, std::uint64_t max_tensors);

/// Checks every entry's range against its dtype and shape, and that the ranges
/// cover [0, data_size) exactly, in some order, without overlaps or holes.
/// Returns the entries' indices sorted by their data's position.
std::vector<std::size_t> check_data_layout(const Header& header, std::uint64_t data_size, const std::string& where);

/// The header's JSON text for these entries (metadata first when not empty),
/// padded with spaces so that 8 + its size is a multiple of 8.
std::string header_json(const Header& header);

}  // namespace tg::io::detail
