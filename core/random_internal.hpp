// Private: access to the global generator for code inside tapegrad
// (dropout, initialisers; lock generator_mutex() while drawing), and the two
// pieces every seeded stream is built from (randperm, the data transforms' Rng).
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace tg::detail {
std::mt19937_64& generator();
std::mutex& generator_mutex();

/// SplitMix64's increment (2^64 / golden ratio): its state advances by this per draw.
inline constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

/// SplitMix64's output for state x - kGoldenGamma: spreads nearby inputs (seed 0
/// and 1, stream 0 and 1) over unrelated values.
inline std::uint64_t mix(std::uint64_t x) {
  x += kGoldenGamma;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Uniform in [0, bound) from 64-bit draws next(): rejects the 2^64 mod bound
/// lowest draws so that every residue is equally likely.
template <class NextBits> std::uint64_t uniform_below(NextBits&& next, std::uint64_t bound) {
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t x = next();
    if (x >= threshold) return x % bound;
  }
}
}  // namespace tg::detail
