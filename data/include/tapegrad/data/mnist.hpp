// tapegrad — MNIST and Fashion-MNIST: finding the files and loading them.
//
// <!-- snippet: compile --> not run: it needs the MNIST files
// @code
//   const char* argv[] = {"train", "--data-dir", "data/mnist"};   // as main() gets them
//   auto train = tg::data::load_mnist(tg::data::data_dir_flag(3, argv), tg::data::Split::Train);
//   // train.images: float32 [60000,1,28,28] in [0,1]; train.labels: int64 [60000]
// @endcode
//
// Where the files are looked for (find_data_dir):
//   1. the directory passed explicitly (the data_dir argument of the loaders
//      and of find_data_dir), and nothing else: neither the environment
//      variable nor the standard places are consulted then;
//   2. else the directory in the source's environment variable, and nothing
//      else: TAPEGRAD_DATA for MNIST, TAPEGRAD_FASHION_DATA for Fashion-MNIST;
//   3. else the source's standard places, in order, where <name> is mnist or
//      fashion-mnist:
//        /usr/share/datasets/<name>          (where Debian's dataset-* packages
//                                             install, e.g. dataset-fashion-mnist)
//        $XDG_CACHE_HOME/tapegrad/<name>     (when XDG_CACHE_HOME is set)
//        ~/.cache/tapegrad/<name>
// A directory counts when it holds both files of the requested split, each
// either plain (train-images-idx3-ubyte) or gzip-compressed (….gz); the plain
// file is preferred when both exist. When nothing is found the error says what
// the directory passed as data_dir lacks (case 1), or lists every place looked
// at with what each one lacks (cases 2 and 3); then how to get the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/read_limits.hpp>
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/dataset.hpp>

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
  std::vector<std::string> search_dirs;  ///< standard places, in order (when neither is given)
  std::string how_to_get;                ///< how to obtain the files, for the not-found error
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
/// `data_dir` when not empty — then the only place looked at, $env_var is not
/// consulted — else $env_var when set, else the first search_dirs entry that has
/// both files. Throws std::invalid_argument when the files are not there: for a
/// given `data_dir`, naming that directory and what it lacks; otherwise listing
/// every place looked at; both with source.how_to_get.
std::string find_data_dir(const DatasetSource& source, Split split, const std::string& data_dir = "");

/// Loads one split: images float32 [N,1,H,W] (pixel / 255), labels int64 [N],
/// from `data_dir` — then the only place looked at, $env_var is not consulted —
/// or, when it is empty, from where find_data_dir finds them. Refuses files that do not pair up
/// (image count != label count, images not 3-D, labels not 1-D) or a label
/// outside [0, num_classes), naming the files.
TensorDataset load_dataset(const DatasetSource& source, Split split, const std::string& data_dir = "");

/// MNIST: images [N,1,28,28] in [0,1], labels 0..9 (N = 60000 train, 10000 test).
/// A non-empty `data_dir` is the only place read ($TAPEGRAD_DATA is not
/// consulted); an empty one searches as at the top of this file.
TensorDataset load_mnist(const std::string& data_dir, Split split);
/// Fashion-MNIST: as load_mnist, labels 0..9 = T-shirt/top ... ankle boot.
TensorDataset load_fashion_mnist(const std::string& data_dir, Split split);

/// An IDX image file [N,H,W] of unsigned bytes as float32 [N,1,H,W] = pixel / 255.
/// Read with read_idx, under `limits` (see <tapegrad/core/read_limits.hpp>).
Tensor load_idx_images(const std::string& path, const ReadLimits& limits = read_limits());
/// An IDX label file [N] of unsigned bytes as int64 [N], read as load_idx_images.
Tensor load_idx_labels(const std::string& path, const ReadLimits& limits = read_limits());

/// The value of "--data-dir DIR" or "--data-dir=DIR" in argv, or "" when absent.
/// Throws when the flag is the last argument and has no value.
std::string data_dir_flag(int argc, const char* const* argv);

}  // namespace tg::data
