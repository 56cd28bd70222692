// tapegrad — a terminal progress display for training loops.
//
// On a terminal: one live line redrawn in place (at most ~10 times a second):
//   epoch 2/5  batch 120/469 [=====>        ] loss 0.3456  acc  91.23%    5230 img/s  ETA 0:42
// Otherwise (a pipe, a log file, CI): one plain line per epoch:
//   epoch 2/5  loss 0.3456  accuracy 0.9123  images/s 5230  seconds 11.2
// Progress::attach() drives it from tg::nn::fit; a hand-written loop calls
// start_epoch(), batch() and end_epoch() itself. The formatting functions are
// pure, so they can be tested (and reused) without a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tg {
namespace nn {
struct FitOptions;
}

namespace train {

/// What the live line shows; counts are 1-based as printed.
struct ProgressSnapshot {
  std::int64_t epoch = 1;        ///< the running epoch, 1-based
  std::int64_t epochs = 1;       ///< epochs in the run
  std::int64_t batch = 0;        ///< batches done in this epoch
  std::int64_t batches = 0;      ///< batches per epoch
  double loss = 0;               ///< running mean over this epoch
  double accuracy = 0;           ///< running mean over this epoch, in [0, 1]
  double images_per_second = 0;  ///< this epoch's training speed so far
  double eta_seconds = -1;       ///< time left for the whole run; negative = unknown
};

/// The live line, at most `max_width` characters: the bar shrinks to fit (and is
/// dropped when even a 5-character bar would not).
std::string format_progress_line(const ProgressSnapshot& s, int max_width = 100);

/// The bar alone: `width` characters inside brackets, `done` of `total` filled.
std::string format_bar(std::int64_t done, std::int64_t total, int width);

/// "0:42", "12:05", "1:02:03"; "--:--" for a negative or non-finite time.
std::string format_duration(double seconds);

/// One finished epoch.
struct EpochSummary {
  std::int64_t epoch = 1;        ///< 1-based
  std::int64_t epochs = 1;       ///< epochs in the run
  double loss = 0;               ///< mean over the epoch's images
  double accuracy = 0;           ///< mean over the epoch's images, in [0, 1]
  double images_per_second = 0;  ///< training speed, start_epoch() to the last batch()
  double seconds = 0;            ///< start_epoch() to the last batch()
};

/// The plain per-epoch line (no trailing newline); `extra` is appended after two
/// spaces when not empty (e.g. "test_accuracy 0.9812").
std::string format_epoch_line(const EpochSummary& e, const std::string& extra = "");

/// Live bar on a terminal, plain lines otherwise.
enum class ProgressStyle { Auto, Bar, Lines };

/// Reports a training run. Usage per epoch: start_epoch(), then batch() after
/// every optimizer step, then end_epoch(); or attach() it to nn::fit's options.
/// Not thread-safe (call from the training loop).
///
/// @code
///   tg::manual_seed(0);
///   tg::Tensor x = tg::randn({256, 4}), y = tg::argmax(x, 1);   // learn which input is largest
///   auto model = std::make_shared<tg::nn::Linear>(4, 4);
///   tg::optim::SGD sgd(model->parameters(), tg::optim::SGDOptions(0.5));
///   tg::nn::FitOptions options;
///   options.epochs = 3;
///   options.batches.batch_size = 32;
///   options.metric = tg::nn::multiclass_accuracy;
///   tg::train::Progress progress(3, /*batches_per_epoch*/ 8);
///   progress.attach(options);                                   // replaces fit's own epoch lines
///   auto loss = [](const tg::Tensor& out, const tg::Tensor& t) { return tg::nn::functional::cross_entropy(out, t); };
///   tg::nn::fit(*model, loss, sgd, x, y, options);
/// @endcode
class Progress {
 public:
  /// Auto picks Bar when `out` is a terminal.
  Progress(std::int64_t epochs, std::int64_t batches_per_epoch, std::FILE* out = stdout,
           ProgressStyle style = ProgressStyle::Auto);

  /// `epoch` is 1-based.
  void start_epoch(std::int64_t epoch);
  /// One finished batch of `images` examples with its mean loss and accuracy.
  void batch(std::int64_t images, double loss, double accuracy);
  /// Prints the epoch line (replacing the bar) and returns the epoch's summary;
  /// its seconds and images/s cover start_epoch() to the last batch() only.
  EpochSummary end_epoch(const std::string& extra = "");

  /// Whether the live bar is drawn (otherwise one plain line per epoch).
  bool live() const { return live_; }

  /// Drives this display from nn::fit: chains into options.on_epoch_begin,
  /// on_batch and on_epoch (callbacks already set there still run, after the
  /// display's update) and so replaces fit's own per-epoch printing. Epochs are
  /// shown counted from options.first_epoch. An epoch with a validation accuracy
  /// gets "<val_label> 0.9812" on its line. This Progress must outlive the fit() call.
  void attach(nn::FitOptions& options, const std::string& val_label = "val_accuracy");

 private:
  using Clock = std::chrono::steady_clock;
  ProgressSnapshot snapshot(Clock::time_point now) const;
  void draw(const std::string& line);

  std::int64_t epochs_;
  std::int64_t batches_per_epoch_;
  std::FILE* out_;
  bool live_;
  std::int64_t epoch_ = 0;
  std::int64_t batch_ = 0, images_ = 0;
  double loss_sum_ = 0, accuracy_sum_ = 0;  // weighted by images
  Clock::time_point epoch_start_, last_draw_, last_batch_end_;
  std::size_t drawn_width_ = 0;  // to blank out a longer previous line
};

}  // namespace train
}  // namespace tg
