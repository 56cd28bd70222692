// PNG charts for the example trainers, drawn by gnuplot (Debian: gnuplot-nox).
//
// Each function writes its data and a generated script into a fresh temporary
// directory, runs gnuplot on them (pngcairo terminal, or png without cairo) and
// removes the directory. gnuplot is looked up on PATH; the environment variable
// TAPEGRAD_GNUPLOT names another program, and set to "" disables plotting.
//
// A missing or failing gnuplot is not an error for a trainer: the functions then
// return a PlotResult whose message says what happened, and the run goes on.
// Bad arguments (mismatched lengths, wrong tensor shapes) throw
// std::invalid_argument naming the function and the shapes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/train/metrics.hpp>

namespace tg {
class Tensor;
}

namespace tg::examples {

/// Size of every chart, in pixels.
inline constexpr int kPlotWidth = 900, kPlotHeight = 560;

/// Whether a chart was written; `message` says why not.
struct [[nodiscard]] PlotResult {
  bool ok = false;
  std::string message;
  explicit operator bool() const { return ok; }
};

/// Prints "warning: <message>" to stderr when the plot failed; returns r.ok.
bool warn_if_failed(const PlotResult& r);

/// The gnuplot program to run, or "" with `why` filled when there is none.
std::string find_gnuplot(std::string* why = nullptr);

/// A twin-axis chart: loss per batch on the left axis, accuracy per
/// batch on the right, batches numbered across epochs, epoch boundaries dashed.
PlotResult plot_loss_accuracy(const std::filesystem::path& png, const std::vector<train::BatchRecord>& history,
                              const std::string& title = "training");

/// One curve of per-epoch values (values[0] is epoch 1).
struct EpochSeries {
  std::string label;
  std::vector<double> values;
  bool right_axis = false;  ///< e.g. accuracies on the right, losses on the left
};

struct EpochChart {
  std::string title = "per-epoch metrics";
  std::string left_label = "loss";
  std::string right_label = "accuracy";
  std::string x_label = "epoch";  ///< what a point of the series is (e.g. "validation every 250 steps")
  std::vector<EpochSeries> series;
};

/// Lines with points per epoch, e.g. train loss (left axis), train and test
/// accuracy (right axis).
PlotResult plot_epoch_metrics(const std::filesystem::path& png, const EpochChart& chart);

/// Scores for a batch of 2-D points: given [M,2] (dtype of the plotted data),
/// returns M probabilities of class 1 ([M] or [M,1]) or [M,K] class scores.
using Predictor = std::function<Tensor(const Tensor& points)>;

struct DecisionBoundaryOptions {
  std::string title = "decision boundary";
  int resolution = 100;  ///< grid points per axis, as in the seed
  bool hard = true;      ///< colour by class (p > 0.5); false: shade by probability
  double margin = 1.0;   ///< space around the data, in data units
};

/// The seed's plot_model_prediction: the predicted class on a dense grid, light,
/// under the points [N,2] coloured by their labels (N values, 0..K-1).
PlotResult plot_decision_boundary(const std::filesystem::path& png, const Tensor& points, const Tensor& labels,
                                  const Predictor& predict, const DecisionBoundaryOptions& options = {});

}  // namespace tg::examples
