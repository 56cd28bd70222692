// IDX reader: header validation over one byte source, plain file or gzip stream.
//
// Plain files are checked against their size on disk before the data buffer
// is allocated. A gzip file cannot tell its decompressed size up front, so the
// header's promise is bounded by kMaxIdxBytes, ReadLimits::max_inflated_bytes
// and by what the compressed size can possibly expand to; then the stream is
// read to its very end, which makes zlib verify each member's CRC-32 and length
// trailer and reveals any extra data.
#include <tapegrad/data/idx.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>

#include "core/checked_math.hpp"
#include "core/dispatch.hpp"
#include "core/read_limits_message.hpp"
#include "data/byte_source.hpp"

namespace tg::data {
namespace {

namespace fs = std::filesystem;
using detail::fail;

// Deflate needs at least 2 bits (a 1-bit length code and a 1-bit distance code)
// to repeat a 258-byte match, so one compressed byte never yields more than
// 4 * 258 = 1032 bytes; gzip adds headers, which only lowers the ratio.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

constexpr std::uint8_t kUnsignedByte = 0x08;

std::string hex(std::uint32_t value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*X", digits, value);
  return buf;
}

// The IDX element types, by the third byte of the magic number.
const char* element_type_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

std::uint32_t big_endian_u32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

// Reads `n` header bytes or explains that the file ends inside the header.
void read_header_bytes(ByteSource& src, unsigned char* dst, std::size_t n, std::size_t already, const std::string& path) {
  const std::size_t got = src.read(dst, n);
  if (got < n)
    fail(path, ": truncated: the file ends inside the IDX header (", already + got, " of ", already + n, " bytes)");
}

}  // namespace

IdxArray read_idx(const std::string& path, const ReadLimits& limits) {
  ByteSource src(path, path, "an IDX file", limits);

  // ---- the magic number: 0x00 0x00 <type> <number of dimensions> -----------
  unsigned char magic[4];
  read_header_bytes(src, magic, 4, 0, path);
  const std::uint32_t magic_value = big_endian_u32(magic);
  if (magic[0] != 0 || magic[1] != 0)
    fail(path, ": not an IDX file: bad magic number ", hex(magic_value, 8), " (it must start with two zero bytes)");
  const std::uint8_t type = magic[2];
  if (type != kUnsignedByte) {
    if (const char* name = element_type_name(type))
      fail(path, ": element type ", hex(type, 2), " (", name, ") is not supported; only ", hex(kUnsignedByte, 2),
           " (unsigned byte) is");
    fail(path, ": unknown element type ", hex(type, 2), " in magic number ", hex(magic_value, 8),
         " (IDX types are 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)");
  }
  const int ndims = magic[3];
  if (ndims == 0 || ndims > kMaxIdxDims)
    fail(path, ": the header declares ", ndims, " dimensions (magic number ", hex(magic_value, 8),
         "); between 1 and ", kMaxIdxDims, " are supported");

  // ---- the extents, and the data size they promise -------------------------
  unsigned char extents[4 * kMaxIdxDims];
  read_header_bytes(src, extents, 4 * static_cast<std::size_t>(ndims), 4, path);
  IdxArray out;
  bool any_zero = false;
  for (int i = 0; i < ndims; ++i) {
    out.dims.push_back(big_endian_u32(extents + 4 * i));
    any_zero = any_zero || out.dims.back() == 0;
  }
  // The limit applies to the extents other than zero too: [0, 2^32-1, 2^32-1]
  // holds no data, but as a tensor shape its extents overflow int64 (in
  // Shape::numel and strides), so it is refused like any corrupt header.
  std::uint64_t expected = 1;
  for (const std::int64_t d : out.dims) {
    if (d == 0) continue;
    const auto extent = static_cast<std::uint64_t>(d);
    if (expected > kMaxIdxBytes / extent)  // also guards the multiplication against overflow
      fail(path, ": the header's dimensions ", detail::extents_str(out.dims), " describe more than ", kMaxIdxBytes,
           " bytes of data", any_zero ? " (leaving out the zero extents)" : "", " (kMaxIdxBytes); the header is corrupt");
    expected *= extent;
  }
  if (any_zero) expected = 0;
  const std::uint64_t header_bytes = 4 + 4 * static_cast<std::uint64_t>(ndims);

  // ---- check the promise against the file before allocating ----------------
  if (!src.gzip()) {
    const std::uint64_t available = src.file_size() - header_bytes;
    if (available < expected) fail(path, ": truncated: expected ", expected, " bytes of data, got ", available);
    if (available > expected)
      fail(path, ": ", available - expected, " unexpected bytes after the ", expected,
           " bytes of data that the header's dimensions ", detail::extents_str(out.dims), " describe");
  } else if (header_bytes + expected > limits.max_inflated_bytes) {
    // Before allocating: the header promises more than a gzip file may inflate to.
    fail(path, ": the header's dimensions ", detail::extents_str(out.dims), " describe ", expected,
         " bytes of data, so the file inflates to more than ", limits.max_inflated_bytes, " bytes ",
         detail::raise_limit_advice("max_inflated_bytes"));
  } else if (expected > kMaxDeflateRatio * src.file_size()) {
    fail(path, ": truncated: expected ", expected, " bytes of data, but a gzip file of ", src.file_size(),
         " bytes holds at most ", kMaxDeflateRatio * src.file_size(), " (deflate expands at most 1032:1)");
  }

  // ---- the data ---------------------------------------------------------------
  out.data.resize(expected);
  const std::size_t got = src.read(out.data.data(), expected);
  if (got < expected)
    fail(path, ": truncated: expected ", expected, " bytes of data, got ", got,
         src.gzip_cut_short() ? " (the gzip stream is cut off)" : "");

  if (src.gzip()) {
    // Read on to the end of the stream: zlib checks the CRC there, and any
    // further bytes mean the header's extents are wrong.
    std::uint64_t extra = 0;
    char scratch[1 << 16];
    while (extra <= kMaxIdxBytes) {
      const std::size_t n = src.read(scratch, sizeof scratch);
      if (n == 0) break;
      extra += n;
    }
    if (extra > 0)
      fail(path, ": ", extra > kMaxIdxBytes ? "more than " : "", std::min(extra, kMaxIdxBytes),
           " unexpected bytes after the ", expected,
           " bytes of data that the header's dimensions ", detail::extents_str(out.dims), " describe");
    if (src.gzip_cut_short())
      fail(path, ": truncated: the gzip stream is cut off after all ", expected,
           " bytes of data, before its end-of-stream checksum");
  }
  return out;
}

}  // namespace tg::data
