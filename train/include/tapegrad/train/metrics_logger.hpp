// tapegrad — a metrics logger: rows of named values logged during training
// (one per epoch, or per step) written as a CSV file and a JSON-lines file, in
// the manner of Keras's and Lightning's CSVLogger.
//
//   epochs.csv    epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,samples
//                 1,0.4213,0.8825,0.2519,0.9262,1.5,60000
//   epochs.jsonl  {"epoch":1, "train_loss":0.4213, "train_accuracy":0.8825, ...}
//
// Columns are the keys in the order first seen across rows: a row may add a
// column (earlier rows leave its CSV cell empty) or lack one (an empty CSV cell;
// the key is left out of its JSON line). Values are written as in the other
// metrics files (<tapegrad/train/metrics.hpp>): numbers as the shortest text
// that reads back exactly (number_text); a NaN or infinity is "nan" / "inf" in
// the CSV and null in JSON. CSV lines end in "\n"; a key or string holding a
// comma, a double quote or a line break is quoted, its quotes doubled (RFC 4180).
//
// When the files are written:
//  * JSON lines are streamed: every log() appends its line to the file and
//    flushes it, so `tail -f` shows the run and a crash keeps every logged row.
//  * The CSV file is rewritten whole (a later row may add a column), with
//    write_file_atomically, so a reader never sees half of it: by log() once
//    MetricsLoggerOptions::csv_interval_seconds (10 s) have passed since its
//    last write, by flush(), and by close(). Per-epoch logging of epochs longer
//    than the interval thus keeps it current after every epoch, and per-step
//    logging costs one rewrite per interval, not one per step.
//  * close() rewrites both files atomically with their final content.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <tapegrad/train/metrics.hpp>

namespace tg {
namespace nn {
struct EpochReport;
struct FitOptions;
}  // namespace nn

namespace train {

/// Options of MetricsLogger.
struct MetricsLoggerOptions {
  /// log() rewrites the CSV file when at least this many seconds have passed
  /// since it was last written: 0 rewrites it on every log(); infinity only on
  /// flush() and close().
  double csv_interval_seconds = 10;
};

/// Writes logged rows to a CSV file and a JSON-lines file (see the top of this
/// header for the formats and when each file is written). Not thread-safe (log
/// from the training loop).
///
/// @code
///   const auto dir = std::filesystem::temp_directory_path() / "tapegrad_example" / "logger";
///   {
///     tg::train::MetricsLogger logger(dir / "steps.csv", dir / "steps.jsonl");
///     for (std::int64_t step = 1; step <= 3; ++step)
///       logger.log({{"step", step}, {"loss", 1.0 / static_cast<double>(step)}});
///     logger.log({{"step", std::int64_t{4}}, {"loss", 0.2}, {"note", std::string("lr, halved")}});
///     logger.close();   // or let the destructor close it (errors are then not reported)
///   }
///   // steps.csv:   step,loss,note               steps.jsonl:  {"step":1, "loss":1}
///   //              1,1,                                      ...
///   //              ...                                       {"step":4, "loss":0.2, "note":"lr, halved"}
///   //              4,0.2,"lr, halved"
///
///   // One row per epoch of nn::fit, next to a progress display:
///   tg::manual_seed(0);
///   tg::Tensor x = tg::randn({64, 3}), y = tg::argmax(x, 1);
///   auto model = std::make_shared<tg::nn::Linear>(3, 3);
///   tg::optim::SGD sgd(model->parameters(), tg::optim::SGDOptions(0.5));
///   tg::nn::FitOptions options;
///   options.epochs = 2;
///   options.batches.batch_size = 16;
///   options.metric = tg::nn::multiclass_accuracy;
///   tg::train::MetricsLogger epochs(dir / "epochs.csv", dir / "epochs.jsonl");
///   tg::train::Progress progress(2, /*batches_per_epoch*/ 4);
///   epochs.attach(options);     // in either order: both run
///   progress.attach(options);
///   auto loss = [](const tg::Tensor& out, const tg::Tensor& t) { return tg::nn::functional::cross_entropy(out, t); };
///   tg::nn::fit(*model, loss, sgd, x, y, options, x, y);
///   epochs.close();   // epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,samples + 2 rows
/// @endcode
class MetricsLogger {
 public:
  /// Logs to `csv_path` and `jsonl_path`; an empty path is not written (both
  /// empty: a logger that writes nothing, e.g. on a process that is not the
  /// main one). Creates missing parent directories, truncates the JSON-lines
  /// file and checks now that the CSV file can be written (check_writable), so
  /// that a bad path fails before training. Throws std::invalid_argument for
  /// the same path twice or a negative or NaN interval, std::runtime_error
  /// naming the file when it cannot be written.
  MetricsLogger(std::filesystem::path csv_path, std::filesystem::path jsonl_path,
                MetricsLoggerOptions options = {});
  /// Closes without throwing: a failed final write is not reported (call
  /// close() to see it), but it does not keep the other file from being written.
  ~MetricsLogger();
  MetricsLogger(const MetricsLogger&) = delete;
  MetricsLogger& operator=(const MetricsLogger&) = delete;

  /// Logs one row. Refuses (std::invalid_argument, nothing logged) an empty
  /// row, an empty key or a key that appears twice in the row, naming it; a
  /// logger already closed throws std::logic_error. A failed write throws
  /// std::runtime_error naming the file after the row is recorded: close()
  /// writes it again (after a failed append, rows reach the JSON-lines file
  /// through close() only).
  void log(const MetricsRow& row);

  /// Rewrites the CSV file now (a no-op once closed).
  void flush();

  /// Writes both files, atomically, with every row logged; later log() calls
  /// are refused. Both writes are tried; a failure throws one std::runtime_error
  /// naming the file(s), and calling close() again retries. Once both are
  /// written, further calls do nothing.
  void close();

  /// Logs one row per epoch of nn::fit (epoch_metrics()). Chains onto
  /// options.on_epoch: a callback already set there still runs, after the row is
  /// logged, so attaching this and a train::Progress works in either order. As
  /// with any on_epoch callback, fit() then no longer prints its own epoch line
  /// (attach a Progress for one). This logger must outlive the fit() call; a
  /// failed write thrown from the callback stops fit().
  void attach(nn::FitOptions& options);

  /// The columns so far, in the order first seen.
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  std::string csv_text() const;
  void write_csv(const char* context);
  void append_json_line(const std::string& line);

  std::filesystem::path csv_path_, jsonl_path_;
  MetricsLoggerOptions options_;
  std::vector<std::string> columns_;
  std::map<std::string, std::size_t> column_of_;
  std::vector<std::vector<std::string>> csv_rows_;  // CSV cells by column; shorter rows end in empty cells
  std::string json_lines_;                          // every line logged, for close()
  std::FILE* jsonl_ = nullptr;                      // the streamed file; null once closed or failed
  std::chrono::steady_clock::time_point csv_written_;
  bool closed_ = false, finished_ = false;
};

/// One epoch of nn::fit as a row: epoch (1-based, counting from epoch 0, so a
/// resumed run goes on numbering), train_loss, train_accuracy, val_loss and
/// val_accuracy (when the epoch has them), seconds, samples.
MetricsRow epoch_metrics(const nn::EpochReport& report);

}  // namespace train
}  // namespace tg
