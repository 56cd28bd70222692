// Misuse of the public API that once crashed, corrupted memory or gave silently
// wrong results (each case reproduced a real finding); run under ASan/UBSan too.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;

TEST_CASE("a leaf's gradient is a buffer of its own", "[misuse][autograd]") {
  SECTION("two leaves fed the same gradient do not share it") {
    Tensor x = ones({3}).requires_grad_(), w = ones({3}).requires_grad_();
    sum(x + w).backward();
    REQUIRE(x.grad().defined());
    {
      NoGradGuard g;
      x.grad().fill_(5.0);  // what clip_grad_norm's scaling or a user does
    }
    CHECK(w.grad().to_vector() == std::vector<double>{1, 1, 1});
  }
  SECTION("a leaf's gradient is not the seed passed to backward") {
    Tensor y = ones({2}).requires_grad_();
    Tensor seed = tensor({2.0, 3.0});
    y.backward(seed);
    {
      NoGradGuard g;
      seed.fill_(0.0);
    }
    CHECK(y.grad().to_vector() == std::vector<double>{2, 3});
  }
  SECTION("a retained gradient is not shared with a leaf's") {
    Tensor x = ones({2}).requires_grad_();
    Tensor h = x * 1.0;
    h.retain_grad();
    sum(h + 0.0).backward();
    {
      NoGradGuard g;
      h.grad().fill_(7.0);
    }
    CHECK(x.grad().to_vector() == std::vector<double>{1, 1});
  }
}

TEST_CASE("backward passes in two threads into one shared leaf lose no update", "[misuse][threads]") {
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

TEST_CASE("set_num_threads while another thread runs parallel work", "[misuse][threads]") {
  const int before = get_num_threads();
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    Tensor x = randn({8, 16, 28, 28}), w = randn({32, 16, 3, 3});
    while (!stop) {
      Tensor y = conv2d(x, w, Tensor(), 1, 1);
      CHECK(y.shape() == Shape{8, 32, 28, 28});
    }
  });
  for (int i = 0; i < 40; ++i) set_num_threads(1 + i % 3);
  stop = true;
  worker.join();
  set_num_threads(before);
  CHECK(get_num_threads() == before);
}

TEST_CASE("copy_ between overlapping views of one storage", "[misuse]") {
  Tensor base = arange(6, kFloat64);
  Tensor head = narrow(base, 0, 4), tail = narrow(base, 2, 4);
  {
    NoGradGuard g;
    tail.copy_(head);  // overlapping: must behave like copying from a snapshot
  }
  CHECK(base.to_vector() == std::vector<double>{0, 1, 0, 1, 2, 3});
  Tensor f = arange(6, kFloat64);
  Tensor as_float = narrow(f, 0, 4).to(kFloat32);  // different dtype, no overlap
  CHECK(as_float.to_vector() == std::vector<double>{0, 1, 2, 3});
}

TEST_CASE("int64 tensors refuse values they cannot hold", "[misuse]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(full({2}, nan, kInt64), Contains("fill_") && Contains("nan") && Contains("int64"));
  CHECK_THROWS_WITH(full({2}, 1e30, kInt64), Contains("fill_") && Contains("1e+30"));
  CHECK_THROWS_WITH(tensor({1.0, 1e19}, kInt64), Contains("tensor") && Contains("value 1"));
  CHECK_THROWS_WITH(tensor({1.0, nan}).to(kInt64), Contains("int64") && Contains("element 1"));
  Tensor labels = tensor_i64({1, 2}, {2});
  CHECK_THROWS_WITH(labels.copy_(tensor({1.0, INFINITY})), Contains("int64") && Contains("inf"));
  // Values int64 can hold still convert, truncating like a C++ cast.
  CHECK(tensor({-2.5, 9007199254740992.0}).to(kInt64).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{-2, 9007199254740992});
  CHECK(full({1}, -9223372036854775808.0, kInt64).to_vector<std::int64_t>()[0] == INT64_MIN);
}

TEST_CASE("optimizers and schedulers refuse infinite hyper-parameters like NaN ones", "[misuse][optim]") {
  Tensor w = ones({2}).requires_grad_();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(optim::SGD({w}, inf), Contains("SGD: learning rate must be finite, got inf"));
  CHECK_THROWS_WITH(optim::SGD({w}, optim::SGDOptions(0.1).momentum(inf)), Contains("SGD: momentum must be finite"));
  CHECK_THROWS_WITH(optim::Adam({w}, optim::AdamOptions(1e-3).eps(inf)), Contains("Adam: eps must be finite"));
  optim::SGD sgd({w}, 0.1);
  CHECK_THROWS_WITH(optim::StepLR(sgd, 2, inf), Contains("StepLR: gamma must be finite"));
  CHECK_THROWS_WITH(sgd.set_lr(-inf), Contains("learning rate must be >= 0, got -inf"));
}

TEST_CASE("optimizer state with impossible values is refused on load", "[misuse][optim]") {
  Tensor w = ones({2}, kFloat64).requires_grad_();
  optim::Adam adam({w}, optim::AdamOptions(1e-3));
  sum(w * w).backward();
  adam.step();
  const auto good = adam.state_dict();
  auto with = [&](const std::string& name, const Tensor& value) {
    auto state = good;
    for (auto& [n, t] : state)
      if (n == name) t = value;
    return state;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(adam.load_state_dict(with("lr", scalar_tensor(INFINITY, kFloat64)), "f"),
                    Contains("'lr'") && Contains("inf"));
  CHECK_THROWS_WITH(adam.load_state_dict(with("exp_avg.0", tensor({0.0, nan}, kFloat64)), "f"),
                    Contains("'exp_avg.0'") && Contains("nan") && Contains("element 1"));
  CHECK_THROWS_WITH(adam.load_state_dict(with("exp_avg_sq.0", tensor({-1.0, 0.0}, kFloat64)), "f"),
                    Contains("'exp_avg_sq.0'") && Contains("-1") && Contains("squares"));
  // A step count beyond 2^53 is kept exactly.
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  adam.load_state_dict(with("step.0", tensor_i64({big}, {})), "f");
  for (const auto& [n, t] : adam.state_dict())
    if (n == "step.0") CHECK(t.to_vector<std::int64_t>()[0] == big);
}

TEST_CASE("narrow with a length that overflows start + length is refused", "[misuse]") {
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  CHECK_THROWS_WITH(narrow(ones({4}), 1, huge), Contains("narrow") && Contains("[4]"));
  CHECK_THROWS_WITH(narrow(ones({4, 2}), 2, huge - 1), Contains("narrow") && Contains("[4,2]"));
  CHECK_THROWS_WITH(narrow(ones({4, 2}), huge, 1), Contains("narrow") && Contains("[4,2]"));
  CHECK(narrow(ones({4, 2}), 4, 0).shape() == Shape{0, 2});  // an empty slice at the end is fine
}


TEST_CASE("load refuses a named pipe instead of hanging on it", "[misuse][checkpoint]") {
  tg::testing::TempDir dir;
  const std::string fifo = (dir.path / "model.tgc").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto model = std::make_shared<nn::Linear>(2, 1);
  CHECK_THROWS_WITH(load(*model, fifo), Contains("load") && Contains("model.tgc") && Contains("not a regular file"));
}

TEST_CASE("save through a symlink writes the file it points to and keeps the link", "[misuse][checkpoint]") {
  tg::testing::TempDir dir;
  const auto target = dir.path / "real.tgc", link = dir.path / "latest.tgc";
  auto model = std::make_shared<nn::Linear>(2, 1);
  save(*model, target.string());
  std::filesystem::create_symlink(target.filename(), link);
  {
    NoGradGuard g;
    for (Tensor& p : model->parameters()) p.fill_(0.25);
  }
  save(*model, link.string());
  CHECK(std::filesystem::is_symlink(std::filesystem::symlink_status(link)));
  auto loaded = std::make_shared<nn::Linear>(2, 1);
  load(*loaded, target.string());
  for (const Tensor& p : loaded->parameters()) CHECK(p.to_vector() == std::vector<double>(p.numel(), 0.25));
}

// ---- issue 15, rows 11 and 12: huge counts and outputs checked before training --------

TEST_CASE("batch counts stay exact for a batch size near INT64_MAX", "[misuse][data]") {
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  // Before: (N + batch_size - 1) / batch_size overflowed (UBSan) and gave 0 batches.
  CHECK(data::batches_per_epoch(1000, huge) == 1);
  CHECK(data::batches_per_epoch(1000, huge, /*drop_last*/ true) == 0);
  CHECK(data::batches_per_epoch(huge, huge) == 1);
  CHECK(data::batches_per_epoch(huge, 2) == huge / 2 + 1);
  CHECK(data::batches_per_epoch(0, 7) == 0);
  CHECK(data::batches_per_epoch(14, 7) == 2);
  CHECK_THROWS_WITH(data::batches_per_epoch(3, 0), Contains("batch_size must be positive, got 0"));
  CHECK_THROWS_WITH(data::batches_per_epoch(-1, 3), Contains("samples must be >= 0, got -1"));
  data::BatchOptions options;
  options.batch_size = huge;
  const data::BatchLoader loader(ones({5, 2}), tensor_i64({0, 1, 0, 1, 0}, {5}), options);
  REQUIRE(loader.num_batches() == 1);
  CHECK(loader.epoch(0)[0].inputs.shape() == Shape{5, 2});
}

TEST_CASE("the progress display counts epochs beyond 2^31", "[misuse][train]") {
  // Before: epochs were int, and 3000000000 printed as "epoch 1/-1294967296".
  train::EpochSummary e;
  e.epoch = 2'999'999'999;
  e.epochs = 3'000'000'000;
  CHECK_THAT(train::format_epoch_line(e), Catch::StartsWith("epoch 2999999999/3000000000  loss"));
  train::ProgressSnapshot s;
  s.epoch = 1;
  s.epochs = 3'000'000'000;
  s.batches = 10;
  CHECK_THAT(train::format_progress_line(s), Catch::StartsWith("epoch          1/3000000000  batch"));
  std::FILE* sink = std::tmpfile();
  REQUIRE(sink);
  train::Progress progress(3'000'000'000, 1, sink, train::ProgressStyle::Lines);
  progress.start_epoch(2'500'000'000);
  progress.batch(4, 0.5, 1.0);
  CHECK(progress.end_epoch().epoch == 2'500'000'000);
  std::fclose(sink);
}

TEST_CASE("cosine annealing of a learning rate near DBL_MAX stays finite", "[misuse][optim]") {
  // Before: base_lr * (1 + cos) overflowed to inf, and SGD refused "learning rate ... inf"
  // although the user's --lr was finite.
  Tensor w = ones({1}).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(1e308));
  optim::CosineAnnealingLR cosine(sgd, 4);
  cosine.step();
  CHECK(std::isfinite(sgd.lr()));
  CHECK(sgd.lr() == Approx(1e308 * ((1 + std::cos(M_PI / 4)) / 2)));
}

TEST_CASE("check_writable refuses an unwritable output before any work", "[misuse][train]") {
  tg::testing::TempDir dir;
  const auto file = dir.path / "a-file";
  std::ofstream(file) << "not a directory";
  // A regular file where a directory should be: refused even when running as root.
  CHECK_THROWS_WITH(train::check_writable(file / "m.tgc", {true, "--save"}),
                    "--save: cannot create the directory '" + file.string() + "': Not a directory");
  CHECK_THROWS_WITH(train::check_writable(file / "m.tgc", {false, "save"}),
                    "save: cannot create a temporary file next to '" + (file / "m.tgc").string() +
                        "': Not a directory");
  CHECK_THROWS_WITH(train::check_writable(dir.path, {false, "--save"}),
                    "--save: cannot replace '" + dir.path.string() + "': Is a directory");
  // A writable place: the directories are made, and nothing is left in them.
  const auto nested = dir.path / "runs" / "1" / "metrics.json";
  train::check_writable(nested, {true, "--metrics-json"});
  CHECK(std::filesystem::is_directory(nested.parent_path()));
  CHECK(std::filesystem::is_empty(nested.parent_path()));
  CHECK_FALSE(std::filesystem::exists(nested));
}
