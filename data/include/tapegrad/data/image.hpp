// tapegrad — reading picture files (PNG, JPEG, BMP, GIF, ... through stb_image)
// as int64 tensors [C, H, W] of 8-bit values 0..255.
//
// @code
//   // A 2x1 binary PPM (P6) written by hand: a red pixel and a grey one.
//   std::FILE* file = std::fopen("two.ppm", "wb");
//   std::fputs("P6 2 1 255\n", file);
//   std::fwrite("\xff\x00\x00\x80\x80\x80", 1, 6, file);
//   std::fclose(file);
//   tg::Tensor rgb = tg::data::read_image("two.ppm");                                // int64 [3,1,2]
//   tg::Tensor gray = tg::data::read_image("two.ppm", tg::data::ImageChannels::Gray);  // int64 [1,1,2]: {76, 128}
//   tg::data::transforms::Rng rng(0, 0, 0);
//   tg::Tensor x = tg::data::transforms::to_float()(rgb, rng);   // float32 [3,1,2] in [0, 1], as ToTensor makes it
//   if (gray.to_vector<std::int64_t>() != std::vector<std::int64_t>{76, 128}) throw std::logic_error("read_image");
// @endcode
//
// Decoding is libstb's (Debian's libstb, stb_image 2.27), linked privately by
// tapegrad::data: no stb header is part of tapegrad's public headers. It reads
// PNG (1 to 16 bits per channel, palettes, transparency; 16-bit values are
// scaled to 8 bits), baseline and progressive JPEG (no 12-bit, no arithmetic
// coding), BMP, GIF (the first frame), TGA, PSD (the composited image), HDR
// (tone-mapped to 8 bits), PIC and binary PNM (PGM P5, PPM P6). It does not
// read TIFF or WebP. Its checks are those of stb_image: a PNG or JPEG cut short
// is refused, but a BMP, TGA or PNM cut short decodes with zeros for the
// missing pixels.
//
// Threads. read_image may be called from several threads at once (a
// DataLoader's workers do): the decoders keep their state per call, and
// stb_image's failure reason is a thread-local variable in libstb. read_image
// never calls stb_image's process-wide setters; a program that calls
// stbi_set_flip_vertically_on_load (or stbi_set_unpremultiply_on_load,
// stbi_convert_iphone_png_to_rgb) itself changes what read_image returns.
#pragma once

#include <string>

#include <tapegrad/core/read_limits.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::data {

/// Which channels read_image returns, whatever the file stores (PIL's
/// Image.convert modes "L", "LA", "RGB", "RGBA").
enum class ImageChannels {
  Keep,       ///< as stored: 1 gray, 2 gray + alpha, 3 RGB or 4 RGBA
  Gray,       ///< 1: colour becomes its luma (see below); alpha is dropped
  GrayAlpha,  ///< 2: luma and alpha (255 where the file has no alpha)
  Rgb,        ///< 3: gray is repeated in R, G and B; alpha is dropped (not blended)
  Rgba,       ///< 4: RGB and alpha (255 where the file has no alpha)
};

/// The picture file at `path` as an int64 tensor [C, H, W] of values 0..255,
/// C as `channels` asks (`transforms::to_float()` makes it float32 in [0, 1]).
///
/// Colour becomes gray as stb_image does it: the ITU-R BT.601 luma in 8-bit
/// fixed point, Y = (77 R + 150 G + 29 B) >> 8 — within 1 of PIL's convert("L")
/// (which rounds 0.299 R + 0.587 G + 0.114 B), and 255 for white. (A JPEG asked
/// for gray gives its own luma plane, which is BT.601's too.) Alpha is dropped,
/// never blended.
///
/// The image's dimensions are read first, from the same open file: an image of
/// more than limits.max_image_pixels pixels (width x height) is refused before
/// anything is decoded, since a small compressed file can declare gigabytes of
/// pixels. Throws std::invalid_argument naming read_image and the file when the
/// file is missing, a directory, empty, not an image stb_image reads, too large,
/// or cannot be decoded (then with stb_image's reason, e.g. "bad zlib header").
Tensor read_image(const std::string& path, ImageChannels channels = ImageChannels::Keep,
                  const ReadLimits& limits = read_limits());

}  // namespace tg::data
