// Peak resident memory of whole programs, the tapegrad side of bench/memory.sh
// (the PyTorch side is bench/memory_rss_torch.py, the same programs).
//
//   memory_rss WORKLOAD [--threads N] [--data-dir DIR] [--steps N]
//
// Workloads (each a fresh process, so getrusage's ru_maxrss is this program's peak):
//   lenet_epoch           load MNIST's training set, one LeNet-5 epoch (batch 64)
//   normalise_train       load MNIST, normalise it once as a user would,
//                         images = (images - mean) / std, then --steps LeNet-5 steps
//   normalise_train_inplace  the same, normalised with sub_ and div_ (no copy)
//   lenet_steps / resnet_steps / lstm_steps  --steps training steps on random
//                         data, the example trainers' models and sizes: ms per
//                         step, allocations per step and the most the allocator's
//                         cache held (what its limit and staleness rule must allow)
// Prints one JSON line: the peak RSS; the RSS and the allocator's figures at the
// end of the training loop (its data still alive); seconds.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/lenet5_model.hpp"
#include "common/resnet_model.hpp"
#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Clock = std::chrono::steady_clock;

namespace {

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // KiB on Linux
}

// Resident now (second field of /proc/self/statm, in pages).
double rss_now_mib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return mib(static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)));
}

std::string find_mnist(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* d : {static_cast<const char*>(std::getenv("TAPEGRAD_DATA")), "../shared/data/mnist", "/usr/share/datasets/mnist"}) {
    if (!d || !*d) continue;
    std::ifstream f(std::string(d) + "/train-images-idx3-ubyte.gz");
    if (f) return d;
  }
  return "";  // load_mnist searches its standard places
}

struct Result {
  double seconds = 0;
  double ms_per_step = 0;
  double max_cached_mib = 0;  // the most the cache held after a step
  double allocations_per_step = 0;
  // At the end of the training loop, its data still alive:
  double end_rss_mib = 0, in_use_mib = 0, cached_mib = 0;
};

void measure_end(Result& r) {
  const MemoryStats st = memory_stats();
  r.end_rss_mib = rss_now_mib();
  r.in_use_mib = mib(static_cast<double>(st.bytes_in_use));
  r.cached_mib = mib(static_cast<double>(st.bytes_cached));
}

Result train_steps(nn::Module& model, optim::Optimizer& opt, const data::TensorDataset& train, std::int64_t batch,
                   std::int64_t steps) {
  Result r;
  const auto start = Clock::now();
  data::BatchLoader loader(train, {batch, true, 0, true});
  std::int64_t done = 0;
  for (std::int64_t epoch = 0; done < steps; ++epoch) {
    for (const data::Batch& b : loader.epoch(epoch)) {
      if (done++ == steps) break;
      opt.zero_grad();
      nn::functional::cross_entropy(model(b.inputs), b.targets).backward();
      opt.step();
      r.max_cached_mib = std::max(r.max_cached_mib, mib(static_cast<double>(memory_stats().bytes_cached)));
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.ms_per_step = 1e3 * r.seconds / static_cast<double>(steps);
  measure_end(r);
  return r;
}

Result normalise_train(const std::string& data_dir, std::int64_t steps, bool inplace) {
  data::TensorDataset train = data::load_mnist(data_dir, data::Split::Train);
  // What a user writes to standardise the pixels with the training set's statistics.
  const Tensor m = mean(train.images), s = tg::std(train.images);
  if (inplace) {
    sub_(train.images, m);  // no temporary of the data set's size
    div_(train.images, s);
  } else {
    train.images = (train.images - m) / s;
  }
  manual_seed(0);
  auto model = examples::lenet5();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  return train_steps(*model, opt, train, 64, steps);
}

Result lenet_epoch(const std::string& data_dir) {
  data::TensorDataset train = data::load_mnist(data_dir, data::Split::Train);
  manual_seed(0);
  auto model = examples::lenet5();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  return train_steps(*model, opt, train, 64, data::batches_per_epoch(train.size(), 64, true));
}

// Training steps on one random batch, timed after a warm-up (median of 5
// blocks): LeNet-5 (batch 64) and the resnet trainer's model (batch 128), as
// the trainers run them, and the char_lm trainer's 2-layer LSTM (64 -> 256,
// batch 32, 64 characters).
Result random_steps(const std::string& which, std::int64_t steps) {
  manual_seed(0);
  std::shared_ptr<nn::Module> model;
  Tensor x, y;
  if (which == "lstm") {
    model = std::make_shared<nn::LSTM>(64, 256, nn::RecurrentOptions().num_layers(2).batch_first(true));
    x = randn({32, 64, 64});
  } else {
    const std::int64_t batch = which == "resnet" ? 128 : 64;
    model = which == "resnet" ? std::shared_ptr<nn::Module>(examples::resnet()) : examples::lenet5();
    x = rand({batch, 1, 28, 28});
    y = randint(0, 10, {batch});
  }
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  Result r;
  auto step = [&] {
    opt.zero_grad();
    const Tensor out = (*model)(x);
    (y.defined() ? nn::functional::cross_entropy(out, y) : mean(out)).backward();
    opt.step();
    r.max_cached_mib = std::max(r.max_cached_mib, mib(static_cast<double>(memory_stats().bytes_cached)));
  };
  for (int i = 0; i < 3; ++i) step();
  std::vector<double> ms;
  const std::uint64_t allocations = memory_stats().allocations;
  const auto start = Clock::now();
  const std::int64_t per_block = std::max<std::int64_t>(1, steps / 5);
  for (int b = 0; b < 5; ++b) {
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < per_block; ++i) step();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / static_cast<double>(per_block));
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.allocations_per_step = static_cast<double>(memory_stats().allocations - allocations) / static_cast<double>(5 * per_block);
  std::nth_element(ms.begin(), ms.begin() + 2, ms.end());
  r.ms_per_step = ms[2];
  measure_end(r);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: memory_rss WORKLOAD [--threads N] [--data-dir DIR] [--steps N]\n");
    return 2;
  }
  const std::string w = argv[1];
  int threads = 2;
  std::string data_dir;
  std::int64_t steps = -1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--data-dir")) data_dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoll(argv[i + 1]);
  }
  set_num_threads(threads);
  Result r;
  try {
    if (w == "lenet_epoch") {
      r = lenet_epoch(find_mnist(data_dir));
    } else if (w == "normalise_train" || w == "normalise_train_inplace") {
      r = normalise_train(find_mnist(data_dir), steps < 0 ? 300 : steps, w == "normalise_train_inplace");
    } else if (w == "lenet_steps" || w == "resnet_steps" || w == "lstm_steps") {
      r = random_steps(w.substr(0, w.find('_')), steps < 0 ? (w == "lenet_steps" ? 500 : 25) : steps);
    } else {
      std::fprintf(stderr, "memory_rss: unknown workload %s\n", w.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memory_rss %s: %s\n", w.c_str(), e.what());
    return 1;
  }
  std::printf("{\"workload\": \"%s\", \"peak_rss_mb\": %.1f, \"end_rss_mb\": %.1f, \"seconds\": %.3f, "
              "\"ms_per_step\": %.3f, \"in_use_mb\": %.1f, \"cached_mb\": %.1f, \"max_cached_mb\": %.1f, "
              "\"allocations_per_step\": %.0f, \"threads\": %d}\n",
              w.c_str(), peak_rss_mib(), r.end_rss_mib, r.seconds, r.ms_per_step, r.in_use_mib, r.cached_mib,
              r.max_cached_mib, r.allocations_per_step, threads);
  return 0;
}
