// Pooling micro-benchmark: 2x2 max and average pooling of [64,32,28,28]
// float32 (after the second conv of an MNIST CNN) and of LeNet-5's two pooling
// inputs at batch 256 ([256,6,24,24], [256,16,8,8]), forward and
// forward+backward, at 1 and 2 threads; median of --reps runs after warm-up.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_pool
#include <cstdint>
#include <cstdio>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
  int warmup = 5, reps = 41;
  if (const auto exit_code = tg::bench::parse_reps_warmup(argc, argv, warmup, reps)) return *exit_code;
  using namespace tg;
  manual_seed(0);
  // After the second conv of an MNIST CNN, then LeNet-5's two pools at batch 256.
  const std::vector<std::vector<std::int64_t>> shapes = {{64, 32, 28, 28}, {256, 6, 24, 24}, {256, 16, 8, 8}};
  std::printf("2x2 pooling, float32; median of %d after %d warm-up\n", reps, warmup);
  for (const auto& shape : shapes) {
    const Tensor x0 = randn(Shape(shape));
    const Tensor gy = randn({shape[0], shape[1], shape[2] / 2, shape[3] / 2});
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      for (const bool use_max : {true, false}) {
        auto pool = [&](const Tensor& x) { return use_max ? max_pool2d(x, 2) : avg_pool2d(x, 2); };
        const auto [fwd, train] = bench::forward_backward_ms(warmup, reps, x0, gy, pool, [] {});
        std::printf("%-16s %s threads=%d  forward %6.3f ms  forward+backward %6.3f ms\n", x0.shape().str().c_str(),
                    use_max ? "max_pool2d" : "avg_pool2d", threads, fwd, train);
      }
    }
  }
  return 0;
}
