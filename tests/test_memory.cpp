// The tensor allocator's cache (core/storage.cpp, <tapegrad/core/memory.hpp>):
// its limit and eviction order, one-off blocks going back, empty_cache()
// lowering the resident size, the statistics, several threads at once, and
// in-place normalisation allocating nothing.
//
// Each case runs with the cache emptied and its own limit (restored after), and
// uses block sizes no other tensor of the case has, so hits and misses can be
// counted exactly. Assertions run on the main thread only (Catch2 v2).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include <unistd.h>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

// Under AddressSanitizer every block comes from its allocator, which holds
// freed memory in quarantine: the resident size is not the allocator's to lower.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPEGRAD_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TAPEGRAD_TEST_ASAN 1
#endif

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Empties the cache and sets a limit for one test case; puts the old limit back.
struct CacheScope {
  std::size_t old_limit = cache_limit();
  explicit CacheScope(std::size_t limit) {
    empty_cache();
    set_cache_limit(limit);
  }
  ~CacheScope() {
    set_cache_limit(old_limit);
    empty_cache();
  }
};

// A float32 tensor of exactly `bytes` (a multiple of 64: the allocator's rounding).
Tensor block(std::size_t bytes) { return empty({static_cast<std::int64_t>(bytes / 4)}, kFloat32); }

// The process's resident size now, in bytes (Linux: /proc/self/statm), or -1.
long long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = -1;
  if (!(statm >> size >> resident)) return -1;
  return resident * static_cast<long long>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("the cache keeps at most its limit, giving back the least recently freed blocks first", "[memory]") {
  // Four blocks of a little over 1 MiB, of four sizes; the limit holds three.
  const std::size_t a = kMiB, b = kMiB + 64, c = kMiB + 128, d = kMiB + 192;
  CacheScope scope(3 * kMiB + 1024);
  {
    Tensor ta = block(a), tb = block(b), tc = block(c), td = block(d);
    const MemoryStats before = memory_stats();
    ta = Tensor();
    tb = Tensor();
    tc = Tensor();
    CHECK(memory_stats().bytes_cached == a + b + c);
    td = Tensor();  // over the limit: it stays, the oldest (a) goes
    const MemoryStats after = memory_stats();
    CHECK(after.bytes_cached == b + c + d);
    CHECK(after.blocks_released == before.blocks_released + 1);
    CHECK(after.bytes_cached <= after.cache_limit);
  }
  {
    const std::uint64_t hits = memory_stats().cache_hits;
    Tensor ta = block(a);  // it went back: a miss
    CHECK(memory_stats().cache_hits == hits);
    Tensor td = block(d), tb = block(b);  // still there: hits
    CHECK(memory_stats().cache_hits == hits + 2);
    CHECK(memory_stats().bytes_cached == c);
  }
  // Freed in the order b, d, a (destructors run in reverse): a went over the
  // limit, and c, cached longest, went back.
  CHECK(memory_stats().bytes_cached == a + b + d);
  // Lowering the limit gives back the oldest at once: b, then d.
  set_cache_limit(kMiB + 100);
  CHECK(memory_stats().bytes_cached == a);
  set_cache_limit(0);
  CHECK(memory_stats().bytes_cached == 0);
  CHECK(memory_stats().cache_limit == 0);

  // With no cache at all, every block goes straight back.
  const MemoryStats before = memory_stats();
  { Tensor t = block(2 * kMiB); }
  CHECK(memory_stats().bytes_cached == 0);
  CHECK(memory_stats().blocks_released == before.blocks_released + 1);

  // A block larger than the limit is never cached; smaller ones still are.
  set_cache_limit(2 * kMiB);
  { Tensor t = block(3 * kMiB); }
  CHECK(memory_stats().bytes_cached == 0);
  { Tensor t = block(kMiB); }
  CHECK(memory_stats().bytes_cached == kMiB);
}

TEST_CASE("a large block that is not asked for again goes back; one a loop reuses stays", "[memory]") {
  CacheScope scope(256 * kMiB);
  const std::size_t one_off = 4 * kMiB + 64, reused = 2 * kMiB + 64, small = 256;
  { Tensor t = block(one_off); }
  CHECK(memory_stats().bytes_cached == one_off);
  // A "training loop": small tensors every iteration, the large block every 100th.
  // 40000 allocations and frees are far past the 32768 after which an unused
  // large block counts as a one-off.
  for (int i = 0; i < 20000; ++i) {
    Tensor s = block(small);
    if (i % 100 == 0) Tensor r = block(reused);
  }
  const MemoryStats now = memory_stats();
  CHECK(now.bytes_cached == reused + small);
  const std::uint64_t hits = now.cache_hits;
  { Tensor t = block(one_off); }  // gone: a miss
  CHECK(memory_stats().cache_hits == hits);
  { Tensor t = block(reused); }
  CHECK(memory_stats().cache_hits == hits + 1);
}

TEST_CASE("empty_cache gives the memory back to the system", "[memory]") {
#ifdef TAPEGRAD_TEST_ASAN
  WARN("AddressSanitizer keeps freed memory: resident size not measured");
  return;
#endif
  if (resident_bytes() < 0) {
    WARN("no /proc/self/statm: resident size not measured");
    return;
  }
  CacheScope scope(256 * kMiB);
  // One large block (mapped by itself): 64 MiB, every page written.
  const long long r0 = resident_bytes();
  {
    Tensor t = block(64 * kMiB);
    t.fill_(1.0);
  }
  const long long r1 = resident_bytes();
  CHECK(memory_stats().bytes_cached == 64 * kMiB);
  CHECK(r1 - r0 >= static_cast<long long>(60 * kMiB));  // cached, so still resident
  empty_cache();
  const long long r2 = resident_bytes();
  CHECK(memory_stats().bytes_cached == 0);
  CHECK(r1 - r2 >= static_cast<long long>(60 * kMiB));

  // Many small blocks (from glibc's heap): 512 of 64 KiB, 32 MiB in all.
  {
    std::vector<Tensor> many;
    for (int i = 0; i < 512; ++i) {
      many.push_back(block(64 * 1024));
      many.back().fill_(2.0);
    }
  }
  const long long r3 = resident_bytes();
  CHECK(memory_stats().bytes_cached == 32 * kMiB);
  empty_cache();
  const long long r4 = resident_bytes();
  INFO("resident before " << r3 << ", after " << r4);
  CHECK(r3 - r4 >= static_cast<long long>(24 * kMiB));
}

TEST_CASE("memory_stats counts bytes in use, cached, peaks, allocations and hits", "[memory]") {
  CacheScope scope(64 * kMiB);
  reset_peak_memory_stats();
  const MemoryStats s0 = memory_stats();
  CHECK(s0.bytes_cached == 0);
  CHECK(s0.peak_bytes_in_use == s0.bytes_in_use);
  CHECK(s0.peak_bytes_reserved == s0.bytes_in_use);
  CHECK(s0.cache_limit == 64 * kMiB);
  CHECK(s0.cache_hits <= s0.allocations);
  {
    Tensor x = block(kMiB + 320);
    Tensor y = block(3 * kMiB + 320);
    const MemoryStats s1 = memory_stats();
    CHECK(s1.bytes_in_use == s0.bytes_in_use + 4 * kMiB + 640);
    CHECK(s1.allocations == s0.allocations + 2);
    CHECK(s1.cache_hits == s0.cache_hits);
  }
  const MemoryStats s2 = memory_stats();
  CHECK(s2.bytes_in_use == s0.bytes_in_use);
  CHECK(s2.bytes_cached == 4 * kMiB + 640);
  CHECK(s2.peak_bytes_in_use == s0.bytes_in_use + 4 * kMiB + 640);
  CHECK(s2.peak_bytes_reserved == s0.bytes_in_use + 4 * kMiB + 640);
  {
    Tensor y = block(3 * kMiB + 320);  // from the cache: no new peak
    const MemoryStats s3 = memory_stats();
    CHECK(s3.cache_hits == s0.cache_hits + 1);
    CHECK(s3.peak_bytes_reserved == s2.peak_bytes_reserved);
    CHECK(s3.bytes_cached == kMiB + 320);
  }
  reset_peak_memory_stats();
  const MemoryStats s4 = memory_stats();
  CHECK(s4.peak_bytes_in_use == s4.bytes_in_use);
  CHECK(s4.peak_bytes_reserved == s4.bytes_in_use + s4.bytes_cached);
  // Sizes are rounded up to 64 bytes: 1 float takes 64.
  const std::size_t in_use = s4.bytes_in_use;
  Tensor one = empty({1}, kFloat32);
  CHECK(memory_stats().bytes_in_use == in_use + 64);
}

TEST_CASE("the allocator is shared by threads: blocks, totals and the limit stay right", "[memory][threads]") {
  CacheScope scope(8 * kMiB);
  const std::size_t in_use0 = memory_stats().bytes_in_use;
  const std::uint64_t allocations0 = memory_stats().allocations;
  constexpr int kThreads = 4, kIterations = 3000;
  // Sizes from 64 bytes to 3 MiB, the large ones over the small limit together.
  const std::vector<std::size_t> sizes = {64, 4096, 64 * 1024 + 64, kMiB, kMiB + 64, 3 * kMiB};
  std::atomic<int> corrupted{0};
  std::atomic<std::uint64_t> made{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::vector<Tensor> held;
      std::uint64_t state = 12345u + static_cast<std::uint64_t>(t);
      for (int i = 0; i < kIterations; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        Tensor x = block(sizes[(state >> 33) % sizes.size()]);
        made.fetch_add(1);
        // Each thread's own mark in the first and last element: a block handed
        // to two tensors at once would show another thread's mark.
        float* p = x.data<float>();
        const float mark = static_cast<float>(t * 100000 + i);
        p[0] = mark;
        p[x.numel() - 1] = mark;
        held.push_back(x);
        if (held.size() > 4) {
          const Tensor& old = held.front();
          const float* q = old.data<float>();
          if (q[0] != q[old.numel() - 1] || static_cast<int>(q[0]) / 100000 != t) corrupted.fetch_add(1);
          held.erase(held.begin());
        }
        // One thread moves the limit and empties the cache while the others work.
        if (t == 0 && i % 500 == 0) set_cache_limit(i % 1000 == 0 ? 2 * kMiB : 8 * kMiB);
        if (t == 1 && i % 700 == 0) empty_cache();
      }
    });
  for (auto& th : threads) th.join();
  CHECK(corrupted.load() == 0);
  const MemoryStats s = memory_stats();
  CHECK(s.bytes_in_use == in_use0);
  CHECK(s.allocations == allocations0 + made.load());
  CHECK(s.bytes_cached <= s.cache_limit);
  CHECK(s.cache_hits > 0);
}

TEST_CASE("normalising in place allocates nothing, and std needs one temporary", "[memory][inplace]") {
  CacheScope scope(256 * kMiB);
  manual_seed(3);
  Tensor x = rand({2000, 784});
  const Tensor original = x.clone();
  const Tensor m = mean(x);
  reset_peak_memory_stats();
  const MemoryStats before_std = memory_stats();
  const Tensor s = tg::std(x);
  // x - mean, squared in place: one temporary of x's size (plus 0-d results).
  const std::size_t x_bytes = 2000 * 784 * 4;
  CHECK(memory_stats().peak_bytes_in_use - before_std.bytes_in_use < x_bytes + 4096);

  const std::uint64_t allocations = memory_stats().allocations;
  sub_(x, m);
  div_(x, s);
  CHECK(memory_stats().allocations == allocations);
  // The same values as out of place.
  CHECK(x.to_vector<float>() == ((original - m) / s).to_vector<float>());

  // other may be self: squared without a copy when nothing is recorded.
  Tensor y = original.clone();
  const std::uint64_t before_square = memory_stats().allocations;
  mul_(y, y);
  CHECK(memory_stats().allocations == before_square);
  CHECK(y.to_vector<float>() == (original * original).to_vector<float>());
}

TEST_CASE("the cache limit is 256 MiB unless TAPEGRAD_CACHE_LIMIT says otherwise", "[memory]") {
  // tests/cache_limit_env.cpp checks the variable itself, in a program of its own.
  if (!std::getenv("TAPEGRAD_CACHE_LIMIT")) CHECK(cache_limit() == 256 * kMiB);
  CHECK(memory_stats().cache_limit == cache_limit());
}
