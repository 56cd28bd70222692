// tapegrad — reading tabular data from CSV files into tensors.
//
// @code
//   tg::data::CsvOptions options;
//   options.target = "species";          // or an index: 2, or -1 for the last column
//   options.categorical = {"colour"};    // one-hot by default: "colour=blue, dark", "colour=red"
//   tg::data::CsvData table = tg::data::parse_csv(
//       "petal,colour,species\n1.4,red,setosa\n4.7,\"blue, dark\",versicolor\n", options);
//   // table.features: float32 [2,3] = {{1.4, 0, 1}, {4.7, 1, 0}}
//   // table.targets: int64 [2] = {0, 1}; table.classes = {"setosa", "versicolor"}
//   if (table.targets.to_vector<std::int64_t>() != std::vector<std::int64_t>{0, 1}) throw std::logic_error("csv");
//   // From a file (plain or gzip): tg::data::read_csv("flowers.csv.gz", options)
// @endcode
//
// The format is RFC 4180's: fields separated by a delimiter (',' by default),
// records by "\n" or "\r\n"; a field may be quoted ("...") and then holds
// delimiters, line breaks and doubled quotes ("" for one "). Beyond the RFC:
// a UTF-8 byte-order mark is skipped; spaces and tabs around an unquoted field
// are dropped; lines that are entirely blank are skipped; the first skip_rows
// lines (summaries, comments) are skipped unparsed; gzip files are recognised
// by their magic bytes (1f 8b), whatever their name.
//
// Every column is numeric unless listed in CsvOptions::categorical, and the
// reader trusts nothing: a missing value, a cell that is not a number, a row
// with the wrong number of fields, an unterminated quote, an empty file and a
// file larger than CsvOptions::max_bytes are each refused with a
// std::invalid_argument naming read_csv, the file, the line (1-based, as an
// editor counts) and data row, and the column (name and 0-based index).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg::data {

/// The default CsvOptions::max_bytes: 256 MiB of text.
///
/// What reading keeps stays within a few times max_bytes, whatever the file: a
/// number takes 8 bytes for at least 2 of text ("1,"); the fields of a header
/// or first row are capped at max_bytes / sizeof(std::string), and a longer
/// later row is only counted; the distinct classes or categories of a column
/// may take max_bytes (about 4 strings each); the features tensor max_bytes.
inline constexpr std::uint64_t kMaxCsvBytes = std::uint64_t{256} << 20;

/// A column of a CSV file: by its header name, or by its 0-based index (negative
/// indices count from the end: -1 is the last column). Default: no column.
class CsvColumn {
 public:
  CsvColumn() = default;
  CsvColumn(std::string name);  // NOLINT: implicit, so options.target = "species" works
  CsvColumn(const char* name);  // NOLINT
  CsvColumn(int index);         // NOLINT: options.target = -1
  CsvColumn(std::int64_t index);  // NOLINT

  /// A command-line value: an integer ("3", "-1") is an index, anything else a name.
  static CsvColumn parse(const std::string& text);

  bool empty() const { return kind_ == Kind::None; }
  bool by_name() const { return kind_ == Kind::Name; }
  const std::string& name() const { return name_; }
  std::int64_t index() const { return index_; }
  /// "'species'" or "index -1", for messages.
  std::string str() const;

 private:
  enum class Kind { None, Name, Index };
  Kind kind_ = Kind::None;
  std::string name_;
  std::int64_t index_ = 0;
};

/// How a categorical feature column becomes numbers.
enum class CategoricalEncoding {
  OneHot,  ///< one 0/1 feature per category, named "column=category"
  Index,   ///< one feature holding the category's index (0, 1, ...)
};

/// What the target column holds.
enum class CsvTargetKind {
  Classes,  ///< class labels (any text): int64 indices into CsvData::classes
  Values,   ///< numbers (regression): a float tensor [N]
};

struct CsvOptions {
  bool has_header = true;        ///< the first record (after skip_rows) names the columns
  char delimiter = ',';
  char quote = '"';
  std::int64_t skip_rows = 0;    ///< lines skipped, unparsed, before the header or data
  CsvColumn target;              ///< the target column; none: every column is a feature
  CsvTargetKind target_kind = CsvTargetKind::Classes;
  std::vector<CsvColumn> categorical;  ///< feature columns holding categories, not numbers
  CategoricalEncoding encoding = CategoricalEncoding::OneHot;
  std::vector<CsvColumn> ignore;       ///< columns left out entirely (IDs, free text)
  /// Cells that count as missing, besides an empty cell. A missing value is an error.
  std::vector<std::string> missing = {"NA", "N/A", "NaN", "nan", "null", "?"};
  Dtype dtype = kFloat32;        ///< of the features (and of the targets for Values)
  /// The most bytes read (after gzip decompression), of the features tensor, and
  /// of one column's distinct classes or categories: more is refused before
  /// memory runs out (see kMaxCsvBytes).
  std::uint64_t max_bytes = kMaxCsvBytes;
};

/// A CSV file as tensors.
struct CsvData {
  Tensor features;  ///< [N, F] of CsvOptions::dtype, one row per data row
  /// [N] int64 indices into `classes` (CsvTargetKind::Classes) or [N] values
  /// (CsvTargetKind::Values); undefined without a target column.
  Tensor targets;
  std::vector<std::string> columns;        ///< every column's name (without a header: "0", "1", ...)
  std::vector<std::string> feature_names;  ///< F names: a column's, or "column=category" for one-hot
  std::string target_name;                 ///< the target column's name ("" without one)
  /// The target's classes: class i is the text classes[i]. Sorted: by value when
  /// every label is an integer (so labels 0..k-1 keep their numbers), else as text.
  std::vector<std::string> classes;
  /// For each categorical feature column (in file order): its name and its
  /// categories, sorted as the classes are; index i encodes categories[i].
  std::vector<std::pair<std::string, std::vector<std::string>>> categories;
  std::int64_t rows() const { return features.defined() ? features.size(0) : 0; }
};

/// Reads the CSV file at `path` (plain or gzip). See the top of this header for
/// the format and what is refused.
CsvData read_csv(const std::string& path, const CsvOptions& options = {});

/// The same for CSV text in memory; messages name the source "<text>".
CsvData parse_csv(const std::string& text, const CsvOptions& options = {});

}  // namespace tg::data
