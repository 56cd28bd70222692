// CSV reader: a byte source (plain file, gzip stream or a string), a record
// parser (RFC 4180 quoting) that keeps the line each record starts on, and the
// conversion of each record's cells as soon as it is read, so an error names
// the exact line and nothing but numbers and category ids is kept in memory.
//
// Memory is bounded by CsvOptions::max_bytes: the source stops with an error
// past it (counted after decompression, so a gzip bomb stops there too), every
// kept value comes from at least two bytes of text, and the features tensor's
// size is checked before it is allocated (one-hot encoding can multiply it).
#include <tapegrad/data/csv.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <unordered_map>

#include "core/dispatch.hpp"
#include "data/byte_source.hpp"

namespace tg::data {

// ---- CsvColumn --------------------------------------------------------------------

CsvColumn::CsvColumn(std::string name) : kind_(Kind::Name), name_(std::move(name)) {}
CsvColumn::CsvColumn(const char* name) : CsvColumn(std::string(name ? name : "")) {}
CsvColumn::CsvColumn(int index) : kind_(Kind::Index), index_(index) {}
CsvColumn::CsvColumn(std::int64_t index) : kind_(Kind::Index), index_(index) {}

CsvColumn CsvColumn::parse(const std::string& text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (!text.empty() && ec == std::errc() && ptr == end) return CsvColumn(value);
  return CsvColumn(text);
}

std::string CsvColumn::str() const {
  switch (kind_) {
    case Kind::Name: return "'" + name_ + "'";
    case Kind::Index: return "index " + std::to_string(index_);
    default: return "(none)";
  }
}

namespace {

namespace fs = std::filesystem;
using detail::fail;

// ---- bytes in -----------------------------------------------------------------------

// Bytes of a file (plain or gzip: ByteSource, as read_idx reads them) or of a
// string, through a buffer, counted against max_bytes.
class Source {
 public:
  Source(const std::string& path, std::uint64_t max_bytes)
      : name_("'" + path + "'"),
        max_bytes_(max_bytes),
        file_(std::make_unique<ByteSource>(path, "read_csv: " + name_, "a CSV file", read_limits())) {
    buffer_.resize(1 << 16);
  }
  explicit Source(const std::string& text, std::uint64_t max_bytes, bool /*in_memory*/)
      : name_("<text>"), max_bytes_(max_bytes), text_(&text) {}
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  const std::string& name() const { return name_; }
  std::uint64_t bytes_read() const { return consumed_; }

  /// The next byte, or -1 at the end.
  int get() {
    if (pos_ == end_ && !refill()) return -1;
    ++consumed_;
    return static_cast<unsigned char>(data_[pos_++]);
  }
  /// The next byte without consuming it, or -1 at the end.
  int peek() {
    if (pos_ == end_ && !refill()) return -1;
    return static_cast<unsigned char>(data_[pos_]);
  }

 private:
  bool refill() {
    if (text_) {
      if (text_done_) return false;
      text_done_ = true;
      data_ = text_->data();
      pos_ = 0;
      end_ = text_->size();
    } else {
      const std::size_t got = file_->read(buffer_.data(), buffer_.size());
      if (got == 0 && file_->gzip_cut_short()) fail("read_csv: ", name_, ": truncated: the gzip stream is cut off");
      data_ = buffer_.data();
      pos_ = 0;
      end_ = got;
    }
    // Checked per buffer, before its bytes are parsed: nothing past the limit is kept.
    if (loaded_ + end_ > max_bytes_)
      fail("read_csv: ", name_, " holds more than max_bytes = ", max_bytes_, " bytes",
           file_ && file_->gzip() ? " (after gzip decompression)" : "",
           "; raise CsvOptions::max_bytes to read a file this large");
    loaded_ += end_;
    return end_ > 0;
  }

  std::string name_;
  std::uint64_t max_bytes_;
  const std::string* text_ = nullptr;
  bool text_done_ = false;
  std::unique_ptr<ByteSource> file_;  // null for a string
  std::vector<char> buffer_;
  const char* data_ = nullptr;
  std::size_t pos_ = 0, end_ = 0;
  std::uint64_t loaded_ = 0, consumed_ = 0;
};

// ---- records ------------------------------------------------------------------------

struct Record {
  std::vector<std::string> fields;  // at most Parser's field cap
  std::int64_t extra = 0;           // fields beyond the cap: counted, not kept
  std::int64_t line = 0;            // 1-based line the record starts on
  std::int64_t count() const { return static_cast<std::int64_t>(fields.size()) + extra; }
};

// What one kept field costs besides its characters: a line of delimiters
// (",,,,") would otherwise turn each byte into a 32-byte std::string.
constexpr std::uint64_t kFieldOverhead = sizeof(std::string);

bool is_blank(char c, char delimiter) { return (c == ' ' || c == '\t') && c != delimiter; }

// Splits the source into records of fields (RFC 4180), tracking line numbers.
class Parser {
 public:
  Parser(Source& src, const CsvOptions& o)
      : src_(src), delim_(o.delimiter), quote_(o.quote), cap_(std::max<std::uint64_t>(1, o.max_bytes / kFieldOverhead)) {
    if (delim_ == '\n' || delim_ == '\r' || delim_ == quote_)
      fail("read_csv: the delimiter ", shown(delim_), " cannot be a line break or the quote character");
    // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first cell.
    if (src_.peek() == 0xEF) {
      src_.get();
      if (src_.get() != 0xBB || src_.get() != 0xBF)
        fail("read_csv: ", src_.name(), ": the file starts with byte 0xEF but not with a UTF-8 byte-order mark");
    }
  }

  static std::string shown(char c) {
    if (c == '\t') return "'\\t'";
    return std::string("'") + c + "'";
  }

  std::int64_t line() const { return line_; }

  /// Keeps at most `n` fields of a record (and counts the rest): once the
  /// header or first row has set the width, a longer row needs only its count.
  void cap_fields(std::uint64_t n) { cap_ = n; }
  std::uint64_t field_cap() const { return cap_; }

  /// Skips `n` lines without parsing them; returns how many there were.
  std::int64_t skip_lines(std::int64_t n) {
    std::int64_t skipped = 0;
    while (skipped < n) {
      const int c = src_.get();
      if (c < 0) {
        if (at_line_start_) break;
        at_line_start_ = true;
        ++skipped;
        break;
      }
      at_line_start_ = false;
      if (c == '\n') {
        ++line_;
        ++skipped;
        at_line_start_ = true;
      }
    }
    return skipped;
  }

  /// Reads the next record that is not a blank line; false at the end of the data.
  bool next(Record& rec) {
    for (;;) {
      if (!read_record(rec)) return false;
      const bool blank = rec.count() == 1 && rec.fields[0].empty() && !last_quoted_;
      if (!blank) return true;
    }
  }

 private:
  enum class State { FieldStart, Unquoted, Quoted, AfterQuote };

  // Ends the current field: unquoted fields lose trailing spaces and tabs.
  void end_field(Record& rec, std::string& field, State state) {
    if (state == State::Unquoted)
      while (!field.empty() && is_blank(field.back(), delim_)) field.pop_back();
    if (rec.fields.size() < cap_)
      rec.fields.push_back(std::move(field));
    else
      ++rec.extra;
    field.clear();
  }

  bool read_record(Record& rec) {
    rec.fields.clear();
    rec.extra = 0;
    rec.line = line_;
    std::string field;
    State state = State::FieldStart;
    std::int64_t quote_line = 0;
    bool any = false;
    last_quoted_ = false;
    for (;;) {
      int c = src_.get();
      if (c == '\r' && src_.peek() == '\n' && state != State::Quoted) c = src_.get();  // "\r\n" ends a line
      if (c < 0) {
        if (state == State::Quoted)
          fail("read_csv: ", src_.name(), " line ", quote_line,
               ": a quoted field is never closed (the file ends inside it)");
        if (!any) return false;
        end_field(rec, field, state);
        ++line_;
        return true;
      }
      any = true;
      const char ch = static_cast<char>(c);
      switch (state) {
        case State::FieldStart:
          if (ch == quote_) {
            state = State::Quoted;
            quote_line = line_;
            last_quoted_ = true;
          } else if (ch == delim_) {
            end_field(rec, field, state);
          } else if (ch == '\n') {
            end_field(rec, field, state);
            ++line_;
            return true;
          } else if (!is_blank(ch, delim_)) {
            field.push_back(ch);
            state = State::Unquoted;
          }
          break;
        case State::Unquoted:
          if (ch == delim_) {
            end_field(rec, field, state);
            state = State::FieldStart;
          } else if (ch == '\n') {
            end_field(rec, field, state);
            ++line_;
            return true;
          } else {
            field.push_back(ch);  // a quote inside an unquoted field is kept as it is
          }
          break;
        case State::Quoted:
          if (ch == quote_) {
            state = State::AfterQuote;
          } else {
            if (ch == '\n') ++line_;
            field.push_back(ch);
          }
          break;
        case State::AfterQuote:
          if (ch == quote_) {  // "" inside quotes is one quote
            field.push_back(ch);
            state = State::Quoted;
          } else if (ch == delim_) {
            end_field(rec, field, state);
            state = State::FieldStart;
          } else if (ch == '\n') {
            end_field(rec, field, state);
            ++line_;
            return true;
          } else if (!is_blank(ch, delim_)) {
            fail("read_csv: ", src_.name(), " line ", line_, ": unexpected ", shown(ch), " after the closing quote of field ",
                 rec.count() + 1, " (a quote inside a quoted field must be doubled: \"\")");
          }
          break;
      }
    }
  }

  Source& src_;
  char delim_, quote_;
  std::uint64_t cap_;
  std::int64_t line_ = 1;
  bool at_line_start_ = true;
  bool last_quoted_ = false;
};

// ---- cells --------------------------------------------------------------------------

// A finite decimal number, the whole cell (locale-independent, no hex).
bool parse_number(const std::string& cell, double& out) {
  const char* begin = cell.data();
  const char* end = begin + cell.size();
  if (begin != end && *begin == '+') ++begin;
  if (begin == end) return false;
  const auto [ptr, ec] = std::from_chars(begin, end, out, std::chars_format::general);
  return ec == std::errc() && ptr == end;
}

bool parse_integer(const std::string& cell, std::int64_t& out) {
  const char* begin = cell.data();
  const char* end = begin + cell.size();
  if (begin != end && *begin == '+') ++begin;
  if (begin == end) return false;
  const auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end;
}

// Distinct texts of a column, each cell kept as the id of its text.
struct Dictionary {
  std::unordered_map<std::string, std::int64_t> ids;
  std::vector<std::string> texts;
  std::vector<std::int64_t> cells;
  std::uint64_t bytes = 0;  // an estimate of what ids and texts hold

  /// Adds a cell; false when the distinct texts would take more than `budget` bytes.
  bool add(const std::string& text, std::uint64_t budget) {
    auto [it, inserted] = ids.emplace(text, static_cast<std::int64_t>(texts.size()));
    if (inserted) {
      // Two copies of the text, a hash node and a vector slot: about 4 strings' worth.
      bytes += 2 * text.size() + 4 * sizeof(std::string);
      if (bytes > budget) return false;
      texts.push_back(text);
    }
    cells.push_back(it->second);
    return true;
  }
  // Sorts the texts (by value when all are integers, else as text) and renumbers the cells.
  std::vector<std::string> sorted() {
    const std::size_t k = texts.size();
    std::vector<std::int64_t> as_int(k);
    bool integers = true;
    for (std::size_t i = 0; i < k && integers; ++i) integers = parse_integer(texts[i], as_int[i]);
    std::vector<std::size_t> order(k);
    std::iota(order.begin(), order.end(), 0);
    if (integers)
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return as_int[a] < as_int[b]; });
    else
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return texts[a] < texts[b]; });
    std::vector<std::int64_t> rank(k);
    std::vector<std::string> out(k);
    for (std::size_t r = 0; r < k; ++r) {
      rank[order[r]] = static_cast<std::int64_t>(r);
      out[r] = texts[order[r]];
    }
    for (std::int64_t& c : cells) c = rank[static_cast<std::size_t>(c)];
    return out;
  }
};

enum class Role { Ignored, Numeric, Categorical, Target };

struct Column {
  std::string name;
  Role role = Role::Numeric;
  std::vector<double> values;  // Numeric, and a Values target
  Dictionary dict;             // Categorical, and a Classes target
};

// ---- the reader -----------------------------------------------------------------------

class CsvReader {
 public:
  CsvReader(Source& src, const CsvOptions& o) : src_(src), o_(o) {}

  CsvData read() {
    if (o_.skip_rows < 0) fail("read_csv: skip_rows must be >= 0, got ", o_.skip_rows);
    if (o_.dtype != kFloat32 && o_.dtype != kFloat64)
      fail("read_csv: dtype must be float32 or float64, got ", dtype_name(o_.dtype));
    Parser parser(src_, o_);
    const std::int64_t skipped = parser.skip_lines(o_.skip_rows);
    if (skipped < o_.skip_rows)
      fail("read_csv: ", src_.name(), " has ", skipped, " lines, fewer than skip_rows = ", o_.skip_rows);

    Record rec;
    if (!parser.next(rec)) {
      if (src_.bytes_read() == 0) fail("read_csv: ", src_.name(), " is empty");
      fail("read_csv: ", src_.name(), " has no data", o_.skip_rows > 0 ? " after the skipped lines" : "",
           " (only blank lines)");
    }
    if (rec.extra > 0)
      fail("read_csv: ", src_.name(), " line ", rec.line, " has more than ", parser.field_cap(),
           " fields, more than max_bytes = ", o_.max_bytes, " allows (", kFieldOverhead, " bytes per field)");
    std::int64_t width_line = rec.line;
    const char* width_source = o_.has_header ? "the header" : "the first row";
    if (o_.has_header) {
      setup(rec.fields);
      if (!parser.next(rec))
        fail("read_csv: ", src_.name(), " has a header (line ", width_line, ") but no data rows");
    } else {
      std::vector<std::string> names(rec.fields.size());
      for (std::size_t i = 0; i < names.size(); ++i) names[i] = std::to_string(i);
      setup(names);
    }
    parser.cap_fields(columns_.size() + 1);  // a longer row is an error: its count is enough

    std::int64_t row = 0;
    do {
      ++row;
      if (rec.count() != static_cast<std::int64_t>(columns_.size()))
        fail("read_csv: ", src_.name(), " line ", rec.line, " (data row ", row, ") has ", rec.count(),
             rec.count() == 1 ? " field" : " fields", ", but ", width_source, " (line ", width_line, ") has ",
             columns_.size());
      for (std::size_t j = 0; j < columns_.size(); ++j) take(columns_[j], j, rec.fields[j], rec.line, row);
    } while (parser.next(rec));
    return assemble(row);
  }

 private:
  // Names the columns and gives each its role from the options.
  void setup(const std::vector<std::string>& names) {
    columns_.resize(names.size());
    for (std::size_t j = 0; j < names.size(); ++j) columns_[j].name = names[j];
    auto resolve = [&](const CsvColumn& c, const char* what) -> std::size_t {
      const auto n = static_cast<std::int64_t>(names.size());
      if (!c.by_name()) {
        const std::int64_t i = c.index() < 0 ? c.index() + n : c.index();
        if (i < 0 || i >= n) fail("read_csv: ", src_.name(), ": ", what, " index ", c.index(), " is out of range for ", n,
                                  n == 1 ? " column" : " columns", " (-", n, " to ", n - 1, ")");
        return static_cast<std::size_t>(i);
      }
      if (!o_.has_header)
        fail("read_csv: ", src_.name(), ": ", what, " ", c.str(), " is given by name, but the file has no header (",
             "has_header = false); give its index instead");
      std::size_t found = names.size();
      for (std::size_t j = 0; j < names.size(); ++j)
        if (names[j] == c.name()) {
          if (found != names.size())
            fail("read_csv: ", src_.name(), ": ", what, " ", c.str(), " is ambiguous: columns ", found, " and ", j,
                 " both have that name; give its index instead");
          found = j;
        }
      if (found == names.size()) {
        std::string list;
        for (std::size_t j = 0; j < names.size() && j < 12; ++j) list += (j ? ", '" : "'") + names[j] + "'";
        if (names.size() > 12) list += ", ...";
        fail("read_csv: ", src_.name(), ": no column named ", c.str(), " (the ", what, "); the header has ", list);
      }
      return found;
    };
    for (const CsvColumn& c : o_.ignore) columns_[resolve(c, "ignored column")].role = Role::Ignored;
    for (const CsvColumn& c : o_.categorical) columns_[resolve(c, "categorical column")].role = Role::Categorical;
    if (!o_.target.empty()) {
      target_ = resolve(o_.target, "target column");
      columns_[target_].role = Role::Target;
    }
  }

  std::string where(std::size_t j, std::int64_t line, std::int64_t row) const {
    std::string col = o_.has_header ? "column '" + columns_[j].name + "' (index " + std::to_string(j) + ")"
                                    : "column index " + std::to_string(j);
    return detail::cat("read_csv: ", src_.name(), " line ", line, " (data row ", row, "), ", col);
  }

  bool is_missing(const std::string& cell) const {
    return cell.empty() || std::find(o_.missing.begin(), o_.missing.end(), cell) != o_.missing.end();
  }

  void take(Column& col, std::size_t j, const std::string& cell, std::int64_t line, std::int64_t row) {
    if (col.role == Role::Ignored) return;
    if (is_missing(cell))
      fail(where(j, line, row), ": missing value", cell.empty() ? " (an empty cell)" : " '" + cell + "'",
           "; fill it in or drop the row");
    const bool numeric = col.role == Role::Numeric || (col.role == Role::Target && o_.target_kind == CsvTargetKind::Values);
    if (!numeric) {
      if (!col.dict.add(cell, o_.max_bytes))
        fail(where(j, line, row), ": more than ", col.dict.texts.size(), " distinct ",
             col.role == Role::Target ? "classes" : "categories", " take more than max_bytes = ", o_.max_bytes,
             " bytes; is this column really ", col.role == Role::Target ? "a class label" : "categorical",
             "? (CsvTargetKind::Values reads a numeric target)");
      return;
    }
    double v = 0;
    if (!parse_number(cell, v))
      fail(where(j, line, row), ": '", cell, "' is not a number",
           col.role == Role::Target ? " (a target of class labels needs CsvTargetKind::Classes)"
                                    : " (list the column in CsvOptions::categorical if it holds categories)");
    if (!std::isfinite(v)) fail(where(j, line, row), ": '", cell, "' is not a finite number");
    col.values.push_back(v);
  }

  CsvData assemble(std::int64_t n) {
    CsvData out;
    std::int64_t width = 0;
    for (Column& c : columns_) {
      out.columns.push_back(c.name);
      if (c.role == Role::Numeric || (c.role == Role::Categorical && o_.encoding == CategoricalEncoding::Index)) {
        ++width;
      } else if (c.role == Role::Categorical) {
        width += static_cast<std::int64_t>(c.dict.texts.size());
      }
    }
    // One-hot can turn a small file into a huge table: check before allocating.
    const std::uint64_t bytes = static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(width) * element_size(o_.dtype);
    if (width > 0 && bytes / static_cast<std::uint64_t>(width) / element_size(o_.dtype) != static_cast<std::uint64_t>(n))
      fail("read_csv: ", src_.name(), ": the features table [", n, ",", width, "] is too large to count");
    if (bytes > o_.max_bytes)
      fail("read_csv: ", src_.name(), ": the features table [", n, ",", width, "] ", dtype_name(o_.dtype), " would take ",
           bytes, " bytes, more than max_bytes = ", o_.max_bytes,
           " (one-hot columns take one feature per category; use CategoricalEncoding::Index or raise max_bytes)");

    out.features = zeros({n, width}, o_.dtype);
    if (o_.dtype == kFloat32)
      fill(out, out.features.data<float>(), n, width);
    else
      fill(out, out.features.data<double>(), n, width);

    if (!o_.target.empty()) {
      Column& t = columns_[target_];
      out.target_name = t.name;
      if (o_.target_kind == CsvTargetKind::Values) {
        out.targets = tensor(t.values, {n}, o_.dtype);
      } else {
        out.classes = t.dict.sorted();
        out.targets = tensor_i64(t.dict.cells, {n});
      }
    }
    return out;
  }

  // Writes the feature columns into the zeroed [n, width] table and names them.
  template <class T> void fill(CsvData& out, T* table, std::int64_t n, std::int64_t width) {
    auto at = [&](std::int64_t i, std::int64_t f) -> T& { return table[i * width + f]; };
    std::int64_t f = 0;
    for (Column& c : columns_) {
      if (c.role == Role::Numeric) {
        for (std::int64_t i = 0; i < n; ++i) at(i, f) = static_cast<T>(c.values[static_cast<std::size_t>(i)]);
        out.feature_names.push_back(c.name);
        ++f;
      } else if (c.role == Role::Categorical) {
        std::vector<std::string> cats = c.dict.sorted();
        if (o_.encoding == CategoricalEncoding::Index) {
          for (std::int64_t i = 0; i < n; ++i) at(i, f) = static_cast<T>(c.dict.cells[static_cast<std::size_t>(i)]);
          out.feature_names.push_back(c.name);
          ++f;
        } else {
          for (std::int64_t i = 0; i < n; ++i) at(i, f + c.dict.cells[static_cast<std::size_t>(i)]) = T(1);
          for (const std::string& cat : cats) out.feature_names.push_back(c.name + "=" + cat);
          f += static_cast<std::int64_t>(cats.size());
        }
        out.categories.emplace_back(c.name, std::move(cats));
      }
    }
  }

  Source& src_;
  const CsvOptions& o_;
  std::vector<Column> columns_;
  std::size_t target_ = 0;
};

}  // namespace

CsvData read_csv(const std::string& path, const CsvOptions& options) {
  Source src(path, options.max_bytes);
  return CsvReader(src, options).read();
}

CsvData parse_csv(const std::string& text, const CsvOptions& options) {
  Source src(text, options.max_bytes, true);
  return CsvReader(src, options).read();
}

}  // namespace tg::data
