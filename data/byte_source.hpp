// Bytes of a file, inflated when it starts with the gzip magic 1f 8b: the one
// way the data readers (IDX, CSV) read files, so both treat gzip alike.
//
// gzip is inflated with zlib's inflate rather than gzread, which silently
// ignores anything after a gzip member that is not another member. RFC 1952
// makes a gzip file a series of members, which gunzip concatenates: so do we,
// and refuse any other bytes after a member as trailing garbage. The inflated
// total is held to ReadLimits::max_inflated_bytes. Private to the data layer.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include <tapegrad/core/read_limits.hpp>

namespace tg::data {

class ByteSource {
 public:
  /// Opens `path`. Messages start with `label` (e.g. the path, or
  /// "read_csv: 'path'"); `kind` names what the file should be ("an IDX file")
  /// when it is a directory. Throws std::invalid_argument when the file is
  /// missing, a directory or unreadable.
  ByteSource(const std::string& path, std::string label, const char* kind, const ReadLimits& limits);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  /// Whether the file is gzip (and read inflated).
  bool gzip() const { return gzip_; }
  /// The size of the file on disk (compressed, for gzip).
  std::uint64_t file_size() const { return file_size_; }
  /// True when a gzip file ended in the middle of a member.
  bool gzip_cut_short() const { return cut_short_; }

  /// Reads up to n bytes; returns fewer only at the end of the data. Throws on
  /// a read error, a corrupt gzip stream, trailing garbage, or when the inflated
  /// total would pass the limit.
  std::size_t read(void* dst, std::size_t n);

 private:
  std::size_t read_plain(unsigned char* out, std::size_t n);
  std::size_t read_gzip(unsigned char* out, std::size_t n);
  void next_member();
  bool refill();

  std::string label_;
  ReadLimits limits_;
  std::uint64_t file_size_ = 0;
  bool gzip_ = false;
  bool inflating_ = false;
  bool cut_short_ = false;
  bool finished_ = false;       // the last member ended at the end of the file
  std::uint64_t inflated_ = 0;  // bytes handed out so far
  std::uint64_t read_from_file_ = 0;
  std::FILE* file_ = nullptr;
  z_stream z_{};
  unsigned char in_[1 << 17];
};

}  // namespace tg::data
