// Memory soak: trains LeNet-5 (examples/common/lenet5_model.hpp) on generated
// data for STEPS steps and watches for leaks.
//
//   soak [STEPS] [--batch N] [--every N] [--rss-tolerance-mb MB] [--lr LR]
//
// Every step: the number of live autograd nodes must be back at its baseline
// (the tape is freed). Every --every steps (default 1000) it prints the live
// node count, tapegrad's bytes in use / cached, and the process RSS (VmRSS from
// /proc/self/status). After the first report (the warm-up) tapegrad's bytes in
// use must not change and the RSS must not grow by more than the tolerance.
// Exits 1 when any of that fails. Run through scripts/soak.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/lenet5_model.hpp"
#include <tapegrad/tapegrad.hpp>

using namespace tg;

namespace {

// Resident set size in KiB, or -1 when /proc is unavailable.
long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

int usage(const char* argv0, int code) {
  std::fprintf(code ? stderr : stdout, "usage: %s [STEPS] [--batch N] [--every N] [--rss-tolerance-mb MB] [--lr LR]\n", argv0);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  long steps = 10000, batch = 16, every = 1000;
  double rss_tolerance_mb = 2.0, lr = 0.005;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--batch" && has_value) batch = std::atol(argv[++i]);
    else if (a == "--every" && has_value) every = std::atol(argv[++i]);
    else if (a == "--rss-tolerance-mb" && has_value) rss_tolerance_mb = std::atof(argv[++i]);
    else if (a == "--lr" && has_value) lr = std::atof(argv[++i]);
    else if (a == "--help" || a == "-h") return usage(argv[0], 0);
    else if (!a.empty() && a[0] != '-') steps = std::atol(a.c_str());
    else return usage(argv[0], 2);
  }
  if (steps < 2 * every || batch < 1 || every < 1) {
    std::fprintf(stderr, "soak: need STEPS >= 2 * --every (warm-up, then at least one check) and positive sizes\n");
    return 2;
  }

  // Generated data with a rule to learn: the label is the strongest of 10 fixed
  // random projections of the image.
  manual_seed(2024);
  const std::int64_t pool = 1024;
  const Tensor images = randn({pool, 1, 28, 28});
  const Tensor labels = argmax(matmul(reshape(images, {pool, 784}), randn({784, 10})), 1);
  auto model = examples::lenet5();
  optim::SGD sgd(model->parameters(), optim::SGDOptions(lr).momentum(0.9));

  const std::int64_t baseline_nodes = autograd::live_nodes();
  std::printf("soak: LeNet-5, %ld steps of batch %ld, %d threads; baseline live nodes %lld\n", steps, batch,
              get_num_threads(), static_cast<long long>(baseline_nodes));
  std::printf("%8s %9s %10s %14s %14s %10s\n", "step", "loss", "live nodes", "in use (MiB)", "cached (MiB)", "RSS (MiB)");

  bool ok = true;
  long node_mismatches = 0;
  MemoryStats warm{};
  long warm_rss = -1, max_rss_growth = 0;
  double loss_sum = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long step = 1; step <= steps; ++step) {
    {
      const std::int64_t first = ((step - 1) * batch) % (pool - batch + 1);
      sgd.zero_grad();
      Tensor loss = nn::functional::cross_entropy((*model)(narrow(images, first, batch)), narrow(labels, first, batch));
      loss.backward();
      sgd.step();
      loss_sum += loss.item();
    }
    const std::int64_t nodes = autograd::live_nodes();
    if (nodes != baseline_nodes && node_mismatches++ < 5)
      std::printf("soak: FAIL at step %ld: %lld live nodes, baseline %lld\n", step, static_cast<long long>(nodes),
                  static_cast<long long>(baseline_nodes));
    if (step % every != 0) continue;

    const MemoryStats mem = memory_stats();
    const long rss = rss_kib();
    std::printf("%8ld %9.4f %10lld %14.3f %14.3f %10.1f\n", step, loss_sum / every, static_cast<long long>(nodes),
                mib(mem.bytes_in_use), mib(mem.bytes_cached), rss / 1024.0);
    std::fflush(stdout);
    loss_sum = 0;
    if (step == every) {  // the end of the warm-up: the reference from now on
      warm = mem;
      warm_rss = rss;
      continue;
    }
    if (mem.bytes_in_use != warm.bytes_in_use) {
      std::printf("soak: FAIL: tapegrad bytes in use changed from %zu to %zu after warm-up\n", warm.bytes_in_use,
                  mem.bytes_in_use);
      ok = false;
    }
    max_rss_growth = std::max(max_rss_growth, rss - warm_rss);
    if (warm_rss >= 0 && rss - warm_rss > static_cast<long>(rss_tolerance_mb * 1024)) {
      std::printf("soak: FAIL: RSS grew by %.1f MiB since warm-up (tolerance %.1f MiB)\n", (rss - warm_rss) / 1024.0,
                  rss_tolerance_mb);
      ok = false;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (node_mismatches > 0) {
    std::printf("soak: FAIL: the live node count differed from the baseline after %ld steps\n", node_mismatches);
    ok = false;
  }
  std::printf("soak: %s — %ld steps in %.1f s (%.2f ms/step); RSS growth after warm-up at most %.2f MiB "
              "(tolerance %.1f MiB)\n",
              ok ? "OK" : "FAILED", steps, seconds, 1000.0 * seconds / steps, max_rss_growth / 1024.0,
              rss_tolerance_mb);
  return ok ? 0 : 1;
}
