// Metrics JSON and history CSV: exact number text, atomic replacement; the
// JSON text of metric values, shared with the metrics logger (metrics_text.hpp).
#include <tapegrad/train/metrics.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <tapegrad/train/atomic_file.hpp>
#include <tapegrad/train/fit.hpp>

#include "train/metrics_text.hpp"

namespace tg::detail {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_value(const train::MetricValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return std::isfinite(*d) ? train::number_text(*d) : "null";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&v)) return json_string(*s);
  return std::get<bool>(v) ? "true" : "false";
}

std::string json_object(const train::MetricsRow& row, const std::string& context) {
  std::set<std::string> keys;
  std::string out = "{";
  for (const auto& [key, value] : row) {
    if (!keys.insert(key).second) throw std::invalid_argument(context + ": key \"" + key + "\" appears twice");
    if (out.size() > 1) out += ", ";
    out += json_string(key) + ":" + json_value(value);
  }
  return out + "}";
}

}  // namespace tg::detail

namespace tg::train {

namespace fs = std::filesystem;

namespace {

// The whole of `text` as T (from_chars: no locale, no leading '+' or spaces).
template <class T> std::optional<T> parse_whole(const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, value);
  if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return value;
}

const char* const kHistoryHeader = "epoch,batch,loss,accuracy";

[[noreturn]] void fail_io(const std::string& what, const fs::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

std::string number_text(double value) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

std::optional<double> parse_number(const std::string& text) { return parse_whole<double>(text); }

std::optional<std::int64_t> parse_integer(const std::string& text) { return parse_whole<std::int64_t>(text); }

std::string metrics_json(const RunMetrics& m) {
  MetricsRow row = {{"test_accuracy", m.test_accuracy},
                    {"train_loss", m.train_loss},
                    {"epochs", m.epochs},
                    {"seconds", m.seconds},
                    {"images_per_second", m.images_per_second}};
  row.insert(row.end(), m.extra.begin(), m.extra.end());
  return detail::json_object(row, "metrics_json");
}

void write_metrics_json(const fs::path& path, const RunMetrics& m) {
  write_file_atomically(path, metrics_json(m) + "\n", {/*create_directories*/ true, "write_metrics_json"});
}

RunMetrics run_metrics(const nn::FitHistory& history) {
  RunMetrics m;
  m.epochs = static_cast<std::int64_t>(history.epochs.size());
  std::int64_t samples = 0;
  for (const nn::EpochReport& e : history.epochs) {
    m.seconds += e.seconds;
    samples += e.samples;
  }
  m.images_per_second = m.seconds > 0 ? static_cast<double>(samples) / m.seconds : 0;
  if (!history.epochs.empty()) {
    m.train_loss = history.epochs.back().train_loss;
    m.test_accuracy = history.epochs.back().val_accuracy.value_or(0);
  }
  return m;
}

std::vector<BatchRecord> batch_records(const nn::FitHistory& history) {
  std::vector<BatchRecord> records;
  records.reserve(history.batches.size());
  for (const nn::BatchReport& b : history.batches) records.push_back({b.epoch + 1, b.batch + 1, b.loss, b.accuracy});
  return records;
}

void write_history_csv(const fs::path& path, const std::vector<BatchRecord>& history) {
  std::string text = std::string(kHistoryHeader) + "\n";
  for (const BatchRecord& r : history)
    text += std::to_string(r.epoch) + "," + std::to_string(r.batch) + "," + number_text(r.loss) + "," +
            number_text(r.accuracy) + "\n";
  write_file_atomically(path, text, {/*create_directories*/ true, "write_history_csv"});
}

std::vector<BatchRecord> read_history_csv(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail_io("cannot open", path);
  std::string line;
  if (!std::getline(in, line) || line != kHistoryHeader)
    throw std::runtime_error(path.string() + ": line 1 should be '" + kHistoryHeader + "'");
  std::vector<BatchRecord> rows;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
    const auto epoch = fields.size() == 4 ? parse_integer(fields[0]) : std::nullopt;
    const auto batch = fields.size() == 4 ? parse_integer(fields[1]) : std::nullopt;
    const auto loss = fields.size() == 4 ? parse_number(fields[2]) : std::nullopt;
    const auto accuracy = fields.size() == 4 ? parse_number(fields[3]) : std::nullopt;
    if (!epoch || !batch || !loss || !accuracy)
      throw std::runtime_error(path.string() + ":" + std::to_string(line_no) +
                               ": expected epoch,batch,loss,accuracy, got '" + line + "'");
    rows.push_back({*epoch, *batch, *loss, *accuracy});
  }
  return rows;
}

}  // namespace tg::train
