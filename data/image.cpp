// Picture files through stb_image (libstb): the dimensions first, checked
// against ReadLimits::max_image_pixels, then the pixels, from one open file.
//
// Thread safety rests on libstb itself: stb_image keeps each decode's state in
// the call, and Debian's libstb (stb_image 2.27, built as C11) declares the
// failure reason STBI_THREAD_LOCAL — libstb.so reads it through
// __tls_get_addr — so stbi_failure_reason() after a failed call in this thread
// is this call's reason, whatever other DataLoader workers decode meanwhile.
// The other process-wide state (flip on load, iPhone PNG handling) is only
// ever set by stb's setters, which tapegrad never calls.
#include <tapegrad/data/image.hpp>

#include <stb/stb_image.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/dispatch.hpp"
#include "core/read_limits_message.hpp"

namespace tg::data {
namespace {

namespace fs = std::filesystem;
using detail::fail;

// stb_image's req_comp: the channels to convert to, 0 for as stored.
int requested_channels(ImageChannels channels) {
  switch (channels) {
    case ImageChannels::Keep: return 0;
    case ImageChannels::Gray: return 1;
    case ImageChannels::GrayAlpha: return 2;
    case ImageChannels::Rgb: return 3;
    case ImageChannels::Rgba: return 4;
  }
  fail("read_image: unknown ImageChannels value ", static_cast<int>(channels));
}

// stb_image's reason for a failed decode, as " (stb_image: ...)", or "" when it
// gave none. stb sets a reason on most failures but not all, and keeps the last
// one, which may be left from probing other formats in stbi_info: a reason
// still equal to the one before the decode is not this decode's.
std::string decode_reason(const char* before) {
  const char* after = stbi_failure_reason();
  if (!after || !*after || after == before) return "";
  return std::string(" (stb_image: ") + after + ")";
}

}  // namespace

Tensor read_image(const std::string& path, ImageChannels channels, const ReadLimits& limits) {
  const int requested = requested_channels(channels);
  const std::string name = "'" + path + "'";
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) fail("read_image: ", name, ": cannot open: no such file");
  if (fs::is_directory(status)) fail("read_image: ", name, ": cannot read: it is a directory, not an image");

  // One open file for both steps, so the pixels decoded are those of the header checked.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) fail("read_image: ", name, ": cannot open: ", std::strerror(errno));
  int width = 0, height = 0, stored = 0;
  if (!stbi_info_from_file(file.get(), &width, &height, &stored)) {
    // stbi_info's reason is always "unknown image type": it tries every format in turn.
    if (std::fgetc(file.get()) == EOF) fail("read_image: ", name, " is empty");
    fail("read_image: ", name,
         " is not an image stb_image reads (PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC, PNM), or its header is corrupt");
  }
  const std::uint64_t pixels = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
  if (pixels > limits.max_image_pixels)
    fail("read_image: ", name, ": the image is ", width, "x", height, " = ", pixels, " pixels, more than ",
         limits.max_image_pixels, " ", detail::raise_limit_advice("max_image_pixels"));

  const char* reason_before = stbi_failure_reason();
  int decoded_width = 0, decoded_height = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> data(
      stbi_load_from_file(file.get(), &decoded_width, &decoded_height, &stored, requested), &stbi_image_free);
  if (!data)
    fail("read_image: ", name, ": cannot decode the ", width, "x", height, " image", decode_reason(reason_before),
         ": the file is corrupt or truncated, or uses a feature stb_image lacks");
  // The decoders read the header again; should one disagree with stbi_info, the
  // tensor (8 bytes a value) is still sized by what was checked.
  if (decoded_width != width || decoded_height != height)
    fail("read_image: ", name, ": the header says ", width, "x", height, " but ", decoded_width, "x",
         decoded_height, " pixels were decoded");

  // stb_image gives rows of interleaved channels (HWC); tensors are [C, H, W].
  const int channel_count = requested ? requested : stored;
  Tensor out = empty({channel_count, height, width}, kInt64);
  std::int64_t* dst = out.data<std::int64_t>();
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  const unsigned char* src = data.get();
  for (std::size_t p = 0; p < plane; ++p)
    for (int c = 0; c < channel_count; ++c)
      dst[static_cast<std::size_t>(c) * plane + p] = src[p * static_cast<std::size_t>(channel_count) + c];
  return out;
}

}  // namespace tg::data
