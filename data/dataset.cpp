// Data sets: the in-memory TensorDataset, Subset, ConcatDataset, random_split,
// and the in-memory helpers: filtering by label, taking a prefix, mapping labels
// to targets.
//
// Nothing here is differentiable on purpose: these shape the data before a
// model sees it. Rows are gathered with tg::index_select (one memcpy per
// sample) and prefixes and single rows are views (tg::narrow), so no pixel is
// touched twice.
#include <tapegrad/data/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/dispatch.hpp"
#include "data/gather.hpp"
#include <tapegrad/ops/ops.hpp>

namespace tg::data {
namespace {

using detail::fail;

void check_labels(const Tensor& labels, const char* op) {
  if (!labels.defined()) fail(op, ": labels are undefined");
  if (labels.dtype() != kInt64 || labels.dim() != 1)
    fail(op, ": labels must be a 1-D int64 tensor, got ", describe(labels));
}

void check_dataset(const TensorDataset& data, const char* op) {
  if (!data.images.defined()) fail(op, ": the dataset's images are undefined");
  check_labels(data.labels, op);
  if (data.images.dim() == 0) fail(op, ": images need a sample dimension, got ", describe(data.images));
  if (data.images.size(0) != data.labels.size(0))
    fail(op, ": images ", describe(data.images), " and labels ", describe(data.labels),
         " hold different numbers of samples");
}

std::string list_str(const std::vector<std::int64_t>& values) {
  std::string s = "{";
  for (std::size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "}";
}

// [N] -> [N,1] of f(label) in `dtype`.
template <class F> Tensor label_column(const Tensor& labels, Dtype dtype, const char* op, F f) {
  Tensor out = empty({labels.numel(), 1}, dtype);
  const std::int64_t* y = labels.data<std::int64_t>();
  detail::dispatch_float(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (std::int64_t i = 0, n = labels.numel(); i < n; ++i) p[i] = static_cast<T>(f(y[i]));
  });
  return out;
}

// Row `index` of x [N, ...] as a tensor [...] sharing x's storage.
Tensor row(const Tensor& x, std::int64_t index) {
  const Shape& s = x.shape();
  return reshape(narrow(x, index, 1), std::vector<std::int64_t>(s.begin() + 1, s.end()));
}

void check_index(std::int64_t index, std::int64_t size, const char* who) {
  if (index < 0 || index >= size) fail(who, ": index ", index, " is out of range for ", size, " examples");
}

}  // namespace

TensorDataset::TensorDataset(Tensor images_, Tensor labels_) : images(std::move(images_)), labels(std::move(labels_)) {
  check_paired_rows("TensorDataset", "images", images, "labels", labels);
}

std::int64_t TensorDataset::size() const { return images.defined() && images.dim() > 0 ? images.size(0) : 0; }

Example TensorDataset::get(std::int64_t index) const {
  check_index(index, size(), "TensorDataset::get");
  return {row(images, index), labels.defined() ? row(labels, index) : Tensor()};
}

Subset::Subset(std::shared_ptr<const Dataset> data, std::vector<std::int64_t> indices)
    : data_(std::move(data)), indices_(std::move(indices)) {
  if (!data_) fail("Subset: the data set is null");
  const std::int64_t n = data_->size();
  for (std::size_t k = 0; k < indices_.size(); ++k)
    if (indices_[k] < 0 || indices_[k] >= n)
      fail("Subset: index ", indices_[k], " (position ", k, ") is out of range for a data set of ", n, " examples");
}

std::int64_t Subset::size() const { return static_cast<std::int64_t>(indices_.size()); }

Example Subset::get(std::int64_t index) const {
  check_index(index, size(), "Subset::get");
  return data_->get(indices_[static_cast<std::size_t>(index)]);
}

void Subset::set_epoch(std::int64_t epoch) const { data_->set_epoch(epoch); }

ConcatDataset::ConcatDataset(std::vector<std::shared_ptr<const Dataset>> parts) : parts_(std::move(parts)) {
  std::int64_t end = 0;
  for (std::size_t k = 0; k < parts_.size(); ++k) {
    if (!parts_[k]) fail("ConcatDataset: part ", k, " is null");
    end += parts_[k]->size();
    ends_.push_back(end);
  }
}

std::int64_t ConcatDataset::size() const { return ends_.empty() ? 0 : ends_.back(); }

Example ConcatDataset::get(std::int64_t index) const {
  check_index(index, size(), "ConcatDataset::get");
  // The first part whose end lies beyond index; parts of size 0 are skipped.
  const auto k = static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), index) - ends_.begin());
  const std::int64_t begin = k == 0 ? 0 : ends_[k - 1];
  return parts_[k]->get(index - begin);
}

void ConcatDataset::set_epoch(std::int64_t epoch) const {
  for (const auto& part : parts_) part->set_epoch(epoch);
}

std::vector<std::shared_ptr<Subset>> random_split(const std::shared_ptr<const Dataset>& data,
                                                  const std::vector<std::int64_t>& lengths, std::uint64_t seed) {
  if (!data) fail("random_split: the data set is null");
  std::int64_t total = 0;
  for (std::int64_t length : lengths) {
    if (length < 0) fail("random_split: lengths must be >= 0, got ", length);
    total += length;
  }
  if (total != data->size())
    fail("random_split: the lengths sum to ", total, " but the data set holds ", data->size(), " examples");
  // The seeded shuffle every loader uses (stream 0), dealt out in consecutive runs.
  const std::vector<std::int64_t> order = randperm(total, seed);
  std::vector<std::shared_ptr<Subset>> parts;
  auto first = order.begin();
  for (std::int64_t length : lengths) {
    parts.push_back(std::make_shared<Subset>(data, std::vector<std::int64_t>(first, first + length)));
    first += length;
  }
  return parts;
}

std::vector<std::shared_ptr<Subset>> random_split_fractions(const std::shared_ptr<const Dataset>& data,
                                                            const std::vector<double>& fractions, std::uint64_t seed) {
  if (!data) fail("random_split_fractions: the data set is null");
  double sum = 0;
  for (double f : fractions) {
    if (!(f >= 0 && f <= 1)) fail("random_split_fractions: fractions must lie in [0, 1], got ", f);
    sum += f;
  }
  if (std::abs(sum - 1.0) > 1e-6) fail("random_split_fractions: the fractions sum to ", sum, ", not 1");
  const std::int64_t n = data->size();
  std::vector<std::int64_t> lengths;
  for (double f : fractions) lengths.push_back(static_cast<std::int64_t>(std::floor(f * static_cast<double>(n))));
  std::int64_t left = n - std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0});
  for (std::size_t k = 0; left > 0; k = (k + 1) % lengths.size(), --left) ++lengths[k];
  return random_split(data, lengths, seed);
}

TensorDataset filter_labels(const TensorDataset& data, const std::vector<std::int64_t>& keep) {
  check_dataset(data, "filter_labels");
  const std::int64_t* y = data.labels.data<std::int64_t>();
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0, n = data.labels.numel(); i < n; ++i)
    if (std::find(keep.begin(), keep.end(), y[i]) != keep.end()) rows.push_back(i);
  const Tensor index = tensor_i64(rows, {static_cast<std::int64_t>(rows.size())});
  return TensorDataset(index_select(data.images, index), index_select(data.labels, index));
}

TensorDataset take(const TensorDataset& data, std::int64_t n) {
  check_dataset(data, "take");
  if (n < 0) fail("take: n must be >= 0, got ", n);
  const std::int64_t m = std::min(n, data.size());
  return TensorDataset(narrow(data.images, 0, m), narrow(data.labels, 0, m));
}

Tensor labels_to_column(const Tensor& labels, Dtype dtype) {
  check_labels(labels, "labels_to_column");
  return label_column(labels, dtype, "labels_to_column", [](std::int64_t y) { return static_cast<double>(y); });
}

Tensor labels_to_signs(const Tensor& labels, std::int64_t positive, Dtype dtype) {
  check_labels(labels, "labels_to_signs");
  return label_column(labels, dtype, "labels_to_signs", [positive](std::int64_t y) { return y == positive ? 1.0 : -1.0; });
}

Tensor relabel(const Tensor& labels, const std::vector<std::int64_t>& classes) {
  check_labels(labels, "relabel");
  std::unordered_map<std::int64_t, std::int64_t> position;
  for (std::size_t i = 0; i < classes.size(); ++i)
    if (!position.emplace(classes[i], static_cast<std::int64_t>(i)).second)
      fail("relabel: class ", classes[i], " appears twice in ", list_str(classes));
  Tensor out = empty(labels.shape(), kInt64);
  const std::int64_t* y = labels.data<std::int64_t>();
  std::int64_t* p = out.data<std::int64_t>();
  for (std::int64_t i = 0, n = labels.numel(); i < n; ++i) {
    const auto it = position.find(y[i]);
    if (it == position.end())
      fail("relabel: label ", y[i], " at index ", i, " is not one of the classes ", list_str(classes));
    p[i] = it->second;
  }
  return out;
}

}  // namespace tg::data
