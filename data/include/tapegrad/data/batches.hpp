// tapegrad — minibatches over (inputs, targets) tensors.
//
// @code
//   // Stand-ins for tg::data::load_mnist(dir, Split::Train): images [N,1,28,28], int64 labels [N].
//   tg::data::TensorDataset train{tg::randn({200, 1, 28, 28}), tg::randint(0, 10, {200})};
//   auto model = std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Flatten>(),
//                                                     std::make_shared<tg::nn::Linear>(784, 10));
//   tg::optim::SGD optimizer(model->parameters(), tg::optim::SGDOptions(0.1));
//
//   tg::data::BatchLoader loader(train.images, train.labels, {/*batch_size*/ 64, /*shuffle*/ true, /*seed*/ 1});
//   for (std::int64_t epoch = 0; epoch < 2; ++epoch)
//     for (const tg::data::Batch& b : loader.epoch(epoch)) {   // batches of 64, 64, 64, 8
//       optimizer.zero_grad();
//       tg::Tensor loss = tg::nll_loss(tg::log_softmax((*model)(b.inputs)), b.targets);
//       loss.backward();
//       optimizer.step();
//     }
// @endcode
//
// Each epoch visits every sample once (the last, short batch is dropped when
// drop_last is set). With shuffle, the order of epoch e is a permutation that
// depends only on (seed, e, number of samples) — not on the global generator,
// not on the standard library — so a run can be reproduced epoch by epoch.
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include <tapegrad/data/dataset.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::data {

/// How a BatchLoader cuts an epoch into batches.
struct BatchOptions {
  std::int64_t batch_size = 32;  ///< samples per batch (> 0); the last batch may be smaller
  bool shuffle = true;           ///< a new seeded permutation every epoch; false keeps the stored order
  std::uint64_t seed = 0;        ///< with the epoch number, fixes the permutation
  bool drop_last = false;        ///< drop the final batch when it has fewer than batch_size samples
};

/// Batches in an epoch of `samples` samples: ceil(samples / batch_size), or
/// floor with drop_last. Exact for every batch_size up to INT64_MAX (a batch
/// larger than the data set is one batch of all of it). Throws
/// std::invalid_argument when samples is negative or batch_size not positive.
std::int64_t batches_per_epoch(std::int64_t samples, std::int64_t batch_size, bool drop_last = false);

/// One minibatch: rows of the loader's inputs and targets, in the same order.
struct Batch {
  Tensor inputs;   ///< [B, ...] rows of the loader's inputs
  Tensor targets;  ///< [B, ...] the matching rows of its targets
};

/// The sample order of epoch `epoch` (>= 0) over n samples: 0..n-1 without
/// shuffle, otherwise tg::randperm(n, seed, epoch) (<tapegrad/core/tensor.hpp>).
/// tapegrad's one per-epoch shuffle: BatchLoader, DataLoader and
/// distributed::DistributedSampler all take their orders from here.
/// Throws for a negative epoch or n.
std::vector<std::int64_t> epoch_order(std::int64_t n, bool shuffle, std::uint64_t seed, std::int64_t epoch);

/// batches_per_epoch(n, options.batch_size, options.drop_last).
std::int64_t batches_per_epoch(std::int64_t n, const BatchOptions& options);

/// Cuts (inputs, targets) — any shapes and dtypes sharing the first extent N —
/// into minibatches. Shuffled batches are gathered copies (tg::index_select);
/// unshuffled ones are views of consecutive rows (tg::narrow), sharing storage.
class BatchLoader {
 public:
  class Epoch;

  /// Throws std::invalid_argument when the tensors are undefined or 0-d, when their
  /// first extents differ, or when batch_size is not positive.
  BatchLoader(Tensor inputs, Tensor targets, BatchOptions options = {});
  /// Batches of `data.images` (as inputs) and `data.labels` (as targets).
  explicit BatchLoader(const TensorDataset& data, BatchOptions options = {});

  /// N, the first extent of inputs and targets.
  std::int64_t num_samples() const { return num_samples_; }
  /// Batches per epoch: ceil(N / batch_size), or floor with drop_last.
  std::int64_t num_batches() const;
  /// The options given at construction.
  const BatchOptions& options() const { return options_; }

  /// The sample order of epoch `epoch` (>= 0): epoch_order(N, shuffle, seed, epoch).
  /// Throws for a negative epoch.
  std::vector<std::int64_t> order(std::int64_t epoch) const;
  /// The batches of epoch `epoch`, to iterate over (or index) once or many times.
  /// Throws for a negative epoch.
  Epoch epoch(std::int64_t epoch) const;

 private:
  Tensor inputs_, targets_;
  BatchOptions options_;
  std::int64_t num_samples_ = 0;
};

/// The batches of one epoch. Holds its own handles to the data and the order,
/// so it outlives its loader; its iterators point into it (keep the Epoch alive
/// while iterating, as a range-for does). A batch is built when it is asked for.
class BatchLoader::Epoch {
 public:
  /// An input iterator over the batches; dereferencing builds the batch.
  class iterator {
   public:
    /// Standard iterator traits: an input iterator whose reference is a Batch value.
    ///@{
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Batch;
    ///@}

    /// Points at batch `index` of `epoch` (index == size() is the end).
    iterator(const Epoch* epoch, std::int64_t index) : epoch_(epoch), index_(index) {}
    /// The current batch, built now (Epoch::operator[]).
    Batch operator*() const { return (*epoch_)[index_]; }
    /// Moves to the next batch.
    iterator& operator++() {
      ++index_;
      return *this;
    }
    /// Compares positions (iterators of the same Epoch only).
    ///@{
    bool operator==(const iterator& o) const { return index_ == o.index_; }
    bool operator!=(const iterator& o) const { return index_ != o.index_; }
    ///@}

   private:
    const Epoch* epoch_;
    std::int64_t index_;
  };

  /// The number of batches.
  std::int64_t size() const { return num_batches_; }
  /// Batch `i` of this epoch, 0 <= i < size(); refused otherwise.
  Batch operator[](std::int64_t i) const;
  /// The first batch and one past the last, for range-for.
  ///@{
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, num_batches_}; }
  ///@}

 private:
  friend class BatchLoader;
  Epoch(Tensor inputs, Tensor targets, std::shared_ptr<const std::vector<std::int64_t>> order,
        std::int64_t batch_size, std::int64_t num_batches);

  Tensor inputs_, targets_;
  std::shared_ptr<const std::vector<std::int64_t>> order_;  // null: the identity (no shuffle)
  std::int64_t batch_size_ = 0, num_batches_ = 0;
};

}  // namespace tg::data
