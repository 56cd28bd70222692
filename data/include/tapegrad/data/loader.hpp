// tapegrad — DataLoader: minibatches of any Dataset, made ahead of time by
// worker threads while the model trains.
//
// <!-- snippet: file -->
// @code
//   // Each example costs real work to make (here: a 28x28 image built from its index).
//   struct Noisy final : tg::data::Dataset {
//     std::int64_t size() const override { return 200; }
//     tg::data::Example get(std::int64_t i) const override {
//       std::vector<double> pixels(28 * 28);
//       for (std::size_t p = 0; p < pixels.size(); ++p) pixels[p] = double((p * 31 + std::size_t(i)) % 255) / 255;
//       return {tg::tensor(pixels, {1, 28, 28}), tg::tensor_i64({i % 10}, {})};
//     }
//   };
// @endcode
// @code
//   auto model = std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Flatten>(),
//                                                     std::make_shared<tg::nn::Linear>(784, 10));
//   tg::optim::SGD optimizer(model->parameters(), tg::optim::SGDOptions(0.1));
//
//   tg::data::DataLoader loader(std::make_shared<Noisy>(), {/*batch_size*/ 64, /*shuffle*/ true, /*seed*/ 1},
//                               {/*num_workers*/ 2});
//   for (std::int64_t epoch = 0; epoch < 2; ++epoch)
//     for (const tg::data::Batch& b : loader.epoch(epoch)) {   // [64,1,28,28] x3, then [8,1,28,28]
//       optimizer.zero_grad();
//       tg::Tensor loss = tg::nll_loss(tg::log_softmax((*model)(b.inputs)), b.targets);
//       loss.backward();
//       optimizer.step();
//     }
// @endcode
//
// Threading. With num_workers = 0 a batch is made in the calling thread when
// it is asked for. With n > 0, loader.epoch(e) starts n threads; each takes the
// next batch number not yet taken, calls dataset.get(i) for the batch's indices
// and the collate function, and stores the batch. At most
// n * prefetch_per_worker batches are in the making or waiting at any time, so
// memory stays bounded when the model is slower than the data. The caller gets
// the batches in the epoch's order — batch k is always the examples
// order(e)[k*B, (k+1)*B) — so the batches are the same whatever the number of
// workers (given a get(i) that depends only on i). Workers never record on the
// autograd tape (they run under NoGradGuard).
//
// Errors. An exception from get(i) or from collate is caught in the worker and
// rethrown in the caller when it asks for that batch (earlier batches arrive
// normally), as a std::runtime_error naming the dataset index and the batch,
// with the original exception nested (std::throw_with_nested). The epoch may be
// continued past a failed batch.
//
// Shutdown. Destroying the Epoch — the end of the range-for, a break, an
// exception leaving the loop — tells the workers to stop and joins them: each
// finishes at most the batch it is making. No thread outlives its Epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/batches.hpp>
#include <tapegrad/data/dataset.hpp>

namespace tg::data {

/// Threads that make batches ahead of the training loop.
struct WorkerOptions {
  int num_workers = 0;          ///< threads; 0 makes each batch in the calling thread when asked for
  int prefetch_per_worker = 2;  ///< batches each worker may have in the making or ready (>= 1)
};

/// Turns the examples of one batch, in order, into a Batch.
using Collate = std::function<Batch(const std::vector<Example>& examples)>;

/// Stacks the examples' inputs along a new first dimension, and their targets
/// likewise (0-d int64 labels become an int64 [B]). Targets may be undefined in
/// every example (then Batch::targets is undefined), not in some only. Refuses
/// an empty batch and examples whose shapes or dtypes differ, naming the example.
Batch default_collate(const std::vector<Example>& examples);

/// Minibatches of a Dataset: the epoch's order (epoch_order: seeded shuffle or
/// stored order) cut into batches of batch_size (the last may be shorter, or
/// dropped with drop_last), each made by dataset.get(i) for its indices and
/// then collate — by worker threads when asked to (see the top of this file).
///
/// Over a TensorDataset with the default collate, a batch is gathered with one
/// tg::index_select per tensor (as BatchLoader does) rather than example by
/// example; the result is the same.
class DataLoader {
 public:
  class Epoch;

  /// Refuses a null data set, batch_size <= 0, num_workers < 0 and
  /// prefetch_per_worker < 1. An empty `collate` means default_collate.
  explicit DataLoader(std::shared_ptr<const Dataset> data, BatchOptions batches = {}, WorkerOptions workers = {},
                      Collate collate = {});

  /// The data set's size().
  std::int64_t num_samples() const { return data_->size(); }
  /// Batches per epoch: batches_per_epoch(num_samples(), options()).
  std::int64_t num_batches() const;
  /// The options given at construction.
  ///@{
  const BatchOptions& options() const { return batches_; }
  const WorkerOptions& worker_options() const { return workers_; }
  ///@}
  /// The sample order of epoch `epoch` (>= 0): epoch_order(N, shuffle, seed, epoch).
  std::vector<std::int64_t> order(std::int64_t epoch) const;
  /// Starts epoch `epoch` (>= 0) over order(epoch): calls the data set's
  /// set_epoch(epoch), then its workers begin making batches. Iterate over it
  /// once; destroying it stops and joins its workers.
  Epoch epoch(std::int64_t epoch) const;
  /// Starts epoch `epoch` over the examples at `order`, in that order, cut into
  /// batches as usual — a distributed shard (distributed::DistributedSampler),
  /// a subset, a custom sampler. Refuses, naming it, an index outside
  /// [0, num_samples()).
  Epoch epoch(std::int64_t epoch, std::vector<std::int64_t> order) const;

 private:
  std::shared_ptr<const Dataset> data_;
  BatchOptions batches_;
  WorkerOptions workers_;
  Collate collate_;
};

/// One pass over the batches of an epoch, in order. Owns the worker threads
/// (if any); movable, not copyable. Iterators point into it: keep it alive
/// while iterating, as a range-for does.
class DataLoader::Epoch {
 public:
  /// An input iterator: ++ asks for the next batch (and rethrows its error).
  class iterator {
   public:
    /// Standard iterator traits: an input iterator over Batch values.
    ///@{
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;
    ///@}
    /// The current batch.
    ///@{
    const Batch& operator*() const { return batch_; }
    const Batch* operator->() const { return &batch_; }
    ///@}
    /// Asks the epoch for the next batch.
    iterator& operator++() {
      fetch();
      return *this;
    }
    /// Compares positions (iterators of the same Epoch only).
    ///@{
    bool operator==(const iterator& o) const { return position_ == o.position_; }
    bool operator!=(const iterator& o) const { return position_ != o.position_; }
    ///@}

   private:
    friend class Epoch;
    iterator(Epoch* epoch, std::int64_t position) : epoch_(epoch), position_(position) {}
    void fetch();

    Epoch* epoch_;
    std::int64_t position_;  // the current batch's number; epoch size() at the end
    Batch batch_;
  };

  /// Moves the workers along with the epoch (iterators of the old object are invalid).
  ///@{
  Epoch(Epoch&&) noexcept;
  Epoch& operator=(Epoch&&) noexcept;
  ///@}
  /// Stops the workers and joins them (each finishes the batch it is making).
  ~Epoch();

  /// The number of batches in the epoch.
  std::int64_t size() const { return num_batches_; }
  /// Puts the next batch in `out` and returns true, or returns false after the
  /// last one. Rethrows the error of a batch whose get() or collate threw.
  bool next(Batch& out);
  /// Asks for the first batch; end() follows the last. Iterate once.
  ///@{
  iterator begin();
  iterator end() { return {this, num_batches_}; }
  ///@}

 private:
  friend class DataLoader;
  struct State;
  explicit Epoch(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
  std::int64_t num_batches_ = 0;
  std::int64_t taken_ = 0;  // batches handed out (or failed) so far
};

}  // namespace tg::data
