// What the micro-benchmarks timing whole calls in milliseconds share: the median
// of timed runs after warm-up ones, forward and forward+backward timings of one
// layer, and their --reps / --warmup flags.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg::bench {

/// The median wall time, in ms, of `reps` calls of f after `warmup` untimed ones
/// (the median: other processes on the machine only ever add time to a few runs).
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

/// The medians, in ms, of a layer's forward pass and of its forward and backward passes.
struct ForwardBackward {
  double forward, train;
};

/// Times f(x0) under NoGradGuard, and f(x).backward(grad_output) on a copy x of x0
/// that requires grad, followed by `after_backward` (e.g. zeroing the parameters'
/// gradients, so every run accumulates into the same state).
template <class F, class After>
ForwardBackward forward_backward_ms(int warmup, int reps, const Tensor& x0, const Tensor& grad_output, F&& f,
                                    After&& after_backward) {
  const double forward = median_ms(warmup, reps, [&] {
    NoGradGuard no_grad;
    f(x0);
  });
  const double train = median_ms(warmup, reps, [&] {
    Tensor x = x0.detach().requires_grad_();
    f(x).backward(grad_output);
    after_backward();
  });
  return {forward, train};
}

/// Reads "--reps N" and "--warmup N" into reps and warmup. Anything else prints
/// the usage; the exit code is returned then (0 for --help and -h, else 2).
inline std::optional<int> parse_reps_warmup(int argc, char** argv, int& warmup, int& reps) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--warmup" && i + 1 < argc) warmup = std::max(0, std::atoi(argv[++i]));
    else {
      std::printf("usage: %s [--reps N] [--warmup N]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  return std::nullopt;
}

}  // namespace tg::bench
