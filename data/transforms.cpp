// Image transforms (data/include/tapegrad/data/transforms.hpp): plain loops over
// the planes of [..., H, W] images. They are data preparation, not ops on the
// tape: nothing here is recorded or differentiated.
#include <cmath>
#include <string>
#include <utility>

#include "core/dispatch.hpp"
#include "core/random_internal.hpp"
#include <tapegrad/data/transforms.hpp>

namespace tg::data::transforms {

using tg::detail::fail;

// ---------------------------------------------------------------------------
// Rng: SplitMix64 (core/random_internal.hpp holds its mixer)
// ---------------------------------------------------------------------------
Rng::Rng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  // Each coordinate passes through the mixer, so neighbouring (epoch, index)
  // pairs start far apart in the sequence.
  state_ = tg::detail::mix(tg::detail::mix(seed) ^ epoch) ^ index;
  state_ += tg::detail::kGoldenGamma;
}

std::uint64_t Rng::next() {
  const std::uint64_t out = tg::detail::mix(state_);
  state_ += tg::detail::kGoldenGamma;
  return out;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::int64_t Rng::below(std::int64_t n) {
  if (n <= 0) fail("Rng::below: n must be positive, got ", n);
  return static_cast<std::int64_t>(tg::detail::uniform_below([this] { return next(); }, static_cast<std::uint64_t>(n)));
}

// ---------------------------------------------------------------------------
// Geometry of an image: `planes` images of H x W, row-major, one after another.
// ---------------------------------------------------------------------------
namespace {

struct Planes {
  std::int64_t planes, h, w;
};

Planes planes_of(const Tensor& image, const char* op) {
  tg::detail::check_defined(image, op);
  if (image.dim() < 2) fail(op, ": expects an image [..., H, W], got ", describe(image));
  tg::detail::check_floating(image, op);
  const std::int64_t h = image.size(-2), w = image.size(-1);
  return {h * w == 0 ? 0 : image.numel() / (h * w), h, w};
}

// image's shape with the last two extents replaced.
Shape with_hw(const Tensor& image, std::int64_t h, std::int64_t w) {
  std::vector<std::int64_t> s = image.shape().vec();
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return Shape(s);
}

// out[p, i, j] = f(in plane p, i, j) for an output of out_h x out_w.
template <class F> Tensor map_planes(const Tensor& image, std::int64_t out_h, std::int64_t out_w, const char* op, F f) {
  const Planes g = planes_of(image, op);
  Tensor out = empty(with_hw(image, out_h, out_w), image.dtype());
  tg::detail::dispatch_float(image.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* in = image.data<T>();
    T* o = out.data<T>();
    for (std::int64_t p = 0; p < g.planes; ++p) {
      const T* plane = in + p * g.h * g.w;
      for (std::int64_t i = 0; i < out_h; ++i)
        for (std::int64_t j = 0; j < out_w; ++j) *o++ = f(plane, g, i, j);
    }
  });
  return out;
}

// Python's round(): halves go to the even neighbour (torchvision's center_crop and translations use it).
std::int64_t round_half_even(double x) { return static_cast<std::int64_t>(std::nearbyint(x)); }

}  // namespace

// ---------------------------------------------------------------------------
// The deterministic functions
// ---------------------------------------------------------------------------
Tensor horizontal_flip(const Tensor& image) {
  const Planes g = planes_of(image, "horizontal_flip");
  return map_planes(image, g.h, g.w, "horizontal_flip",
                    [](const auto* plane, const Planes& g, std::int64_t i, std::int64_t j) {
                      return plane[i * g.w + (g.w - 1 - j)];
                    });
}

Tensor crop(const Tensor& image, std::int64_t top, std::int64_t left, std::int64_t height, std::int64_t width) {
  const Planes g = planes_of(image, "crop");
  if (top < 0 || left < 0 || height < 0 || width < 0 || top > g.h - height || left > g.w - width)
    fail("crop: the window ", height, "x", width, " at (", top, ", ", left, ") is not inside the image ",
         describe(image));
  return map_planes(image, height, width, "crop",
                    [top, left](const auto* plane, const Planes& g, std::int64_t i, std::int64_t j) {
                      return plane[(top + i) * g.w + left + j];
                    });
}

Tensor pad(const Tensor& image, std::int64_t padding, double fill) {
  const Planes g = planes_of(image, "pad");
  if (padding < 0 || padding > (std::int64_t{1} << 20))
    fail("pad: padding must be in [0, 2^20], got ", padding);
  return map_planes(image, g.h + 2 * padding, g.w + 2 * padding, "pad",
                    [padding, fill](const auto* plane, const Planes& g, std::int64_t i, std::int64_t j) {
                      using T = std::decay_t<decltype(*plane)>;
                      const std::int64_t si = i - padding, sj = j - padding;
                      return si >= 0 && si < g.h && sj >= 0 && sj < g.w ? plane[si * g.w + sj] : static_cast<T>(fill);
                    });
}

Tensor resize_bilinear(const Tensor& image, std::int64_t height, std::int64_t width) {
  const Planes g = planes_of(image, "resize");
  if (height <= 0 || width <= 0) fail("resize: the size must be positive, got ", height, "x", width);
  if (g.h == 0 || g.w == 0) fail("resize: cannot resize the empty image ", describe(image));
  // align_corners=False: output pixel centre d maps to (d + 0.5) * in / out - 0.5, clamped at 0.
  auto source = [](std::int64_t d, std::int64_t in, std::int64_t out) {
    const double s = std::max((static_cast<double>(d) + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5, 0.0);
    const std::int64_t i0 = static_cast<std::int64_t>(s);
    const std::int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    return std::make_tuple(i0, i1, s - static_cast<double>(i0));
  };
  return map_planes(image, height, width, "resize",
                    [&](const auto* plane, const Planes& g, std::int64_t i, std::int64_t j) {
                      using T = std::decay_t<decltype(*plane)>;
                      const auto [y0, y1, ly] = source(i, g.h, height);
                      const auto [x0, x1, lx] = source(j, g.w, width);
                      const double top = (1 - lx) * plane[y0 * g.w + x0] + lx * plane[y0 * g.w + x1];
                      const double bottom = (1 - lx) * plane[y1 * g.w + x0] + lx * plane[y1 * g.w + x1];
                      return static_cast<T>((1 - ly) * top + ly * bottom);
                    });
}

Tensor affine(const Tensor& image, double degrees, double dx, double dy, double fill) {
  if (!std::isfinite(degrees) || !std::isfinite(dx) || !std::isfinite(dy))
    fail("affine: angle and shift must be finite, got ", degrees, " degrees and (", dx, ", ", dy, ")");
  const Planes g = planes_of(image, "affine");
  const double theta = degrees * 3.14159265358979323846 / 180.0;
  const double c = std::cos(theta), s = std::sin(theta);
  const double cx = 0.5 * static_cast<double>(g.w), cy = 0.5 * static_cast<double>(g.h);
  return map_planes(image, g.h, g.w, "affine", [&](const auto* plane, const Planes& g, std::int64_t i, std::int64_t j) {
    using T = std::decay_t<decltype(*plane)>;
    // Invert out = R (in - centre) + centre + shift, with R a counter-clockwise
    // turn on screen (y points down), at the output pixel's centre.
    const double x = static_cast<double>(j) + 0.5 - cx - dx, y = static_cast<double>(i) + 0.5 - cy - dy;
    const double sx = c * x - s * y + cx - 0.5, sy = s * x + c * y + cy - 0.5;  // source, in pixel indices
    const double fx = std::floor(sx), fy = std::floor(sy);
    const double lx = sx - fx, ly = sy - fy;
    auto at = [&](double r, double q) -> double {
      if (r < 0 || q < 0 || r >= static_cast<double>(g.h) || q >= static_cast<double>(g.w)) return fill;
      return static_cast<double>(plane[static_cast<std::int64_t>(r) * g.w + static_cast<std::int64_t>(q)]);
    };
    // Neighbours with weight 0 are skipped, so a pixel that lands exactly on a
    // source pixel never blends in the fill of a neighbour outside the image.
    double v = 0;
    if ((1 - ly) * (1 - lx) > 0) v += (1 - ly) * (1 - lx) * at(fy, fx);
    if ((1 - ly) * lx > 0) v += (1 - ly) * lx * at(fy, fx + 1);
    if (ly * (1 - lx) > 0) v += ly * (1 - lx) * at(fy + 1, fx);
    if (ly * lx > 0) v += ly * lx * at(fy + 1, fx + 1);
    return static_cast<T>(v);
  });
}

// ---------------------------------------------------------------------------
// The transforms
// ---------------------------------------------------------------------------
Transform compose(std::vector<Transform> steps) {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!steps[i]) fail("compose: step ", i, " is an empty transform");
  return [steps = std::move(steps)](const Tensor& image, Rng& rng) {
    Tensor x = image;
    for (const Transform& t : steps) x = t(x, rng);
    return x;
  };
}

Transform to_float() {
  return [](const Tensor& image, Rng&) {
    tg::detail::check_defined(image, "to_float");
    if (image.dtype() != kInt64)
      fail("to_float: expects int64 pixel values in [0, 255], got ", describe(image));
    Tensor out = empty(image.shape(), kFloat32);
    const std::int64_t* in = image.data<std::int64_t>();
    float* o = out.data<float>();
    for (std::int64_t i = 0, n = image.numel(); i < n; ++i) {
      if (in[i] < 0 || in[i] > 255)
        fail("to_float: pixel ", i, " of ", describe(image), " is ", in[i], ", outside [0, 255]");
      o[i] = static_cast<float>(in[i]) / 255.0f;
    }
    return out;
  };
}

Transform normalize(std::vector<double> mean, std::vector<double> std) {
  if (mean.size() != std.size() || mean.empty())
    fail("normalize: needs one mean and one std per channel, got ", mean.size(), " means and ", std.size(), " stds");
  for (std::size_t c = 0; c < std.size(); ++c)
    if (!(std[c] > 0) || !std::isfinite(std[c]) || !std::isfinite(mean[c]))
      fail("normalize: channel ", c, " needs a finite mean and a positive finite std, got mean ", mean[c], ", std ",
           std[c]);
  return [mean = std::move(mean), std = std::move(std)](const Tensor& image, Rng&) {
    const Planes g = planes_of(image, "normalize");
    const std::int64_t channels = image.dim() >= 3 ? image.size(-3) : 1;
    if (channels != static_cast<std::int64_t>(mean.size()))
      fail("normalize: ", mean.size(), " channel statistics for the image ", describe(image), " with ", channels,
           " channels");
    Tensor out = empty(image.shape(), image.dtype());
    tg::detail::dispatch_float(image.dtype(), "normalize", [&](auto tag) {
      using T = decltype(tag);
      const T* in = image.data<T>();
      T* o = out.data<T>();
      const std::int64_t hw = g.h * g.w;
      for (std::int64_t p = 0; p < g.planes; ++p) {
        const std::size_t c = static_cast<std::size_t>(p % channels);
        const T m = static_cast<T>(mean[c]), inv = static_cast<T>(1.0 / std[c]);
        for (std::int64_t k = 0; k < hw; ++k) o[p * hw + k] = (in[p * hw + k] - m) * inv;
      }
    });
    return out;
  };
}

Transform random_crop(std::int64_t size, std::int64_t padding, double fill) {
  if (size <= 0) fail("random_crop: size must be positive, got ", size);
  if (padding < 0) fail("random_crop: padding must be >= 0, got ", padding);
  return [=](const Tensor& image, Rng& rng) {
    const Tensor padded = padding > 0 ? pad(image, padding, fill) : image;
    const Planes g = planes_of(padded, "random_crop");
    if (g.h < size || g.w < size)
      fail("random_crop: the image ", describe(image), " padded by ", padding, " is smaller than the crop ", size, "x",
           size);
    const std::int64_t top = rng.below(g.h - size + 1);
    const std::int64_t left = rng.below(g.w - size + 1);
    return crop(padded, top, left, size, size);
  };
}

Transform random_horizontal_flip(double p) {
  if (!(p >= 0 && p <= 1)) fail("random_horizontal_flip: p must be in [0, 1], got ", p);
  return [p](const Tensor& image, Rng& rng) { return rng.uniform() < p ? horizontal_flip(image) : image; };
}

Transform center_crop(std::int64_t size) {
  if (size <= 0) fail("center_crop: size must be positive, got ", size);
  return [size](const Tensor& image, Rng&) {
    const Planes g = planes_of(image, "center_crop");
    if (g.h < size || g.w < size)
      fail("center_crop: the image ", describe(image), " is smaller than the crop ", size, "x", size);
    return crop(image, round_half_even((g.h - size) / 2.0), round_half_even((g.w - size) / 2.0), size, size);
  };
}

Transform resize(std::int64_t height, std::int64_t width) {
  if (height <= 0 || width <= 0) fail("resize: the size must be positive, got ", height, "x", width);
  return [=](const Tensor& image, Rng&) { return resize_bilinear(image, height, width); };
}

Transform random_affine(double degrees, double translate, double fill) {
  if (!(degrees >= 0 && degrees <= 360)) fail("random_affine: degrees must be in [0, 360], got ", degrees);
  if (!(translate >= 0 && translate <= 1)) fail("random_affine: translate must be in [0, 1], got ", translate);
  return [=](const Tensor& image, Rng& rng) {
    const Planes g = planes_of(image, "random_affine");
    const double angle = rng.uniform(-degrees, degrees);
    const double max_dx = translate * static_cast<double>(g.w), max_dy = translate * static_cast<double>(g.h);
    const double dx = static_cast<double>(round_half_even(rng.uniform(-max_dx, max_dx)));
    const double dy = static_cast<double>(round_half_even(rng.uniform(-max_dy, max_dy)));
    return affine(image, angle, dx, dy, fill);
  };
}

// ---------------------------------------------------------------------------
// TransformedDataset
// ---------------------------------------------------------------------------
TransformedDataset::TransformedDataset(std::shared_ptr<const Dataset> data, Transform transform, std::uint64_t seed)
    : data_(std::move(data)), transform_(std::move(transform)), seed_(seed) {
  if (!data_) fail("TransformedDataset: the data set is null");
  if (!transform_) fail("TransformedDataset: the transform is empty");
}

std::int64_t TransformedDataset::size() const { return data_->size(); }

Example TransformedDataset::get(std::int64_t index) const {
  Example e = data_->get(index);
  Rng rng(seed_, static_cast<std::uint64_t>(epoch_.load()), static_cast<std::uint64_t>(index));
  e.input = transform_(e.input, rng);
  return e;
}

void TransformedDataset::set_epoch(std::int64_t epoch) const {
  if (epoch < 0) fail("TransformedDataset::set_epoch: epoch must be >= 0, got ", epoch);
  epoch_.store(epoch);
  data_->set_epoch(epoch);
}

}  // namespace tg::data::transforms
