// ByteSource: plain or gzip file bytes for the data readers (see byte_source.hpp).
#include "data/byte_source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "core/dispatch.hpp"
#include "core/read_limits_message.hpp"

namespace tg::data {

namespace fs = std::filesystem;
using detail::fail;

ByteSource::ByteSource(const std::string& path, std::string label, const char* kind, const ReadLimits& limits)
    : label_(std::move(label)), limits_(limits) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) fail(label_, ": cannot open: no such file");
  if (fs::is_directory(status)) fail(label_, ": cannot read: it is a directory, not ", kind);
  file_size_ = fs::file_size(path, ec);
  if (ec) fail(label_, ": cannot read its size: ", ec.message());

  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) fail(label_, ": cannot open: ", std::strerror(errno));
  try {  // the destructor does not run for a constructor that throws
    refill();
    gzip_ = z_.avail_in >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (!gzip_) {
      std::rewind(file_);  // plain files are read straight from the file
      z_.avail_in = 0;
      return;
    }
    if (inflateInit2(&z_, 15 + 16) != Z_OK) fail(label_, ": cannot start inflating: out of memory");
    inflating_ = true;
  } catch (...) {
    std::fclose(file_);
    throw;
  }
}

ByteSource::~ByteSource() {
  if (inflating_) inflateEnd(&z_);
  if (file_) std::fclose(file_);
}

std::size_t ByteSource::read(void* dst, std::size_t n) {
  return gzip_ ? read_gzip(static_cast<unsigned char*>(dst), n) : read_plain(static_cast<unsigned char*>(dst), n);
}

std::size_t ByteSource::read_plain(unsigned char* out, std::size_t n) {
  std::size_t total = 0;
  while (total < n) {
    const std::size_t got = std::fread(out + total, 1, n - total, file_);
    if (std::ferror(file_)) fail(label_, ": read error: ", std::strerror(errno));
    if (got == 0) break;
    total += got;
  }
  return total;
}

std::size_t ByteSource::read_gzip(unsigned char* out, std::size_t n) {
  // Never inflate past the limit: ask for at most one byte more than it allows.
  const std::uint64_t allowed = limits_.max_inflated_bytes - std::min(inflated_, limits_.max_inflated_bytes);
  const std::uint64_t one_past = allowed < std::numeric_limits<std::uint64_t>::max() ? allowed + 1 : allowed;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, one_past));
  std::size_t total = 0;
  while (total < want && !finished_) {
    if (z_.avail_in == 0 && !refill()) {
      cut_short_ = true;  // the file ended inside a member
      break;
    }
    z_.next_out = out + total;
    z_.avail_out = static_cast<uInt>(std::min<std::size_t>(want - total, std::size_t{1} << 30));
    const uInt before = z_.avail_out;
    const int r = inflate(&z_, Z_NO_FLUSH);
    total += before - z_.avail_out;
    if (r == Z_STREAM_END)
      next_member();
    else if (r == Z_MEM_ERROR)
      fail(label_, ": inflating: out of memory");
    else if (r != Z_OK && r != Z_BUF_ERROR)  // Z_BUF_ERROR: needs more input, refilled above
      fail(label_, ": corrupt gzip stream: ", z_.msg ? z_.msg : "unknown zlib error");
  }
  inflated_ += total;
  if (inflated_ > limits_.max_inflated_bytes)
    fail(label_, ": inflates to more than ", limits_.max_inflated_bytes, " bytes ",
         detail::raise_limit_advice("max_inflated_bytes"));
  return total;
}

// After the end of a member: the end of the file, another member, or garbage.
void ByteSource::next_member() {
  if (z_.avail_in < 2) refill();
  if (z_.avail_in == 0) {
    finished_ = true;
  } else if (z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b) {
    inflateReset(&z_);
  } else {
    const std::uint64_t consumed = read_from_file_ - z_.avail_in;
    const std::uint64_t left = file_size_ - std::min(consumed, file_size_);
    fail(label_, ": ", left, left == 1 ? " byte" : " bytes", " after the end of the gzip data ",
         left == 1 ? "is" : "are", " not another gzip member (trailing garbage)");
  }
}

// Moves the unread input to the front of the buffer and tops it up from the
// file; false when nothing is left to read.
bool ByteSource::refill() {
  if (z_.avail_in > 0 && z_.next_in != in_) std::memmove(in_, z_.next_in, z_.avail_in);
  const std::size_t got = std::fread(in_ + z_.avail_in, 1, sizeof in_ - z_.avail_in, file_);
  if (std::ferror(file_)) fail(label_, ": read error: ", std::strerror(errno));
  read_from_file_ += got;
  z_.next_in = in_;
  z_.avail_in += static_cast<uInt>(got);
  return z_.avail_in > 0;
}

}  // namespace tg::data
