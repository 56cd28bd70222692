// tapegrad — the tensor allocator's cache.
//
// Tensors take their memory from one allocator shared by every thread. A freed
// block is kept for the next tensor of exactly its size (rounded up to 64
// bytes), because a training loop asks for the same sizes every step and
// fetching large blocks fresh from the system costs page faults (~18 ms per
// 40 MB). What the cache keeps:
//   - at most cache_limit() bytes: 256 MiB by default, TAPEGRAD_CACHE_LIMIT
//     (bytes, or with K, M, G for KiB, MiB, GiB: "512M") when set before the
//     first tensor is made, or set_cache_limit(). A block freed over the limit
//     is kept and the least recently freed blocks go back to the system until
//     the cache fits again. 0 turns the cache off.
//   - a block of 1 MiB or more that has not been handed out again within
//     32768 allocations and frees goes back to the system too: a loop reuses its
//     blocks every step, so such a block was a one-off (a data set normalised
//     once out of place).
// Blocks given back really leave the process: blocks of 1 MiB or more are
// mapped and unmapped with the system directly, and empty_cache() also has
// glibc return its free heap pages.
//
// <!-- snippet: run -->
// @code
//   tg::set_cache_limit(64 << 20);           // keep at most 64 MiB of freed blocks
//   tg::MemoryStats s = tg::memory_stats();
//   std::printf("%zu MiB in use (peak %zu), %zu MiB cached\n", s.bytes_in_use >> 20,
//               s.peak_bytes_in_use >> 20, s.bytes_cached >> 20);
//   tg::empty_cache();                       // e.g. after preprocessing, before training
// @endcode
#pragma once

#include <cstddef>
#include <cstdint>

namespace tg {

/// The allocator's figures, in bytes (each block rounded up to 64 bytes), for
/// the whole process (every thread's tensors).
struct MemoryStats {
  std::size_t bytes_in_use;         ///< held by live tensors
  std::size_t bytes_cached;         ///< freed by tensors, kept for reuse (at most cache_limit)
  std::size_t peak_bytes_in_use;    ///< the most bytes_in_use has been (since reset_peak_memory_stats)
  std::size_t peak_bytes_reserved;  ///< the most bytes_in_use + bytes_cached has been: tapegrad's share of the peak RSS
  std::size_t cache_limit;          ///< the most the cache keeps (cache_limit())
  std::uint64_t allocations;        ///< blocks handed to tensors since the start
  std::uint64_t cache_hits;         ///< of those, the ones taken from the cache
  std::uint64_t blocks_released;    ///< cached or freed blocks given back to the system (over the limit, unused, empty_cache)
};

/// The allocator's figures now.
MemoryStats memory_stats();
/// Starts the peaks of memory_stats() again from the current figures.
void reset_peak_memory_stats();
/// Returns every cached block to the system (and glibc's free heap pages), so
/// the process's resident size drops by what the cache held. Tensors in use
/// keep their memory.
void empty_cache();
/// Keeps at most `bytes` of freed blocks from now on; when the cache holds more,
/// the least recently freed blocks go back to the system at once. 0: no cache.
/// Any thread may call it at any time.
void set_cache_limit(std::size_t bytes);
/// The current limit (default 256 MiB, or TAPEGRAD_CACHE_LIMIT; see the top of this file).
std::size_t cache_limit();

}  // namespace tg
