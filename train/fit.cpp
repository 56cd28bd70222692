// fit() and evaluate(): the common training loop on modules, losses and optimizers.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/train/fit.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tg::nn {
namespace {

double fraction_equal(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return mean(eq(a, b).to(kFloat64)).item();
}

// "nan", "inf" or "-inf" (printf may say "-nan", which means nothing more to a reader).
std::string non_finite_text(double v) { return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

// Data evaluate() and fit() can average over: targets for every input, and at
// least one sample (an empty set would report a loss and accuracy of 0 as if
// something had been measured). `what` starts the message, e.g. "fit: validation".
void check_samples(const Tensor& x, const Tensor& y, const std::string& what) {
  detail::check_defined(x, what.c_str());
  detail::check_defined(y, what.c_str());
  if (x.dim() == 0 || y.dim() == 0 || x.size(0) != y.size(0))
    detail::fail(what, " inputs ", describe(x), " and targets ", describe(y), " differ in their first extent");
  if (x.size(0) == 0)
    detail::fail(what, " inputs ", describe(x), " and targets ", describe(y),
                 " hold no samples (an empty data set: a filter that kept nothing, or an empty data file?)");
}

// Where in a fit() run something happened, for messages: "epoch 1, batch 2 (step 2)".
std::string position(std::int64_t epoch, std::int64_t batch, std::int64_t step) {
  return "epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(batch + 1) + " (step " +
         std::to_string(step) + ")";
}

[[noreturn]] void stop_non_finite(const std::string& what, std::int64_t epoch, std::int64_t batch, std::int64_t step) {
  throw NonFiniteError("fit: " + what + " at " + position(epoch, batch, step) +
                           "; stopped before that step's update, so the model keeps its previous parameters. "
                           "Lower the learning rate or look for NaN in the data; under "
                           "tg::autograd::DetectAnomalyGuard the first op to produce NaN or Inf is named",
                       epoch, batch, step);
}

void print_epoch(const EpochReport& r, std::int64_t last_epoch) {
  std::printf("epoch %lld/%lld: loss %.4f accuracy %.4f", static_cast<long long>(r.epoch + 1),
              static_cast<long long>(last_epoch), r.train_loss, r.train_accuracy);
  if (r.val_loss) std::printf(", val loss %.4f val accuracy %.4f", *r.val_loss, r.val_accuracy.value_or(0));
  std::printf(" (%.2f s)\n", r.seconds);
  std::fflush(stdout);
}

}  // namespace

double multiclass_accuracy(const Tensor& logits, const Tensor& labels) {
  NoGradGuard no_grad;
  return fraction_equal(argmax(logits, -1), labels);
}

double binary_accuracy(const Tensor& probabilities, const Tensor& targets) {
  NoGradGuard no_grad;
  return fraction_equal(gt(probabilities.to(kFloat64), 0.5), gt(targets.to(kFloat64), 0.5));
}

double sign_accuracy(const Tensor& scores, const Tensor& targets) {
  NoGradGuard no_grad;
  return fraction_equal(gt(scores.to(kFloat64), 0.0), gt(targets.to(kFloat64), 0.0));
}

namespace {

// Mean loss and metric over every batch of `loader` (one unshuffled epoch).
Evaluation evaluate_batches(Module& model, const LossFunction& loss, const MetricFunction& metric,
                            const data::DataLoader& loader) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  double loss_sum = 0, metric_sum = 0;
  for (const data::Batch& b : loader.epoch(0)) {
    const auto len = static_cast<double>(b.inputs.size(0));
    Tensor out = model(b.inputs);
    loss_sum += loss(out, b.targets).item() * len;
    if (metric) metric_sum += metric(out, b.targets) * len;
  }
  model.train(was_training);
  const auto n = static_cast<double>(loader.num_samples());
  return {loss_sum / n, metric_sum / n};
}

// The loader of an evaluation pass: stored order, every example once. The
// messages read "<who>: the <set> holds no samples", "<who>: <size_name> must be ...".
data::DataLoader evaluation_loader(std::shared_ptr<const data::Dataset> data, const char* who, const char* set,
                                   const char* size_name, std::int64_t batch_size, data::WorkerOptions workers,
                                   data::Collate collate) {
  if (!data) detail::fail(who, ": the ", set, " is null");
  if (data->size() == 0)
    detail::fail(who, ": the ", set,
                 " holds no samples (an empty data set: a filter that kept nothing, or an empty data file?)");
  if (batch_size <= 0) detail::fail(who, ": ", size_name, " must be positive, got ", batch_size);
  return data::DataLoader(std::move(data), {batch_size, /*shuffle*/ false, 0, /*drop_last*/ false}, workers,
                          std::move(collate));
}

}  // namespace

Evaluation evaluate(Module& model, const LossFunction& loss, const MetricFunction& metric,
                    std::shared_ptr<const data::Dataset> data, std::int64_t batch_size, data::WorkerOptions workers) {
  return evaluate_batches(model, loss, metric, evaluation_loader(std::move(data), "evaluate", "data set", "batch_size", batch_size, workers, {}));
}

Evaluation evaluate(Module& model, const LossFunction& loss, const MetricFunction& metric, const Tensor& x,
                    const Tensor& y, std::int64_t batch_size) {
  check_samples(x, y, "evaluate:");
  return evaluate(model, loss, metric, std::make_shared<data::TensorDataset>(x, y), batch_size);
}

FitHistory fit(Module& model, const LossFunction& loss, optim::Optimizer& optimizer,
               std::shared_ptr<const data::Dataset> train, const FitOptions& options,
               std::shared_ptr<const data::Dataset> validation) {
  // Everything that can be refused is refused here, before the first step.
  if (options.epochs < 0) detail::fail("fit: epochs must be >= 0, got ", options.epochs);
  if (!train) detail::fail("fit: the training data set is null");
  if (train->size() == 0)
    detail::fail("fit: the training data set holds no samples (an empty data set: a filter that kept nothing, or an "
                 "empty data file?)");
  const data::DataLoader loader(train, options.batches, options.workers, options.collate);
  std::optional<data::DataLoader> validation_loader;
  if (validation)
    validation_loader = evaluation_loader(validation, "fit", "validation data set", "eval_batch_size",
                                          options.eval_batch_size, options.workers, options.collate);

  const std::int64_t last_epoch = options.first_epoch + options.epochs;
  FitHistory history;
  for (std::int64_t epoch = options.first_epoch; epoch < last_epoch; ++epoch) {
    model.train();
    if (options.on_epoch_begin) options.on_epoch_begin(epoch);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::int64_t> order = options.sample_order ? options.sample_order(epoch) : loader.order(epoch);
    const std::int64_t bs = options.batches.batch_size;
    const std::int64_t samples = static_cast<std::int64_t>(order.size());
    const std::int64_t batches = data::batches_per_epoch(samples, bs, options.batches.drop_last);
    if (batches == 0)
      detail::fail("fit: epoch ", epoch + 1, " has no batch to train on: ", samples, " samples",
                   options.sample_order ? " from sample_order" : "", samples ? " with drop_last and batch_size " : "",
                   samples ? std::to_string(bs) : "");
    // The workers start making this epoch's batches now, while the loop trains.
    data::DataLoader::Epoch epoch_batches = loader.epoch(epoch, std::move(order));

    EpochReport report;
    report.epoch = epoch;
    double loss_sum = 0, metric_sum = 0;
    data::Batch batch;
    for (std::int64_t b = 0; epoch_batches.next(batch); ++b) {
      const std::int64_t len = batch.inputs.size(0);
      const std::int64_t step = static_cast<std::int64_t>(history.batches.size()) + 1;
      if (!batch.targets.defined())
        detail::fail("fit: batch ", b + 1, " of epoch ", epoch + 1,
                     " has no targets (the data set's examples have none); fit needs one per example for the loss");

      optimizer.zero_grad();
      Tensor out, l;
      double loss_value = 0;
      try {
        out = model(batch.inputs);
        // Checked before the loss: a loss that refuses NaN inputs (binary_cross_entropy)
        // would otherwise report it as bad probabilities, without the step.
        if (const auto bad = detail::first_non_finite(out); bad && std::isnan(*bad))
          stop_non_finite("the model's output holds nan", epoch, b, step);
        l = loss(out, batch.targets);
        loss_value = l.item();
        if (!std::isfinite(loss_value)) stop_non_finite("the loss is " + non_finite_text(loss_value), epoch, b, step);
        l.backward();
      } catch (const autograd::AnomalyError& e) {
        throw autograd::AnomalyError(std::string(e.what()) + " at " + position(epoch, b, step) + " of fit");
      }
      if (options.after_backward) options.after_backward();
      optimizer.step();

      BatchReport br{epoch, b, batches, len, loss_value, options.metric ? options.metric(out, batch.targets) : 0.0};
      loss_sum += br.loss * static_cast<double>(len);
      metric_sum += br.accuracy * static_cast<double>(len);
      report.samples += len;
      history.batches.push_back(br);
      if (options.on_batch) options.on_batch(br);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.train_loss = loss_sum / static_cast<double>(report.samples);
    report.train_accuracy = metric_sum / static_cast<double>(report.samples);
    const bool validate = (epoch - options.first_epoch + 1) % std::max<std::int64_t>(1, options.validation_interval) == 0 ||
                          epoch + 1 == last_epoch;
    if (validate && validation_loader) {
      const Evaluation v = evaluate_batches(model, loss, options.metric, *validation_loader);
      report.val_loss = v.loss;
      if (options.metric) report.val_accuracy = v.accuracy;
    }
    history.epochs.push_back(report);
    if (options.on_epoch)
      options.on_epoch(report);
    else
      print_epoch(report, last_epoch);
  }
  return history;
}

FitHistory fit(Module& model, const LossFunction& loss, optim::Optimizer& optimizer, const Tensor& x, const Tensor& y,
               const FitOptions& options, const Tensor& x_val, const Tensor& y_val) {
  check_samples(x, y, "fit: training");
  if (x_val.defined() != y_val.defined())
    detail::fail("fit: validation ", x_val.defined() ? "inputs were given without targets" : "targets were given without inputs");
  std::shared_ptr<const data::Dataset> validation;
  if (x_val.defined()) {
    check_samples(x_val, y_val, "fit: validation");
    validation = std::make_shared<data::TensorDataset>(x_val, y_val);
  }
  return fit(model, loss, optimizer, std::make_shared<data::TensorDataset>(x, y), options, std::move(validation));
}

}  // namespace tg::nn
