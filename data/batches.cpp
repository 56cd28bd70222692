// Minibatches: per-epoch sample orders and batch assembly.
//
// The shuffle is our own Fisher-Yates over std::mt19937_64 (whose output the
// C++ standard fixes) with bias-free bounded draws, instead of std::shuffle or
// std::uniform_int_distribution, whose results differ between standard
// libraries: the order of an epoch must depend only on (seed, epoch, N).
#include <tapegrad/data/batches.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>

#include "core/dispatch.hpp"
#include <tapegrad/ops/ops.hpp>

namespace tg::data {
namespace {

using detail::fail;

// SplitMix64's finaliser: spreads nearby inputs (seed 0 and 1, epoch 0 and 1)
// over unrelated generator states.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Uniform in [0, bound): rejects the 2^64 mod bound lowest draws so that every
// residue is equally likely.
std::uint64_t uniform_below(std::mt19937_64& gen, std::uint64_t bound) {
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t x = gen();
    if (x >= threshold) return x % bound;
  }
}

}  // namespace

BatchLoader::BatchLoader(Tensor inputs, Tensor targets, BatchOptions options)
    : inputs_(std::move(inputs)), targets_(std::move(targets)), options_(options) {
  if (!inputs_.defined() || !targets_.defined()) fail("BatchLoader: inputs and targets must be defined tensors");
  if (inputs_.dim() == 0 || targets_.dim() == 0)
    fail("BatchLoader: inputs ", describe(inputs_), " and targets ", describe(targets_),
         " need a first (sample) dimension");
  if (inputs_.size(0) != targets_.size(0))
    fail("BatchLoader: inputs ", describe(inputs_), " and targets ", describe(targets_),
         " hold different numbers of samples");
  if (options_.batch_size <= 0) fail("BatchLoader: batch_size must be positive, got ", options_.batch_size);
  num_samples_ = inputs_.size(0);
}

BatchLoader::BatchLoader(const Dataset& data, BatchOptions options)
    : BatchLoader(data.images, data.labels, options) {}

std::int64_t BatchLoader::num_batches() const {
  const std::int64_t b = options_.batch_size;
  return options_.drop_last ? num_samples_ / b : (num_samples_ + b - 1) / b;
}

std::vector<std::int64_t> BatchLoader::order(std::int64_t epoch) const {
  if (epoch < 0) fail("BatchLoader: epoch must be >= 0, got ", epoch);
  std::vector<std::int64_t> order(static_cast<std::size_t>(num_samples_));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (!options_.shuffle) return order;
  std::mt19937_64 gen(mix(mix(options_.seed) + static_cast<std::uint64_t>(epoch)));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_below(gen, i)]);
  return order;
}

BatchLoader::Epoch BatchLoader::epoch(std::int64_t epoch) const {
  std::shared_ptr<const std::vector<std::int64_t>> shuffled;
  if (options_.shuffle) shuffled = std::make_shared<const std::vector<std::int64_t>>(order(epoch));
  else if (epoch < 0) fail("BatchLoader: epoch must be >= 0, got ", epoch);
  return Epoch(inputs_, targets_, std::move(shuffled), options_.batch_size, num_batches());
}

BatchLoader::Epoch::Epoch(Tensor inputs, Tensor targets, std::shared_ptr<const std::vector<std::int64_t>> order,
                          std::int64_t batch_size, std::int64_t num_batches)
    : inputs_(std::move(inputs)),
      targets_(std::move(targets)),
      order_(std::move(order)),
      batch_size_(batch_size),
      num_batches_(num_batches) {}

Batch BatchLoader::Epoch::operator[](std::int64_t i) const {
  if (i < 0 || i >= num_batches_) fail("BatchLoader: batch ", i, " is out of range for an epoch of ", num_batches_, " batches");
  const std::int64_t start = i * batch_size_;
  const std::int64_t count = std::min(batch_size_, inputs_.size(0) - start);
  if (!order_) return {narrow(inputs_, start, count), narrow(targets_, start, count)};
  const std::vector<std::int64_t> rows(order_->begin() + start, order_->begin() + start + count);
  const Tensor index = tensor_i64(rows, {count});
  return {index_select(inputs_, index), index_select(targets_, index)};
}

}  // namespace tg::data
