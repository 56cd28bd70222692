// Op-dispatch overhead: the time of one call of a tiny op, add of two
// 4-element float32 tensors, where the arithmetic is negligible and what is
// measured is checks, allocation and autograd bookkeeping. Cases: no input
// requires grad; one does (a node is recorded); one does under NoGradGuard;
// under InferenceModeGuard; and the in-place add_ under the same modes.
// Minimum and median over --reps rounds of --calls calls each, in ns per call.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_dispatch
// Built with -DTAPEGRAD_BENCH_BEFORE_INPLACE it compiles against a tapegrad
// without InferenceModeGuard and add_ (the numbers of the version before them).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace {

struct Timing {
  double median_ns, min_ns;
};

// The minimum is the better estimate on a loaded machine (other processes only
// ever add time); the median shows how far the load moved it.
template <class F> Timing ns_per_call(int reps, int calls, F&& f) {
  for (int i = 0; i < calls; ++i) f();  // warm-up: the allocator's cache, the branch predictors
  std::vector<double> ns;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) f();
    ns.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / calls);
  }
  std::sort(ns.begin(), ns.end());
  return {ns[ns.size() / 2], ns.front()};
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 21, calls = 100000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--calls" && i + 1 < argc) calls = std::max(1, std::atoi(argv[++i]));
    else {
      std::printf("usage: %s [--reps N] [--calls N]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  using namespace tg;
  const Tensor a = tensor({1, 2, 3, 4}), b = tensor({0.5, 0.25, 0.125, 0.0625});
  const Tensor w = tensor({1, 2, 3, 4}).requires_grad_();
  double sink = 0;  // read after the loop, so no call is optimised away
  auto report = [](const char* what, Timing t) {
    std::printf("%-46s %8.1f %8.1f\n", what, t.min_ns, t.median_ns);
  };

  std::printf("add of two [4] float32 tensors; %d rounds of %d calls; ns per call\n", reps, calls);
  std::printf("%-46s %8s %8s\n", "", "min", "median");
  report("add, no input requires grad", ns_per_call(reps, calls, [&] { sink += add(a, b).numel(); }));
  report("add, one input requires grad (recorded)", ns_per_call(reps, calls, [&] { sink += add(w, b).numel(); }));
  {
    NoGradGuard no_grad;
    report("add, requires grad, under NoGradGuard", ns_per_call(reps, calls, [&] { sink += add(w, b).numel(); }));
  }
#ifndef TAPEGRAD_BENCH_BEFORE_INPLACE
  {
    InferenceModeGuard inference;
    report("add, requires grad, under InferenceModeGuard",
           ns_per_call(reps, calls, [&] { sink += add(w, b).numel(); }));
  }
  Tensor acc = zeros({4});
  report("add_ (in place), no grad", ns_per_call(reps, calls, [&] { add_(acc, b); }));
  {
    NoGradGuard no_grad;
    Tensor acc_no_grad = zeros({4});
    report("add_ under NoGradGuard", ns_per_call(reps, calls, [&] { add_(acc_no_grad, b); }));
  }
  {
    InferenceModeGuard inference;
    Tensor acc_inference = zeros({4});  // an inference tensor: no version counter to bump
    report("add_ of an inference tensor, InferenceModeGuard",
           ns_per_call(reps, calls, [&] { add_(acc_inference, b); }));
    sink += acc_inference.to_vector()[0];
  }
  sink += acc.to_vector()[0];
#endif
  std::printf("(checksum %g)\n", sink);
  return 0;
}
