// conv2d kernels part by part, tapegrad's engine against im2col + OpenBLAS:
// forward, input gradient, weight+bias gradient, on one thread, in thread CPU
// time (so other processes on a shared machine inflate the figures less than
// wall time would). The shapes are the ones the engine's size thresholds were
// chosen from (ops/kernels/conv_engine.cpp, use_conv_engine).
//
//   bench_conv_parts                      the sweep below
//   bench_conv_parts N C F H K PAD STRIDE one shape (square images and kernels)
//   bench_conv_parts --api                bench_conv's layer through tg::conv2d, autograd included
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_conv_parts
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "ops/kernels/conv_engine.hpp"  // private: the kernels and the engine switch
#include <tapegrad/tapegrad.hpp>

namespace {

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

template <class F> double median_ms(F&& f, int reps) {
  for (int i = 0; i < 2; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const double t0 = cpu_ms();
    f();
    ms.push_back(cpu_ms() - t0);
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  return ms[reps / 2];
}

void run(std::int64_t N, std::int64_t C, std::int64_t F, std::int64_t H, std::int64_t K, std::int64_t pad,
         std::int64_t stride) {
  using namespace tg;
  detail::ConvGeometry g;
  g.batch = N;
  g.channels = C;
  g.in_h = g.in_w = H;
  g.filters = F;
  g.kernel_h = g.kernel_w = K;
  g.stride_h = g.stride_w = stride;
  g.pad_top = g.pad_left = pad;
  g.out_h = g.out_w = (H + 2 * pad - K) / stride + 1;
  const std::int64_t P = g.out_plane();
  std::vector<float> x(N * C * H * H), w(F * C * K * K), b(F), y(N * F * P), gy(y.size()), gx(x.size()), gw(w.size()),
      gb(F);
  std::srand(1);
  for (auto* v : {&x, &w, &b, &gy})
    for (float& e : *v) e = float(std::rand()) / RAND_MAX - 0.5f;
  const double mflop = 2.0 * N * F * P * C * K * K * 1e-6;
  const int reps = mflop < 50 ? 41 : 11;
  double total[2] = {};
  std::printf("N%-3ld C%-3ld F%-3ld %3ldx%-3ld k%ld p%ld s%ld %7.1f MFLOP |", long(N), long(C), long(F), long(H),
              long(H), long(K), long(pad), long(stride), mflop);
  int i = 0;
  for (auto mode : {detail::ConvEngine::Auto, detail::ConvEngine::Im2colBlas}) {
    detail::set_conv_engine(mode == detail::ConvEngine::Auto ? detail::ConvEngine::Engine : mode);
    const double f = median_ms([&] { detail::conv2d_forward<float>(x.data(), w.data(), b.data(), g, y.data()); }, reps);
    const double dx = median_ms(
        [&] { detail::conv2d_backward<float>(nullptr, w.data(), gy.data(), g, gx.data(), nullptr, nullptr); }, reps);
    const double dw = median_ms(
        [&] { detail::conv2d_backward<float>(x.data(), nullptr, gy.data(), g, nullptr, gw.data(), gb.data()); }, reps);
    total[i++] = f + dx + dw;
    const char* name = mode == detail::ConvEngine::Auto ? "engine" : "blas";
    std::printf(" %s fwd %6.3f dx %6.3f dw %6.3f ms |", name, f, dx, dw);
  }
  detail::set_conv_engine(detail::ConvEngine::Auto);
  std::printf(" engine/blas %.2f  auto: %s\n", total[0] / total[1],
              detail::use_conv_engine<float>(g) ? "engine" : "blas");
}

}  // namespace

int main(int argc, char** argv) {
  tg::set_num_threads(1);
  if (argc == 8) {
    run(std::atoll(argv[1]), std::atoll(argv[2]), std::atoll(argv[3]), std::atoll(argv[4]), std::atoll(argv[5]),
        std::atoll(argv[6]), std::atoll(argv[7]));
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--api") {  // bench_conv's layer through tg::conv2d and autograd
    using namespace tg;
    manual_seed(0);
    const Tensor x0 = randn({64, 16, 28, 28});
    Tensor w = (randn({32, 16, 3, 3}) * 0.1).detach().requires_grad_();
    Tensor b = zeros({32}).requires_grad_();
    const Tensor gy = randn({64, 32, 28, 28});
    const double fwd = median_ms(
        [&] {
          NoGradGuard no_grad;
          conv2d(x0, w, b, 1, 1);
        },
        15);
    const double step = median_ms(
        [&] {
          Tensor x = x0.detach().requires_grad_();
          w.zero_grad();
          b.zero_grad();
          conv2d(x, w, b, 1, 1).backward(gy);
        },
        15);
    std::printf("conv2d [64,16,28,28] * [32,16,3,3] padding 1, one thread, CPU time: forward %.3f ms, "
                "forward+backward %.3f ms\n",
                fwd, step);
    return 0;
  }
  if (argc != 1) {
    std::printf("usage: %s [N C F H K PAD STRIDE]\n", argv[0]);
    return 2;
  }
  std::printf("one thread, thread CPU time, medians; engine = tapegrad's kernels, blas = im2col + OpenBLAS\n");
  struct Shape {
    std::int64_t n, c, f, h, k, pad, stride;
  };
  const Shape shapes[] = {
      {64, 16, 32, 28, 3, 1, 1},                                                     // bench_conv's layer
      {64, 1, 6, 28, 5, 0, 1},     {64, 6, 16, 12, 5, 0, 1},                         // LeNet-5
      {32, 1, 2, 28, 3, 1, 1},     {32, 2, 4, 14, 3, 1, 1},                          // the seed CNN
      {32, 16, 16, 28, 3, 1, 1},   {32, 32, 32, 14, 3, 1, 1}, {32, 64, 64, 7, 3, 1, 1},  // ResNet blocks
      {32, 16, 32, 28, 3, 1, 2},   {32, 32, 64, 14, 3, 1, 2}, {32, 16, 32, 28, 1, 0, 2},  // downsampling
      {32, 64, 64, 14, 3, 1, 1},   {16, 128, 128, 14, 3, 1, 1}, {16, 128, 128, 7, 3, 1, 1},
      {8, 256, 256, 14, 3, 1, 1},  {8, 256, 256, 7, 3, 1, 1},  {16, 64, 256, 14, 1, 0, 1},  // wider
      {1, 16, 32, 28, 3, 1, 1},    {1, 64, 64, 56, 3, 1, 1},                             // batch 1
  };
  for (const Shape& s : shapes) run(s.n, s.c, s.f, s.h, s.k, s.pad, s.stride);
  return 0;
}
