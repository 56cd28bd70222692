// tapegrad — reading IDX files, the format of MNIST and Fashion-MNIST.
//
// An IDX file is a big-endian header — a 32-bit magic number 0x0000TTDD whose
// third byte TT is the element type and whose fourth byte DD is the number of
// dimensions, then one uint32 extent per dimension — followed by the elements
// in row-major order. Files may be stored plain or gzip-compressed; gzip is
// recognised by its magic bytes (1f 8b), whatever the file is called.
//
// The reader trusts nothing in the file: a header that does not describe the
// data that follows is refused with std::invalid_argument naming the file and
// what is wrong, before anything large is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/read_limits.hpp>

namespace tg::data {

/// The most data bytes read_idx accepts from one file: 2 GiB. The largest IDX
/// data sets in use (EMNIST ByClass, 0.55 GB of images) fit well below it; a
/// header that promises more is taken as corrupt and refused.
inline constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 31;

/// The most dimensions an IDX header may declare (as many as a tg::Shape holds).
inline constexpr int kMaxIdxDims = 8;

/// A decoded IDX file of unsigned bytes (element type 0x08).
struct IdxArray {
  std::vector<std::int64_t> dims;  ///< the extents from the header, e.g. {60000, 28, 28}
  std::vector<std::uint8_t> data;  ///< exactly product(dims) elements, row-major
};

/// Reads the IDX file at `path`, plain or gzip-compressed (detected by content).
///
/// Only unsigned-byte files (type 0x08, as MNIST) are supported; other element
/// types are refused by name. Refused, with a message naming `path` and the
/// problem: a missing or unreadable file; a magic number whose first two bytes
/// are not zero; 0 or more than kMaxIdxDims dimensions; dimensions whose product
/// exceeds kMaxIdxBytes, zero extents left out (so [0, 2^32-1, 2^32-1], which holds
/// no data but whose extents overflow int64 as a tensor shape, is refused); less data than the header promises ("truncated: expected
/// N bytes of data, got M"); any byte after the data (trailing bytes mean the
/// header's extents are wrong, so they are an error rather than ignored); a
/// corrupt gzip stream (bad deflate data, CRC or length check). For a gzip file
/// the promised size is also checked, before the data buffer is allocated,
/// against `limits.max_inflated_bytes` (header and data; see
/// <tapegrad/core/read_limits.hpp>) and against what the compressed size can
/// hold (deflate expands at most 1032:1); the inflated stream is held to that
/// limit too. A gzip file may hold several members, read as one stream (as
/// gunzip does); any other byte after a member is refused as trailing garbage.
IdxArray read_idx(const std::string& path, const ReadLimits& limits = read_limits());

}  // namespace tg::data
