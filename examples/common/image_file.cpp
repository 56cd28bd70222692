// Picture files through stb_image (libstb): dimensions first, then the pixels.
#include "common/image_file.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include <stb/stb_image.h>

#include <tapegrad/ops/ops.hpp>

namespace tg::examples {

Tensor gray_from_pixels(const unsigned char* pixels, int w, int h, int channels) {
  const int colour = channels == 2 || channels == 4 ? channels - 1 : channels;  // ignore alpha
  std::vector<double> gray(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
  for (std::size_t i = 0; i < gray.size(); ++i) {
    double s = 0;
    for (int c = 0; c < colour; ++c) s += pixels[i * channels + c];
    gray[i] = s / (255.0 * colour);
  }
  return tensor(gray, {h, w});
}

Tensor load_gray_image(const std::string& path, const ReadLimits& limits) {
  // One open file for both steps, so the pixels decoded are those of the header checked.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw std::invalid_argument(path + ": cannot open the image");
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_file(file.get(), &w, &h, &channels))
    throw std::invalid_argument(path + ": cannot read the image: " + stbi_failure_reason());
  const std::uint64_t pixels = static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h);
  if (pixels > limits.max_image_pixels)
    throw std::invalid_argument(path + ": the image is " + std::to_string(w) + "x" + std::to_string(h) + " = " +
                                std::to_string(pixels) + " pixels, more than " +
                                std::to_string(limits.max_image_pixels) +
                                " (the limit tg::ReadLimits::max_image_pixels); raise it, with tg::set_read_limits "
                                "or per call, if the file is genuine");
  std::unique_ptr<unsigned char, void (*)(void*)> data(stbi_load_from_file(file.get(), &w, &h, &channels, 0),
                                                       &stbi_image_free);
  if (!data) throw std::invalid_argument(path + ": cannot read the image: " + stbi_failure_reason());
  return gray_from_pixels(data.get(), w, h, channels);
}

}  // namespace tg::examples
