// tapegrad — an in-memory data set of (image, label) pairs and the helpers
// that carve the classic experiments out of it (e.g. a 0-vs-1 classifier on
// the first 1000 training digits, targets as a column of 0/1 for binary
// cross-entropy or of -1/+1 for hinge loss).
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg::data {

/// Samples and their labels: sample i is row i of the first dimension of both.
/// For MNIST: images float32 [N,1,28,28] in [0,1], labels int64 [N].
struct Dataset {
  Tensor images;  ///< the samples, [N, ...]
  Tensor labels;  ///< their labels, [N] (int64 for class labels)
  /// The number of samples (the first extent of `images`); 0 when undefined.
  std::int64_t size() const;
};

/// The samples whose label is one of `keep`, in their original order
/// (e.g. keep = {0, 1} for a 0-vs-1 classifier). Labels must be int64 [N].
Dataset filter_labels(const Dataset& data, const std::vector<std::int64_t>& keep);

/// The first min(n, size()) samples, sharing storage (like Python's x[:n]).
/// A negative n is refused.
Dataset take(const Dataset& data, std::int64_t n);

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
