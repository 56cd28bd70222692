// Gathering rows of in-memory tensors into a batch, one tg::index_select per
// tensor: the fast path BatchLoader and DataLoader (over a TensorDataset) share.
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/data/batches.hpp>

namespace tg::data {

/// Rows order[first, first + count) of inputs and of targets (undefined targets stay undefined).
Batch gather_rows(const Tensor& inputs, const Tensor& targets, const std::vector<std::int64_t>& order,
                  std::int64_t first, std::int64_t count);

}  // namespace tg::data
