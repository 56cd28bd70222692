// DataLoader benchmark: a transform-heavy epoch with 0 and 2 worker threads.
//
// The data set holds N 28x28 grey images (generated, uint8 values stored as
// float) and makes each example on demand as an augmenting pipeline would:
// pad by 4 and crop 28x28 at a random offset, flip horizontally half of the
// time, rotate by a random angle in [-15, 15] degrees (bilinear), blur with a
// 5x5 Gaussian, and normalise to zero mean and unit variance. The random
// choices come from (seed, index), so every worker count gives the same batches.
//
// Two measurements, each the median of --reps epochs after one warm-up epoch,
// with the CPU time the process got per wall-clock second (its "cores"):
//   data only   the loop takes the batches and does nothing else;
//   training    an MLP 784-256-10 takes an SGD step per batch (batch 64), with
//               tapegrad's own loops at --threads threads.
//
// Build: cmake -DTAPEGRAD_BUILD_BENCH=ON ...; run: build/bench/bench_loader
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace {

using namespace tg;

constexpr int kSide = 28, kPad = 4;

class AugmentedDigits final : public data::Dataset {
 public:
  AugmentedDigits(std::int64_t n, std::uint64_t seed) : n_(n), seed_(seed), raw_(static_cast<std::size_t>(n) * kSide * kSide) {
    std::mt19937_64 gen(seed);
    for (float& p : raw_) p = static_cast<float>(gen() % 256);
    labels_.resize(static_cast<std::size_t>(n));
    for (auto& y : labels_) y = static_cast<std::int64_t>(gen() % 10);
  }

  std::int64_t size() const override { return n_; }

  data::Example get(std::int64_t index) const override {
    std::mt19937_64 gen(seed_ ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(index + 1)));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const float* src = raw_.data() + index * kSide * kSide;

    // Random crop of the zero-padded image, and a random horizontal flip.
    const int dy = static_cast<int>(gen() % (2 * kPad + 1)) - kPad, dx = static_cast<int>(gen() % (2 * kPad + 1)) - kPad;
    const bool flip = gen() % 2;
    std::vector<float> a(kSide * kSide, 0.0f), b(kSide * kSide);
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        const int sy = y + dy, sx = (flip ? kSide - 1 - x : x) + dx;
        if (sy >= 0 && sy < kSide && sx >= 0 && sx < kSide) a[y * kSide + x] = src[sy * kSide + sx];
      }

    // Rotation about the centre, bilinear, zeros outside.
    const double angle = (unit(gen) * 30.0 - 15.0) * 3.14159265358979 / 180.0;
    const double c = std::cos(angle), s = std::sin(angle), mid = (kSide - 1) / 2.0;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        const double fx = c * (x - mid) + s * (y - mid) + mid, fy = -s * (x - mid) + c * (y - mid) + mid;
        const int x0 = static_cast<int>(std::floor(fx)), y0 = static_cast<int>(std::floor(fy));
        const double wx = fx - x0, wy = fy - y0;
        auto at = [&](int yy, int xx) { return yy >= 0 && yy < kSide && xx >= 0 && xx < kSide ? a[yy * kSide + xx] : 0.0f; };
        b[y * kSide + x] = static_cast<float>((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)) +
                                              wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1)));
      }

    // 5x5 Gaussian blur (sigma 1), clamped at the borders.
    static const float k1[5] = {0.0545f, 0.2442f, 0.4026f, 0.2442f, 0.0545f};
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        float acc = 0;
        for (int i = -2; i <= 2; ++i)
          for (int j = -2; j <= 2; ++j) {
            const int yy = std::clamp(y + i, 0, kSide - 1), xx = std::clamp(x + j, 0, kSide - 1);
            acc += k1[i + 2] * k1[j + 2] * b[yy * kSide + xx];
          }
        a[y * kSide + x] = acc;
      }

    // Per-image normalisation.
    double mean = 0, sq = 0;
    for (float p : a) mean += p;
    mean /= a.size();
    for (float p : a) sq += (p - mean) * (p - mean);
    const double inv_std = 1.0 / std::sqrt(sq / a.size() + 1e-5);
    Tensor image = empty({1, kSide, kSide});
    float* out = image.data<float>();
    for (std::size_t p = 0; p < a.size(); ++p) out[p] = static_cast<float>((a[p] - mean) * inv_std);
    return {image, tensor_i64({labels_[static_cast<std::size_t>(index)]}, {})};
  }

 private:
  std::int64_t n_;
  std::uint64_t seed_;
  std::vector<float> raw_;
  std::vector<std::int64_t> labels_;
};

// Median wall-clock seconds of `reps` runs after a warm-up, and the process's CPU
// seconds per wall second over them (about 2 when two cores were really free:
// on a shared machine the wall time alone does not say whether they were).
struct Timing {
  double seconds, cores;
};
template <class F> Timing median_s(int reps, F&& f) {
  f();  // warm-up
  std::vector<double> s;
  const std::clock_t cpu0 = std::clock();
  double wall = 0;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    wall += s.back();
  }
  const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  std::nth_element(s.begin(), s.begin() + s.size() / 2, s.end());
  return {s[s.size() / 2], cpu / wall};
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t examples = 20000;
  int reps = 3, threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--examples" && i + 1 < argc) examples = std::max(1L, std::atol(argv[++i]));
    else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--threads" && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else {
      std::printf("usage: %s [--examples N] [--reps N] [--threads N]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  set_num_threads(threads);
  auto dataset = std::make_shared<AugmentedDigits>(examples, 1);
  std::printf("DataLoader, %lld examples of 28x28 (crop+flip+rotate+blur+normalise per example), batch 64, "
              "median of %d epochs, tapegrad threads %d\n",
              static_cast<long long>(examples), reps, threads);

  for (const int workers : {0, 1, 2}) {
    const data::DataLoader loader(dataset, {64, true, 1}, {workers});
    std::int64_t epoch = 0;
    const Timing data_only = median_s(reps, [&] {
      for (const data::Batch& b : loader.epoch(epoch++)) (void)b;
    });

    manual_seed(0);
    auto mlp = std::make_shared<nn::Sequential>(std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(784, 256),
                                                std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(256, 10));
    optim::SGD sgd(mlp->parameters(), optim::SGDOptions(0.01).momentum(0.9));
    const Timing training = median_s(reps, [&] {
      for (const data::Batch& b : loader.epoch(epoch++)) {
        sgd.zero_grad();
        Tensor loss = nn::functional::cross_entropy((*mlp)(b.inputs), b.targets);
        loss.backward();
        sgd.step();
      }
    });
    std::printf("workers=%d  data only %6.3f s (%6.0f examples/s, %.1f cores)   training %6.3f s (%6.0f examples/s, "
                "%.1f cores)\n",
                workers, data_only.seconds, examples / data_only.seconds, data_only.cores, training.seconds,
                examples / training.seconds, training.cores);
  }
  return 0;
}
