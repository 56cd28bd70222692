// MetricsLogger: rows streamed as JSON lines, the CSV rewritten atomically.
#include <tapegrad/train/metrics_logger.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <tapegrad/train/atomic_file.hpp>
#include <tapegrad/train/fit.hpp>

#include "train/metrics_text.hpp"

namespace tg::train {

namespace fs = std::filesystem;

namespace {

// A CSV field as RFC 4180 has it: quoted, with its quotes doubled, when it
// holds a delimiter, a quote or a line break; as it is otherwise.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_cell(const MetricValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return number_text(*d);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&v)) return csv_field(*s);
  return std::get<bool>(v) ? "true" : "false";
}

[[noreturn]] void io_failure(const std::string& context, const std::string& what, const fs::path& path, int err) {
  throw std::runtime_error(context + ": cannot " + what + " '" + path.string() + "': " + std::strerror(err));
}

// Creates the missing directories of `file`. Done here rather than by
// write_file_atomically, whose message names only the directory: the logger's
// errors name the file.
void create_directories_for(const fs::path& file, const std::string& context) {
  const fs::path dir = file.parent_path();
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec) io_failure(context, "create the directory '" + dir.string() + "' for", file, ec.value());
}

// Replaces `file` by `text` atomically, creating its directories first.
void write_whole(const fs::path& file, const std::string& text, const std::string& context) {
  create_directories_for(file, context);
  write_file_atomically(file, text, {/*create_directories*/ false, context});
}

}  // namespace

MetricsLogger::MetricsLogger(fs::path csv_path, fs::path jsonl_path, MetricsLoggerOptions options)
    : csv_path_(std::move(csv_path)), jsonl_path_(std::move(jsonl_path)), options_(options) {
  const char* const context = "MetricsLogger";
  if (!csv_path_.empty() && csv_path_ == jsonl_path_)
    throw std::invalid_argument(std::string(context) + ": the CSV and JSON-lines files are both '" +
                                csv_path_.string() + "'");
  if (std::isnan(options_.csv_interval_seconds) || options_.csv_interval_seconds < 0)
    throw std::invalid_argument(std::string(context) + ": csv_interval_seconds must be >= 0, got " +
                                number_text(options_.csv_interval_seconds));
  if (!csv_path_.empty()) {
    create_directories_for(csv_path_, context);
    check_writable(csv_path_, {/*create_directories*/ false, context});
  }
  if (!jsonl_path_.empty()) {
    create_directories_for(jsonl_path_, context);
    jsonl_ = std::fopen(jsonl_path_.c_str(), "w");
    if (!jsonl_) io_failure(context, "open", jsonl_path_, errno);
  }
  csv_written_ = std::chrono::steady_clock::now();
}

MetricsLogger::~MetricsLogger() {
  try {
    close();
  } catch (...) {
    // Documented: a destructor cannot report it; close() tried both files.
  }
}

void MetricsLogger::log(const MetricsRow& row) {
  const char* const context = "MetricsLogger::log";
  if (closed_) throw std::logic_error(std::string(context) + ": the logger was closed");
  if (row.empty()) throw std::invalid_argument(std::string(context) + ": the row is empty");
  for (std::size_t i = 0; i < row.size(); ++i)
    if (row[i].first.empty())
      throw std::invalid_argument(std::string(context) + ": the key of entry " + std::to_string(i + 1) +
                                  " of the row is empty");
  const std::string line = detail::json_object(row, context) + "\n";  // refuses a repeated key

  // The row is valid: record it, then write.
  std::vector<std::string> cells(columns_.size());
  for (const auto& [key, value] : row) {
    auto [at, is_new] = column_of_.emplace(key, columns_.size());
    if (is_new) {
      columns_.push_back(key);
      cells.emplace_back();
    }
    cells[at->second] = csv_cell(value);
  }
  csv_rows_.push_back(std::move(cells));
  json_lines_ += line;

  if (jsonl_) append_json_line(line);
  const std::chrono::duration<double> since_csv = std::chrono::steady_clock::now() - csv_written_;
  if (!csv_path_.empty() && since_csv.count() >= options_.csv_interval_seconds) write_csv(context);
}

void MetricsLogger::append_json_line(const std::string& line) {
  if (std::fwrite(line.data(), 1, line.size(), jsonl_) == line.size() && std::fflush(jsonl_) == 0) return;
  const int err = errno;
  // Part of the line may be in the file: stop appending, so that no later
  // line joins it; close() rewrites the file whole.
  std::fclose(jsonl_);
  jsonl_ = nullptr;
  io_failure("MetricsLogger::log", "append to", jsonl_path_, err);
}

std::string MetricsLogger::csv_text() const {
  std::string text;
  for (std::size_t c = 0; c < columns_.size(); ++c) text += (c ? "," : "") + csv_field(columns_[c]);
  if (!columns_.empty()) text += "\n";
  for (const std::vector<std::string>& cells : csv_rows_) {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c) text += ',';
      if (c < cells.size()) text += cells[c];
    }
    text += "\n";
  }
  return text;
}

void MetricsLogger::write_csv(const char* context) {
  write_whole(csv_path_, csv_text(), context);
  csv_written_ = std::chrono::steady_clock::now();
}

void MetricsLogger::flush() {
  if (!closed_ && !csv_path_.empty()) write_csv("MetricsLogger::flush");
}

void MetricsLogger::close() {
  closed_ = true;
  if (finished_) return;
  if (jsonl_) {
    std::fclose(jsonl_);  // every line was flushed; the atomic write below replaces the file
    jsonl_ = nullptr;
  }
  std::string failures;
  const auto attempt = [&](const fs::path& path, const std::string& text) {
    if (path.empty()) return;
    try {
      write_whole(path, text, "MetricsLogger::close");
    } catch (const std::exception& e) {
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  };
  attempt(csv_path_, csv_text());
  attempt(jsonl_path_, json_lines_);
  if (!failures.empty()) throw std::runtime_error(failures);
  finished_ = true;
}

void MetricsLogger::attach(nn::FitOptions& options) {
  auto earlier = std::move(options.on_epoch);
  options.on_epoch = [this, earlier](const nn::EpochReport& e) {
    log(epoch_metrics(e));
    if (earlier) earlier(e);
  };
}

MetricsRow epoch_metrics(const nn::EpochReport& report) {
  MetricsRow row = {{"epoch", report.epoch + 1}, {"train_loss", report.train_loss},
                    {"train_accuracy", report.train_accuracy}};
  if (report.val_loss) row.emplace_back("val_loss", *report.val_loss);
  if (report.val_accuracy) row.emplace_back("val_accuracy", *report.val_accuracy);
  row.emplace_back("seconds", report.seconds);
  row.emplace_back("samples", report.samples);
  return row;
}

}  // namespace tg::train
