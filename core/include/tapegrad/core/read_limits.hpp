// tapegrad — limits on what the file readers allocate.
//
// A small file can ask for a lot of memory: a 2 MB gzip file inflating to
// 2 GiB, a 261 KB PNG declaring 16384x16384 pixels, a 55 MB checkpoint of
// 4 million tiny tensors. Each reader checks what a file asks for against these
// limits *before* allocating it, and refuses with std::invalid_argument naming
// the file, the limit and how to raise it (much like PIL's MAX_IMAGE_PIXELS).
// The defaults hold every real data set and checkpoint tapegrad is used with,
// with room to spare; raise a limit for a genuine file that needs more, for the
// whole process or for one call:
//
// @code
//   tg::ReadLimits limits = tg::read_limits();           // the current ones
//   limits.max_inflated_bytes = std::uint64_t{4} << 30;  // 4 GiB
//   tg::set_read_limits(limits);                         // every later read
//   tg::set_read_limits(tg::ReadLimits());               // back to the defaults
//   // or per call: tg::data::read_idx(path, limits), tg::load(model, path, limits)
// @endcode
#pragma once

#include <cstdint>

namespace tg {

/// What a reader may allocate for one file. Plain (uncompressed) files are
/// bounded by their size on disk as well.
struct ReadLimits {
  /// Bytes a gzip-compressed IDX file may inflate to (header and data): 1 GiB.
  /// MNIST's training images are 47 MB, EMNIST ByClass's 0.55 GB.
  std::uint64_t max_inflated_bytes = std::uint64_t{1} << 30;
  /// Pixels (width x height) of a picture (data::read_image, data::ImageFolder):
  /// 2^27 = 134217728, e.g. 16384 x 8192 — a 100-megapixel photo fits.
  std::uint64_t max_image_pixels = std::uint64_t{1} << 27;
  /// Tensors in one checkpoint or safetensors file: 100000. Large models have
  /// a few thousand; their optimizer state three times as many.
  std::uint64_t max_checkpoint_tensors = 100000;
  /// Bytes of data in one checkpoint or safetensors file: 16 GiB (a
  /// 4-billion-parameter float32 model). Loading a checkpoint holds the file
  /// and the tensors: twice this.
  std::uint64_t max_checkpoint_bytes = std::uint64_t{1} << 34;
  /// Bytes of a safetensors file's JSON header: 100000000, the limit of the
  /// reference implementation (a header holds about 100 bytes per tensor).
  std::uint64_t max_safetensors_header_bytes = 100'000'000;
};

/// The limits the readers use when a call is not given its own (initially
/// the defaults above). Safe to call from any thread.
ReadLimits read_limits();

/// Replaces the process-wide limits (see read_limits). Safe to call from any
/// thread; a read already running keeps the limits it started with.
void set_read_limits(const ReadLimits& limits);

}  // namespace tg
