// Text corpora for character-level models (<tapegrad/data/text.hpp>).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/dispatch.hpp"
#include "data/byte_source.hpp"
#include <tapegrad/data/text.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::data {
namespace {

namespace fs = std::filesystem;
using detail::fail;

// A file's bytes, inflated when gzip, refused past max_bytes: a plain file by
// its size before anything is read, a gzip one as soon as it inflates past it.
std::string read_text_file(const std::string& path, std::uint64_t max_bytes, const char* who) {
  const std::string label = std::string(who) + ": '" + path + "'";
  ByteSource source(path, label, "a text file", read_limits());
  if (!source.gzip() && source.file_size() > max_bytes)
    fail(label, " holds ", source.file_size(), " bytes, more than max_bytes = ", max_bytes);
  std::string text;
  std::string chunk(1 << 16, '\0');
  for (;;) {
    const std::size_t n = source.read(chunk.data(), chunk.size());
    if (text.size() + n > max_bytes) fail(label, " holds more than max_bytes = ", max_bytes, " bytes");
    text.append(chunk, 0, n);
    if (n < chunk.size()) break;
  }
  if (source.gzip_cut_short()) fail(label, " is a gzip file cut short");
  return text;
}

}  // namespace

std::vector<std::string> parse_fortunes(const std::string& text, const std::string& /*name*/) {
  std::vector<std::string> entries;
  std::string entry;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool last = end == std::string::npos;
    std::string line = text.substr(pos, last ? std::string::npos : end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = last ? text.size() : end + 1;
    if (line == "%") {
      if (!entry.empty()) entries.push_back(std::move(entry));
      entry.clear();
      continue;
    }
    entry += line;
    if (!last) entry += '\n';
  }
  if (!entry.empty()) entries.push_back(std::move(entry));
  return entries;
}

std::vector<std::string> read_fortunes(const std::string& path, std::uint64_t max_bytes) {
  return parse_fortunes(read_text_file(path, max_bytes, "read_fortunes"), path);
}

std::string find_fortunes_dir(const std::string& dir) {
  const char* how = "Install them with `apt-get install fortunes` (plain-text quotations in /usr/share/games/fortunes).";
  std::error_code ec;
  if (!dir.empty()) {
    if (fs::is_directory(dir, ec)) return dir;
    fail("fortunes: ", dir, " (given explicitly, the only place looked at) is not a directory. ", how);
  }
  if (const char* env = std::getenv("TAPEGRAD_FORTUNES"); env && *env) {
    if (fs::is_directory(env, ec)) return env;
    fail("fortunes: $TAPEGRAD_FORTUNES = ", env, " is not a directory (when set, it is the only place looked at)");
  }
  const std::string standard = "/usr/share/games/fortunes";
  if (fs::is_directory(standard, ec)) return standard;
  fail("fortunes not found. Looked in: ", standard, " (no such directory; $TAPEGRAD_FORTUNES is not set). ", how);
}

std::vector<std::string> load_fortunes(const std::string& dir, std::uint64_t max_bytes) {
  const std::string where = find_fortunes_dir(dir);
  std::vector<fs::path> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(where, ec))
    if (e.is_regular_file(ec) && !e.is_symlink(ec) && !e.path().has_extension()) files.push_back(e.path());
  if (ec) fail("load_fortunes: cannot list ", where, ": ", ec.message());
  if (files.empty())
    fail("load_fortunes: ", where, " holds no fortune file (a regular file whose name has no extension)");
  std::sort(files.begin(), files.end());
  std::vector<std::string> entries;
  std::uint64_t left = max_bytes;
  for (const fs::path& f : files) {
    std::uint64_t bytes = 0;
    for (std::string& e : read_fortunes(f.string(), left)) {
      bytes += e.size();
      entries.push_back(std::move(e));
    }
    left -= std::min(left, bytes);
  }
  return entries;
}

CharVocabulary::CharVocabulary(const std::string& text) {
  if (text.empty()) fail("CharVocabulary: the text is empty, so there are no symbols");
  std::array<bool, 256> seen{};
  for (unsigned char c : text) seen[c] = true;
  index_.fill(-1);
  for (int b = 0; b < 256; ++b)
    if (seen[b]) {
      index_[b] = static_cast<std::int16_t>(symbols_.size());
      symbols_.push_back(static_cast<char>(b));
    }
}

Tensor CharVocabulary::encode(const std::string& text) const {
  std::vector<std::int64_t> ids(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int id = index_[static_cast<unsigned char>(text[i])];
    if (id < 0)
      fail("CharVocabulary::encode: byte ", static_cast<int>(static_cast<unsigned char>(text[i])), " at position ",
           i, " is not one of the vocabulary's ", size(), " symbols");
    ids[i] = id;
  }
  return tensor_i64(ids, {static_cast<std::int64_t>(ids.size())});
}

std::string CharVocabulary::decode(const Tensor& indices) const {
  if (!indices.defined() || indices.dtype() != kInt64)
    fail("CharVocabulary::decode: indices must be an int64 tensor, got ", describe(indices));
  std::string text;
  text.reserve(static_cast<std::size_t>(indices.numel()));
  for (std::int64_t id : indices.to_vector<std::int64_t>()) {
    if (id < 0 || id >= size())
      fail("CharVocabulary::decode: index ", id, " is outside [0, ", size(), ") in ", describe(indices));
    text.push_back(symbols_[static_cast<std::size_t>(id)]);
  }
  return text;
}

Batch text_windows(const Tensor& tokens, std::int64_t length, std::int64_t offset) {
  if (!tokens.defined() || tokens.dtype() != kInt64 || tokens.dim() != 1)
    fail("text_windows: tokens must be an int64 [n] tensor, got ", describe(tokens));
  const std::int64_t n = tokens.numel();
  if (length < 1) fail("text_windows: length must be at least 1, got ", length);
  if (offset < 0 || offset >= n) fail("text_windows: offset ", offset, " is outside [0, ", n, ") of ", describe(tokens));
  const std::int64_t windows = (n - offset - 1) / length;
  if (windows < 1)
    fail("text_windows: ", describe(tokens), " from offset ", offset, " holds ", n - offset, " tokens, fewer than the ",
         length + 1, " one window of length ", length, " needs");
  const std::int64_t used = windows * length;
  Batch b;
  b.inputs = reshape(narrow(tokens, 0, offset, used), {windows, length}).clone();
  b.targets = reshape(narrow(tokens, 0, offset + 1, used), {windows, length}).clone();
  return b;
}

}  // namespace tg::data
