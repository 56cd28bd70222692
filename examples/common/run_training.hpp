// What the trainers' shared flags ask for around tg::nn::fit: before training,
// a check that every output can be written, and --resume; during it,
// tg::train::Progress and --detect-anomaly; after it the summary line, --save
// (first: the trained model is what must not be lost), --out (history.csv,
// epochs.csv and epochs.jsonl, PNG charts) and --metrics-json. The pieces are
// the library's (<tapegrad/train/train.hpp>); this file only wires them to the
// flags.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/flags.hpp"
#include <tapegrad/train/fit.hpp>
#include <tapegrad/train/metrics.hpp>
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/dataset.hpp>

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
  /// Empty for a model without an accuracy (an autoencoder): the epoch lines,
  /// the summary and epochs.png then show the train and test losses only (no
  /// live progress bar, whose line has an accuracy), and loss_accuracy.png is not drawn.
  nn::MetricFunction metric;
  /// The examples trained on (tensors: a data::TensorDataset; augmented: a
  /// data::transforms::TransformedDataset) and tested on after every epoch.
  std::shared_ptr<const data::Dataset> train_set, test_set;
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

/// Checks every output location (check_output_locations), loads --resume (model,
/// and optimizer state if FILE.optim exists), trains, evaluates, and writes what
/// --save, --save-safetensors, --export-onnx, --out and --metrics-json ask for. A write that fails after training
/// does not stop the others: the model is saved (where asked, or else where
/// save_checkpoint could), and then one std::runtime_error lists every failure.
TrainingResult run_training(TrainingRun& run);

/// Refuses, before any training, outputs that could not be written afterwards:
/// creates the --out directory and the directories of --save, --save-safetensors,
/// --export-onnx and --metrics-json,
/// and creates and removes a temporary file where each file will go
/// (tg::train::check_writable). Throws std::runtime_error naming the flag.
void check_output_locations(const TrainingOptions& options);

/// The optimizer file saved next to a model checkpoint: FILE.optim.
std::string optimizer_checkpoint_path(const std::string& model_path);

/// Where save_checkpoint put the model and its optimizer state.
struct SavedCheckpoint {
  std::filesystem::path model, optimizer;
  /// Why the requested path could not be written; empty when the files are there.
  std::string failure;
};

/// Saves the model to `path` and the optimizer to FILE.optim. When that fails, a
/// trained model is not thrown away: both go to "<stem>.rescued-<pid><extension>"
/// (and .optim) in the first of `fallback_dirs` that takes them, and the result
/// says where and why. Throws std::runtime_error only when no place could.
SavedCheckpoint save_checkpoint(nn::Module& model, optim::Optimizer& optimizer, const std::filesystem::path& path,
                                const std::vector<std::filesystem::path>& fallback_dirs);

/// Saves the model as safetensors (PyTorch layout) to `path`, or, when that
/// fails, to "<stem>.rescued-<pid><extension>" in the first of `fallback_dirs`
/// that takes it and then throws std::runtime_error saying where it went and
/// why. Returns the path written.
std::filesystem::path save_safetensors_or_rescue(const nn::Module& model, const std::filesystem::path& path,
                                                 const std::vector<std::filesystem::path>& fallback_dirs);

/// Exports the model to ONNX (tg::onnx::export_model, traced on `example_input`)
/// at `path`, or, when that file cannot be written, where
/// save_safetensors_or_rescue would put it, then throws as it does. Returns the path written.
std::filesystem::path export_onnx_or_rescue(nn::Module& model, const Tensor& example_input,
                                            const std::filesystem::path& path,
                                            const std::vector<std::filesystem::path>& fallback_dirs);

/// Where a checkpoint that cannot be saved where asked goes instead: the
/// temporary directory, then the working directory.
std::vector<std::filesystem::path> rescue_directories();

}  // namespace tg::examples
