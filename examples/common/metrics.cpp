// metrics.json and history.csv: exact number text, atomic replacement.
#include "common/metrics.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include "common/number_text.hpp"

namespace tg::examples {

namespace fs = std::filesystem;

namespace {

const char* const kHistoryHeader = "epoch,batch,loss,accuracy";

std::string json_number(double v) { return std::isfinite(v) ? detail::shortest_text(v) : "null"; }

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

std::string json_value(const MetricValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return json_number(*d);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&v)) return json_string(*s);
  return std::get<bool>(v) ? "true" : "false";
}

[[noreturn]] void fail_io(const std::string& what, const fs::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

std::string metrics_json(const RunMetrics& m) {
  std::set<std::string> keys = {"test_accuracy", "train_loss", "epochs", "seconds", "images_per_second"};
  std::string out = "{\"test_accuracy\":" + json_number(m.test_accuracy) +
                    ", \"train_loss\":" + json_number(m.train_loss) + ", \"epochs\":" + std::to_string(m.epochs) +
                    ", \"seconds\":" + json_number(m.seconds) +
                    ", \"images_per_second\":" + json_number(m.images_per_second);
  for (const auto& [key, value] : m.extra) {
    if (!keys.insert(key).second) throw std::invalid_argument("metrics_json: key \"" + key + "\" appears twice");
    out += ", " + json_string(key) + ":" + json_value(value);
  }
  return out + "}";
}

void write_file_atomically(const fs::path& path, const std::string& contents) {
  if (path.empty() || !path.has_filename())
    throw std::invalid_argument("write_file_atomically: '" + path.string() + "' is not a file name");
  const fs::path dir = path.parent_path();
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create directory " + dir.string() + ": " + ec.message());

  // The temporary sits next to the target so rename() stays on one file system.
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp-" + std::to_string(getpid()));
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail_io("cannot create", tmp);
  bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size() && std::fflush(f) == 0 &&
            fsync(fileno(f)) == 0;
  int error = ok ? 0 : errno;
  if (std::fclose(f) != 0 && ok) ok = false, error = errno;
  if (!ok) {
    std::remove(tmp.c_str());
    errno = error;
    fail_io("cannot write", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    std::remove(tmp.c_str());
    errno = rename_errno;
    fail_io("cannot replace", path);
  }
}

void write_metrics_json(const fs::path& path, const RunMetrics& m) { write_file_atomically(path, metrics_json(m) + "\n"); }

void write_history_csv(const fs::path& path, const std::vector<BatchRecord>& history) {
  std::string text = std::string(kHistoryHeader) + "\n";
  for (const BatchRecord& r : history)
    text += std::to_string(r.epoch) + "," + std::to_string(r.batch) + "," + detail::shortest_text(r.loss) + "," +
            detail::shortest_text(r.accuracy) + "\n";
  write_file_atomically(path, text);
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
    const auto epoch = fields.size() == 4 ? detail::parse_whole<std::int64_t>(fields[0]) : std::nullopt;
    const auto batch = fields.size() == 4 ? detail::parse_whole<std::int64_t>(fields[1]) : std::nullopt;
    const auto loss = fields.size() == 4 ? detail::parse_whole<double>(fields[2]) : std::nullopt;
    const auto accuracy = fields.size() == 4 ? detail::parse_whole<double>(fields[3]) : std::nullopt;
    if (!epoch || !batch || !loss || !accuracy)
      throw std::runtime_error(path.string() + ":" + std::to_string(line_no) +
                               ": expected epoch,batch,loss,accuracy, got '" + line + "'");
    rows.push_back({*epoch, *batch, *loss, *accuracy});
  }
  return rows;
}

}  // namespace tg::examples
