// tapegrad — text for character-level language models: fortune-cookie files as
// a corpus, a character vocabulary, and the windows a model trains on.
//
// @code
//   // Stand-in for tg::data::load_fortunes(): the entries of every fortune file.
//   std::vector<std::string> entries = tg::data::parse_fortunes("Think.\n%\nThink again.\n%\n", "<text>");
//   // entries == {"Think.\n", "Think again.\n"}
//   tg::data::CharVocabulary vocab(entries[0] + entries[1]);     // "\n .Tadghikn": 10 symbols
//   tg::Tensor ids = vocab.encode("Think again.\n");             // int64 [13]
//   tg::data::Batch windows = tg::data::text_windows(ids, 4);    // 3 windows of 4 and their next characters
//   // windows.inputs [3,4] = ids[0..3], ids[4..7], ids[8..11]; windows.targets = the same shifted by one
//   if (vocab.decode(ids) != "Think again.\n") throw std::logic_error("text");
// @endcode
//
// The fortune format (strfile(1)'s input) is plain text whose entries are
// separated by lines holding only "%". Files are read whole, up to a byte limit
// checked before anything is allocated; bytes are symbols (UTF-8 text gives a
// vocabulary of bytes, as in byte-level models), so any file is valid text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/batches.hpp>

namespace tg::data {

/// The default max_bytes of the text readers: 256 MiB.
constexpr std::uint64_t kDefaultTextMaxBytes = std::uint64_t{256} << 20;

/// The entries of fortune-format `text` ("%" lines separate them), in order,
/// each with its own line ends; empty entries are dropped, and "\r\n" is read
/// as "\n". `name` labels errors (there are none for text already in memory).
std::vector<std::string> parse_fortunes(const std::string& text, const std::string& name);

/// The entries of the fortune file `path` (plain or gzip). Throws
/// std::invalid_argument naming the file when it is missing, a directory,
/// unreadable, or larger than max_bytes.
std::vector<std::string> read_fortunes(const std::string& path, std::uint64_t max_bytes = kDefaultTextMaxBytes);

/// Where load_fortunes looks when given no directory: $TAPEGRAD_FORTUNES when
/// set (and only it), else /usr/share/games/fortunes (Debian's `fortunes`
/// package). Throws std::invalid_argument listing the places looked at and how
/// to install the package when none is a directory.
std::string find_fortunes_dir(const std::string& dir = "");

/// The entries of every fortune file in `dir` (find_fortunes_dir when empty):
/// the regular files whose names have no extension (strfile's ".dat" indexes
/// and the ".u8" links beside them are skipped), in name order, at most
/// max_bytes in all. Throws std::invalid_argument when the directory holds no
/// fortune file, or as read_fortunes.
std::vector<std::string> load_fortunes(const std::string& dir = "", std::uint64_t max_bytes = kDefaultTextMaxBytes);

/// The symbols (bytes) of a text, numbered 0..size()-1 in byte order.
class CharVocabulary {
 public:
  /// The distinct bytes of `text`; throws std::invalid_argument when it is empty.
  explicit CharVocabulary(const std::string& text);
  /// Number of symbols (1..256).
  std::int64_t size() const { return static_cast<std::int64_t>(symbols_.size()); }
  /// The symbols in index order: symbols()[i] is the byte of index i. A
  /// vocabulary made from symbols() is this one (save it beside a model).
  const std::string& symbols() const { return symbols_; }
  /// int64 [text.size()] indices. Throws std::invalid_argument naming the first
  /// byte that is not a symbol and its position.
  Tensor encode(const std::string& text) const;
  /// The text of int64 indices (any shape, read in order). Throws
  /// std::invalid_argument for another dtype or an index outside [0, size()).
  std::string decode(const Tensor& indices) const;

 private:
  std::string symbols_;
  std::array<std::int16_t, 256> index_{};  // -1: not a symbol
};

/// Next-symbol windows of an int64 [n] token sequence for teacher forcing:
/// inputs [N, length] are tokens[offset + i*length + t] and targets [N, length]
/// the token after each, N = (n - offset - 1) / length (whole windows only).
/// Throws std::invalid_argument for tokens that are not int64 [n], length < 1,
/// an offset outside [0, n), or fewer than length + 1 tokens after offset.
Batch text_windows(const Tensor& tokens, std::int64_t length, std::int64_t offset = 0);

}  // namespace tg::data
