// tapegrad — MNIST and Fashion-MNIST: finding the files and loading them.
//
//   auto train = tg::data::load_mnist(tg::data::data_dir_flag(argc, argv), tg::data::Split::Train);
//   // train.images: float32 [60000,1,28,28] in [0,1]; train.labels: int64 [60000]
//
// Where the files are looked for, first match wins (find_data_dir):
//   1. the directory given explicitly (a --data-dir flag), and nothing else;
//   2. else the directory in the source's environment variable, and nothing
//      else: TAPEGRAD_DATA for MNIST, TAPEGRAD_FASHION_DATA for Fashion-MNIST;
//   3. else the source's well-known places, in order:
//      MNIST:   ../shared/data/mnist from the current directory, then from the
//               executable's directory and each of its ancestors;
//               /work/shared/data/mnist; $XDG_CACHE_HOME/tapegrad/mnist when
//               set; ~/.cache/tapegrad/mnist
//      Fashion: /usr/share/datasets/fashion-mnist (Debian's
//               dataset-fashion-mnist); ~/.cache/tapegrad/fashion-mnist
// A directory counts when it holds both files of the requested split, each
// either plain (train-images-idx3-ubyte) or gzip-compressed (….gz); the plain
// file is preferred when both exist. When nothing is found the error lists
// every place looked at, what each one lacks, and how to get the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/data/dataset.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::data {

/// Which half of a data set: the training files or the test (t10k) files.
enum class Split { Train, Test };

/// "train" or "test".
const char* split_name(Split split);

/// A data set stored as four IDX files in the MNIST layout, and where to find it.
/// Other MNIST-format sets (KMNIST, EMNIST, ...) can be described the same way.
struct DatasetSource {
  std::string name;                      ///< for messages: "MNIST"
  std::string env_var;                   ///< consulted when no directory is given; "" for none
  std::vector<std::string> search_dirs;  ///< well-known places, in order
  std::string how_to_get;                ///< the last sentence of the not-found error
  std::int64_t num_classes = 10;         ///< labels must lie in [0, num_classes)
  /// The four file names, without ".gz" (either form is found).
  ///@{
  std::string train_images = "train-images-idx3-ubyte";
  std::string train_labels = "train-labels-idx1-ubyte";
  std::string test_images = "t10k-images-idx3-ubyte";
  std::string test_labels = "t10k-labels-idx1-ubyte";
  ///@}
};

/// MNIST handwritten digits, with the search places listed at the top of this file.
DatasetSource mnist_source();
/// Fashion-MNIST (same file names and format), found where Debian installs it.
DatasetSource fashion_mnist_source();

/// The directory holding `source`'s files for `split` (see the top of this file):
/// `data_dir` when not empty, else $env_var when set, else the first search_dirs
/// entry that has both files. Throws std::invalid_argument listing every place
/// looked at and source.how_to_get when none has them.
std::string find_data_dir(const DatasetSource& source, Split split, const std::string& data_dir = "");

/// Loads one split: images float32 [N,1,H,W] (pixel / 255), labels int64 [N].
/// `data_dir` empty means find_data_dir. Refuses files that do not pair up
/// (image count != label count, images not 3-D, labels not 1-D) or a label
/// outside [0, num_classes), naming the files.
Dataset load_dataset(const DatasetSource& source, Split split, const std::string& data_dir = "");

/// MNIST: images [N,1,28,28] in [0,1], labels 0..9 (N = 60000 train, 10000 test).
Dataset load_mnist(const std::string& data_dir, Split split);
/// Fashion-MNIST: as load_mnist, labels 0..9 = T-shirt/top ... ankle boot.
Dataset load_fashion_mnist(const std::string& data_dir, Split split);

/// An IDX image file [N,H,W] of unsigned bytes as float32 [N,1,H,W] = pixel / 255.
Tensor load_idx_images(const std::string& path);
/// An IDX label file [N] of unsigned bytes as int64 [N].
Tensor load_idx_labels(const std::string& path);

/// The value of "--data-dir DIR" or "--data-dir=DIR" in argv, or "" when absent.
/// Throws when the flag is the last argument and has no value.
std::string data_dir_flag(int argc, const char* const* argv);

}  // namespace tg::data
