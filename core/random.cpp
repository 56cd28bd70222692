// The global random generator behind randn/rand/randint/randperm, dropout and
// the initialisers. One mt19937_64, seeded by tg::manual_seed: a program that
// seeds once gets the same numbers on every run.
//
// randperm(n, seed, stream) is tapegrad's one shuffle (data::epoch_order for
// BatchLoader, DataLoader and DistributedSampler; random_split; randperm(n)): Fisher-Yates over
// std::mt19937_64 (whose output the C++ standard fixes) with bias-free bounded
// draws, instead of std::shuffle or std::uniform_int_distribution, whose
// results differ between standard libraries. So a permutation depends only on
// (n, seed, stream), on every platform.
#include <mutex>
#include <numeric>
#include <random>
#include <utility>

#include "core/dispatch.hpp"
#include "core/random_internal.hpp"
#include "core/tensor_impl.hpp"

namespace tg {
namespace detail {

std::mt19937_64& generator() {
  static std::mt19937_64 gen(0x7467'7261'6400ULL);  // a fixed default seed
  return gen;
}

std::mutex& generator_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace detail

void manual_seed(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(detail::generator_mutex());
  detail::generator().seed(seed);
}

namespace {
template <class Dist> Tensor sample(const Shape& shape, Dtype dtype, Dist dist, const char* op) {
  Tensor t = detail::make_tensor(shape, dtype);
  std::lock_guard<std::mutex> lock(detail::generator_mutex());
  auto& gen = detail::generator();
  detail::dispatch_float(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.raw_data());
    for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(dist(gen));
  });
  return t;
}
}  // namespace

Tensor randn(const Shape& shape, Dtype dtype) {
  return sample(shape, dtype, std::normal_distribution<double>(0.0, 1.0), "randn");
}

Tensor rand(const Shape& shape, Dtype dtype) {
  return sample(shape, dtype, std::uniform_real_distribution<double>(0.0, 1.0), "rand");
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape) {
  if (high <= low) detail::fail("randint: need low < high, got [", low, ", ", high, ")");
  Tensor t = detail::make_tensor(shape, kInt64);
  std::uniform_int_distribution<std::int64_t> dist(low, high - 1);
  std::lock_guard<std::mutex> lock(detail::generator_mutex());
  auto* p = t.data<std::int64_t>();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = dist(detail::generator());
  return t;
}

using detail::mix;
using detail::uniform_below;

std::vector<std::int64_t> randperm(std::int64_t n, std::uint64_t seed, std::uint64_t stream) {
  if (n < 0) detail::fail("randperm: n must be >= 0, got ", n);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  std::mt19937_64 gen(mix(mix(seed) + stream));
  for (std::size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[uniform_below(gen, i)]);
  return idx;
}

std::vector<std::int64_t> randperm(std::int64_t n) {
  if (n < 0) detail::fail("randperm: n must be >= 0, got ", n);
  std::uint64_t seed;
  {
    std::lock_guard<std::mutex> lock(detail::generator_mutex());
    seed = detail::generator()();
  }
  return randperm(n, seed);
}

}  // namespace tg
