// Image filters by convolution (tg::image, on conv2d).
//
//   image_filters [IMAGE] [--out DIR]
//
// Reads a PNG/JPEG (any format tg::data::read_image reads; at most
// tg::ReadLimits::max_image_pixels pixels, checked before decoding) or, without
// IMAGE, draws a built-in test picture (written as test_picture.png and read
// back the same way) as grayscale (BT.601 luma), and writes gray, 3x3 box blur,
// sharpen, edges (the gradient
// amplitude of the blurred image, as the seed's dog) and the response to the
// edge-detection kernel as PNGs into DIR (default out/image_filters). Then it
// replays the seed's pattern-detection demo — a 3x3 cross hidden in noise —
// writes that image and its response map, and prints where the cross was found.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

namespace {

void usage(const char* argv0) {
  std::printf(
      "usage: %s [IMAGE] [--out DIR]\n"
      "  IMAGE      a PNG/JPEG/BMP/... to filter; without it a test picture is drawn\n"
      "  --out DIR  where to write the PNGs (default out/image_filters)\n"
      "Writes (test_picture.png,) gray.png, blur.png, sharpen.png, edges.png, edge_kernel.png,\n"
      "cross_noisy.png and cross_response.png, and prints where the cross is.\n",
      argv0);
}

// The built-in test picture, 256x256 RGB: a soft background gradient, a disc,
// a rectangle, a ring and a checkerboard — edges in every direction and at every scale.
std::vector<unsigned char> test_picture(int size) {
  std::vector<unsigned char> rgb(static_cast<std::size_t>(size) * size * 3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double u = double(x) / size, v = double(y) / size;
      double r = 0.25 + 0.3 * u, g = 0.2 + 0.3 * v, b = 0.35;
      if (std::hypot(u - 0.3, v - 0.3) < 0.16) r = 0.95, g = 0.8, b = 0.2;           // disc
      if (u > 0.55 && u < 0.9 && v > 0.15 && v < 0.4) r = 0.1, g = 0.6, b = 0.9;      // rectangle
      const double ring = std::hypot(u - 0.7, v - 0.72);
      if (ring > 0.12 && ring < 0.17) r = g = b = 0.95;                                // ring
      if (u < 0.45 && v > 0.6 && int(x / 8 + y / 8) % 2 == 0) r = g = b = 0.05;       // checkerboard
      unsigned char* p = &rgb[(static_cast<std::size_t>(y) * size + x) * 3];
      p[0] = static_cast<unsigned char>(std::lround(255 * r));
      p[1] = static_cast<unsigned char>(std::lround(255 * g));
      p[2] = static_cast<unsigned char>(std::lround(255 * b));
    }
  return rgb;
}

// Writes an [H,W] tensor as an 8-bit PNG, mapping [lo, hi] to [0, 255];
// with lo == hi the tensor's own range is stretched to fill [0, 255].
bool write_png(const std::filesystem::path& file, const Tensor& img, double lo = 0, double hi = 1) {
  const std::vector<double> v = img.to_vector<double>();
  if (lo == hi && !v.empty()) {
    lo = *std::min_element(v.begin(), v.end());
    hi = *std::max_element(v.begin(), v.end());
    if (hi == lo) hi = lo + 1;
  }
  std::vector<unsigned char> bytes(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    bytes[i] = static_cast<unsigned char>(std::lround(255 * std::clamp((v[i] - lo) / (hi - lo), 0.0, 1.0)));
  const int h = static_cast<int>(img.size(0)), w = static_cast<int>(img.size(1));
  if (!stbi_write_png(file.string().c_str(), w, h, 1, bytes.data(), w)) {
    std::fprintf(stderr, "image_filters: could not write %s\n", file.string().c_str());
    return false;
  }
  std::printf("  wrote %s (%dx%d)\n", file.string().c_str(), w, h);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string input;
  std::filesystem::path out_dir = "out/image_filters";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(argv[0]);
      return 0;
    }
    if (a == "--out") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "image_filters: --out needs a directory\n");
        return 2;
      }
      out_dir = argv[++i];
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "image_filters: unknown option %s\n", a.c_str());
      usage(argv[0]);
      return 2;
    } else if (input.empty()) {
      input = a;
    } else {
      std::fprintf(stderr, "image_filters: one image at a time (got %s and %s)\n", input.c_str(), a.c_str());
      return 2;
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "image_filters: cannot create %s: %s\n", out_dir.string().c_str(), ec.message().c_str());
    return 1;
  }
  if (input.empty()) {
    const int size = 256;
    input = (out_dir / "test_picture.png").string();
    if (!stbi_write_png(input.c_str(), size, size, 3, test_picture(size).data(), size * 3)) {
      std::fprintf(stderr, "image_filters: could not write %s\n", input.c_str());
      return 1;
    }
    std::printf("no image given: drew the built-in %dx%d test picture into %s\n", size, size, input.c_str());
  }

  Tensor gray;  // float32 [H, W] in [0, 1]
  try {
    // int64 [1, H, W] of 0..255; refuses more than tg::ReadLimits::max_image_pixels
    const Tensor pixels = data::read_image(input, data::ImageChannels::Gray);
    gray = reshape(pixels, {pixels.size(1), pixels.size(2)}).to(kFloat32) / 255.0;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "image_filters: %s\n", e.what());
    return 1;
  }
  std::printf("%s: %ldx%ld\n", input.c_str(), long(gray.size(1)), long(gray.size(0)));

  // Grey, blur, sharpen and edge filters. Pixel values stay in [0,1] for gray/blur;
  // sharpening overshoots and is clipped; edges are stretched to full range.
  const Tensor blur = image::box_blur(gray, 3);
  const Tensor sharp = image::conv_matrix(gray, image::sharpen_kernel());
  const Tensor edges = image::gradient_amplitude(blur);
  const Tensor edge_response = abs(image::conv_matrix(gray, image::edge_kernel()));
  bool ok = write_png(out_dir / "gray.png", gray) && write_png(out_dir / "blur.png", blur) &&
            write_png(out_dir / "sharpen.png", sharp) && write_png(out_dir / "edges.png", edges, 0, 0) &&
            write_png(out_dir / "edge_kernel.png", edge_response, 0, 0);

  // Pattern detection: np.pad(pattern, [(12, 12), (10, 14)]), then
  // 0.5 * image + 0.5 * noise; the cross's centre is at row 12 + 1, column 10 + 1.
  const Tensor pattern = tensor({0, 1, 0, 1, 1, 1, 0, 1, 0}, {3, 3});
  manual_seed(0);
  const Tensor noisy = pad2d(pattern, {10, 14, 12, 12}) * 0.5 + rand({27, 27}) * 0.5;
  Tensor response;
  const auto [row, col] = image::find_pattern(noisy, pattern, &response);
  ok = write_png(out_dir / "cross_noisy.png", noisy) && write_png(out_dir / "cross_response.png", response, 0, 0) &&
       ok;
  std::printf("cross pattern found at row %ld, column %ld (placed at row 13, column 11) — %s\n", long(row),
              long(col), row == 13 && col == 11 ? "found" : "missed");
  return ok ? 0 : 1;
}
