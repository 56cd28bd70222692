// Batch-norm micro-benchmark: training-mode batch normalisation of
// [64,32,28,28] float32 with weight and bias, forward and forward+backward,
// the fused op (tg::fused_batch_norm, what nn::BatchNorm2d runs in training)
// against the same computation composed of ops (mean, var, rsqrt, mul, add),
// at 1 and 2 threads; median of --reps runs after warm-up.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_batch_norm
#include <cstdio>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "bench_common.hpp"

namespace {

// The composition nn::functional::batch_norm would be without the fused op.
tg::Tensor composed(const tg::Tensor& x, const tg::Tensor& weight, const tg::Tensor& bias) {
  const std::vector<int> dims{0, 2, 3};
  const tg::Tensor centred = x - tg::mean(x, dims, true);
  const tg::Tensor y = centred * tg::rsqrt(tg::mean(centred * centred, dims, true) + 1e-5);
  return y * tg::reshape(weight, {1, -1, 1, 1}) + tg::reshape(bias, {1, -1, 1, 1});
}

}  // namespace

int main(int argc, char** argv) {
  int warmup = 3, reps = 21;
  if (const auto exit_code = tg::bench::parse_reps_warmup(argc, argv, warmup, reps)) return *exit_code;
  using namespace tg;
  manual_seed(0);
  const Tensor x0 = randn({64, 32, 28, 28});
  const Tensor gy = randn({64, 32, 28, 28});
  Tensor weight = randn({32}).requires_grad_(), bias = randn({32}).requires_grad_();
  std::printf("batch norm (training) of [64,32,28,28] float32; median of %d after %d warm-up\n", reps, warmup);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const bool fused : {false, true}) {
      auto bn = [&](const Tensor& x) { return fused ? fused_batch_norm(x, weight, bias) : composed(x, weight, bias); };
      const auto [fwd, train] = bench::forward_backward_ms(warmup, reps, x0, gy, bn, [&] {
        weight.zero_grad();
        bias.zero_grad();
      });
      std::printf("%-8s threads=%d  forward %7.3f ms  forward+backward %7.3f ms\n", fused ? "fused" : "composed",
                  threads, fwd, train);
    }
  }
}
