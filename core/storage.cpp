// The tensor allocator: 64-byte aligned blocks, cached by size.
//
// Why a cache: glibc returns large freed blocks to the OS, and the next
// training step page-faults them in again (measured here: ~18 ms per 40 MB,
// and 2.6x slower conv forward in PyTorch for exactly this reason). Training
// loops allocate the same sizes every step, so an exact-size free list turns
// almost every allocation after the first step into a pop from a vector.
//
// What it keeps: what a loop reuses, not one-off blocks. A program that
// normalises a data set once ((images - mean) / std) frees blocks of the data
// set's size that nothing asks for again; kept, they held ~400 MB for the whole
// run. So:
//  - the cache holds at most cache_limit() bytes (kDefaultCacheLimit, or
//    TAPEGRAD_CACHE_LIMIT, or set_cache_limit); a block freed over the limit
//    goes in and the least recently freed blocks go back to the system until the
//    cache fits again, so what the loop frees last — what it will ask for next —
//    stays;
//  - a large block (>= kLargeBlock) not handed out again within kStaleTicks
//    allocations and frees goes back too: a loop asks for its blocks every
//    step, and a step makes far fewer (bench/memory_rss.cpp counts them: a
//    LeNet-5 step 73 allocations, the resnet trainer's 284, the char_lm
//    trainer's 2-layer LSTM over 64 characters 1819, so 150 to 3.6k ticks).
// Large blocks are mapped with mmap here, not taken from glibc's heap: glibc
// keeps a freed block below its mmap threshold (which grows up to 32 MB) in the
// heap, so giving one back would not lower the resident size. empty_cache()
// also asks glibc to return the small blocks' free heap pages (malloc_trim).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

// Not under AddressSanitizer: it checks accesses to malloc'd blocks only, and
// the large blocks are where a kernel's overrun would go unseen.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPEGRAD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TAPEGRAD_ASAN 1
#endif
#if (defined(__unix__) || defined(__APPLE__)) && !defined(TAPEGRAD_ASAN)
#include <sys/mman.h>
#define TAPEGRAD_MMAP 1
#endif
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/tensor_impl.hpp"
#include <tapegrad/core/memory.hpp>

namespace tg {
namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kMiB = std::size_t{1} << 20;
// Blocks from this size on are mmap'd and may go stale (see the top of the file).
constexpr std::size_t kLargeBlock = kMiB;
// The default limit: well above what the example trainers' steps reuse (the
// most their caches held, bench/memory_rss.cpp: LeNet-5 batch 64 5 MB, the
// char_lm LSTM 48 MB, the resnet trainer batch 128 90 MB), below the size of
// a data set such as MNIST's training images (180 MiB as float32) held twice.
constexpr std::size_t kDefaultCacheLimit = 256 * kMiB;
// A large cached block not handed out within this many allocations and frees
// ("ticks") goes back; checked every kSweepTicks.
constexpr std::uint64_t kStaleTicks = std::uint64_t{1} << 15;
constexpr std::uint64_t kSweepTicks = std::uint64_t{1} << 10;

std::size_t round_up(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

void* system_allocate(std::size_t bytes) {
#ifdef TAPEGRAD_MMAP
  if (bytes >= kLargeBlock) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;  // page-aligned, so 64-byte aligned
  }
#endif
  return std::aligned_alloc(kAlignment, bytes);
}

void system_free(void* p, std::size_t bytes) {
#ifdef TAPEGRAD_MMAP
  if (bytes >= kLargeBlock) {
    munmap(p, bytes);
    return;
  }
#endif
  std::free(p);
}

struct Block {
  void* data;
  std::size_t bytes;
};

// The allocator's lock. It is taken twice per tensor, around a few dozen
// instructions, and almost never contended: std::mutex's lock and unlock calls
// showed at ~5 % of the perf samples of a small MLP's training run; this one
// costs one atomic exchange and a store. A waiter yields, so it does not spin against a holder
// that was descheduled.
class SpinLock {
 public:
  void lock() {
    while (held_.exchange(true, std::memory_order_acquire))
      while (held_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

class CachingAllocator {
 public:
  explicit CachingAllocator(std::size_t limit) : limit_(limit) {}

  void* allocate(std::size_t bytes) {
    std::vector<Block> stale;
    void* p = nullptr;
    {
      std::lock_guard<SpinLock> lock(mutex_);
      ++allocations_;
      in_use_ += bytes;
      peak_in_use_ = std::max(peak_in_use_, in_use_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back().data;  // the most recently freed: likeliest still in the CPU caches
        it->second.pop_back();
        cached_ -= bytes;
        ++hits_;
      } else {
        peak_reserved_ = std::max(peak_reserved_, in_use_ + cached_);
      }
      // Not `tick_ % kSweepTicks == 0`: frees tick too, and a loop of one
      // allocation and one free each time would then only ever allocate on odd
      // (or only on even) ticks, and never sweep if the parity was wrong.
      if (++tick_ - last_sweep_ >= kSweepTicks) {
        last_sweep_ = tick_;
        take_stale(stale);
      }
    }
    release_blocks(stale);
    if (p) return p;
    p = system_allocate(bytes);
    if (!p) {
      empty_cache();
      p = system_allocate(bytes);
      if (!p) {
        std::lock_guard<SpinLock> lock(mutex_);
        in_use_ -= bytes;
        throw std::bad_alloc();
      }
    }
    return p;
  }

  void release(void* p, std::size_t bytes) {
    std::vector<Block> evicted;
    {
      std::lock_guard<SpinLock> lock(mutex_);
      in_use_ -= bytes;
      ++tick_;
      if (bytes <= limit_) {
        free_[bytes].push_back({p, tick_});
        cached_ += bytes;
        take_over_limit(evicted);
        p = nullptr;
      } else {
        ++released_;
      }
    }
    if (p) system_free(p, bytes);
    release_blocks(evicted);
  }

  void set_limit(std::size_t bytes) {
    std::vector<Block> evicted;
    {
      std::lock_guard<SpinLock> lock(mutex_);
      limit_ = bytes;
      take_over_limit(evicted);
    }
    release_blocks(evicted);
  }

  std::size_t limit() {
    std::lock_guard<SpinLock> lock(mutex_);
    return limit_;
  }

  void empty_cache() {
    std::vector<Block> all;
    {
      std::lock_guard<SpinLock> lock(mutex_);
      for (auto& [size, blocks] : free_)
        for (const Cached& c : blocks) all.push_back({c.data, size});
      free_.clear();
      cached_ = 0;
      released_ += all.size();
    }
    release_blocks(all);
#if defined(__GLIBC__)
    // The small blocks came from glibc's heap, which keeps freed pages mapped.
    malloc_trim(0);
#endif
  }

  MemoryStats stats() {
    std::lock_guard<SpinLock> lock(mutex_);
    MemoryStats s{};
    s.bytes_in_use = in_use_;
    s.bytes_cached = cached_;
    s.peak_bytes_in_use = peak_in_use_;
    s.peak_bytes_reserved = peak_reserved_;
    s.cache_limit = limit_;
    s.allocations = allocations_;
    s.cache_hits = hits_;
    s.blocks_released = released_;
    return s;
  }

  void reset_peaks() {
    std::lock_guard<SpinLock> lock(mutex_);
    peak_in_use_ = in_use_;
    peak_reserved_ = in_use_ + cached_;
  }

 private:
  struct Cached {
    void* data;
    std::uint64_t freed_at;  // tick_ when it was freed: orders blocks by age
  };

  // Moves the least recently freed blocks out until the cache fits its limit.
  // Each size's list is in freeing order, so the oldest block is at the front
  // of one of them. Called with the lock held.
  void take_over_limit(std::vector<Block>& out) {
    while (cached_ > limit_) {
      auto oldest = free_.end();
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (!it->second.empty() && (oldest == free_.end() || it->second.front().freed_at < oldest->second.front().freed_at))
          oldest = it;
      out.push_back({oldest->second.front().data, oldest->first});
      oldest->second.pop_front();
      cached_ -= oldest->first;
      ++released_;
    }
  }

  // Moves out the large blocks that waited more than kStaleTicks. Called with the lock held.
  void take_stale(std::vector<Block>& out) {
    for (auto it = free_.begin(); it != free_.end();) {
      auto& [size, blocks] = *it;
      if (size >= kLargeBlock)
        while (!blocks.empty() && tick_ - blocks.front().freed_at > kStaleTicks) {
          out.push_back({blocks.front().data, size});
          blocks.pop_front();
          cached_ -= size;
          ++released_;
        }
      // Sizes with no block left are dropped here, off the hot path, so the
      // scans above stay as short as the sizes in use.
      it = blocks.empty() ? free_.erase(it) : std::next(it);
    }
  }

  static void release_blocks(const std::vector<Block>& blocks) {
    for (const Block& b : blocks) system_free(b.data, b.bytes);
  }

  SpinLock mutex_;
  std::unordered_map<std::size_t, std::deque<Cached>> free_;
  std::size_t limit_;
  std::size_t cached_ = 0;
  std::size_t in_use_ = 0;
  std::size_t peak_in_use_ = 0;
  std::size_t peak_reserved_ = 0;
  std::uint64_t tick_ = 0;
  std::uint64_t last_sweep_ = 0;  // tick_ at the last take_stale
  std::uint64_t allocations_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t released_ = 0;
};

// "268435456", "256M", "1G" (binary units) -> bytes.
std::size_t parse_byte_size(const std::string& text, const std::string& what) {
  const auto bad = [&] {
    return std::invalid_argument(what + ": expected a size in bytes such as 268435456, 256M or 1G (K, M, G: KiB, "
                                 "MiB, GiB), got '" + text + "'");
  };
  std::size_t i = 0, value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const std::size_t digit = static_cast<std::size_t>(text[i] - '0');
    if (value > (SIZE_MAX - digit) / 10) throw bad();
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) throw bad();
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = 0;
  if (unit == "K" || unit == "KB" || unit == "KIB") shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MIB") shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GIB") shift = 30;
  else if (!unit.empty() && unit != "B") throw bad();
  if (shift > 0 && value > (SIZE_MAX >> shift)) throw bad();
  return value << shift;
}

std::size_t limit_from_environment() {
  const char* env = std::getenv("TAPEGRAD_CACHE_LIMIT");
  if (!env || !*env) return kDefaultCacheLimit;
  return parse_byte_size(env, "TAPEGRAD_CACHE_LIMIT");
}

CachingAllocator& allocator() {
  // Leaked on purpose: tensors in static objects may be freed after main().
  static auto* a = new CachingAllocator(limit_from_environment());
  return *a;
}

}  // namespace

namespace detail {

Storage::~Storage() {
  if (data) allocator().release(data, bytes);
}

std::shared_ptr<Storage> allocate_storage(std::size_t bytes) {
  std::size_t rounded = round_up(bytes);
  return std::make_shared<Storage>(allocator().allocate(rounded), rounded);
}

}  // namespace detail

void empty_cache() { allocator().empty_cache(); }
MemoryStats memory_stats() { return allocator().stats(); }
void reset_peak_memory_stats() { allocator().reset_peaks(); }
void set_cache_limit(std::size_t bytes) { allocator().set_limit(bytes); }
std::size_t cache_limit() { return allocator().limit(); }

}  // namespace tg
