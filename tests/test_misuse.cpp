// Misuse of the public API that once crashed, corrupted memory or gave silently
// wrong results (each case reproduced a real finding); run under ASan/UBSan too.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include <stb/stb_image_write.h>

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

// ---- row 2: tensors saved for backward and changed before it ---------------------
namespace {
// Runs `backward` and requires the saved-tensor error naming `op`.
template <class F> void require_saved_tensor_error(F backward, const std::string& op) {
  try {
    backward();
    FAIL("backward ran on a tensor changed in place after the forward pass");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Contains("backward of '" + op + "'") && Contains("changed in place after the forward pass"));
  }
}
}  // namespace

TEST_CASE("int64 indices saved for backward and changed before it are refused, not written through",
          "[misuse][autograd]") {
  // Each index tensor is changed to one far out of range: before the version
  // check, backward scattered through it outside its buffer (ASan WRITE/READ).
  SECTION("the indices of max(x, 1)") {
    Tensor x = randn({3, 4}, kFloat64).requires_grad_();
    MaxResult m = max(x, 1);
    m.indices.copy_(full({3}, 1000000, kInt64));
    require_saved_tensor_error([&] { sum(m.values).backward(); }, "max");
  }
  SECTION("the targets of nll_loss") {
    Tensor logits = randn({2, 3}, kFloat64).requires_grad_();
    Tensor targets = tensor_i64({0, 2}, {2});
    Tensor loss = nll_loss(log_softmax(logits, 1), targets);
    targets.copy_(tensor_i64({1000000, -1000000}, {2}));
    require_saved_tensor_error([&] { loss.backward(); }, "nll_loss");
  }
  SECTION("the targets of cross_entropy") {
    Tensor logits = randn({2, 3}, kFloat64).requires_grad_();
    Tensor targets = tensor_i64({1, 2}, {2});
    Tensor loss = nn::functional::cross_entropy(logits, targets);
    targets.fill_(1 << 30);
    require_saved_tensor_error([&] { loss.backward(); }, "nll_loss");
  }
  SECTION("the indices of index_select") {
    Tensor x = randn({5, 2}, kFloat64).requires_grad_();
    Tensor idx = tensor_i64({4, 0, 4}, {3});
    Tensor y = index_select(x, idx);
    idx.copy_(tensor_i64({99999, 0, 1}, {3}));
    require_saved_tensor_error([&] { sum(y).backward(); }, "index_select");
  }
}

TEST_CASE("float tensors saved for backward and changed before it are refused, not read", "[misuse][autograd]") {
  Tensor w = randn({4, 3}, kFloat64).requires_grad_();
  Tensor x = randn({2, 4}, kFloat64).requires_grad_();
  SECTION("copy_ under NoGradGuard") {
    Tensor loss = sum(matmul(x, w));
    {
      NoGradGuard no_grad;
      w.copy_(zeros({4, 3}, kFloat64));
    }
    require_saved_tensor_error([&] { loss.backward(); }, "matmul");
  }
  SECTION("fill_ through a detached view") {
    Tensor loss = sum(exp(x));  // exp saves its output
    Tensor y = x * 2.0;         // mul by a scalar saves nothing
    Tensor e = exp(y);
    e.detach().fill_(7);
    require_saved_tensor_error([&] { sum(e).backward(); }, "exp");
    loss.backward();  // the first graph saw no change
    CHECK(x.grad().defined());
  }
  SECTION("an optimizer step between forward and backward") {
    optim::SGD sgd({w}, optim::SGDOptions(0.1));
    Tensor loss = sum(matmul(x, w));
    loss.backward(true);
    sgd.step();
    require_saved_tensor_error([&] { loss.backward(); }, "matmul");
  }
  SECTION("a change of a tensor the backward does not read is fine, as in PyTorch") {
    Tensor b = randn({3}, kFloat64).requires_grad_();
    Tensor loss = sum(matmul(x.detach(), w) + b);  // add reads neither operand
    {
      NoGradGuard no_grad;
      b.fill_(5);
    }
    loss.backward();
    CHECK(b.grad().to_vector() == std::vector<double>{2, 2, 2});
  }
}

namespace {
struct Cube : autograd::Function<Cube> {
  static constexpr const char* name = "cube";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x * x;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) {
    const Tensor& x = ctx.saved()[0];
    return {gy * x * x * 3.0};
  }
};
}  // namespace

TEST_CASE("a custom Function's saved tensors are checked too", "[misuse][autograd]") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = Cube::apply(x);
  {
    NoGradGuard no_grad;
    x.copy_(tensor({3.0, 4.0}, {2}, kFloat64));
  }
  require_saved_tensor_error([&] { sum(y).backward(); }, "cube");
}

// ---- row 3: a module's dtype changed between forward and backward -----------------
TEST_CASE("Module::to between forward and backward is refused, in both directions", "[misuse][autograd][nn]") {
  SECTION("float64 forward, to(float32), backward: matmul saved the weight") {
    auto fc = std::make_shared<nn::Linear>(64, 32, /*bias=*/false);  // (a bias would be refused first, below)
    fc->to(kFloat64);
    Tensor x = randn({8, 64}, kFloat64).requires_grad_();  // x needs a gradient, so matmul keeps W
    Tensor loss = sum((*fc)(x));
    fc->to(kFloat32);
    require_saved_tensor_error([&] { loss.backward(); }, "matmul");
  }
  SECTION("float32 forward, to(float64), backward: no float32 gradient lands on a float64 weight") {
    auto fc = std::make_shared<nn::Linear>(4, 3);
    Tensor loss = sum((*fc)(randn({2, 4})));  // the input needs no gradient: W is not saved
    fc->to(kFloat64);
    try {
      loss.backward();
      FAIL("backward accumulated into a leaf whose dtype changed");
    } catch (const std::runtime_error& e) {
      CHECK_THAT(e.what(), Contains("float32 reached the leaf") && Contains("float64") && Contains("Module::to"));
    }
    for (const Tensor& p : fc->parameters()) CHECK_FALSE(p.grad().defined());
  }
}

TEST_CASE("version(): raised by every in-place change, shared by views", "[misuse][autograd]") {
  Tensor t = zeros({2, 3}, kFloat64);
  const std::uint64_t v0 = t.version();
  t.fill_(1);
  CHECK(t.version() == v0 + 1);
  Tensor view = t.detach();
  view.copy_(ones({2, 3}, kFloat64));
  CHECK(t.version() == v0 + 2);
  CHECK(view.version() == t.version());
  t.bump_version();
  CHECK(view.version() == v0 + 3);
  Tensor c = t.clone();  // a copy has a count of its own
  c.fill_(2);
  CHECK(t.version() == v0 + 3);
  t.set_data(c, kFloat32);
  CHECK(t.version() == v0 + 4);
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

TEST_CASE("huge sizes in shape rules are refused by the op, not wrapped around", "[misuse][shapes]") {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max(), big = std::int64_t{1} << 62;
  SECTION("pad2d") {
    // Once: 4 + 2 * INT64_MAX wrapped around to 2, and the output was [2,4].
    CHECK_THROWS_WITH(pad2d(ones({4, 4}), {0, 0, max, max}),
                      "pad2d: pads {left,right,top,bottom} = {0,0," + std::to_string(max) + "," + std::to_string(max) +
                          "} are too large for input [4,4]: the padded size overflows 64-bit integers");
    CHECK_THROWS_WITH(pad2d(ones({4, 4}), {max, -max, 0, 0}), Contains("pad2d") && Contains("overflows"));
    // INT64_MIN cannot be negated by the backward.
    CHECK_THROWS_WITH(pad2d(ones({4, 4}), {std::numeric_limits<std::int64_t>::min(), max, 0, 0}),
                      Contains("pad2d") && Contains("overflows"));
    CHECK_THROWS_WITH(pad2d(zeros({0, 1, 1}), {0, big, 0, big}),
                      Contains("pad2d: the output shape [0,4611686018427387905,4611686018427387905] is too large"));
  }
  SECTION("conv2d and conv1d") {
    // Once: the dilated span wrapped around and the output was [1,1,6,6].
    CHECK_THROWS_WITH(conv2d(ones({1, 1, 8, 8}), ones({1, 1, 3, 3}), Tensor(), 1, 0, max),
                      "conv2d: kernel 3 with dilation " + std::to_string(max) + " spans more than 2^63 - 1 positions");
    CHECK_THROWS_WITH(conv2d(ones({1, 1, 8, 8}), ones({1, 1, 3, 3}), Tensor(), 1, "same", Size2(1, max)),
                      Contains("conv2d: kernel 3 with dilation"));
    CHECK_THROWS_WITH(conv2d(ones({1, 1, 8, 8}), ones({1, 1, 3, 3}), Tensor(), 1, max),
                      "conv2d: input size 8 padded by " + std::to_string(max) + " and " + std::to_string(max) +
                          " is more than 2^63 - 1 positions");
    CHECK_THROWS_WITH(conv1d(ones({1, 1, 8}), ones({1, 1, 3}), Tensor(), 1, 0, max), Contains("conv1d: kernel 3"));
    // A huge stride is fine: one window.
    CHECK(conv2d(ones({1, 1, 8, 8}), ones({1, 1, 3, 3}), Tensor(), max, "same").shape() == Shape{1, 1, 1, 1});
    // An empty batch whose output shape could not exist.
    CHECK_THROWS_WITH(conv2d(zeros({0, 1, 1, 1}), ones({4, 1, 1, 1}), Tensor(), 1, {std::int64_t{1} << 61, 0}),
                      Contains("conv2d: the output shape [0,4,"));
  }
  SECTION("conv_output_size") {
    // Once: in + 2 * padding wrapped around to a garbage size.
    CHECK_THROWS_WITH(conv_output_size(max, 3, 1, 1), "conv_output_size: input size " + std::to_string(max) +
                                                          " padded by 1 and 1 is more than 2^63 - 1 positions");
    CHECK_THROWS_WITH(conv_output_size(5, 2, 1, 0, max), Contains("conv_output_size: kernel 2 with dilation"));
    CHECK(conv_output_size(max, 1, max) == 1);
    CHECK(conv_output_size(max - 2, 3, 1, 1) == max - 2);
  }
  SECTION("pooling") {
    CHECK_THROWS_WITH(max_pool2d(ones({1, 1, 4, 4}), 2, std::nullopt, Size2(max)),
                      Contains("max_pool2d: padding") && Contains("at most half the kernel"));
    CHECK_THROWS_WITH(avg_pool2d(ones({1, 1, 4, 4}), Size2(max), std::nullopt, Size2(max / 2)),
                      Contains("avg_pool2d: input size 4 padded by"));
    CHECK(max_pool2d(ones({1, 1, 4, 4}), 2, Size2(max)).shape() == Shape{1, 1, 1, 1});
  }
  SECTION("reshape and the strides of an empty shape") {
    // Once: accepted, and permute then overflowed in Shape::strides.
    CHECK_THROWS_WITH(reshape(zeros({0}), {0, big, big}),
                      "reshape: cannot reshape [0] float32 into [0,4611686018427387904,4611686018427387904], which is "
                      "too large: its extents other than 0 multiply to more than 2^63 - 1");
    CHECK_THROWS_WITH(Shape({0, big, big}), Contains("Shape: [0,4611686018427387904,4611686018427387904] is too large"));
    Shape s{0, big, 1};
    CHECK_THROWS_WITH(s.set(2, 4), Contains("Shape: [0,4611686018427387904,4] is too large"));
    CHECK(s == Shape({0, big, 1}));  // unchanged by the refused set
    CHECK_THROWS_WITH(s.push_back(8), Contains("Shape"));
    CHECK(s.size() == 3);
    CHECK(permute(zeros({0, big, 1}), {2, 1, 0}).shape() == Shape{1, big, 0});
  }
  SECTION("broadcasting, matmul and index_select") {
    CHECK_THROWS_WITH(zeros({0, big, 1}) + zeros({0, 1, 4}),
                      "add: shapes [0,4611686018427387904,1] and [0,1,4] broadcast to [0,4611686018427387904,4], which "
                      "is too large: its extents other than 0 multiply to more than 2^63 - 1");
    CHECK_THROWS_WITH(matmul(zeros({std::int64_t{1} << 32, 0}), zeros({0, std::int64_t{1} << 32})),
                      "matmul: the product of shapes [4294967296,0] and [0,4294967296] would have shape "
                      "[4294967296,4294967296], which has more than 2^63 - 1 elements");
    CHECK_THROWS_WITH(matmul(zeros({1, big, 0}), zeros({0, 4})),
                      Contains("matmul: the product of shapes [1,4611686018427387904,0]"));
    CHECK_THROWS_WITH(index_select(zeros({1, 0, big}), tensor_i64({0, 0, 0, 0}, {4})),
                      Contains("index_select: the output shape [4,0,4611686018427387904] is too large"));
  }
  SECTION("box_blur") {
    CHECK_THROWS_WITH(image::box_blur(ones({4, 4}), max), Contains("box_blur: box_size") && Contains("too large"));
  }
}

namespace {

using Bytes = std::vector<std::uint8_t>;

// An IDX file of unsigned bytes: the big-endian header for `dims`, then `data`.
Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(d >> shift));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Seconds taken by f().
template <class F> double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("a gzip IDX file is held to ReadLimits::max_inflated_bytes", "[misuse][data][limits]") {
  using tg::testing::gzip;
  tg::testing::TempDir dir;
  const std::string path = dir.file("images.gz");
  ReadLimits limits;
  limits.max_inflated_bytes = 1 << 20;  // 1 MiB
  SECTION("a header promising more is refused before anything is allocated") {
    // 2 MiB of zeros, as the header promises: a file of a few kB.
    tg::testing::write_file(path, gzip(idx_bytes({2, 1024, 1024}, Bytes(std::size_t{2} << 20, 0)), 9));
    CHECK_THROWS_WITH(data::read_idx(path, limits),
                      path + ": the header's dimensions [2,1024,1024] describe 2097152 bytes of data, so the file "
                             "inflates to more than 1048576 bytes (the limit tg::ReadLimits::max_inflated_bytes); "
                             "raise it, with tg::set_read_limits or per call, if the file is genuine");
    CHECK_THROWS_WITH(data::load_idx_images(path, limits), Contains("max_inflated_bytes"));
    limits.max_inflated_bytes = 16 + (std::size_t{2} << 20);  // exactly the file's size inflated
    CHECK(data::read_idx(path, limits).data.size() == std::size_t{2} << 20);
  }
  SECTION("a stream inflating past the limit after a small header stops at the limit") {
    tg::testing::write_file(path, gzip(idx_bytes({4}, Bytes(std::size_t{4} << 20, 1)), 9));
    CHECK_THROWS_WITH(data::read_idx(path, limits),
                      path + ": inflates to more than 1048576 bytes (the limit tg::ReadLimits::max_inflated_bytes); "
                             "raise it, with tg::set_read_limits or per call, if the file is genuine");
  }
  SECTION("the process-wide limits apply when a call is given none") {
    tg::testing::write_file(path, gzip(idx_bytes({2, 1024, 1024}, Bytes(std::size_t{2} << 20, 0)), 9));
    const ReadLimits before = read_limits();
    set_read_limits(limits);
    CHECK_THROWS_WITH(data::load_idx_images(path), Contains("max_inflated_bytes"));
    set_read_limits(before);
    CHECK(data::load_idx_images(path).shape() == Shape{2, 1, 1024, 1024});
  }
  SECTION("the default refuses 2 GiB from a 2 MB file at once") {
    // The hostile file of issue 15: 2048 gzip members of 1 MiB of zeros behind a
    // header promising 2048 x 1024 x 1024 bytes; it once took 74 s and 10 GB.
    const Bytes header = gzip(idx_bytes({2048, 1024, 1024}, {}), 9);
    const Bytes mib = gzip(Bytes(std::size_t{1} << 20, 0), 9);
    Bytes file = header;
    for (int i = 0; i < 2048; ++i) file = file + mib;
    tg::testing::write_file(path, file);
    CHECK(ReadLimits().max_inflated_bytes == std::uint64_t{1} << 30);
    double took = 0;
    CHECK_THROWS_WITH(took = seconds([&] { data::load_idx_images(path, ReadLimits()); }),
                      Contains("describe 2147483648 bytes of data") && Contains("max_inflated_bytes"));
    CHECK(took < 1.0);
  }
}

TEST_CASE("garbage after the end of a gzip IDX file is refused; further gzip members are read", "[misuse][data]") {
  using tg::testing::gzip;
  tg::testing::TempDir dir;
  const std::string path = dir.file("labels.gz");
  const Bytes labels = idx_bytes({4}, {1, 2, 3, 4});
  // zlib's gzread skipped these bytes silently.
  tg::testing::write_file(path, gzip(labels) + Bytes{'j', 'u', 'n', 'k', '!', '\n', 0});
  CHECK_THROWS_WITH(data::read_idx(path),
                    path + ": 7 bytes after the end of the gzip data are not another gzip member (trailing garbage)");
  tg::testing::write_file(path, gzip(labels) + Bytes{0});
  CHECK_THROWS_WITH(data::read_idx(path), Contains("1 byte after the end of the gzip data is not"));
  // RFC 1952: a gzip file is a series of members, decompressed as one (what gunzip and Python do).
  const Bytes head(labels.begin(), labels.begin() + 6), tail(labels.begin() + 6, labels.end());
  tg::testing::write_file(path, gzip(head) + gzip(tail));
  CHECK(data::load_idx_labels(path).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3, 4});
  // A second member that is itself cut short is still a truncated file.
  const Bytes second = gzip(tail);
  tg::testing::write_file(path, gzip(head) + Bytes(second.begin(), second.end() - 4));
  CHECK_THROWS_WITH(data::read_idx(path), Contains("before its end-of-stream checksum"));
}

TEST_CASE("a checkpoint is held to ReadLimits::max_checkpoint_tensors and max_checkpoint_bytes",
          "[misuse][checkpoint][limits]") {
  tg::testing::TempDir dir;
  const std::string path = dir.file("mlp.tgc");
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Linear>(4, 2));
  save(*model, path);  // 4 tensors, 90 bytes of data
  ReadLimits limits;
  limits.max_checkpoint_tensors = 3;
  CHECK_THROWS_WITH(load(*model, path, limits),
                    "load: '" + path + "' holds 4 tensors, more than 3 (the limit "
                    "tg::ReadLimits::max_checkpoint_tensors); raise it, with tg::set_read_limits or per call, if the "
                    "file is genuine");
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  sum((*model)(ones({1, 3}))).backward();
  sgd.step();
  save(sgd, dir.file("sgd.tgc"));
  CHECK_THROWS_WITH(load(sgd, dir.file("sgd.tgc"), limits), Contains("max_checkpoint_tensors"));
  limits.max_checkpoint_tensors = 4;
  CHECK_NOTHROW(load(*model, path, limits));
  limits.max_checkpoint_bytes = 50;
  CHECK_THROWS_WITH(load(model, path, limits),
                    Contains("load: '" + path + "' holds ") && Contains(" bytes of data, more than 50 (the limit "
                                                                        "tg::ReadLimits::max_checkpoint_bytes)"));
  CHECK(ReadLimits().max_checkpoint_tensors == 100000);
}

TEST_CASE("the hostile checkpoint of 4 million tiny tensors is refused at once", "[misuse][checkpoint][limits]") {
  // Once refused only after 16 s at 2.1 GB. The records themselves do not matter:
  // the count is refused before the first one is read.
  tg::testing::TempDir dir;
  const std::string path = dir.file("many.tgc");
  Bytes payload = {6, 0, 'm', 'o', 'd', 'u', 'l', 'e'};
  const std::uint32_t count = 4000000;
  for (int i = 0; i < 4; ++i) payload.push_back(static_cast<std::uint8_t>(count >> (8 * i)));
  Bytes file = {'T', 'A', 'P', 'E', 'G', 'R', 'A', 'D', 1, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i) file.push_back(static_cast<std::uint8_t>(std::uint64_t{payload.size()} >> (8 * i)));
  const auto crc = static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), payload.data(), payload.size()));
  for (int i = 0; i < 4; ++i) file.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
  file = file + Bytes(4, 0) + payload;
  tg::testing::write_file(path, file);
  auto model = std::make_shared<nn::Linear>(2, 1);
  CHECK_THROWS_WITH(load(*model, path), Contains("holds 4000000 tensors, more than 100000"));
}

TEST_CASE("an image declaring more than ReadLimits::max_image_pixels is refused before decoding",
          "[misuse][data][image][limits]") {
  tg::testing::TempDir dir;
  const std::string path = dir.file("picture.png");
  std::vector<unsigned char> rgb(64 * 32 * 3, 200);
  REQUIRE(stbi_write_png(path.c_str(), 64, 32, 3, rgb.data(), 64 * 3));
  ReadLimits limits;
  limits.max_image_pixels = 64 * 32 - 1;
  CHECK_THROWS_WITH(data::read_image(path, data::ImageChannels::Gray, limits),
                    "read_image: '" + path +
                        "': the image is 64x32 = 2048 pixels, more than 2047 (the limit "
                        "tg::ReadLimits::max_image_pixels); raise it, with tg::set_read_limits or per call, if the "
                        "file is genuine");
  limits.max_image_pixels = 64 * 32;
  const Tensor gray = data::read_image(path, data::ImageChannels::Gray, limits);
  CHECK(gray.shape() == Shape{1, 32, 64});
  CHECK(gray.to_vector<std::int64_t>()[0] == 200);
  CHECK_THROWS_WITH(data::read_image(dir.file("absent.png")), Contains("absent.png': cannot open"));
}
