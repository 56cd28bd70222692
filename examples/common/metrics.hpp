// Run metrics and training history files for the example trainers.
//
//  * --metrics-json FILE: {"test_accuracy":…, "train_loss":…, "epochs":…,
//    "seconds":…, "images_per_second":…} plus optional extra keys, on one line.
//  * history.csv: one row per batch — epoch,batch,loss,accuracy.
// Both are written atomically (a temporary file in the same directory, then
// rename), so a reader never sees half a file. Missing parent directories are
// created. Failures throw std::runtime_error naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tg::examples {

/// An extra JSON value: a number, an integer, a string or a bool.
using MetricValue = std::variant<double, std::int64_t, std::string, bool>;

/// The summary of one training run.
struct RunMetrics {
  double test_accuracy = 0;      ///< in [0, 1]
  double train_loss = 0;         ///< mean loss of the last epoch
  std::int64_t epochs = 0;
  double seconds = 0;            ///< wall time of training
  double images_per_second = 0;  ///< training throughput
  /// Written after the five standard keys, in this order; must not repeat a key.
  std::vector<std::pair<std::string, MetricValue>> extra;
};

/// The JSON text (one line, no trailing newline). Numbers use the shortest text
/// that reads back exactly; NaN and infinities become null.
std::string metrics_json(const RunMetrics& m);

/// Writes metrics_json(m) and a newline to `path`, atomically.
void write_metrics_json(const std::filesystem::path& path, const RunMetrics& m);

/// One optimizer step of the history: epoch and batch are 1-based.
struct BatchRecord {
  std::int64_t epoch = 0, batch = 0;
  double loss = 0, accuracy = 0;
};

/// Writes "epoch,batch,loss,accuracy" and one row per record, atomically.
void write_history_csv(const std::filesystem::path& path, const std::vector<BatchRecord>& history);

/// Reads a file written by write_history_csv; throws std::runtime_error naming
/// the file and line on anything else.
std::vector<BatchRecord> read_history_csv(const std::filesystem::path& path);

/// Writes `contents` to `path` via a temporary file in the same directory and a
/// rename, creating missing parent directories.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace tg::examples
