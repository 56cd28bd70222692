// Pooling micro-benchmark: 2x2 max and average pooling of [64,32,28,28]
// float32 (after the second conv of an MNIST CNN), forward and
// forward+backward, at 1 and 2 threads; median of --reps runs after warm-up.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_pool
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace {

template <class F> double median_ms(int warmup, int reps, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int warmup = 5, reps = 41;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--warmup" && i + 1 < argc) warmup = std::max(0, std::atoi(argv[++i]));
    else {
      std::printf("usage: %s [--reps N] [--warmup N]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  using namespace tg;
  manual_seed(0);
  const Tensor x0 = randn({64, 32, 28, 28});
  const Tensor gy = randn({64, 32, 14, 14});
  std::printf("2x2 pooling of [64,32,28,28] float32; median of %d after %d warm-up\n", reps, warmup);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const bool use_max : {true, false}) {
      auto pool = [&](const Tensor& x) { return use_max ? max_pool2d(x, 2) : avg_pool2d(x, 2); };
      const double fwd = median_ms(warmup, reps, [&] {
        NoGradGuard no_grad;
        pool(x0);
      });
      const double train = median_ms(warmup, reps, [&] {
        Tensor x = x0.detach().requires_grad_();
        pool(x).backward(gy);
      });
      std::printf("%s threads=%d  forward %6.3f ms  forward+backward %6.3f ms\n",
                  use_max ? "max_pool2d" : "avg_pool2d", threads, fwd, train);
    }
  }
  return 0;
}
