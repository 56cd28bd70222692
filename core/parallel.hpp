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

/// How long an idle worker of the pool waits for the next loop before it
/// sleeps (TAPEGRAD_SPIN_US), in microseconds.
std::int64_t worker_spin_microseconds();

/// True while the current thread runs a chunk of parallel_for.
bool in_parallel_region();

}  // namespace tg::detail
