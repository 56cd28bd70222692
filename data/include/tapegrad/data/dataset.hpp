// tapegrad — data sets: the random-access interface a DataLoader reads, the
// in-memory tensor data set MNIST loads into, and ways to combine data sets
// (Subset, random_split, ConcatDataset). Also the helpers that carve the
// classic experiments out of an in-memory set (e.g. a 0-vs-1 classifier on the
// first 1000 training digits, targets as a column of 0/1 for binary
// cross-entropy or of -1/+1 for hinge loss).
//
// <!-- snippet: file -->
// @code
//   // A data set that makes each example when asked: example i is the vector
//   // (i, 2i) with the target i % 2. Nothing is held in memory.
//   struct Evens final : tg::data::Dataset {
//     std::int64_t size() const override { return 100; }
//     tg::data::Example get(std::int64_t i) const override {
//       return {tg::tensor({double(i), 2.0 * i}, {2}), tg::tensor_i64({i % 2}, {})};
//     }
//   };
// @endcode
// @code
//   auto evens = std::make_shared<Evens>();
//   auto parts = tg::data::random_split_fractions(evens, {0.8, 0.2}, /*seed*/ 1);   // 80 and 20
//   auto both = std::make_shared<tg::data::ConcatDataset>(
//       std::vector<std::shared_ptr<const tg::data::Dataset>>{parts[1], parts[0]});
//   tg::data::Example e = both->get(0);   // the first example of the 20
//   // e.input: float32 [2]; e.target: int64, 0-d
// @endcode
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg::data {

/// One example of a data set: what the model reads and what it should predict.
struct Example {
  Tensor input;   ///< e.g. an image [1,28,28]
  Tensor target;  ///< e.g. a 0-d int64 class label; may be undefined for unlabelled data
};

/// A data set with random access: size() examples, example i made by get(i)
/// when asked (read from disk, decoded, transformed — or a row of a tensor).
///
/// A DataLoader with worker threads calls get() from several threads at once,
/// so get() must be safe to call concurrently (it is const: read shared state,
/// keep per-call state local). For batches that do not depend on the number of
/// workers, get(i) must depend only on i: derive any randomness from i (and a
/// seed of your own), not from the global generator.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// The number of examples.
  virtual std::int64_t size() const = 0;
  /// Example `index`, 0 <= index < size(); implementations refuse other indices.
  virtual Example get(std::int64_t index) const = 0;
  /// Tells the data set which epoch the next get() calls belong to. A DataLoader
  /// calls it before each epoch's first get(), so data sets that draw new random
  /// augmentations every epoch (TransformedDataset) need no help from the
  /// training loop; data sets that wrap others (Subset, ConcatDataset,
  /// TransformedDataset) pass it on. The default ignores it. It is const because
  /// it does not change the examples' content, only which random draws get()
  /// makes: store the epoch atomically. One epoch at a time per data set.
  virtual void set_epoch(std::int64_t epoch) const { (void)epoch; }

 protected:
  Dataset() = default;
  Dataset(const Dataset&) = default;
  Dataset& operator=(const Dataset&) = default;
};

/// Samples and their labels held in two tensors: example i is row i of the
/// first dimension of both (PyTorch's TensorDataset). For MNIST: images float32
/// [N,1,28,28] in [0,1], labels int64 [N]. A DataLoader gathers its batches with
/// one tg::index_select per tensor instead of stacking examples one by one.
class TensorDataset final : public Dataset {
 public:
  Tensor images;  ///< the samples, [N, ...]
  Tensor labels;  ///< their labels or targets, [N, ...] (int64 [N] for class labels)

  /// An empty data set (undefined tensors, size() == 0).
  TensorDataset() = default;
  /// Refuses undefined or 0-d tensors and tensors of different first extents.
  TensorDataset(Tensor images, Tensor labels);

  /// The number of samples (the first extent of `images`); 0 when undefined.
  std::int64_t size() const override;
  /// Row `index` of images and of labels, sharing their storage (views).
  Example get(std::int64_t index) const override;
};

/// The examples of `data` at `indices`, in that order (PyTorch's Subset). An
/// index may appear more than once; each must lie in [0, data->size()).
class Subset final : public Dataset {
 public:
  /// Refuses a null data set and, naming it, an index outside [0, data->size()).
  Subset(std::shared_ptr<const Dataset> data, std::vector<std::int64_t> indices);
  /// indices().size().
  std::int64_t size() const override;
  /// data->get(indices()[index]).
  Example get(std::int64_t index) const override;
  /// Passes the epoch to the underlying data set.
  void set_epoch(std::int64_t epoch) const override;
  /// Which examples of the underlying data set this subset holds.
  const std::vector<std::int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset> data_;
  std::vector<std::int64_t> indices_;
};

/// Data sets one after another: the examples of parts[0], then of parts[1], ...
/// Their sizes are read once, at construction.
class ConcatDataset final : public Dataset {
 public:
  /// Refuses a null part.
  explicit ConcatDataset(std::vector<std::shared_ptr<const Dataset>> parts);
  /// The sum of the parts' sizes.
  std::int64_t size() const override;
  /// The example at `index` of the concatenation.
  Example get(std::int64_t index) const override;
  /// Passes the epoch to every part.
  void set_epoch(std::int64_t epoch) const override;

 private:
  std::vector<std::shared_ptr<const Dataset>> parts_;
  std::vector<std::int64_t> ends_;  // ends_[k]: one past the last index of part k
};

/// Splits `data` into disjoint random subsets of the given lengths, which must
/// sum to data->size(). The examples are dealt in the order
/// tg::randperm(data->size(), seed) — the same seed gives the same split on
/// every platform. Refuses negative lengths and a sum that differs from size().
std::vector<std::shared_ptr<Subset>> random_split(const std::shared_ptr<const Dataset>& data,
                                                  const std::vector<std::int64_t>& lengths, std::uint64_t seed);
/// As random_split with fractions summing to 1 (within 1e-6), e.g. {0.8, 0.2}:
/// each part gets floor(fraction * size) examples and the remainder goes one by
/// one to the first parts, as in PyTorch. Refuses fractions outside [0, 1]. (A
/// name of its own: {80, 20} and {0.8, 0.2} would be ambiguous as overloads.)
std::vector<std::shared_ptr<Subset>> random_split_fractions(const std::shared_ptr<const Dataset>& data,
                                                            const std::vector<double>& fractions, std::uint64_t seed);

/// The samples whose label is one of `keep`, in their original order
/// (e.g. keep = {0, 1} for a 0-vs-1 classifier). Labels must be int64 [N].
TensorDataset filter_labels(const TensorDataset& data, const std::vector<std::int64_t>& keep);

/// The first min(n, size()) samples, sharing storage (like Python's x[:n]).
/// A negative n is refused.
TensorDataset take(const TensorDataset& data, std::int64_t n);

/// int64 labels [N] as a float column [N,1] of their values: the targets of a
/// binary NLL / sigmoid output for labels in {0, 1}.
Tensor labels_to_column(const Tensor& labels, Dtype dtype = kFloat32);

/// int64 labels [N] as a float column [N,1] of +1 where label == positive and
/// -1 elsewhere: the targets of a hinge loss (for {0,1} labels this is y*2-1).
Tensor labels_to_signs(const Tensor& labels, std::int64_t positive = 1, Dtype dtype = kFloat32);

/// int64 labels [N] renumbered by position in `classes`: classes[i] becomes i
/// (e.g. {3, 8} maps 3 -> 0 and 8 -> 1 for nll_loss). A label that is not in
/// `classes` is refused, naming it and its index.
Tensor relabel(const Tensor& labels, const std::vector<std::int64_t>& classes);

}  // namespace tg::data
