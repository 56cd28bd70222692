// Batch-norm micro-benchmark: training-mode batch normalisation of
// [64,32,28,28] float32 with weight and bias, forward and forward+backward,
// the fused op (tg::fused_batch_norm, what nn::BatchNorm2d runs in training)
// against the same computation composed of ops (mean, var, rsqrt, mul, add),
// at 1 and 2 threads; median of --reps runs after warm-up.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_batch_norm
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
  const Tensor gy = randn({64, 32, 28, 28});
  Tensor weight = randn({32}).requires_grad_(), bias = randn({32}).requires_grad_();
  std::printf("batch norm (training) of [64,32,28,28] float32; median of %d after %d warm-up\n", reps, warmup);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const bool fused : {false, true}) {
      auto bn = [&](const Tensor& x) { return fused ? fused_batch_norm(x, weight, bias) : composed(x, weight, bias); };
      const double fwd = median_ms(warmup, reps, [&] {
        NoGradGuard no_grad;
        bn(x0);
      });
      const double train = median_ms(warmup, reps, [&] {
        Tensor x = x0.detach().requires_grad_();
        bn(x).backward(gy);
        weight.zero_grad();
        bias.zero_grad();
      });
      std::printf("%-8s threads=%d  forward %7.3f ms  forward+backward %7.3f ms\n", fused ? "fused" : "composed",
                  threads, fwd, train);
    }
  }
}
