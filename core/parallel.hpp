// Private: tapegrad's parallel loop.
#pragma once

#include <cstdint>
#include <functional>

namespace tg::detail {

/// Splits [0, n) into at most get_num_threads() contiguous chunks and runs
/// fn(begin, end) on them concurrently (the calling thread takes one). Runs
/// inline when n < 2 * grain, with one thread, or when already inside a
/// parallel region. Exceptions from any chunk are rethrown here.
void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn);

/// The least element-wise work worth a chunk of its own, in elements: below
/// ~16K per chunk a pass costs less than handing part of it to another thread
/// (a LeNet-5 relu at batch 64, 100K-300K floats, takes 20-60 us on one core).
constexpr std::int64_t kElementGrain = 16384;

/// parallel_for's grain for a loop over rows of `row_length` elements: enough
/// rows for kElementGrain elements per chunk, and at least one.
inline std::int64_t grain_for_rows(std::int64_t row_length) {
  return row_length >= kElementGrain ? 1 : kElementGrain / (row_length > 0 ? row_length : 1);
}

/// How long an idle worker of the pool waits for the next loop before it
/// sleeps (TAPEGRAD_SPIN_US), in microseconds.
std::int64_t worker_spin_microseconds();

/// True while the current thread runs a chunk of parallel_for.
bool in_parallel_region();

}  // namespace tg::detail
