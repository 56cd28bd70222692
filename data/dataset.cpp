// Dataset helpers: filtering by label, taking a prefix, mapping labels to targets.
//
// Nothing here is differentiable on purpose: these shape the data before a
// model sees it. Rows are gathered with tg::index_select (one memcpy per
// sample) and prefixes are views (tg::narrow), so no pixel is touched twice.
#include <tapegrad/data/dataset.hpp>

#include <algorithm>
#include <string>
#include <unordered_map>

#include "core/dispatch.hpp"
#include <tapegrad/ops/ops.hpp>

namespace tg::data {
namespace {

using detail::fail;

void check_labels(const Tensor& labels, const char* op) {
  if (!labels.defined()) fail(op, ": labels are undefined");
  if (labels.dtype() != kInt64 || labels.dim() != 1)
    fail(op, ": labels must be a 1-D int64 tensor, got ", describe(labels));
}

void check_dataset(const Dataset& data, const char* op) {
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

}  // namespace

std::int64_t Dataset::size() const { return images.defined() && images.dim() > 0 ? images.size(0) : 0; }

Dataset filter_labels(const Dataset& data, const std::vector<std::int64_t>& keep) {
  check_dataset(data, "filter_labels");
  const std::int64_t* y = data.labels.data<std::int64_t>();
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0, n = data.labels.numel(); i < n; ++i)
    if (std::find(keep.begin(), keep.end(), y[i]) != keep.end()) rows.push_back(i);
  const Tensor index = tensor_i64(rows, {static_cast<std::int64_t>(rows.size())});
  return {index_select(data.images, index), index_select(data.labels, index)};
}

Dataset take(const Dataset& data, std::int64_t n) {
  check_dataset(data, "take");
  if (n < 0) fail("take: n must be >= 0, got ", n);
  const std::int64_t m = std::min(n, data.size());
  return {narrow(data.images, 0, m), narrow(data.labels, 0, m)};
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
