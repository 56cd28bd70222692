// fit() and evaluate(): the common training loop on modules, losses and optimizers.
#include <chrono>
#include <cstdio>

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

Evaluation evaluate(Module& model, const LossFunction& loss, const MetricFunction& metric, const Tensor& x,
                    const Tensor& y, std::int64_t batch_size) {
  detail::check_defined(x, "evaluate");
  detail::check_defined(y, "evaluate");
  if (x.dim() == 0 || y.dim() == 0 || x.size(0) != y.size(0))
    detail::fail("evaluate: inputs ", describe(x), " and targets ", describe(y), " differ in their first extent");
  if (batch_size <= 0) detail::fail("evaluate: batch_size must be positive, got ", batch_size);
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const std::int64_t n = x.size(0);
  double loss_sum = 0, metric_sum = 0;
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const std::int64_t len = std::min(batch_size, n - start);
    Tensor out = model(narrow(x, start, len));
    Tensor target = narrow(y, start, len);
    loss_sum += loss(out, target).item() * static_cast<double>(len);
    if (metric) metric_sum += metric(out, target) * static_cast<double>(len);
  }
  model.train(was_training);
  return {n ? loss_sum / n : 0.0, n ? metric_sum / n : 0.0};
}

FitHistory fit(Module& model, const LossFunction& loss, optim::Optimizer& optimizer, const Tensor& x, const Tensor& y,
               const FitOptions& options, const Tensor& x_val, const Tensor& y_val) {
  if (options.epochs < 0) detail::fail("fit: epochs must be >= 0, got ", options.epochs);
  const data::BatchLoader loader(x, y, options.batches);
  const std::int64_t last_epoch = options.first_epoch + options.epochs;
  FitHistory history;
  for (std::int64_t epoch = options.first_epoch; epoch < last_epoch; ++epoch) {
    model.train();
    if (options.on_epoch_begin) options.on_epoch_begin(epoch);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::int64_t> order =
        options.sample_order ? options.sample_order(epoch) : loader.order(epoch);
    const std::int64_t bs = options.batches.batch_size;
    std::int64_t batches = static_cast<std::int64_t>(order.size()) / bs;
    if (!options.batches.drop_last && static_cast<std::int64_t>(order.size()) % bs) ++batches;

    EpochReport report;
    report.epoch = epoch;
    double loss_sum = 0, metric_sum = 0;
    for (std::int64_t b = 0; b < batches; ++b) {
      const std::int64_t first = b * bs;
      const std::int64_t len = std::min<std::int64_t>(bs, static_cast<std::int64_t>(order.size()) - first);
      Tensor idx = tensor_i64({order.begin() + first, order.begin() + first + len}, {len});
      Tensor inputs = index_select(x, idx), targets = index_select(y, idx);

      optimizer.zero_grad();
      Tensor out = model(inputs);
      Tensor l = loss(out, targets);
      l.backward();
      if (options.after_backward) options.after_backward();
      optimizer.step();

      BatchReport br{epoch, b, batches, len, l.item(), options.metric ? options.metric(out, targets) : 0.0};
      loss_sum += br.loss * static_cast<double>(len);
      metric_sum += br.accuracy * static_cast<double>(len);
      report.samples += len;
      history.batches.push_back(br);
      if (options.on_batch) options.on_batch(br);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (report.samples) {
      report.train_loss = loss_sum / static_cast<double>(report.samples);
      report.train_accuracy = metric_sum / static_cast<double>(report.samples);
    }
    const bool validate = (epoch - options.first_epoch + 1) % std::max<std::int64_t>(1, options.validation_interval) == 0 ||
                          epoch + 1 == last_epoch;
    if (validate && x_val.defined() && y_val.defined()) {
      const Evaluation v = evaluate(model, loss, options.metric, x_val, y_val, options.eval_batch_size);
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

}  // namespace tg::nn
