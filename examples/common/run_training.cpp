#include "common/run_training.hpp"

#include <cstdio>
#include <filesystem>

#include "common/plots.hpp"
#include "common/progress.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/train/serialize.hpp>
#include <tapegrad/optim/optim.hpp>

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

  const std::int64_t n_train = run.sample_order ? static_cast<std::int64_t>(run.sample_order(0).size())
                                                : run.x_train.size(0);
  const std::int64_t batches = (n_train + opt.batch_size - 1) / opt.batch_size;
  std::unique_ptr<Progress> progress;
  if (run.main_rank && run.progress) progress = std::make_unique<Progress>(static_cast<int>(opt.epochs), batches);
  std::vector<BatchRecord> records;
  fit.on_epoch_begin = [&](std::int64_t epoch) {
    if (progress) progress->start_epoch(static_cast<int>(epoch + 1));
  };
  fit.on_batch = [&](const nn::BatchReport& b) {
    if (run.after_step) run.after_step();
    if (progress) progress->batch(b.batch_size, b.loss, b.accuracy);
    records.push_back({b.epoch + 1, b.batch + 1, b.loss, b.accuracy});
  };
  std::vector<double> epoch_loss, epoch_acc, epoch_test_acc;
  fit.on_epoch = [&](const nn::EpochReport& e) {
    epoch_loss.push_back(e.train_loss);
    epoch_acc.push_back(e.train_accuracy);
    if (e.val_accuracy) epoch_test_acc.push_back(*e.val_accuracy);
    char extra[64] = "";
    if (e.val_accuracy) std::snprintf(extra, sizeof extra, "test_accuracy %.4f", *e.val_accuracy);
    if (progress) progress->end_epoch(extra);
    if (run.on_epoch) run.on_epoch(e);
  };

  TrainingResult result;
  result.history = nn::fit(*run.model, run.loss, *run.optimizer, run.x_train, run.y_train, fit, run.x_test,
                           run.y_test);
  std::int64_t samples = 0;
  for (const auto& e : result.history.epochs) {
    result.seconds += e.seconds;
    samples += e.samples;
  }
  result.images_per_second = result.seconds > 0 ? static_cast<double>(samples) / result.seconds : 0;
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
    write_history_csv(opt.out / "history.csv", records);
    if (!records.empty()) {
      warn_if_failed(plot_loss_accuracy(opt.out / "loss_accuracy.png", records, run.name + ": training"));
      EpochChart chart;
      chart.title = run.name + ": per-epoch metrics";
      chart.series.push_back({"train loss", epoch_loss, false});
      chart.series.push_back({"train accuracy", epoch_acc, true});
      if (!epoch_test_acc.empty()) chart.series.push_back({"test accuracy", epoch_test_acc, true});
      if (epoch_loss.size() > 1) warn_if_failed(plot_epoch_metrics(opt.out / "epochs.png", chart));
    }
    std::printf("wrote %s/history.csv and charts\n", opt.out.string().c_str());
  }
  if (opt.metrics_json) {
    RunMetrics m;
    m.test_accuracy = result.test_accuracy;
    m.train_loss = result.history.epochs.empty() ? 0 : result.history.epochs.back().train_loss;
    m.epochs = opt.epochs;
    m.seconds = result.seconds;
    m.images_per_second = result.images_per_second;
    m.extra = run.extra_metrics;
    write_metrics_json(*opt.metrics_json, m);
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
