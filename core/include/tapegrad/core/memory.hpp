// tapegrad — the tensor allocator's cache.
#pragma once

#include <cstddef>

namespace tg {

/// The allocator's totals, in bytes (each block rounded up to 64 bytes).
struct MemoryStats {
  std::size_t bytes_in_use;  ///< held by live tensors
  std::size_t bytes_cached;  ///< freed by tensors, kept for reuse
};

/// Bytes in use and cached by tapegrad's tensor allocator.
MemoryStats memory_stats();
/// Returns every cached block to the system.
void empty_cache();

}  // namespace tg
