// Loading MNIST-format data sets: IDX files -> image and label tensors.
//
// Pixels are converted through a 256-entry table holding float(byte / 255.0),
// the value NumPy's `images / 255` gives after a cast to float32, so the
// tensors match the usual NumPy preprocessing bit for bit.
#include <array>
#include <string>
#include <utility>

#include "core/dispatch.hpp"
#include "core/parallel.hpp"
#include "data/locate.hpp"
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/mnist.hpp>

namespace tg::data {

using detail::fail;

Tensor load_idx_images(const std::string& path, const ReadLimits& limits) {
  const IdxArray idx = read_idx(path, limits);
  if (idx.dims.size() != 3)
    fail(path, ": expected images [N,rows,cols] (3 dimensions), got ", Shape(idx.dims).str(),
         idx.dims.size() == 1 ? " (a label file?)" : "");
  static const std::array<float, 256> kScale = [] {
    std::array<float, 256> table{};
    for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v / 255.0);
    return table;
  }();
  Tensor images = empty({idx.dims[0], 1, idx.dims[1], idx.dims[2]}, kFloat32);
  float* out = images.data<float>();
  const std::uint8_t* in = idx.data.data();
  detail::parallel_for(images.numel(), 1 << 20, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = kScale[in[i]];
  });
  return images;
}

Tensor load_idx_labels(const std::string& path, const ReadLimits& limits) {
  const IdxArray idx = read_idx(path, limits);
  if (idx.dims.size() != 1)
    fail(path, ": expected labels [N] (1 dimension), got ", Shape(idx.dims).str(),
         idx.dims.size() == 3 ? " (an image file?)" : "");
  Tensor labels = empty({idx.dims[0]}, kInt64);
  std::int64_t* out = labels.data<std::int64_t>();
  for (std::size_t i = 0; i < idx.data.size(); ++i) out[i] = idx.data[i];
  return labels;
}

TensorDataset load_dataset(const DatasetSource& source, Split split, const std::string& data_dir) {
  const std::string dir = find_data_dir(source, split, data_dir);
  const bool train = split == Split::Train;
  const std::string images_path = detail::idx_file_in(dir, train ? source.train_images : source.test_images);
  const std::string labels_path = detail::idx_file_in(dir, train ? source.train_labels : source.test_labels);

  Tensor images = load_idx_images(images_path), labels = load_idx_labels(labels_path);
  // Checked here, before TensorDataset checks it, to name the files.
  if (images.size(0) != labels.size(0))
    fail(source.name, " ", split_name(split), " set: ", images_path, " holds ", images.size(0), " images but ",
         labels_path, " holds ", labels.size(0), " labels");
  const std::int64_t* y = labels.data<std::int64_t>();
  for (std::int64_t i = 0, n = labels.numel(); i < n; ++i)
    if (y[i] >= source.num_classes)
      fail(labels_path, ": label ", y[i], " at index ", i, " is outside [0, ", source.num_classes, ") for ",
           source.name);
  return TensorDataset(std::move(images), std::move(labels));
}

TensorDataset load_mnist(const std::string& data_dir, Split split) { return load_dataset(mnist_source(), split, data_dir); }

TensorDataset load_fashion_mnist(const std::string& data_dir, Split split) {
  return load_dataset(fashion_mnist_source(), split, data_dir);
}

}  // namespace tg::data
