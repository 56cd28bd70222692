// tapegrad side of the side-by-side benchmark (bench/compare.py runs it).
//
//   tg_bench WORKLOAD [--threads N] [--data-dir DIR] [--quick]
//   tg_bench config [--threads N]       tg::config_text()
//   tg_bench blas_upgrade               the kernel set tapegrad would switch a
//                                       generic (Prescott) OpenBLAS to on this CPU
//
// Runs one workload once (after warm-up) and prints one JSON line,
//   {"workload": ..., "value": ..., "unit": ..., "peak_rss_mb": ...}
// with the same workloads, sizes and units as bench/torch_bench.py. --quick
// runs a tenth of the steps (a smoke test, not a measurement). The
// "profile_lenet" workload prints the per-op profile of LeNet-5 training steps
// at batch 64 ("profile_lenet_b256" at batch 256),
// "profile_transformer" that of the transformer_layer workload and
// "profile_lstm" that of the lstm_fwd_bwd workload, "profile_char_lm_transformer"
// that of char_lm_transformer_steps (20 steps).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <cblas.h>  // OpenBLAS called directly, the reference for tg::matmul

#include "common/lenet5_model.hpp"
#include "common/resnet_model.hpp"
#include "common/binary_mnist_cnn.hpp"
#include "common/char_lm_model.hpp"
#include "common/resnet_recipe.hpp"
#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Clock = std::chrono::steady_clock;

namespace {

// --quick: a tenth of the steps (at least one), for the smoke test.
bool quick = false;
int steps_of(int n) { return quick ? std::max(1, n / 10) : n; }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double time_steps(const std::function<void()>& step, int warmup, int steps) {
  warmup = quick ? std::min(warmup, 1) : warmup;
  steps = steps_of(steps);
  for (int i = 0; i < warmup; ++i) step();
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  return seconds_since(start);
}

// The same models as the example trainers (examples/common).
std::shared_ptr<nn::Sequential> lenet5() { return examples::lenet5(); }
std::shared_ptr<nn::Sequential> binary_cnn() { return examples::binary_mnist_cnn(examples::BinaryLoss::NLL, false); }

using Loss = std::function<Tensor(const Tensor&, const Tensor&)>;

std::function<void()> classifier_step(nn::Module& model, optim::Optimizer& opt, const Tensor& x, const Tensor& y,
                                      Loss loss) {
  return [&model, &opt, x, y, loss] {
    opt.zero_grad();
    loss(model(x), y).backward();
    opt.step();
  };
}

Tensor cross_entropy(const Tensor& out, const Tensor& y) { return nn::functional::cross_entropy(out, y); }
Tensor bce(const Tensor& out, const Tensor& y) { return nn::functional::binary_cross_entropy(out, y); }

std::pair<double, const char*> lenet_step(std::int64_t batch, int steps) {
  manual_seed(0);
  auto model = lenet5();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  Tensor x = rand({batch, 1, 28, 28});
  Tensor y = randint(0, 10, {batch});
  const double s = time_steps(classifier_step(*model, opt, x, y, cross_entropy), 20, steps);
  return {static_cast<double>(batch) * steps_of(steps) / s, "images/s"};
}

std::pair<double, const char*> binary_cnn_step(int steps) {
  manual_seed(0);
  auto model = binary_cnn();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.01));
  Tensor x = rand({32, 1, 28, 28});
  Tensor y = randint(0, 2, {32, 1}).to(kFloat32);
  const double s = time_steps(classifier_step(*model, opt, x, y, bce), 20, steps);
  return {1000 * s / steps_of(steps), "ms/step"};
}

std::pair<double, const char*> mlp_5000() {
  manual_seed(0);
  std::vector<double> xs, ys;
  for (int i = 0; i < 140; ++i) {  // 140 training points of the two circles
    const double r = i % 2 ? 1.1 : 3.0, phi = 2 * M_PI * (i / 2) / 69.0;
    xs.insert(xs.end(), {r * std::sin(phi), r * std::cos(phi)});
    ys.push_back(i % 2);
  }
  Tensor x = tensor(xs, {140, 2}), y = tensor(ys, {140, 1});
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Linear>(16, 1), std::make_shared<nn::Sigmoid>());
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).weight_decay(1e-4));
  // --quick: 500 steps, reported as the time of 5000.
  return {time_steps(classifier_step(*model, opt, x, y, bce), 0, 5000) * 5000 / steps_of(5000), "s"};
}

// A 2-layer LSTM (input and hidden 256) over 64 steps of a batch of 32:
// forward and backward into every parameter, as a language model's step without the optimizer.
std::pair<double, const char*> lstm_fwd_bwd(int reps) {
  manual_seed(0);
  nn::LSTM lstm(256, 256, nn::RecurrentOptions().num_layers(2));
  Tensor x = rand({64, 32, 256});
  const double s = time_steps(
      [&] {
        lstm.zero_grad();
        sum(lstm(x)).backward();
      },
      3, reps);
  return {1000 * s / steps_of(reps), "ms"};
}

// The per-op profile of the lstm_fwd_bwd workload.
void profile_lstm(int reps) {
  manual_seed(0);
  nn::LSTM lstm(256, 256, nn::RecurrentOptions().num_layers(2));
  Tensor x = rand({64, 32, 256});
  for (int i = 0; i < 3; ++i) sum(lstm(x)).backward();
  autograd::Profiler prof;
  for (int i = 0; i < reps; ++i) {
    lstm.zero_grad();
    prof.mark();
    sum(lstm(x)).backward();
  }
  std::printf("Per-op profile of %d forward+backward passes of a 2-layer LSTM 256, seq 64, batch 32 (%d threads):\n%s",
              reps, get_num_threads(), prof.table().c_str());
}

int gemm_reps(std::int64_t n) { return std::max<int>(3, static_cast<int>(2e10 / (2.0 * n * n * n))); }

std::pair<double, const char*> sgemm_tapegrad(std::int64_t n) {
  Tensor a = rand({n, n}), b = rand({n, n});
  const int reps = gemm_reps(n);
  const double s = time_steps([&] { matmul(a, b); }, 3, reps);
  return {2.0 * n * n * n * steps_of(reps) / s / 1e9, "GFLOP/s"};
}

std::pair<double, const char*> sgemm_openblas(std::int64_t n) {
  // OpenBLAS with its own threads (tapegrad keeps it at one and splits gemms itself).
  openblas_set_num_threads(get_num_threads());
  Tensor a = rand({n, n}), b = rand({n, n}), c = empty({n, n});
  const int reps = gemm_reps(n);
  const int ni = static_cast<int>(n);
  const double s = time_steps(
      [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.data<float>(), ni, b.data<float>(),
                    ni, 0.0f, c.data<float>(), ni);
      },
      3, reps);
  return {2.0 * n * n * n * steps_of(reps) / s / 1e9, "GFLOP/s"};
}

std::pair<double, const char*> conv_fwd_bwd(int reps) {
  manual_seed(0);
  Tensor x = rand({64, 16, 28, 28}).requires_grad_();
  Tensor w = rand({32, 16, 3, 3}).requires_grad_();
  Tensor b = rand({32}).requires_grad_();
  const double s = time_steps(
      [&] {
        x.zero_grad();
        w.zero_grad();
        b.zero_grad();
        Tensor y = conv2d(x, w, b, 1, 1);
        y.backward(ones_like(y));
      },
      5, reps);
  return {1000 * s / steps_of(reps), "ms"};
}

// One TransformerEncoderLayer (d 128, 4 heads, feed-forward 512, dropout 0.1,
// training mode, causal) on [16, 64, 128] batch-first: forward and backward.
std::pair<double, const char*> transformer_layer(int reps) {
  manual_seed(0);
  nn::TransformerEncoderLayer layer(128, 4, 512, 0.1, "relu", 1e-5, /*batch_first=*/true);
  Tensor x = randn({16, 64, 128}).requires_grad_();
  const Tensor causal = nn::generate_square_subsequent_mask(64);
  const double s = time_steps(
      [&] {
        layer.zero_grad();
        x.zero_grad();
        Tensor y = layer(x, causal);
        y.backward(ones_like(y));
      },
      5, reps);
  return {1000 * s / steps_of(reps), "ms"};
}

// One BatchNorm residual block (examples/common/resnet_model.cpp) in training
// mode, identity shortcut: conv3x3-BN-ReLU-conv3x3-BN + x, ReLU; batch 64, 32
// channels, 28x28, forward and backward to the input and every parameter.
std::pair<double, const char*> bn_residual_block(int reps) {
  manual_seed(0);
  examples::ResidualBlock block(32, 32, 1);
  block.train();
  Tensor x = rand({64, 32, 28, 28}).requires_grad_();
  const double s = time_steps(
      [&] {
        x.zero_grad();
        block.zero_grad();
        Tensor y = block(x);
        y.backward(ones_like(y));
      },
      3, reps);
  return {1000 * s / steps_of(reps), "ms"};
}

// --quick: the first 6400 images.
std::pair<double, const char*> lenet_epoch(const std::string& data_dir, std::int64_t batch) {
  data::TensorDataset train = data::load_mnist(data_dir, data::Split::Train);
  if (quick) train = data::take(train, 6400);
  manual_seed(0);
  auto model = lenet5();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  const auto start = Clock::now();
  data::BatchLoader loader(train, {batch, true, 0, true});
  for (const data::Batch& b : loader.epoch(0)) classifier_step(*model, opt, b.inputs, b.targets, cross_entropy)();
  return {seconds_since(start), "s"};
}

// `steps` steps of the resnet trainer (examples/resnet.cpp) after `warmup` ones:
// its network and recipe (examples/common/resnet_model.cpp, resnet_recipe.cpp) at
// its defaults, batch 128 of Fashion-MNIST drawn from a shuffled epoch and
// augmented (crop, flip) as drawn, through nn::fit as the trainer, the 1cycle
// schedule stepped per batch over the trainer's 10 epochs. Data loading is not timed.
std::pair<double, const char*> resnet_steps(const std::string& data_dir, int warmup, int steps) {
  using D = examples::ResnetDefaults;
  warmup = quick ? 1 : warmup;
  steps = steps_of(steps);
  const auto train = std::make_shared<data::TensorDataset>(data::load_fashion_mnist(data_dir, data::Split::Train));
  manual_seed(0);
  auto model = examples::resnet();
  const auto sgd = examples::resnet_optimizer(*model, D::lr, D::momentum, D::weight_decay);
  const auto schedule =
      examples::resnet_schedule(*sgd, D::lr, D::epochs * data::batches_per_epoch(train->size(), D::batch_size));
  const auto augmented = examples::resnet_augmented(train, D::crop_padding, 0);
  const nn::LossFunction loss = examples::resnet_loss(D::label_smoothing);
  std::int64_t batches = 0;
  nn::FitOptions fit;
  fit.batches.batch_size = D::batch_size;
  fit.batches.shuffle = true;
  fit.metric = nn::multiclass_accuracy;  // as the trainer: its progress line shows it
  fit.on_batch = [&](const nn::BatchReport&) { schedule->step(); };
  fit.on_epoch = [](const nn::EpochReport&) {};
  // The first `batches` batches of the shuffled epoch.
  fit.sample_order = [&](std::int64_t epoch) {
    std::vector<std::int64_t> order = data::epoch_order(train->size(), true, 0, epoch);
    order.resize(static_cast<std::size_t>(batches * D::batch_size));
    return order;
  };
  batches = warmup;
  nn::fit(*model, loss, *sgd, augmented, fit);
  batches = steps;
  fit.first_epoch = 1;
  const auto start = Clock::now();
  nn::fit(*model, loss, *sgd, augmented, fit);
  return {static_cast<double>(steps) * D::batch_size / seconds_since(start), "images/s"};
}

// `steps` steps of the char_lm trainer (examples/char_lm.cpp) after `warmup`
// ones, --model `kind`: its network, Adam at its peak learning rate under the
// warm-up schedule, gradient clipping (examples/common/char_lm_model.cpp), batch
// 32 windows of 64 characters of the fortunes' training text, shuffled. The
// corpus is loaded and encoded before the clock starts.
// With `profile`, prints the per-op profile of the timed steps too.
std::pair<double, const char*> char_lm_steps(const std::string& kind, const std::string& data_dir, int warmup,
                                             int steps, bool profile = false) {
  using D = examples::CharLmDefaults;
  warmup = quick ? 1 : warmup;
  steps = steps_of(steps);
  const examples::FortunesSplit split = examples::split_fortunes(data::load_fortunes(data_dir));
  manual_seed(0);
  examples::CharModel model(kind, data::CharVocabulary(split.train_text + split.val_text), D::seq_len, D::dropout);
  const data::Batch windows = data::text_windows(model.vocab().encode(split.train_text), D::seq_len, 0);
  const data::BatchLoader loader(windows.inputs, windows.targets, {D::batch_size, true, 0, /*drop_last*/ true});
  const double peak = examples::char_lm_default_lr(kind);
  optim::Adam adam(model.parameters(), optim::AdamOptions(peak));
  const data::BatchLoader::Epoch epoch = loader.epoch(0);
  std::int64_t step = 0;
  const auto one_step = [&] {
    adam.set_lr(examples::char_lm_learning_rate(peak, step, D::warmup, 0.0));
    examples::char_lm_step(model, adam, epoch[step], D::clip, step);
    ++step;
  };
  for (int i = 0; i < warmup; ++i) one_step();
  std::unique_ptr<autograd::Profiler> prof;
  if (profile) prof = std::make_unique<autograd::Profiler>();
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) {
    if (prof) prof->mark();
    one_step();
  }
  const double seconds = seconds_since(start);
  if (prof)
    std::printf("Per-op profile of %d char_lm %s steps (%d threads), %.2f ms per step:\n%s", steps, kind.c_str(),
                get_num_threads(), 1e3 * seconds / steps, prof->table().c_str());
  return {steps / seconds, "steps/s"};
}

void profile(const std::string& which, std::int64_t batch, int steps) {
  manual_seed(0);
  const bool lenet = which == "lenet";
  auto model = lenet ? lenet5() : binary_cnn();
  Loss loss = lenet ? Loss(cross_entropy) : Loss(bce);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  Tensor x = rand({batch, 1, 28, 28});
  Tensor y = lenet ? randint(0, 10, {batch}) : randint(0, 2, {batch, 1}).to(kFloat32);
  auto step = classifier_step(*model, opt, x, y, loss);
  for (int i = 0; i < 20; ++i) step();
  autograd::Profiler prof;
  double optimizer_seconds = 0;
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    prof.mark();
    loss((*model)(x), y).backward();
    const auto t = Clock::now();
    opt.step();
    optimizer_seconds += seconds_since(t);
  }
  std::printf("Per-op profile of %d %s training steps, batch %lld (%d threads):\n%s", steps,
              lenet ? "LeNet-5" : "binary MNIST CNN", static_cast<long long>(batch), get_num_threads(), prof.table().c_str());
  std::printf("optimizer step (SGD, momentum): %.3f ms in total\n", 1e3 * optimizer_seconds);
}

// The per-op profile of the transformer_layer workload.
void profile_transformer(int steps) {
  manual_seed(0);
  nn::TransformerEncoderLayer layer(128, 4, 512, 0.1, "relu", 1e-5, true);
  Tensor x = randn({16, 64, 128}).requires_grad_();
  const Tensor causal = nn::generate_square_subsequent_mask(64);
  auto step = [&] {
    layer.zero_grad();
    Tensor y = layer(x, causal);
    y.backward(ones_like(y));
  };
  for (int i = 0; i < 5; ++i) step();
  autograd::Profiler prof;
  for (int i = 0; i < steps; ++i) {
    prof.mark();
    step();
  }
  std::printf("Per-op profile of %d transformer_layer steps (%d threads):\n%s", steps, get_num_threads(),
              prof.table().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tg_bench WORKLOAD|config|blas_upgrade [--threads N] [--data-dir DIR] [--quick]\n");
    return 2;
  }
  const std::string w = argv[1];
  int threads = 2;
  std::string data_dir;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else if (i + 1 < argc && !std::strcmp(argv[i], "--threads")) {
      threads = std::atoi(argv[++i]);
    } else if (i + 1 < argc && !std::strcmp(argv[i], "--data-dir")) {
      data_dir = argv[++i];
    } else {
      std::fprintf(stderr, "tg_bench: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  set_num_threads(threads);
  // Settle OpenBLAS's kernel set before any workload, so "OpenBLAS direct" runs
  // the same kernels as tg::matmul (tapegrad switches generic ones at its first product).
  const tg::Config config = tg::config();
  if (w == "config") {
    std::fputs(tg::config_text().c_str(), stdout);
    return 0;
  }
  if (w == "blas_upgrade") {  // what an OpenBLAS that fell back to Prescott would be switched to
    std::printf("%s\n", tg::blas_kernels_upgrade("Prescott", config.cpu_isa).c_str());
    return 0;
  }
  std::pair<double, const char*> r;
  try {
    if (w.rfind("lenet_step_b", 0) == 0) {
      r = lenet_step(std::atoll(w.c_str() + 12), 200);
    } else if (w == "binary_cnn_step_b32") {
      r = binary_cnn_step(300);
    } else if (w == "transformer_layer") {
      r = transformer_layer(50);
    } else if (w == "mlp_5000") {
      r = mlp_5000();
    } else if (w.rfind("sgemm_", 0) == 0) {
      r = sgemm_tapegrad(std::atoll(w.c_str() + 6));
    } else if (w.rfind("openblas_sgemm_", 0) == 0) {
      r = sgemm_openblas(std::atoll(w.c_str() + 15));
    } else if (w == "conv_fwd_bwd") {
      r = conv_fwd_bwd(30);
    } else if (w == "lstm_fwd_bwd") {
      r = lstm_fwd_bwd(20);
    } else if (w == "bn_residual_block") {
      r = bn_residual_block(20);
    } else if (w == "resnet_steps") {
      r = resnet_steps(data_dir, 3, 50);
    } else if (w == "char_lm_lstm_steps") {
      r = char_lm_steps("lstm", data_dir, 5, 50);
    } else if (w == "char_lm_transformer_steps") {
      r = char_lm_steps("transformer", data_dir, 5, 50);
    } else if (w == "lenet_epoch") {
      r = lenet_epoch(data_dir, 64);
    } else if (w == "profile_lenet") {
      profile("lenet", 64, 50);
      return 0;
    } else if (w == "profile_lenet_b256") {
      profile("lenet", 256, 50);
      return 0;
    } else if (w == "profile_transformer") {
      profile_transformer(20);
      return 0;
    } else if (w == "profile_char_lm_transformer") {
      char_lm_steps("transformer", data_dir, 5, 20, /*profile*/ true);
      return 0;
    } else if (w == "profile_lstm") {
      profile_lstm(10);
      return 0;
    } else if (w == "profile_binary_cnn") {
      profile("binary_cnn", 32, 100);
      return 0;
    } else {
      std::fprintf(stderr, "tg_bench: unknown workload %s\n", w.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tg_bench %s: %s\n", w.c_str(), e.what());
    return 1;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("{\"workload\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"peak_rss_mb\": %.1f, \"threads\": %d, "
              "\"blas_kernels\": \"%s\", \"quick\": %s}\n",
              w.c_str(), r.first, r.second, ru.ru_maxrss / 1024.0, threads, config.blas_kernels.c_str(),
              quick ? "true" : "false");
  return 0;
}
