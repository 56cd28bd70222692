#include "common/run_training.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "common/plots.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/data/batches.hpp>
#include <tapegrad/io/onnx.hpp>
#include <tapegrad/io/safetensors.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/train/serialize.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/train/train.hpp>

namespace tg::examples {

namespace fs = std::filesystem;

namespace {

// Runs one write of the finished run. A failure is kept for the final error
// instead of thrown, so that one unwritable output does not cost the others.
template <class Write> void attempt(std::vector<std::string>& failures, const std::string& flag, Write&& write) {
  try {
    write();
  } catch (const std::exception& e) {
    failures.push_back(flag + ": " + e.what());
  }
}

void write_history_and_charts(const TrainingRun& run, const TrainingResult& result) {
  const fs::path& out = run.options.out;
  fs::create_directories(out);
  const std::vector<train::BatchRecord> records = train::batch_records(result.history);
  train::write_history_csv(out / "history.csv", records);
  if (!records.empty() && !run.metric) {
    EpochChart chart;
    chart.title = run.name + ": per-epoch loss";
    EpochSeries train{"train loss", {}, false}, test{"test loss", {}, false};
    for (const nn::EpochReport& e : result.history.epochs) {
      train.values.push_back(e.train_loss);
      if (e.val_loss) test.values.push_back(*e.val_loss);
    }
    chart.series = {train};
    if (!test.values.empty()) chart.series.push_back(test);
    if (train.values.size() > 1) warn_if_failed(plot_epoch_metrics(out / "epochs.png", chart));
  } else if (!records.empty()) {
    warn_if_failed(plot_loss_accuracy(out / "loss_accuracy.png", records, run.name + ": training"));
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
    if (loss.values.size() > 1) warn_if_failed(plot_epoch_metrics(out / "epochs.png", chart));
  }
  std::printf("wrote %s/history.csv, epochs.csv, epochs.jsonl and charts\n", out.string().c_str());
}

}  // namespace

std::string optimizer_checkpoint_path(const std::string& model_path) { return model_path + ".optim"; }

void check_output_locations(const TrainingOptions& opt) {
  try {
    if (!opt.out.empty()) train::check_writable(opt.out / "history.csv", {/*create_directories*/ true, "--out"});
    if (opt.metrics_json) train::check_writable(*opt.metrics_json, {true, "--metrics-json"});
    if (opt.save) {
      train::check_writable(*opt.save, {true, "--save"});
      train::check_writable(optimizer_checkpoint_path(opt.save->string()), {true, "--save"});
    }
    if (opt.save_safetensors) train::check_writable(*opt.save_safetensors, {true, "--save-safetensors"});
    if (opt.export_onnx) train::check_writable(*opt.export_onnx, {true, "--export-onnx"});
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + " (checked before training: nothing was trained)");
  }
}

std::vector<fs::path> rescue_directories() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  if (fs::path tmp = fs::temp_directory_path(ec); !ec) dirs.push_back(tmp);
  if (fs::path cwd = fs::current_path(ec); !ec) dirs.push_back(cwd);
  return dirs;
}

// Calls write(path); when that fails, write(dir / "<stem>.rescued-<pid><extension>")
// for each of `fallback_dirs` until one works. Returns the path written and why
// `path` failed (empty when it did not); throws only when every place failed.
template <class Write>
std::pair<fs::path, std::string> write_or_rescue(const fs::path& path, const std::vector<fs::path>& fallback_dirs,
                                                 Write&& write) {
  std::string failure;
  try {
    write(path);
    return {path, ""};
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // The pid keeps two rescued runs from overwriting each other.
  const fs::path name = path.stem().string() + ".rescued-" + std::to_string(::getpid()) + path.extension().string();
  std::string tried;
  for (const fs::path& dir : fallback_dirs) {
    try {
      write(dir / name);
      return {dir / name, failure};
    } catch (const std::exception& e) {
      tried += std::string("; ") + e.what();
    }
  }
  throw std::runtime_error(failure + "; the trained model could not be saved anywhere else either" + tried);
}

SavedCheckpoint save_checkpoint(nn::Module& model, optim::Optimizer& optimizer, const fs::path& path,
                                const std::vector<fs::path>& fallback_dirs) {
  auto [written, failure] = write_or_rescue(path, fallback_dirs, [&](const fs::path& model_path) {
    tg::save(model, model_path.string());
    tg::save(optimizer, optimizer_checkpoint_path(model_path.string()));
  });
  return SavedCheckpoint{written, optimizer_checkpoint_path(written.string()), failure};
}

fs::path save_safetensors_or_rescue(const nn::Module& model, const fs::path& path,
                                    const std::vector<fs::path>& fallback_dirs) {
  auto [written, failure] = write_or_rescue(
      path, fallback_dirs, [&](const fs::path& p) { io::save_safetensors(model, p.string()); });
  if (!failure.empty())
    throw std::runtime_error(failure + "; the trained model was saved to '" + written.string() + "' instead");
  return written;
}

fs::path export_onnx_or_rescue(nn::Module& model, const Tensor& example_input, const fs::path& path,
                               const std::vector<fs::path>& fallback_dirs) {
  auto [written, failure] = write_or_rescue(
      path, fallback_dirs, [&](const fs::path& p) { onnx::export_model(model, example_input, p.string()); });
  if (!failure.empty())
    throw std::runtime_error(failure + "; the trained model was exported to '" + written.string() + "' instead");
  return written;
}

TrainingResult run_training(TrainingRun& run) {
  const TrainingOptions& opt = run.options;
  if (run.main_rank) check_output_locations(opt);
  if (opt.resume) {
    tg::load(*run.model, opt.resume->string());
    const std::string optim_path = optimizer_checkpoint_path(opt.resume->string());
    if (fs::exists(optim_path)) tg::load(*run.optimizer, optim_path);
    if (run.main_rank) std::printf("resumed from %s\n", opt.resume->string().c_str());
  }

  nn::FitOptions fit;
  fit.epochs = opt.epochs;
  fit.batches.batch_size = opt.batch_size;
  fit.batches.shuffle = true;
  fit.batches.seed = static_cast<std::uint64_t>(opt.seed);
  fit.workers.num_workers = opt.workers;
  fit.metric = run.metric;
  fit.sample_order = run.sample_order;
  fit.after_backward = run.after_backward;
  fit.validation_interval = run.validation_interval;
  if (run.after_step) fit.on_batch = [&run](const nn::BatchReport&) { run.after_step(); };
  // Set even when empty: fit() would otherwise print its own line per epoch.
  fit.on_epoch = [&run](const nn::EpochReport& e) {
    if (run.main_rank && run.progress && !run.metric) {
      std::printf("epoch %lld/%lld  loss %.5f", static_cast<long long>(e.epoch + 1),
                  static_cast<long long>(run.options.epochs), e.train_loss);
      if (e.val_loss) std::printf("  test loss %.5f", *e.val_loss);
      std::printf("  images/s %.0f  seconds %.1f\n", e.seconds > 0 ? e.samples / e.seconds : 0.0, e.seconds);
      std::fflush(stdout);
    }
    if (run.on_epoch) run.on_epoch(e);
  };
  std::unique_ptr<train::Progress> progress;
  if (run.main_rank && run.progress && run.metric) {
    const std::int64_t n_train = run.sample_order ? static_cast<std::int64_t>(run.sample_order(0).size())
                                                  : run.train_set->size();
    progress = std::make_unique<train::Progress>(opt.epochs, data::batches_per_epoch(n_train, opt.batch_size));
    progress->attach(fit, "test_accuracy");
  }
  // Written as the epochs finish (a JSON line each), so a run that stops early
  // or is followed with `tail -f` shows every finished epoch.
  std::unique_ptr<train::MetricsLogger> epoch_log;
  if (run.main_rank && !opt.out.empty()) {
    epoch_log = std::make_unique<train::MetricsLogger>(opt.out / "epochs.csv", opt.out / "epochs.jsonl");
    epoch_log->attach(fit);
  }

  TrainingResult result;
  {
    std::optional<autograd::DetectAnomalyGuard> anomaly;
    if (opt.detect_anomaly) anomaly.emplace();
    try {
      result.history = nn::fit(*run.model, run.loss, *run.optimizer, run.train_set, fit, run.test_set);
    } catch (const nn::NonFiniteError& e) {
      if (opt.detect_anomaly) throw;
      throw nn::NonFiniteError(std::string(e.what()) + " (--detect-anomaly turns that on)", e.epoch(), e.batch(),
                               e.step());
    }
  }
  train::RunMetrics metrics = train::run_metrics(result.history);
  result.seconds = metrics.seconds;
  result.images_per_second = metrics.images_per_second;
  if (!result.history.epochs.empty()) {
    result.test_loss = result.history.epochs.back().val_loss.value_or(0);
    result.test_accuracy = result.history.epochs.back().val_accuracy.value_or(0);
  } else {
    const nn::Evaluation ev = nn::evaluate(*run.model, run.loss, run.metric, run.test_set, fit.eval_batch_size,
                                           fit.workers);
    result.test_loss = ev.loss;
    result.test_accuracy = ev.accuracy;
  }
  if (!run.main_rank) return result;

  if (run.metric)
    std::printf("%s: test accuracy %.2f%% (test loss %.4f), %.1f s of training, %.0f images/s\n", run.name.c_str(),
                100 * result.test_accuracy, result.test_loss, result.seconds, result.images_per_second);
  else
    std::printf("%s: test loss %.5f, %.1f s of training, %.0f images/s\n", run.name.c_str(), result.test_loss,
                result.seconds, result.images_per_second);

  // The locations were checked before training, but a disk can fill up or a
  // directory vanish meanwhile: the model is saved first, and every write is tried.
  std::vector<std::string> failures;
  if (opt.save) {
    attempt(failures, "--save", [&] {
      const SavedCheckpoint saved = save_checkpoint(*run.model, *run.optimizer, *opt.save, rescue_directories());
      if (!saved.failure.empty())
        throw std::runtime_error(saved.failure + "; the trained model was saved to '" + saved.model.string() +
                                 "' instead (optimizer state: '" + saved.optimizer.string() + "')");
      std::printf("saved %s (and %s)\n", saved.model.string().c_str(), saved.optimizer.string().c_str());
    });
  }
  if (opt.save_safetensors) {
    attempt(failures, "--save-safetensors", [&] {
      const fs::path written = save_safetensors_or_rescue(*run.model, *opt.save_safetensors, rescue_directories());
      std::printf("saved %s (safetensors, PyTorch layout)\n", written.string().c_str());
    });
  }
  if (opt.export_onnx) {
    attempt(failures, "--export-onnx", [&] {
      // Traced on one training example made a batch of 1; the file takes any batch size.
      const Tensor example = run.train_set->get(0).input;
      std::vector<std::int64_t> batch_of_one{1};
      for (std::int64_t d : example.shape().vec()) batch_of_one.push_back(d);
      const fs::path written =
          export_onnx_or_rescue(*run.model, reshape(example, batch_of_one), *opt.export_onnx, rescue_directories());
      std::printf("exported %s (ONNX opset %d, any batch size)\n", written.string().c_str(), onnx::kDefaultOpset);
    });
  }
  if (!opt.out.empty()) {
    attempt(failures, "--out", [&] { epoch_log->close(); });
    attempt(failures, "--out", [&] { write_history_and_charts(run, result); });
  }
  if (opt.metrics_json) {
    attempt(failures, "--metrics-json", [&] {
      metrics.test_accuracy = result.test_accuracy;
      metrics.extra = run.extra_metrics;
      // Without a metric, test_accuracy is 0: the test loss is what the run reached.
      if (!run.metric) metrics.extra.insert(metrics.extra.begin(), {"test_loss", result.test_loss});
      train::write_metrics_json(*opt.metrics_json, metrics);
    });
  }
  if (!failures.empty()) {
    std::string message = "after training, " + std::to_string(failures.size()) + " output(s) could not be written";
    for (const std::string& f : failures) message += "\n  " + f;
    throw std::runtime_error(message);
  }
  return result;
}

}  // namespace tg::examples
