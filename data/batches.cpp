// Minibatches: per-epoch sample orders and batch assembly.
//
// The order of a shuffled epoch is tg::randperm(N, seed, epoch), whose result
// the C++ standard library does not change: it depends only on (seed, epoch, N).
// epoch_order and batches_per_epoch are shared with DataLoader (loader.cpp).
#include <tapegrad/data/batches.hpp>

#include <algorithm>
#include <numeric>
#include <utility>

#include "core/dispatch.hpp"
#include "data/gather.hpp"
#include <tapegrad/ops/ops.hpp>

namespace tg::data {

using detail::fail;

void check_paired_rows(const char* who, const char* first_name, const Tensor& first, const char* second_name,
                       const Tensor& second) {
  if (!first.defined() || !second.defined()) fail(who, ": ", first_name, " and ", second_name, " must be defined tensors");
  if (first.dim() == 0 || second.dim() == 0)
    fail(who, ": ", first_name, " ", describe(first), " and ", second_name, " ", describe(second),
         " need a first (sample) dimension");
  if (first.size(0) != second.size(0))
    fail(who, ": ", first_name, " ", describe(first), " and ", second_name, " ", describe(second),
         " hold different numbers of samples");
}

BatchLoader::BatchLoader(Tensor inputs, Tensor targets, BatchOptions options)
    : inputs_(std::move(inputs)), targets_(std::move(targets)), options_(options) {
  check_paired_rows("BatchLoader", "inputs", inputs_, "targets", targets_);
  if (options_.batch_size <= 0) fail("BatchLoader: batch_size must be positive, got ", options_.batch_size);
  num_samples_ = inputs_.size(0);
}

std::vector<std::int64_t> epoch_order(std::int64_t n, bool shuffle, std::uint64_t seed, std::int64_t epoch) {
  if (epoch < 0) fail("epoch_order: epoch must be >= 0, got ", epoch);
  if (n < 0) fail("epoch_order: the number of samples must be >= 0, got ", n);
  if (shuffle) return randperm(n, seed, static_cast<std::uint64_t>(epoch));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  return order;
}

std::int64_t batches_per_epoch(std::int64_t n, const BatchOptions& options) {
  return batches_per_epoch(n, options.batch_size, options.drop_last);
}

BatchLoader::BatchLoader(const TensorDataset& data, BatchOptions options)
    : BatchLoader(data.images, data.labels, options) {}

// Not (samples + batch_size - 1) / batch_size: that sum overflows for a batch size near INT64_MAX.
std::int64_t batches_per_epoch(std::int64_t samples, std::int64_t batch_size, bool drop_last) {
  if (samples < 0) fail("batches_per_epoch: samples must be >= 0, got ", samples);
  if (batch_size <= 0) fail("batches_per_epoch: batch_size must be positive, got ", batch_size);
  const std::int64_t full = samples / batch_size;
  return full + (!drop_last && samples % batch_size != 0 ? 1 : 0);
}

std::int64_t BatchLoader::num_batches() const {
  return batches_per_epoch(num_samples_, options_.batch_size, options_.drop_last);
}

std::vector<std::int64_t> BatchLoader::order(std::int64_t epoch) const {
  if (epoch < 0) fail("BatchLoader: epoch must be >= 0, got ", epoch);
  return epoch_order(num_samples_, options_.shuffle, options_.seed, epoch);
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
  return gather_rows(inputs_, targets_, *order_, start, count);
}

Batch gather_rows(const Tensor& inputs, const Tensor& targets, const std::vector<std::int64_t>& order,
                  std::int64_t first, std::int64_t count) {
  const Tensor index = tensor_i64({order.begin() + first, order.begin() + first + count}, {count});
  return {index_select(inputs, index), targets.defined() ? index_select(targets, index) : Tensor()};
}

}  // namespace tg::data
