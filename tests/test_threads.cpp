// Threads: what may run concurrently, and must neither race nor lose work
// (including the DataLoader's worker threads).
//
// Its own test program (tapegrad_thread_tests), run by ctest with the rest, so
// that scripts/test.sh can build just it, and the library, with
// ThreadSanitizer (TAPEGRAD_SANITIZE_THREAD=ON) within CI's time. Assertions run
// on the main thread only: Catch2 v2 is not thread safe.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;

namespace {

std::shared_ptr<nn::Sequential> small_cnn(std::uint64_t seed) {
  manual_seed(seed);
  auto net = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1), std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(4 * 4 * 4, 3));
  net->to(kFloat64);
  return net;
}

// A few SGD steps on fixed data; the last loss.
double train_steps(nn::Module& net, const Tensor& x, const Tensor& y, int steps) {
  optim::SGD sgd(net.parameters(), optim::SGDOptions(0.05).momentum(0.9));
  double loss = 0;
  for (int i = 0; i < steps; ++i) {
    sgd.zero_grad();
    Tensor l = nn::functional::cross_entropy(net.forward(x), y);
    l.backward();
    sgd.step();
    loss = l.item();
  }
  return loss;
}

}  // namespace

TEST_CASE("independent graphs train in four threads exactly as one after another", "[threads]") {
  constexpr int kThreads = 4, kSteps = 20;
  manual_seed(42);
  const Tensor x = randn({8, 1, 8, 8}, kFloat64);
  const Tensor y = randint(0, 3, {8});

  std::vector<double> serial(kThreads);
  for (int t = 0; t < kThreads; ++t) serial[t] = train_steps(*small_cnn(100 + t), x, y, kSteps);

  // The models are built before the threads start: their initial values come
  // from the one global generator, in a fixed order.
  std::vector<std::shared_ptr<nn::Sequential>> nets;
  for (int t = 0; t < kThreads; ++t) nets.push_back(small_cnn(100 + t));
  std::vector<double> parallel(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { parallel[t] = train_steps(*nets[t], x, y, kSteps); });
  for (std::thread& th : threads) th.join();

  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(parallel[t] == Approx(serial[t]).epsilon(1e-12));
    CHECK(parallel[t] < 1.0);  // they did train
  }
}

TEST_CASE("backward passes in two threads into one shared leaf lose no update", "[threads][misuse]") {
  // Issue: accumulation into a leaf was unsynchronised (2x2000 passes summed to
  // 15780-15976 instead of 16000). It is serialised per leaf, as in PyTorch.
  Tensor w = ones({4}, kFloat64).requires_grad_();
  const int passes = 500;
  auto work = [&] {
    for (int i = 0; i < passes; ++i) sum(w * 2.0).backward();
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  // Each pass adds 2 to every element.
  CHECK(w.grad().to_vector() == std::vector<double>(4, 2.0 * 2 * passes));
}

TEST_CASE("set_num_threads while another thread runs parallel work", "[threads][misuse]") {
  // Issue: set_num_threads freed the pool a running conv2d still used
  // (heap-use-after-free in ThreadPool::run).
  const int before = get_num_threads();
  std::atomic<bool> stop{false};
  std::atomic<int> runs{0}, wrong_shapes{0};
  std::thread worker([&] {
    Tensor x = randn({8, 16, 12, 12}), w = randn({32, 16, 3, 3});
    while (!stop || runs == 0) {
      if (conv2d(x, w, Tensor(), 1, 1).shape() != Shape{8, 32, 12, 12}) ++wrong_shapes;
      ++runs;
    }
  });
  for (int i = 0; i < 40; ++i) set_num_threads(1 + i % 3);
  stop = true;
  worker.join();
  set_num_threads(before);
  CHECK(runs > 0);
  CHECK(wrong_shapes == 0);
  CHECK(get_num_threads() == before);
}

TEST_CASE("the pool's parallel kernels agree with one thread", "[threads]") {
  // conv2d and pooling split the batch over the pool; the result must not depend on it.
  manual_seed(7);
  const Tensor x0 = randn({6, 3, 10, 10}, kFloat64), w0 = randn({5, 3, 3, 3}, kFloat64);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
    Tensor loss = sum(max_pool2d(relu(conv2d(x, w, Tensor(), 1, 1)), 2));
    loss.backward();
    return std::vector<std::vector<double>>{{loss.item()}, x.grad().to_vector(), w.grad().to_vector()};
  };
  const int before = get_num_threads();
  const auto one = run(1), two = run(2);
  set_num_threads(before);
  for (std::size_t i = 0; i < one.size(); ++i)
    for (std::size_t j = 0; j < one[i].size(); ++j) REQUIRE(two[i][j] == Approx(one[i][j]).epsilon(1e-12));
}

TEST_CASE("element-wise ops split over the pool compute every element once, at block edges too", "[threads]") {
  // Element-wise kernels (activations, unary maths, same-shape and scalar
  // arithmetic) split from 32K elements on, in 64-element-aligned blocks: sizes
  // around the split and with ragged ends, each element against its own scalar
  // formula, forward and backward, at 1, 2 and 3 threads.
  const int before = get_num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (std::int64_t n : {32767, 32768, 32769, 100003}) {
      const Tensor x0 = randn({n}, kFloat64);
      Tensor x = x0.clone().requires_grad_();
      Tensor r = relu(x), s = sigmoid(x), e = exp(x);
      (sum(r) + sum(s) + sum(e)).backward();
      const Tensor x1 = x0 + 1.0;
      const auto xv = x0.to_vector(), rv = r.to_vector(), sv = s.to_vector(), ev = e.to_vector(),
                 gv = x.grad().to_vector(), pv = (x0 * x1 - x0 / x1).to_vector();
      for (std::int64_t i = 0; i < n; ++i) {
        const double p = xv[i] * (xv[i] + 1.0) - xv[i] / (xv[i] + 1.0);
        // The compiler may fuse p's multiply and subtract: within rounding of the terms.
        const double scale = std::abs(xv[i] * (xv[i] + 1.0)) + std::abs(xv[i] / (xv[i] + 1.0));
        if (std::abs(pv[i] - p) > 1e-15 * scale) {
          set_num_threads(before);
          FAIL("threads " << threads << ", n " << n << ", element " << i << ": x (x + 1) - x / (x + 1) gave " << pv[i]
                          << ", expected " << p);
        }
        const double sig = 1 / (1 + std::exp(-xv[i]));
        const double expect_grad = (xv[i] > 0 ? 1.0 : 0.0) + sig * (1 - sig) + std::exp(xv[i]);
        if (rv[i] != std::max(0.0, xv[i]) || std::abs(sv[i] - sig) > 1e-15 || std::abs(ev[i] - std::exp(xv[i])) > 1e-15 * std::exp(xv[i]) ||
            std::abs(gv[i] - expect_grad) > 1e-12) {
          set_num_threads(before);
          FAIL("threads " << threads << ", n " << n << ", element " << i << ": x " << xv[i] << " relu " << rv[i]
                          << " sigmoid " << sv[i] << " exp " << ev[i] << " grad " << gv[i] << " expected " << expect_grad);
        }
      }
    }
  }
  set_num_threads(before);
  SUCCEED("every element of every size at every thread count matched");
}

TEST_CASE("checkpoints saved from several threads at once are each whole", "[threads][checkpoint]") {
  testing::TempDir dir;
  constexpr int kThreads = 3;
  std::vector<std::shared_ptr<nn::Sequential>> nets;
  for (int t = 0; t < kThreads; ++t) nets.push_back(small_cnn(200 + t));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) save(*nets[t], dir.file("net" + std::to_string(t) + ".tgc"));
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    auto back = small_cnn(999);
    load(*back, dir.file("net" + std::to_string(t) + ".tgc"));
    const auto want = nets[t]->parameters(), got = back->parameters();
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(got[i].to_vector() == want[i].to_vector());
  }
}

namespace {

// Example i is computed with tapegrad ops (the allocator, element-wise kernels)
// inside the loader's worker threads: an 8x8 image and a class in [0, 3).
struct ComputedImages final : data::Dataset {
  std::int64_t size() const override { return 96; }
  data::Example get(std::int64_t i) const override {
    Tensor base = reshape(arange(64, kFloat64), {1, 8, 8});
    Tensor image = tanh(base * (0.01 * static_cast<double>(i + 1)) - 0.3);
    return {image, tensor_i64({i % 3}, {})};
  }
};

struct FailsAt final : data::Dataset {
  std::int64_t size() const override { return 64; }
  data::Example get(std::int64_t i) const override {
    if (i == 50) throw std::runtime_error("bad record");
    return {full({4}, static_cast<double>(i)), tensor_i64({i}, {})};
  }
};

}  // namespace

TEST_CASE("DataLoader workers make batches while the model trains, the same as without workers",
          "[threads][loader]") {
  auto images = std::make_shared<ComputedImages>();
  std::vector<std::vector<double>> reference;
  for (const data::Batch& b : data::DataLoader(images, {16, true, 4}, {0}).epoch(1))
    reference.push_back(b.inputs.to_vector());

  // Three workers compute examples while this thread runs forward and backward passes.
  auto net = small_cnn(7);
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.05));
  std::vector<std::vector<double>> got;
  const data::DataLoader loader(images, {16, true, 4}, {3, 1});
  for (const data::Batch& b : loader.epoch(1)) {
    got.push_back(b.inputs.to_vector());
    sgd.zero_grad();
    nn::functional::cross_entropy(net->forward(b.inputs), b.targets).backward();
    sgd.step();
  }
  CHECK(got == reference);
}

TEST_CASE("DataLoader: leaving epochs early and errors in workers, many times over", "[threads][loader]") {
  // The TensorDataset fast path: workers gather rows of shared tensors at once.
  manual_seed(3);
  auto tensors = std::make_shared<data::TensorDataset>(randn({200, 1, 8, 8}), randint(0, 3, {200}));
  const data::DataLoader loader(tensors, {8, true, 1}, {2, 2});
  for (std::int64_t epoch = 0; epoch < 20; ++epoch) {
    std::int64_t taken = 0;
    for (const data::Batch& b : loader.epoch(epoch)) {
      REQUIRE(b.inputs.size(0) == 8);
      if (++taken == epoch % 4) break;
    }
  }
  const data::DataLoader failing(std::make_shared<FailsAt>(), {4, false}, {3});
  for (int round = 0; round < 5; ++round) {
    std::int64_t seen = 0;
    std::string message;
    try {
      for (const data::Batch& b : failing.epoch(round)) seen += b.targets.numel();
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    CHECK(seen == 48);  // batches 0..11 arrive; batch 12 holds index 50
    CHECK(message.find("dataset.get(50)") != std::string::npos);
  }
}

TEST_CASE("read_image in four threads at once: each failure gives its own file and reason", "[threads][image]") {
  // stb_image reports why a decode failed through stbi_failure_reason(), which
  // Debian's libstb keeps per thread; a process-wide reason would let one
  // thread's failure show up in another's message.
  tg::testing::TempDir dir;
  using tg::testing::png_chunk;
  tg::testing::write_file(dir.file("bad-zlib.png"),  // an IDAT chunk that is not zlib data
                          tg::testing::png_file(4, 4, {png_chunk("IDAT", {0, 0, 0, 0}), png_chunk("IEND", {})}));
  tg::testing::write_file(dir.file("no-idat.png"), tg::testing::png_file(4, 4, {png_chunk("IEND", {})}));
  // A 2x1 binary PPM: a red pixel and a grey one.
  const std::string ppm("P6 2 1 255\n\xff\x00\x00\x80\x80\x80", 17);
  tg::testing::write_file(dir.file("good.ppm"), {ppm.begin(), ppm.end()});

  const std::vector<std::pair<std::string, std::string>> expected = {
      {dir.file("bad-zlib.png"), "(stb_image: bad compression)"},
      {dir.file("no-idat.png"), "(stb_image: no IDAT)"},
      {dir.file("good.ppm"), ""},
      {dir.file("bad-zlib.png"), "(stb_image: bad compression)"},
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (const auto& [path, reason] : expected)
    threads.emplace_back([&wrong, path = path, reason = reason] {
      for (int i = 0; i < 300; ++i) {
        try {
          const Tensor pixels = data::read_image(path, data::ImageChannels::Gray);
          if (!reason.empty() || pixels.to_vector<std::int64_t>() != std::vector<std::int64_t>{76, 128}) ++wrong;
        } catch (const std::invalid_argument& e) {
          const std::string message = e.what();
          if (reason.empty() || message.find(path) == std::string::npos || message.find(reason) == std::string::npos)
            ++wrong;
        }
      }
    });
  for (std::thread& t : threads) t.join();
  CHECK(wrong == 0);
}
