// In-memory samples as two tensors of rows (TensorDataset, BatchLoader): the
// check that the rows pair up, and gathering rows into a batch with one
// tg::index_select per tensor — the fast path BatchLoader and DataLoader (over a
// TensorDataset) share.
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/data/batches.hpp>

namespace tg::data {

/// Refuses `first` and `second` unless both are defined, at least 1-d, and hold
/// the same number of rows: "<who>: <first_name> [..] and <second_name> [..] ...".
void check_paired_rows(const char* who, const char* first_name, const Tensor& first, const char* second_name,
                       const Tensor& second);

/// Rows order[first, first + count) of inputs and of targets (undefined targets stay undefined).
Batch gather_rows(const Tensor& inputs, const Tensor& targets, const std::vector<std::int64_t>& order,
                  std::int64_t first, std::int64_t count);

}  // namespace tg::data
