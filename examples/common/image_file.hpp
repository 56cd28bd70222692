// Reading a picture file (PNG, JPEG, BMP, ... — what stb_image reads) as a
// grayscale matrix, within tg::ReadLimits::max_image_pixels.
#pragma once

#include <string>

#include <tapegrad/core/read_limits.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::examples {

/// 8-bit pixels, `channels` per pixel (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA),
/// as a grayscale float32 matrix [h, w] in [0, 1]: the mean of the colour
/// channels, alpha ignored.
Tensor gray_from_pixels(const unsigned char* pixels, int w, int h, int channels);

/// The image file at `path` as gray_from_pixels makes it. Its dimensions are
/// read first (stb's stbi_info): an image of more than limits.max_image_pixels
/// pixels is refused before anything is decoded — a small compressed file can
/// declare gigabytes of pixels. Throws std::invalid_argument naming the file
/// when it cannot be read or is refused.
Tensor load_gray_image(const std::string& path, const ReadLimits& limits = read_limits());

}  // namespace tg::examples
