// Image transforms: known pixel values (a flipped 3x3, a padded crop, bilinear
// resizing computed by hand and equal to PyTorch's F.interpolate, exact
// quarter turns and shifts), per-example reproducibility, and the refusals.
#include <catch2/catch.hpp>

#include <set>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
namespace T = tg::data::transforms;
using Catch::Contains;
using tg::testing::check_values;

namespace {
// 1 2 3 / 4 5 6 / 7 8 9 as one channel [1, 3, 3].
Tensor nine() { return tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3}, kFloat64); }
T::Rng any_rng() { return T::Rng(0, 0, 0); }
}  // namespace

TEST_CASE("horizontal_flip mirrors each row, on every plane", "[data][transforms]") {
  check_values(T::horizontal_flip(nine()), {3, 2, 1, 6, 5, 4, 9, 8, 7});
  check_values(T::horizontal_flip(tensor({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2})), {2, 1, 4, 3, 6, 5, 8, 7});
  T::Rng rng = any_rng();
  check_values(T::random_horizontal_flip(1.0)(nine(), rng), {3, 2, 1, 6, 5, 4, 9, 8, 7});
  check_values(T::random_horizontal_flip(0.0)(nine(), rng), {1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("pad, crop, and a random crop with padding", "[data][transforms]") {
  const Tensor padded = T::pad(nine(), 1, -1.0);
  CHECK(padded.shape() == Shape{1, 5, 5});
  check_values(padded, {-1, -1, -1, -1, -1,  //
                        -1, 1, 2, 3, -1,     //
                        -1, 4, 5, 6, -1,     //
                        -1, 7, 8, 9, -1,     //
                        -1, -1, -1, -1, -1});
  check_values(T::crop(nine(), 1, 0, 2, 2), {4, 5, 7, 8});

  // Every 3x3 window of the 5x5 padded image is reachable, and each crop is one of them.
  std::set<std::vector<double>> seen;
  for (std::uint64_t i = 0; i < 400; ++i) {
    T::Rng rng(7, 0, i);
    const Tensor c = T::random_crop(3, 1)(nine(), rng);
    REQUIRE(c.shape() == Shape{1, 3, 3});
    seen.insert(c.to_vector());
  }
  CHECK(seen.size() == 9);
  std::set<std::vector<double>> windows;
  for (int top = 0; top < 3; ++top)
    for (int left = 0; left < 3; ++left) windows.insert(T::crop(T::pad(nine(), 1), top, left, 3, 3).to_vector());
  CHECK(seen == windows);
}

TEST_CASE("center_crop rounds like torchvision", "[data][transforms]") {
  T::Rng rng = any_rng();
  check_values(T::center_crop(1)(nine(), rng), {5});
  // (4 - 1) / 2 = 1.5 rounds half to even: top = left = 2.
  const Tensor four = reshape(arange(16, kFloat64), {1, 4, 4});
  check_values(T::center_crop(1)(four, rng), {10});
  check_values(T::center_crop(2)(four, rng), {5, 6, 9, 10});
}

TEST_CASE("bilinear resize equals F.interpolate(align_corners=False)", "[data][transforms]") {
  // PyTorch 1.13: F.interpolate([[0,1],[2,3]], size=(4,4), mode="bilinear", align_corners=False).
  const Tensor up = T::resize_bilinear(tensor({0, 1, 2, 3}, {1, 2, 2}, kFloat64), 4, 4);
  check_values(up, {0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}, 1e-12);
  // Down-sampling a linear image v = 4 r + c is exact: the value at the source
  // point (0.25 | 1.75, 1/6 | 1.5 | 17/6).
  const Tensor down = T::resize_bilinear(reshape(arange(12, kFloat64), {1, 3, 4}), 2, 3);
  check_values(down, {1 + 1.0 / 6, 2.5, 3 + 5.0 / 6, 7 + 1.0 / 6, 8.5, 9 + 5.0 / 6}, 1e-12);
  T::Rng rng = any_rng();
  CHECK(T::resize(2, 3)(reshape(arange(12), {3, 4}), rng).shape() == Shape{2, 3});  // float32 [H, W] too
}

TEST_CASE("affine: quarter turns and whole-pixel shifts are exact", "[data][transforms]") {
  // Counter-clockwise on screen: the right column becomes the top row.
  check_values(T::affine(nine(), 90, 0, 0), {3, 6, 9, 2, 5, 8, 1, 4, 7}, 1e-12);
  check_values(T::affine(nine(), -90, 0, 0), {7, 4, 1, 8, 5, 2, 9, 6, 3}, 1e-12);
  check_values(T::affine(nine(), 180, 0, 0), {9, 8, 7, 6, 5, 4, 3, 2, 1}, 1e-12);
  // One pixel right and one down; what comes from outside is the fill.
  check_values(T::affine(nine(), 0, 1, 1, -1), {-1, -1, -1, -1, 1, 2, -1, 4, 5});
  // Half a pixel right: each value is the mean of two neighbours (the fill at the edge).
  check_values(T::affine(tensor({2, 4, 6}, {1, 3}, kFloat64), 0, 0.5, 0, 0), {1, 3, 5});
}

TEST_CASE("normalize and to_float", "[data][transforms]") {
  T::Rng rng = any_rng();
  const Tensor two_channels = tensor({1, 3, 10, 20}, {2, 1, 2}, kFloat64);
  check_values(T::normalize({2, 10}, {1, 5})(two_channels, rng), {-1, 1, 0, 2});
  check_values(T::to_float()(tensor_i64({0, 51, 255}, {1, 3}), rng), {0, 0.2, 1}, 1e-7);
  CHECK(T::to_float()(tensor_i64({0}, {1, 1}), rng).dtype() == kFloat32);
}

TEST_CASE("random transforms: the same example draws the same values, others differ", "[data][transforms]") {
  const T::Transform augment =
      T::compose({T::random_affine(15, 0.1), T::random_crop(24, 2), T::random_horizontal_flip()});
  manual_seed(3);
  const Tensor image = rand({1, 28, 28}, kFloat64);
  T::Rng a(5, 1, 42), b(5, 1, 42);
  const Tensor first = augment(image, a), again = augment(image, b);
  CHECK(first.shape() == Shape{1, 24, 24});
  CHECK(first.to_vector() == again.to_vector());
  T::Rng other_epoch(5, 2, 42), other_index(5, 1, 43);
  CHECK(augment(image, other_epoch).to_vector() != first.to_vector());
  CHECK(augment(image, other_index).to_vector() != first.to_vector());
  // The stream itself is fixed (SplitMix64), so a seed means the same on every platform.
  T::Rng fixed(0, 0, 0);
  const std::uint64_t x = fixed.next();
  T::Rng fixed_again(0, 0, 0);
  CHECK(fixed_again.next() == x);
  double lo = 1, hi = 0;
  for (int i = 0; i < 1000; ++i) {
    const double u = fixed.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  CHECK(lo >= 0.0);
  CHECK(lo < 0.01);
  CHECK(hi < 1.0);
  CHECK(hi > 0.99);
}

TEST_CASE("transforms refuse what they cannot do, naming themselves and the image", "[data][transforms]") {
  T::Rng rng = any_rng();
  CHECK_THROWS_WITH(T::random_crop(5)(nine(), rng), Contains("random_crop") && Contains("[1,3,3]") && Contains("5x5"));
  CHECK_THROWS_WITH(T::center_crop(4)(nine(), rng), Contains("center_crop") && Contains("[1,3,3]"));
  CHECK_THROWS_WITH(T::normalize({0, 0}, {1, 1})(nine(), rng), Contains("normalize") && Contains("1 channels"));
  CHECK_THROWS_WITH(T::normalize({0}, {0}), Contains("normalize") && Contains("positive"));
  CHECK_THROWS_WITH(T::to_float()(tensor_i64({256}, {1, 1}), rng), Contains("to_float") && Contains("256"));
  CHECK_THROWS_WITH(T::to_float()(nine(), rng), Contains("to_float") && Contains("float64"));
  CHECK_THROWS_WITH(T::horizontal_flip(ones({3})), Contains("horizontal_flip") && Contains("[3]"));
  CHECK_THROWS_WITH(T::resize(0, 2), Contains("resize") && Contains("0x2"));
  CHECK_THROWS_WITH(T::crop(nine(), 2, 2, 2, 2), Contains("crop") && Contains("not inside"));
  CHECK_THROWS_WITH(T::random_horizontal_flip(1.5), Contains("random_horizontal_flip"));
  CHECK_THROWS_WITH(T::compose({T::Transform()}), Contains("compose") && Contains("step 0"));
  CHECK_THROWS_WITH(T::affine(nine(), std::nan(""), 0, 0), Contains("affine") && Contains("finite"));
}

TEST_CASE("TransformedDataset: the same batches with 0 and 2 workers, new draws each epoch", "[data][transforms]") {
  manual_seed(11);
  auto images = std::make_shared<data::TensorDataset>(rand({40, 1, 8, 8}, kFloat64), randint(0, 3, {40}));
  const T::Transform augment = T::compose({T::random_crop(8, 2), T::random_horizontal_flip()});
  auto run = [&](int workers) {
    auto augmented = std::make_shared<T::TransformedDataset>(images, augment, /*seed*/ 5);
    data::DataLoader loader(augmented, {/*batch_size*/ 16, /*shuffle*/ true, /*seed*/ 2}, {workers});
    std::vector<std::vector<double>> epochs;
    for (std::int64_t e = 0; e < 2; ++e) {  // the loader tells the data set the epoch
      std::vector<double> all;
      for (const data::Batch& b : loader.epoch(e)) {
        const std::vector<double> v = b.inputs.to_vector(), t = b.targets.to_vector();
        all.insert(all.end(), v.begin(), v.end());
        all.insert(all.end(), t.begin(), t.end());
      }
      epochs.push_back(all);
    }
    return epochs;
  };
  const auto serial = run(0), threaded = run(2);
  CHECK(serial == threaded);
  CHECK(serial[0] != serial[1]);

  // Example i of epoch e is the transform of example i under Rng(seed, e, i); its target is untouched.
  T::TransformedDataset augmented(images, augment, 5);
  augmented.set_epoch(1);
  T::Rng rng(5, 1, 7);
  CHECK(augmented.get(7).input.to_vector() == augment(images->get(7).input, rng).to_vector());
  CHECK(augmented.get(7).target.item() == images->get(7).target.item());
  CHECK_THROWS_WITH(augmented.set_epoch(-1), Contains("set_epoch") && Contains("-1"));
  CHECK_THROWS_WITH(T::TransformedDataset(nullptr, augment, 0), Contains("TransformedDataset") && Contains("null"));
}
