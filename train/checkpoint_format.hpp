// Private: reading and writing the checkpoint file format documented in
// <tapegrad/train/serialize.hpp>. Knows nothing about modules or optimizers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <tapegrad/core/read_limits.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::detail {

using NamedTensorList = std::vector<std::pair<std::string, Tensor>>;

struct CheckpointContents {
  std::string kind;  // "module" or "optimizer:<name>"
  NamedTensorList tensors;
};

/// Writes with train::write_file_atomically (temporary file, fsync, rename, fsync of the directory).
void write_checkpoint(const std::string& path, const std::string& kind, const NamedTensorList& tensors);

/// Reads and fully validates a file (header, sizes, checksum, records), within `limits`.
CheckpointContents read_checkpoint(const std::string& path, const ReadLimits& limits);

}  // namespace tg::detail
