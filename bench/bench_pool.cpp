// Pooling micro-benchmark: 2x2 max and average pooling of [64,32,28,28]
// float32 (after the second conv of an MNIST CNN), forward and
// forward+backward, at 1 and 2 threads; median of --reps runs after warm-up.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_pool
#include <cstdio>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
  int warmup = 5, reps = 41;
  if (const auto exit_code = tg::bench::parse_reps_warmup(argc, argv, warmup, reps)) return *exit_code;
  using namespace tg;
  manual_seed(0);
  const Tensor x0 = randn({64, 32, 28, 28});
  const Tensor gy = randn({64, 32, 14, 14});
  std::printf("2x2 pooling of [64,32,28,28] float32; median of %d after %d warm-up\n", reps, warmup);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const bool use_max : {true, false}) {
      auto pool = [&](const Tensor& x) { return use_max ? max_pool2d(x, 2) : avg_pool2d(x, 2); };
      const auto [fwd, train] = bench::forward_backward_ms(warmup, reps, x0, gy, pool, [] {});
      std::printf("%s threads=%d  forward %6.3f ms  forward+backward %6.3f ms\n",
                  use_max ? "max_pool2d" : "avg_pool2d", threads, fwd, train);
    }
  }
  return 0;
}
