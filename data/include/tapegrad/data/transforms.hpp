// tapegrad — image transforms for data augmentation (torchvision.transforms on tensors).
//
// A transform maps one image to another: a float tensor [..., H, W] (one
// example, [C, H, W] or [H, W]; leading dimensions are carried along). The
// random ones draw from the Rng they are handed, which the caller seeds per
// example (seed, epoch, index): an example gets the same crop or flip whichever
// thread prepares it and however many threads there are, and another one next
// epoch.
//
// @code
//   namespace T = tg::data::transforms;
//   T::Transform augment = T::compose({T::random_crop(28, /*padding*/ 4), T::random_horizontal_flip(0.5),
//                                      T::normalize({0.1307}, {0.3081})});
//   tg::Tensor image = tg::rand({1, 28, 28});
//   T::Rng rng(/*seed*/ 1, /*epoch*/ 0, /*index*/ 17);
//   tg::Tensor augmented = augment(image, rng);   // [1, 28, 28]
// @endcode
//
// Geometry follows PyTorch: pixel (i, j) has its centre at (j + 0.5, i + 0.5);
// bilinear resizing is F.interpolate(mode="bilinear", align_corners=False)
// without antialiasing; rotations turn counter-clockwise about the image centre,
// and pixels that come from outside the image are `fill`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/dataset.hpp>

namespace tg::data::transforms {

/// The random source of one example's transforms (SplitMix64: fully specified,
/// so the same seed draws the same values on every platform and standard library).
class Rng {
 public:
  /// The stream of example `index` in epoch `epoch` of a run seeded with `seed`.
  Rng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index);
  /// The next 64 random bits.
  std::uint64_t next();
  /// Uniform in [0, 1).
  double uniform();
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform over the integers 0 .. n-1 (n > 0).
  std::int64_t below(std::int64_t n);

 private:
  std::uint64_t state_ = 0;
};

/// One image in, one image out; deterministic transforms ignore the Rng.
using Transform = std::function<Tensor(const Tensor& image, Rng& rng)>;

/// The transforms in order, each on the previous one's output.
Transform compose(std::vector<Transform> steps);

/// int64 pixel values in [0, 255] (as read from IDX or PNG files) to float32 in
/// [0, 1], dividing by 255 (torchvision's ToTensor). Refuses values outside [0, 255].
Transform to_float();

/// (x - mean[c]) / std[c] per channel c of [C, H, W] (one value each for [H, W]).
/// Throws when the counts differ from C or a std is not positive.
Transform normalize(std::vector<double> mean, std::vector<double> std);

/// Pads `padding` pixels of `fill` on every side, then cuts a size x size window
/// at a uniformly drawn position. Throws when the padded image is smaller than size.
Transform random_crop(std::int64_t size, std::int64_t padding = 0, double fill = 0.0);

/// Mirrors left-right with probability p.
Transform random_horizontal_flip(double p = 0.5);

/// The size x size window at the centre (torchvision's rounding: top = round((H - size) / 2)).
/// Throws when the image is smaller than size.
Transform center_crop(std::int64_t size);

/// Bilinear resize to height x width (align_corners=False, no antialiasing).
Transform resize(std::int64_t height, std::int64_t width);

/// Rotation by an angle drawn from [-degrees, degrees] and a translation by
/// whole pixels drawn from [-translate * W, translate * W] horizontally (H
/// vertically), sampled bilinearly; outside pixels are `fill`.
Transform random_affine(double degrees, double translate = 0.0, double fill = 0.0);

/// `data` with `transform` applied to each example's input as it is read: example
/// i of epoch e is transformed with Rng(seed, e, i). The same batches come out of
/// a DataLoader whatever its number of workers, and each epoch sees new crops
/// and flips: DataLoader::epoch(e) calls set_epoch(e) before reading (call it
/// yourself only when reading examples without a loader).
///
/// @code
///   auto images = std::make_shared<tg::data::TensorDataset>(tg::rand({100, 1, 28, 28}), tg::randint(0, 10, {100}));
///   namespace T = tg::data::transforms;
///   auto augmented = std::make_shared<T::TransformedDataset>(
///       images, T::compose({T::random_crop(28, 2), T::random_horizontal_flip()}), /*seed*/ 1);
///   tg::data::DataLoader loader(augmented, {/*batch_size*/ 32, /*shuffle*/ true, /*seed*/ 1}, {/*num_workers*/ 2});
///   for (std::int64_t epoch = 0; epoch < 2; ++epoch)
///     for (const tg::data::Batch& b : loader.epoch(epoch)) {   // new crops and flips every epoch
///       tg::Tensor x = b.inputs;   // [32,1,28,28] (the last batch [4,1,28,28])
///     }
/// @endcode
class TransformedDataset final : public Dataset {
 public:
  /// Refuses a null data set or an empty transform.
  TransformedDataset(std::shared_ptr<const Dataset> data, Transform transform, std::uint64_t seed);
  std::int64_t size() const override;
  /// data->get(index) with its input transformed (the target as it is).
  Example get(std::int64_t index) const override;
  /// The epoch whose random draws get() makes (0 at first); refuses a negative
  /// one. Also passed on to the wrapped data set.
  void set_epoch(std::int64_t epoch) const override;

 private:
  std::shared_ptr<const Dataset> data_;
  Transform transform_;
  std::uint64_t seed_;
  mutable std::atomic<std::int64_t> epoch_{0};  // see Dataset::set_epoch
};

/// The deterministic functions behind the transforms, for tests and direct use.
///@{
Tensor horizontal_flip(const Tensor& image);
Tensor crop(const Tensor& image, std::int64_t top, std::int64_t left, std::int64_t height, std::int64_t width);
Tensor pad(const Tensor& image, std::int64_t padding, double fill = 0.0);
Tensor resize_bilinear(const Tensor& image, std::int64_t height, std::int64_t width);
/// Rotates by `degrees` counter-clockwise about the centre, then shifts by
/// (dx, dy) pixels (right, down); bilinear; outside pixels are `fill`.
Tensor affine(const Tensor& image, double degrees, double dx, double dy, double fill = 0.0);
///@}

}  // namespace tg::data::transforms
