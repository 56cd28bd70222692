// tapegrad — fit(): the common training loop, as a small optional helper
// (the idea of Keras's Model.fit(x, y, batch_size, epochs, validation_data)); the
// example is on fit() below.
//
// Each epoch: the model in train mode, one step per minibatch (zero_grad,
// forward, loss, backward, optional after_backward hook, optimizer step), then
// an evaluation pass on the validation data in eval mode without grad. Every
// batch and every epoch is reported through callbacks; the default epoch
// callback prints one line. Everything a trainer needs beyond this loop
// plugs into the callbacks or reads the returned history: a progress bar
// (<tapegrad/train/progress.hpp>), metrics files (<tapegrad/train/metrics.hpp>),
// checkpoints (<tapegrad/train/serialize.hpp>).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <memory>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/data/batches.hpp>
#include <tapegrad/data/loader.hpp>

namespace tg {
namespace optim {
class Optimizer;
}

namespace nn {
class Module;

/// loss(output, target) -> a one-element tensor.
using LossFunction = std::function<Tensor(const Tensor& output, const Tensor& target)>;
/// metric(output, target) -> the fraction of correct predictions in [0, 1].
using MetricFunction = std::function<double(const Tensor& output, const Tensor& target)>;

/// argmax over the last axis equals the int64 label.
double multiclass_accuracy(const Tensor& logits, const Tensor& labels);
/// (probability > 0.5) equals (target > 0.5), for binary NLL.
double binary_accuracy(const Tensor& probabilities, const Tensor& targets);
/// (score > 0) equals (target > 0), for hinge targets in {-1, +1}.
double sign_accuracy(const Tensor& scores, const Tensor& targets);

/// One optimizer step.
struct BatchReport {
  std::int64_t epoch = 0;       ///< 0-based
  std::int64_t batch = 0;       ///< 0-based, within the epoch
  std::int64_t batches = 0;     ///< batches in this epoch
  std::int64_t batch_size = 0;  ///< samples in this batch
  double loss = 0;      ///< the batch's loss value
  double accuracy = 0;  ///< 0 when no metric was given
};

/// One epoch: training averages (over samples) and the validation pass.
struct EpochReport {
  std::int64_t epoch = 0;      ///< 0-based; the first epoch run is FitOptions::first_epoch
  double train_loss = 0;       ///< per-sample mean of the batch losses
  double train_accuracy = 0;   ///< per-sample mean of the batch metric; 0 without a metric
  std::optional<double> val_loss;      ///< set when this epoch ran a validation pass
  std::optional<double> val_accuracy;  ///< set when it did and a metric was given
  double seconds = 0;          ///< training steps only, without the validation pass
  std::int64_t samples = 0;    ///< samples trained on in this epoch
};

/// Everything fit() reported.
struct FitHistory {
  std::vector<BatchReport> batches;  ///< every optimizer step, in order
  std::vector<EpochReport> epochs;   ///< every epoch, in order
};

/// How fit() trains: epochs, batching, metric, hooks and callbacks.
struct FitOptions {
  std::int64_t epochs = 1;  ///< epochs to run (>= 0)
  /// Epochs run are first_epoch .. first_epoch+epochs-1 (for resuming; it also seeds the shuffle).
  std::int64_t first_epoch = 0;
  /// Batch size, shuffling, seed and drop_last of the training batches.
  data::BatchOptions batches;
  /// Threads that make the next training (and validation) batches while the
  /// model trains (data::DataLoader); the batches do not depend on their number.
  data::WorkerOptions workers;
  /// Turns a batch's examples into a Batch; empty: data::default_collate.
  data::Collate collate;
  /// Optional accuracy-like metric, reported per batch and per epoch.
  MetricFunction metric;
  /// Replaces the loader's order for an epoch (e.g. a distributed shard); may be
  /// a subset, and each index must lie in [0, number of training samples).
  std::function<std::vector<std::int64_t>(std::int64_t epoch)> sample_order;
  /// Runs between backward() and the optimizer step (all-reduce, clipping, ...).
  std::function<void()> after_backward;
  /// Called with the 0-based epoch number before its first batch.
  std::function<void(std::int64_t epoch)> on_epoch_begin;
  /// Called after every optimizer step.
  std::function<void(const BatchReport&)> on_batch;
  /// Default: prints "epoch e/E: loss ... accuracy ... [val ...] (s)" to stdout.
  std::function<void(const EpochReport&)> on_epoch;
  /// Batch size of the validation pass (memory only; results do not depend on it).
  std::int64_t eval_batch_size = 1000;
  /// Validate every this many epochs (and always after the last one); full-batch
  /// runs with thousands of one-step epochs set it higher.
  std::int64_t validation_interval = 1;
};

/// Thrown by fit() when a batch's model output holds NaN or its loss is NaN or
/// infinite (a learning rate too large, a NaN in the data). fit() stops before
/// that batch's backward and optimizer step, so the model keeps the parameters
/// of the last good step. To find the op that first produced the NaN or Inf,
/// run fit() under tg::autograd::DetectAnomalyGuard.
class NonFiniteError : public std::runtime_error {
 public:
  NonFiniteError(const std::string& message, std::int64_t epoch, std::int64_t batch, std::int64_t step)
      : std::runtime_error(message), epoch_(epoch), batch_(batch), step_(step) {}
  /// 0-based, as in EpochReport::epoch (the message counts from 1).
  std::int64_t epoch() const { return epoch_; }
  /// 0-based within the epoch (the message counts from 1).
  std::int64_t batch() const { return batch_; }
  /// 1-based count of this fit() call's optimizer steps, the failed one included.
  std::int64_t step() const { return step_; }

 private:
  std::int64_t epoch_, batch_, step_;
};

/// Trains `model` on the examples of `train` and validates on `validation` when
/// given (see the top of this file for one epoch's steps). The batches come from
/// a data::DataLoader (options.batches, options.workers, options.collate); a
/// data set that augments per epoch (TransformedDataset) is told each epoch.
/// Every example needs a target. Before the first step it throws
/// std::invalid_argument for negative epochs, a null or empty training set, an
/// empty validation set, and options the DataLoader refuses; an epoch with no
/// batch (an empty sample_order, or fewer samples than a batch with drop_last)
/// is refused too.
/// During training it throws NonFiniteError at the first NaN output or
/// non-finite loss; under DetectAnomalyGuard an op producing NaN or Inf throws
/// autograd::AnomalyError instead, its message ending with the epoch and batch.
/// Errors from the model, loss or optimizer propagate.
///
/// @code
///   // A stand-in for tg::data::load_mnist(dir, Split::Train): images [N,1,28,28], int64 labels [N].
///   tg::manual_seed(0);
///   auto digits = std::make_shared<tg::data::TensorDataset>(tg::rand({640, 1, 28, 28}), tg::randint(0, 10, {640}));
///   auto parts = tg::data::random_split_fractions(digits, {0.8, 0.2}, /*seed*/ 0);
///   namespace T = tg::data::transforms;   // <tapegrad/data/transforms.hpp>
///   auto augmented = std::make_shared<T::TransformedDataset>(parts[0], T::random_affine(10, 0.1), /*seed*/ 0);
///   auto model = std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Flatten>(),
///                                                     std::make_shared<tg::nn::Linear>(784, 10));
///   tg::optim::SGD optimizer(model->parameters(), tg::optim::SGDOptions(0.1));
///
///   tg::nn::FitOptions options;
///   options.epochs = 2;
///   options.batches.batch_size = 64;
///   options.workers.num_workers = 2;   // two threads rotate and shift the next batches
///   options.metric = tg::nn::multiclass_accuracy;
///   auto loss = [](const tg::Tensor& out, const tg::Tensor& y) { return tg::nn::functional::cross_entropy(out, y); };
///   tg::nn::FitHistory history = tg::nn::fit(*model, loss, optimizer, augmented, options, parts[1]);
/// @endcode
FitHistory fit(Module& model, const LossFunction& loss, optim::Optimizer& optimizer,
               std::shared_ptr<const data::Dataset> train, const FitOptions& options = {},
               std::shared_ptr<const data::Dataset> validation = nullptr);

/// fit() on examples held in tensors: row i of x and of y is example i (a
/// data::TensorDataset), validated on (x_val, y_val) when given. Also refuses
/// undefined or 0-d tensors and inputs and targets of different lengths.
///
/// @code
///   // Stand-ins for tg::data::load_mnist(dir, Split::Train / Split::Test): images [N,1,28,28], int64 labels [N].
///   tg::manual_seed(0);
///   tg::data::TensorDataset train{tg::randn({512, 1, 28, 28}), tg::randint(0, 10, {512})};
///   tg::data::TensorDataset test{tg::randn({128, 1, 28, 28}), tg::randint(0, 10, {128})};
///   auto model = std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Flatten>(),
///                                                     std::make_shared<tg::nn::Linear>(784, 10));
///   tg::optim::SGD optimizer(model->parameters(), tg::optim::SGDOptions(0.1));
///
///   tg::nn::FitOptions options;
///   options.epochs = 3;
///   options.batches.batch_size = 64;
///   options.metric = tg::nn::multiclass_accuracy;
///   auto loss = [](const tg::Tensor& out, const tg::Tensor& y) { return tg::nn::functional::cross_entropy(out, y); };
///   tg::nn::FitHistory history = tg::nn::fit(*model, loss, optimizer, train.images, train.labels, options,
///                                            test.images, test.labels);   // prints one line per epoch
///   std::cout << "test accuracy " << history.epochs.back().val_accuracy.value() << "\n";
/// @endcode
FitHistory fit(Module& model, const LossFunction& loss, optim::Optimizer& optimizer, const Tensor& x, const Tensor& y,
               const FitOptions& options = {}, const Tensor& x_val = Tensor(), const Tensor& y_val = Tensor());

/// Result of evaluate().
struct Evaluation {
  double loss = 0;      ///< per-sample mean of the loss
  double accuracy = 0;  ///< per-sample mean of the metric; 0 without one
};
/// Mean loss and metric of `model` on the examples of `data`, in eval mode,
/// without grad, in batches of batch_size examples in stored order (made by
/// `workers` threads ahead), as epoch 0 of `data` (a data set that draws random
/// augmentations draws those of epoch 0: the same every time); the model's mode
/// is restored afterwards. Throws
/// std::invalid_argument for a null or empty data set or a batch_size that is
/// not positive.
Evaluation evaluate(Module& model, const LossFunction& loss, const MetricFunction& metric,
                    std::shared_ptr<const data::Dataset> data, std::int64_t batch_size = 1000,
                    data::WorkerOptions workers = {});
/// evaluate() on examples held in tensors (row i of x and y); also throws when
/// x and y differ in their first extent.
Evaluation evaluate(Module& model, const LossFunction& loss, const MetricFunction& metric, const Tensor& x,
                    const Tensor& y, std::int64_t batch_size = 1000);

}  // namespace nn
}  // namespace tg
