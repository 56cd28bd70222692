// What the trainers' shared flags ask for around tg::nn::fit: --resume before
// training, tg::train::Progress during it, and after it the summary line,
// --out (history.csv and PNG charts), --metrics-json and --save. The pieces are
// the library's (<tapegrad/train/train.hpp>); this file only wires them to the flags.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/flags.hpp"
#include <tapegrad/train/fit.hpp>
#include <tapegrad/train/metrics.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg {
namespace nn {
class Module;
}
namespace optim {
class Optimizer;
}
}  // namespace tg

namespace tg::examples {

struct TrainingRun {
  std::string name;  ///< used in chart titles
  nn::Module* model = nullptr;
  optim::Optimizer* optimizer = nullptr;
  nn::LossFunction loss;
  nn::MetricFunction metric;
  Tensor x_train, y_train, x_test, y_test;
  TrainingOptions options;
  /// Optional: a distributed shard per epoch, and the gradient all-reduce.
  std::function<std::vector<std::int64_t>(std::int64_t epoch)> sample_order;
  std::function<void()> after_backward;
  /// Only the main rank prints, writes files and saves.
  bool main_rank = true;
  /// Extra keys for --metrics-json.
  std::vector<std::pair<std::string, train::MetricValue>> extra_metrics;
  /// Called after every epoch with its report (e.g. two_circles prints every 500 steps).
  std::function<void(const nn::EpochReport&)> on_epoch;
  /// Show a progress display (off for full-batch runs with thousands of "epochs").
  bool progress = true;
  /// Called after every optimizer step (e.g. a per-batch learning-rate schedule).
  std::function<void()> after_step;
  /// Evaluate on the test set every this many epochs (and after the last).
  std::int64_t validation_interval = 1;
};

struct TrainingResult {
  nn::FitHistory history;
  double test_loss = 0, test_accuracy = 0;
  double seconds = 0, images_per_second = 0;
};

/// Loads --resume (model, and optimizer state if FILE.optim exists), trains,
/// evaluates, and writes what --out, --metrics-json and --save ask for.
TrainingResult run_training(TrainingRun& run);

/// The optimizer file saved next to a model checkpoint: FILE.optim.
std::string optimizer_checkpoint_path(const std::string& model_path);

}  // namespace tg::examples
