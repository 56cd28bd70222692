// conv2d micro-benchmark: the second conv of an MNIST CNN.
//
//   N=64, C=16 -> F=32, 28x28, 3x3, padding 1, float32
//
// Reports forward and forward+backward (gradients for input, weight and bias,
// as for a conv in the middle of a network) in ms and GFLOP/s, at 1 and 2
// threads: the median of --reps runs after --warmup runs, for tapegrad's conv
// engine (ops/kernels/conv_engine.cpp) and for the im2col + OpenBLAS path; at 2
// threads the latter both ways of using them (our pool over the batch with
// single-threaded OpenBLAS, or one image at a time with OpenBLAS threads),
// through the private conv knobs. With --torch it then runs bench_conv_torch.py (same
// layer in PyTorch) if /usr/bin/python3 can import torch.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_conv
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ops/kernels/conv2d.hpp"      // private: the threading knob compared below
#include "ops/kernels/conv_engine.hpp"  // private: the engine switch
#include <tapegrad/tapegrad.hpp>

namespace {

struct Options {
  int warmup = 3;
  int reps = 15;
  bool torch = false;
};

template <class F> double median_ms(const Options& o, F&& f) {
  for (int i = 0; i < o.warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < o.reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

void row(const char* what, int threads, const char* mode, double ms, double gflop) {
  std::printf("%-18s threads=%d  %-14s %8.2f ms  %6.1f GFLOP/s\n", what, threads, mode, ms, gflop / ms * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) o.reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--warmup" && i + 1 < argc) o.warmup = std::max(0, std::atoi(argv[++i]));
    else if (a == "--torch") o.torch = true;
    else {
      std::printf("usage: %s [--reps N] [--warmup N] [--torch]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  using namespace tg;
  const std::int64_t N = 64, C = 16, F = 32, H = 28, W = 28, K = 3;
  const double fwd_gflop = 2.0 * N * F * H * W * C * K * K * 1e-9;  // one multiply-add per weight per output
  const double train_gflop = 3 * fwd_gflop;                         // + dW and dX, each as large

  manual_seed(0);
  const Tensor x0 = randn({N, C, H, W});
  Tensor w = (randn({F, C, K, K}) * 0.1).detach().requires_grad_();
  Tensor b = zeros({F}).requires_grad_();
  const Tensor gy = randn({N, F, H, W});

  std::printf("conv2d [%ld,%ld,%ld,%ld] * [%ld,%ld,%ld,%ld], padding 1, float32; median of %d after %d warm-up\n",
              long(N), long(C), long(H), long(W), long(F), long(C), long(K), long(K), o.reps, o.warmup);
  std::printf("forward %.3f GFLOP, forward+backward %.3f GFLOP\n", fwd_gflop, train_gflop);

  auto forward = [&] {
    NoGradGuard no_grad;
    Tensor y = conv2d(x0, w, b, 1, 1);
  };
  auto train_step = [&] {
    Tensor x = x0.detach().requires_grad_();
    w.zero_grad();
    b.zero_grad();
    conv2d(x, w, b, 1, 1).backward(gy);
  };

  struct Mode {
    const char* name;
    detail::ConvEngine engine;
    detail::ConvThreading threading;
  };
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    // The engine (what conv2d runs for this layer), then the im2col + OpenBLAS path it replaced.
    const std::vector<Mode> modes =
        threads == 1 ? std::vector<Mode>{{"engine", detail::ConvEngine::Auto, detail::ConvThreading::Auto},
                                         {"blas", detail::ConvEngine::Im2colBlas, detail::ConvThreading::Auto}}
                     : std::vector<Mode>{
                           {"engine", detail::ConvEngine::Auto, detail::ConvThreading::Auto},
                           {"blas batch-pool", detail::ConvEngine::Im2colBlas, detail::ConvThreading::Batch},
                           {"blas threaded", detail::ConvEngine::Im2colBlas, detail::ConvThreading::ThreadedBlas}};
    for (const Mode& m : modes) {
      detail::set_conv_engine(m.engine);
      detail::set_conv_threading(m.threading);
      row("forward", threads, m.name, median_ms(o, forward), fwd_gflop);
      row("forward+backward", threads, m.name, median_ms(o, train_step), train_gflop);
    }
    detail::set_conv_engine(detail::ConvEngine::Auto);
    detail::set_conv_threading(detail::ConvThreading::Auto);
  }

  if (o.torch) {
    std::fflush(stdout);
    if (std::system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0) {
      std::printf("PyTorch: /usr/bin/python3 cannot import torch (apt install python3-torch)\n");
      return 0;
    }
    const std::string script = std::string(TAPEGRAD_BENCH_DIR) + "/bench_conv_torch.py";
    const std::string cmd = "OPENBLAS_NUM_THREADS=1 /usr/bin/python3 " + script + " --reps " +
                            std::to_string(o.reps) + " --warmup " + std::to_string(o.warmup);
    return std::system(cmd.c_str()) == 0 ? 0 : 1;
  }
  return 0;
}
