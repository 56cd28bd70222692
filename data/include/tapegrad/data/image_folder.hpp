// tapegrad — ImageFolder: a folder of pictures, one sub-folder per class
// (torchvision.datasets.ImageFolder).
//
//   root/cat/001.png        class 0 ("cat")
//   root/cat/kittens/7.jpg  class 0 too: a class folder is searched recursively
//   root/dog/a.JPEG         class 1 ("dog")
//
// @code
//   // pets/cat/a.ppm (2x1), pets/cat/b.ppm (3x2), pets/dog/c.ppm (2x2): pictures of different sizes.
//   auto write_ppm = [](const std::string& path, int width, int height) {
//     std::filesystem::create_directories(std::filesystem::path(path).parent_path());
//     std::FILE* file = std::fopen(path.c_str(), "wb");
//     std::fprintf(file, "P6 %d %d 255\n", width, height);
//     for (int i = 0; i < 3 * width * height; ++i) std::fputc(i * 40 % 256, file);
//     std::fclose(file);
//   };
//   write_ppm("pets/cat/a.ppm", 2, 1);
//   write_ppm("pets/cat/b.ppm", 3, 2);
//   write_ppm("pets/dog/c.ppm", 2, 2);
//   auto pets = std::make_shared<tg::data::ImageFolder>("pets");   // classes {"cat", "dog"}, 3 samples
//   tg::data::Example dog = pets->get(2);   // input: int64 [3,2,2] (RGB, 0..255); target: 0-d int64 1
//
//   // The pictures' sizes differ, so default_collate would refuse to stack them:
//   // make them uniform as they are read (resize, or center_crop when all are large enough).
//   namespace T = tg::data::transforms;
//   auto uniform = std::make_shared<T::TransformedDataset>(pets, T::compose({T::to_float(), T::resize(4, 4)}),
//                                                          /*seed*/ 0);
//   tg::data::DataLoader loader(uniform, {/*batch_size*/ 3, /*shuffle*/ false}, {/*num_workers*/ 2});
//   for (const tg::data::Batch& b : loader.epoch(0)) {
//     // b.inputs: float32 [3,3,4,4] in [0, 1]; b.targets: int64 [3] = {0, 0, 1}
//     if (b.inputs.shape() != tg::Shape{3, 3, 4, 4}) throw std::logic_error("ImageFolder batch");
//   }
// @endcode
//
// As torchvision does: the classes are the sub-folders of root sorted by name
// (byte order), and a class's label is its index in that list; the files of a
// class folder are found recursively (following links to folders, each folder
// visited once), the folders in order of their paths and the files of each
// folder in order of their names, so the samples come in torchvision's order.
// A file is an image when its name ends, in any case, in one of
// image_folder_extensions() — the common formats stb_image reads (image.hpp;
// its PSD, HDR and PIC are left out); other files are ignored. Unlike torchvision, hidden entries (names starting
// with '.', such as .ipynb_checkpoints or .DS_Store) are skipped at every
// level, and .tif/.tiff/.webp files, which stb_image cannot read, are not
// images. A class folder without a single image is refused, as torchvision
// refuses it (unless ImageFolderOptions::allow_empty).
//
// The folder is listed once, at construction; get(i) reads and decodes file i
// (read_image) each time it is called, so nothing is held in memory and a
// DataLoader's workers decode in parallel. Pictures of different sizes are
// returned as they are: a TransformedDataset with transforms::resize or
// center_crop makes them one size before batching (above).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/read_limits.hpp>
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/image.hpp>

namespace tg::data {

/// The file name endings ImageFolder takes as images, lower case:
/// .bmp .gif .jpeg .jpg .pgm .png .pnm .ppm .tga.
const std::vector<std::string>& image_folder_extensions();

/// How an ImageFolder reads its pictures.
struct ImageFolderOptions {
  /// The channels of every example: RGB by default, as torchvision's loader
  /// (PIL's convert("RGB")), so that gray and colour files batch together.
  ImageChannels channels = ImageChannels::Rgb;
  /// Accept class folders without any image (torchvision's allow_empty): the
  /// class keeps its label and has no examples.
  bool allow_empty = false;
  /// The limits of every read; by default those in force when the options are made.
  ReadLimits limits = read_limits();
};

/// Pictures in one sub-folder per class (see the top of this file): example i
/// is {the pixels of samples()[i].path, int64 [C, H, W] with values 0..255,
/// the 0-d int64 label samples()[i].label}.
class ImageFolder final : public Dataset {
 public:
  /// One picture file and its class.
  struct Sample {
    std::string path;     ///< root/<class>/.../<file>
    std::int64_t label;   ///< the index of its class in classes()
  };

  /// Lists `root`. Throws std::invalid_argument naming ImageFolder and the root
  /// when it does not exist or is not a folder, holds no class folder, or (unless
  /// options.allow_empty) has a class folder without images — naming those classes.
  explicit ImageFolder(std::string root, ImageFolderOptions options = {});

  /// The number of picture files found.
  std::int64_t size() const override;
  /// read_image(samples()[index].path) and its label. Refuses an index outside
  /// [0, size()); an unreadable file throws std::invalid_argument naming it.
  Example get(std::int64_t index) const override;

  /// The folder given at construction.
  const std::string& root() const { return root_; }
  /// The class names, sorted: the sub-folders of root().
  const std::vector<std::string>& classes() const { return classes_; }
  /// Every picture file and its label, in the order of the examples.
  const std::vector<Sample>& samples() const { return samples_; }
  /// The options given at construction.
  const ImageFolderOptions& options() const { return options_; }

 private:
  std::string root_;
  ImageFolderOptions options_;
  std::vector<std::string> classes_;
  std::vector<Sample> samples_;
};

}  // namespace tg::data
