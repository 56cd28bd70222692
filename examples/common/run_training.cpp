#include "common/run_training.hpp"

#include <cstdio>
#include <filesystem>

#include "common/plots.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/train/serialize.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/train/train.hpp>

namespace tg::examples {

std::string optimizer_checkpoint_path(const std::string& model_path) { return model_path + ".optim"; }

TrainingResult run_training(TrainingRun& run) {
  const TrainingOptions& opt = run.options;
  if (opt.resume) {
    tg::load(*run.model, opt.resume->string());
    const std::string optim_path = optimizer_checkpoint_path(opt.resume->string());
    if (std::filesystem::exists(optim_path)) tg::load(*run.optimizer, optim_path);
    if (run.main_rank) std::printf("resumed from %s\n", opt.resume->string().c_str());
  }

  nn::FitOptions fit;
  fit.epochs = opt.epochs;
  fit.batches.batch_size = opt.batch_size;
  fit.batches.shuffle = true;
  fit.batches.seed = static_cast<std::uint64_t>(opt.seed);
  fit.metric = run.metric;
  fit.sample_order = run.sample_order;
  fit.after_backward = run.after_backward;
  fit.validation_interval = run.validation_interval;
  if (run.after_step) fit.on_batch = [&run](const nn::BatchReport&) { run.after_step(); };
  // Set even when empty: fit() would otherwise print its own line per epoch.
  fit.on_epoch = [&run](const nn::EpochReport& e) {
    if (run.on_epoch) run.on_epoch(e);
  };
  std::unique_ptr<train::Progress> progress;
  if (run.main_rank && run.progress) {
    const std::int64_t n_train = run.sample_order ? static_cast<std::int64_t>(run.sample_order(0).size())
                                                  : run.x_train.size(0);
    progress = std::make_unique<train::Progress>(static_cast<int>(opt.epochs),
                                                 (n_train + opt.batch_size - 1) / opt.batch_size);
    progress->attach(fit, "test_accuracy");
  }

  TrainingResult result;
  result.history = nn::fit(*run.model, run.loss, *run.optimizer, run.x_train, run.y_train, fit, run.x_test,
                           run.y_test);
  train::RunMetrics metrics = train::run_metrics(result.history);
  result.seconds = metrics.seconds;
  result.images_per_second = metrics.images_per_second;
  if (!result.history.epochs.empty()) {
    result.test_loss = result.history.epochs.back().val_loss.value_or(0);
    result.test_accuracy = result.history.epochs.back().val_accuracy.value_or(0);
  } else {
    const nn::Evaluation ev = nn::evaluate(*run.model, run.loss, run.metric, run.x_test, run.y_test);
    result.test_loss = ev.loss;
    result.test_accuracy = ev.accuracy;
  }
  if (!run.main_rank) return result;

  std::printf("%s: test accuracy %.2f%% (test loss %.4f), %.1f s of training, %.0f images/s\n", run.name.c_str(),
              100 * result.test_accuracy, result.test_loss, result.seconds, result.images_per_second);

  if (!opt.out.empty()) {
    std::filesystem::create_directories(opt.out);
    const std::vector<train::BatchRecord> records = train::batch_records(result.history);
    train::write_history_csv(opt.out / "history.csv", records);
    if (!records.empty()) {
      warn_if_failed(plot_loss_accuracy(opt.out / "loss_accuracy.png", records, run.name + ": training"));
      EpochChart chart;
      chart.title = run.name + ": per-epoch metrics";
      EpochSeries loss{"train loss", {}, false}, accuracy{"train accuracy", {}, true}, test{"test accuracy", {}, true};
      for (const nn::EpochReport& e : result.history.epochs) {
        loss.values.push_back(e.train_loss);
        accuracy.values.push_back(e.train_accuracy);
        if (e.val_accuracy) test.values.push_back(*e.val_accuracy);
      }
      chart.series = {loss, accuracy};
      if (!test.values.empty()) chart.series.push_back(test);
      if (loss.values.size() > 1) warn_if_failed(plot_epoch_metrics(opt.out / "epochs.png", chart));
    }
    std::printf("wrote %s/history.csv and charts\n", opt.out.string().c_str());
  }
  if (opt.metrics_json) {
    metrics.test_accuracy = result.test_accuracy;
    metrics.extra = run.extra_metrics;
    train::write_metrics_json(*opt.metrics_json, metrics);
  }
  if (opt.save) {
    tg::save(*run.model, opt.save->string());
    tg::save(*run.optimizer, optimizer_checkpoint_path(opt.save->string()));
    std::printf("saved %s (and %s)\n", opt.save->string().c_str(),
                optimizer_checkpoint_path(opt.save->string()).c_str());
  }
  return result;
}

}  // namespace tg::examples
