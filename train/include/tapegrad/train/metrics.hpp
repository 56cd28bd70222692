// tapegrad — run metrics and training history as files: a one-line JSON
// summary of a run and a CSV of every optimizer step.
//
//  * metrics JSON: {"test_accuracy":…, "train_loss":…, "epochs":…,
//    "seconds":…, "images_per_second":…} plus optional extra keys, on one line.
//  * history CSV: one row per batch — epoch,batch,loss,accuracy.
// Numbers are written as the shortest text that reads back exactly. Rows of
// named values logged during training: MetricsLogger (<tapegrad/train/metrics_logger.hpp>). Both files
// are written with write_file_atomically (<tapegrad/train/atomic_file.hpp>), so
// a reader never sees half a file; missing parent directories are created.
// Failures throw std::runtime_error naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tg {
namespace nn {
struct FitHistory;
}

namespace train {

/// A value in a metrics file: a number, an integer, a string or a bool.
using MetricValue = std::variant<double, std::int64_t, std::string, bool>;

/// Named values in order: RunMetrics::extra, and a row of a MetricsLogger
/// (<tapegrad/train/metrics_logger.hpp>).
using MetricsRow = std::vector<std::pair<std::string, MetricValue>>;

/// The summary of one training run.
struct RunMetrics {
  double test_accuracy = 0;      ///< in [0, 1]
  double train_loss = 0;         ///< mean loss of the last epoch
  std::int64_t epochs = 0;       ///< epochs trained
  double seconds = 0;            ///< wall time of training
  double images_per_second = 0;  ///< training throughput
  /// Written after the five standard keys, in this order; must not repeat a key.
  MetricsRow extra;
};

/// The JSON text (one line, no trailing newline). Numbers use the shortest text
/// that reads back exactly; NaN and infinities become null.
std::string metrics_json(const RunMetrics& m);

/// Writes metrics_json(m) and a newline to `path`, atomically.
void write_metrics_json(const std::filesystem::path& path, const RunMetrics& m);

/// The standard keys of a finished nn::fit run: the last epoch's validation
/// accuracy (0 without one) and training loss, the number of epochs, and the
/// training time and throughput summed over the epochs (validation excluded).
/// Extra keys are left empty.
///
/// @code
///   tg::manual_seed(0);
///   tg::Tensor x = tg::randn({64, 3}), y = tg::argmax(x, 1);
///   auto model = std::make_shared<tg::nn::Linear>(3, 3);
///   tg::optim::Adam adam(model->parameters(), tg::optim::AdamOptions(0.05));
///   tg::nn::FitOptions options;
///   options.epochs = 2;
///   options.batches.batch_size = 16;
///   options.metric = tg::nn::multiclass_accuracy;
///   options.on_epoch = [](const tg::nn::EpochReport&) {};   // quiet
///   auto loss = [](const tg::Tensor& out, const tg::Tensor& t) { return tg::nn::functional::cross_entropy(out, t); };
///   tg::nn::FitHistory history = tg::nn::fit(*model, loss, adam, x, y, options, x, y);
///
///   tg::train::RunMetrics metrics = tg::train::run_metrics(history);
///   metrics.extra = {{"model", std::string("linear")}};
///   const auto dir = std::filesystem::temp_directory_path() / "runs" / "linear";
///   tg::train::write_metrics_json(dir / "metrics.json", metrics);   // {"test_accuracy":…, …, "model":"linear"}
///   tg::train::write_history_csv(dir / "history.csv", tg::train::batch_records(history));  // a header + 8 rows
/// @endcode
RunMetrics run_metrics(const nn::FitHistory& history);

/// One optimizer step of the history: epoch and batch are 1-based.
struct BatchRecord {
  std::int64_t epoch = 0;  ///< 1-based epoch
  std::int64_t batch = 0;  ///< 1-based batch within the epoch
  double loss = 0;         ///< the batch's loss
  double accuracy = 0;     ///< the batch's metric, in [0, 1]
};

/// Every optimizer step of a finished nn::fit run as a record (1-based counts).
std::vector<BatchRecord> batch_records(const nn::FitHistory& history);

/// Writes "epoch,batch,loss,accuracy" and one row per record, atomically.
void write_history_csv(const std::filesystem::path& path, const std::vector<BatchRecord>& history);

/// Reads a file written by write_history_csv; throws std::runtime_error naming
/// the file and line on anything else.
std::vector<BatchRecord> read_history_csv(const std::filesystem::path& path);

/// Numbers as these files hold them: the shortest text that reads back as
/// exactly `value` ("0.1", "1e-05", "3", "1e-300"; "nan", "inf" for the
/// non-finite), independent of the locale.
std::string number_text(double value);
/// The whole of `text` as a number written that way (or any plain decimal or
/// exponent form); nullopt for anything else, including spaces and a leading '+'.
std::optional<double> parse_number(const std::string& text);
/// The whole of `text` as a decimal integer; nullopt otherwise (or out of range).
std::optional<std::int64_t> parse_integer(const std::string& text);

}  // namespace train
}  // namespace tg
