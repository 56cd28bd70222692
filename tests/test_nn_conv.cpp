// Conv2d, Conv1d, MaxPool2d, AvgPool2d modules: known answers, default init,
// printing, error paths, gradients against finite differences (alone, in
// Sequentials with every activation, behind every loss), summaries checked
// against the parameter and output-size formulas, and a CNN checkpoint round trip.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using namespace tg::nn;
namespace F = tg::nn::functional;
using Catch::Contains;
using V = std::vector<double>;

namespace {

void set(Tensor t, const V& values) {
  NoGradGuard no_grad;
  t.copy_(tensor(values, t.shape(), t.dtype()));
}

void check_module(Module& m, const Tensor& x) {
  GradcheckResult r = gradcheck_module(m, x);
  INFO(r.message);
  CHECK(r.passed);
}

// A small MNIST CNN (28x28 input, "same" 3x3 convolutions), with a classifier head of `classes` outputs.
std::shared_ptr<Sequential> small_cnn(std::int64_t size = 28, std::int64_t classes = 1) {
  const std::int64_t flat = 4 * (size / 4) * (size / 4);
  return std::make_shared<Sequential>(
      std::make_shared<Conv2d>(1, 2, 3, 1, 1), std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2),
      std::make_shared<Conv2d>(2, 4, 3, 1, 1), std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2),
      std::make_shared<Flatten>(), std::make_shared<Linear>(flat, 32), std::make_shared<ReLU>(),
      std::make_shared<Linear>(32, classes));
}

}  // namespace

TEST_CASE("Conv2d computes the cross-correlation with bias", "[nn]") {
  Conv2d conv(1, 1, 2);
  REQUIRE(conv.weight.shape() == Shape{1, 1, 2, 2});
  set(conv.weight, {1, 0, 0, -1});
  set(conv.bias, {0.5});
  // y[i,j] = x[i,j] - x[i+1,j+1] + 0.5 = -4 + 0.5 on the 3x3 image 1..9
  Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  CHECK(conv(x).to_vector() == V{-3.5, -3.5, -3.5, -3.5});
  CHECK(Conv2d(1, 3, 3, 1, "same")(x).shape() == Shape{1, 3, 3, 3});
  CHECK(Conv2d(1, 3, 3, 1, "valid")(x).shape() == Shape{1, 3, 1, 1});
  CHECK(Conv2d(1, 3, {3, 1}, {1, 2}, {1, 0})(x).shape() == Shape{1, 3, 3, 2});
  CHECK(Conv2d(1, 1, 2, 1, 0, 2)(ones({1, 1, 5, 5})).shape() == Shape{1, 1, 3, 3});  // dilation 2
  Conv2d no_bias(1, 2, 2, 1, 0, 1, 1, false);
  CHECK(no_bias.parameters().size() == 1);
}

TEST_CASE("Conv1d computes the 1-D cross-correlation", "[nn]") {
  Conv1d conv(1, 1, 3, 1, 0, 1);
  set(conv.weight, {1, -2, 1});  // a second difference
  set(conv.bias, {0});
  CHECK(conv(tensor({0, 1, 4, 9, 16}, {1, 1, 5})).to_vector() == V{2, 2, 2});
  CHECK(Conv1d(2, 4, 3, 2, 1)(ones({3, 2, 9})).shape() == Shape{3, 4, 5});
}

TEST_CASE("pooling modules: known answers and default stride", "[nn]") {
  Tensor x = tensor({1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16}, {1, 1, 4, 4});
  CHECK(MaxPool2d(2)(x).to_vector() == V{4, 8, 12, 16});
  CHECK(AvgPool2d(2)(x).to_vector() == V{2.5, 6.5, 10.5, 14.5});
  CHECK(MaxPool2d(3, 1)(x).shape() == Shape{1, 1, 2, 2});
  CHECK(MaxPool2d(2, 2, 1)(x).shape() == Shape{1, 1, 3, 3});
}

TEST_CASE("convolution layers use PyTorch's default init", "[nn]") {
  manual_seed(8);
  Conv2d conv(16, 32, 3);
  const double bound = 1 / std::sqrt(16.0 * 9);
  double max_abs = 0;
  for (double v : conv.weight.to_vector()) max_abs = std::max(max_abs, std::abs(v));
  CHECK(max_abs <= bound);
  CHECK(max_abs > 0.99 * bound);
  for (double v : conv.bias.to_vector()) CHECK(std::abs(v) <= bound);
  manual_seed(8);
  CHECK(Conv2d(16, 32, 3).weight.to_vector() == conv.weight.to_vector());
}

TEST_CASE("convolution and pooling modules print like PyTorch", "[nn]") {
  std::ostringstream os;
  os << *small_cnn();
  CHECK(os.str() ==
        "Sequential(\n"
        "  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=1)\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
        "  (3): Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=1)\n"
        "  (4): ReLU()\n"
        "  (5): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
        "  (6): Flatten(start_dim=1, end_dim=-1)\n"
        "  (7): Linear(in_features=196, out_features=32, bias=true)\n"
        "  (8): ReLU()\n"
        "  (9): Linear(in_features=32, out_features=1, bias=true)\n"
        ")");
  std::ostringstream more;
  more << Conv2d(3, 8, {3, 5}, 2, "same", {2, 1}, 1, false) << ' ' << Conv1d(2, 4, 5, 1, 2) << ' '
       << AvgPool2d({2, 3}, 1);
  CHECK(more.str() ==
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding='same', dilation=(2, 1), bias=false) "
        "Conv1d(2, 4, kernel_size=5, stride=1, padding=2) "
        "AvgPool2d(kernel_size=(2, 3), stride=1, padding=0)");
}

TEST_CASE("convolution errors name the module path and the channels", "[nn]") {
  auto cnn = small_cnn();
  CHECK_THROWS_WITH((*cnn)(ones({2, 3, 28, 28})),
                    "Sequential[0] Conv2d(1->2, 3x3): input has 3 channels, expected 1 (input [2,3,28,28] float32)");
  CHECK_THROWS_WITH((*cnn)(ones({2, 28, 28})), Catch::StartsWith("Sequential[0] Conv2d(1->2, 3x3): expected an input [N, C, H, W]"));
  // 32x32 images reach the classifier with 4*8*8 = 256 features instead of 196.
  CHECK_THROWS_WITH((*cnn)(ones({2, 1, 32, 32})),
                    Catch::StartsWith("Sequential[7] Linear(196->32): input has 256 features, expected 196"));
  // Op errors inside a pooling module get the path too.
  Sequential pool(std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(5));
  CHECK_THROWS_WITH(pool(ones({1, 1, 3, 3})), Catch::StartsWith("Sequential[1] MaxPool2d(kernel_size=5, stride=5, padding=0): max_pool2d"));
  CHECK_THROWS_WITH(Conv1d(2, 4, 3)(ones({1, 3, 8})), Catch::StartsWith("Conv1d(2->4, 3): input has 3 channels, expected 2"));
  CHECK_THROWS_WITH(Conv2d(1, 2, 0), Contains("Conv2d: kernel height must be positive, got 0"));
  CHECK_THROWS_WITH(Conv2d(1, 2, 3, 0), Contains("Conv2d: stride must be positive"));
}

TEST_CASE("convolution module gradients match finite differences", "[nn]") {
  manual_seed(13);
  Conv2d plain(2, 3, 3);
  check_module(plain.to(kFloat64), randn({2, 2, 5, 5}, kFloat64));
  Conv2d strided(2, 2, {3, 2}, 2, {1, 0}, 1, 1, false);
  check_module(strided.to(kFloat64), randn({1, 2, 6, 5}, kFloat64));
  Conv2d same(1, 2, 3, 1, "same", 2);
  check_module(same.to(kFloat64), randn({1, 1, 5, 6}, kFloat64));
  Conv1d conv1d(2, 3, 3, 2, 1);
  check_module(conv1d.to(kFloat64), randn({2, 2, 7}, kFloat64));

  const std::vector<std::pair<std::string, std::function<ModulePtr()>>> activations = {
      {"ReLU", [] { return std::make_shared<ReLU>(); }},
      {"Sigmoid", [] { return std::make_shared<Sigmoid>(); }},
      {"Tanh", [] { return std::make_shared<Tanh>(); }},
      {"Softmax", [] { return std::make_shared<Softmax>(1); }},
      {"LogSoftmax", [] { return std::make_shared<LogSoftmax>(1); }},
      {"Dropout (eval)", [] { return std::make_shared<Dropout>(0.2); }},
  };
  for (const auto& [name, make] : activations) {
    INFO(name);
    Sequential seq(std::make_shared<Conv2d>(1, 2, 3, 1, 1), make(), std::make_shared<AvgPool2d>(2),
                   std::make_shared<Conv2d>(2, 2, 2), make(), std::make_shared<MaxPool2d>(2, 1),
                   std::make_shared<Flatten>(), std::make_shared<Linear>(2, 3), make());
    seq.to(kFloat64);
    seq.eval();
    check_module(seq, randn({2, 1, 6, 6}, kFloat64));
  }
}

TEST_CASE("every loss behind a CNN matches finite differences", "[nn]") {
  struct LossOf : Module {
    ModulePtr model;
    std::function<Tensor(const Tensor&)> loss;
    LossOf(ModulePtr m, std::function<Tensor(const Tensor&)> l) : loss(std::move(l)) {
      model = register_module("model", std::move(m));
    }
    Tensor forward(const Tensor& x) override { return loss((*model)(x)); }
  };
  auto check_loss = [](std::int64_t classes, ModulePtr last, std::function<Tensor(const Tensor&)> loss) {
    manual_seed(17);
    auto cnn = small_cnn(8, classes);
    if (last) cnn->add(last);
    LossOf wrapped(cnn, std::move(loss));
    wrapped.to(kFloat64);
    GradcheckResult r = gradcheck_module(wrapped, randn({3, 1, 8, 8}, kFloat64));
    INFO(r.message);
    CHECK(r.passed);
  };
  const Tensor labels = tensor_i64({0, 2, 1}, {3});
  check_loss(3, nullptr, [=](const Tensor& z) { return F::cross_entropy(z, labels); });
  check_loss(3, std::make_shared<LogSoftmax>(1), [=](const Tensor& lp) { return F::nll_loss(lp, labels); });
  check_loss(1, std::make_shared<Sigmoid>(),
             [](const Tensor& p) { return F::binary_cross_entropy(p, tensor({1, 0, 0.5}, {3, 1}, kFloat64)); });
  check_loss(1, nullptr, [](const Tensor& s) { return F::hinge_loss(s, tensor({1, -1, 1}, {3, 1}, kFloat64)); });
  check_loss(1, nullptr, [](const Tensor& y) { return F::mse_loss(y, tensor({0.5, -1, 2}, {3, 1}, kFloat64)); });
}

TEST_CASE("summary counts (F_h F_w C_in + 1) C_out parameters and the conv output sizes", "[nn]") {
  struct Case {
    std::int64_t in, out, size, stride, expected_size, expected_params;
  };
  // (F_h F_w C_in + 1) C_out parameters; floor((N + 2P - F) / S) + 1 outputs.
  for (const Case& c : {Case{3, 6, 144, 1, 142, 168}, Case{24, 48, 60, 1, 58, 10416}, Case{10, 20, 20, 2, 9, 1820}}) {
    Conv2d conv(c.in, c.out, 3, c.stride);
    const ModelSummary s = summary(conv, {1, c.in, c.size, c.size});
    REQUIRE(s.rows.size() == 1);
    CHECK(s.rows[0].type == "Conv2d");
    CHECK(s.rows[0].output_shape == Shape{1, c.out, c.expected_size, c.expected_size});
    CHECK(s.rows[0].parameters == c.expected_params);
    CHECK(s.total_parameters == c.expected_params);
  }
  // The three layers in one model, each on its own input size, as a table.
  struct ThreeConvs : Module {
    std::shared_ptr<Conv2d> a, b, c;
    ThreeConvs() {
      a = register_module("a", std::make_shared<Conv2d>(3, 6, 3));
      b = register_module("b", std::make_shared<Conv2d>(24, 48, 3));
      c = register_module("c", std::make_shared<Conv2d>(10, 20, 3, 2));
    }
    Tensor forward(const Tensor& x) override {
      (*a)(x);
      (*b)(zeros({1, 24, 60, 60}));
      return (*c)(zeros({1, 10, 20, 20}));
    }
  } model;
  const ModelSummary s = summary(model, {1, 3, 144, 144});
  REQUIRE(s.rows.size() == 3);
  CHECK(s.total_parameters == 168 + 10416 + 1820);
  const std::string table = s.str();
  CHECK_THAT(table, Contains("a      Conv2d  [1,6,142,142]      168"));
  CHECK_THAT(table, Contains("b      Conv2d  [1,48,58,58]    10,416"));
  CHECK_THAT(table, Contains("c      Conv2d  [1,20,9,9]       1,820"));
  CHECK_THAT(table, Contains("Total params: 12,404"));
}

TEST_CASE("summary of a small MNIST CNN", "[nn]") {
  const ModelSummary s = summary(*small_cnn(), {32, 1, 28, 28});
  REQUIRE(s.rows.size() == 10);
  const std::vector<Shape> shapes = {{32, 2, 28, 28}, {32, 2, 28, 28}, {32, 2, 14, 14}, {32, 4, 14, 14}, {32, 4, 14, 14},
                                     {32, 4, 7, 7},   {32, 196},       {32, 32},        {32, 32},        {32, 1}};
  for (std::size_t i = 0; i < shapes.size(); ++i) CHECK(s.rows[i].output_shape == shapes[i]);
  CHECK(s.rows[0].parameters == 2 * 9 + 2);
  CHECK(s.rows[3].parameters == 4 * 2 * 9 + 4);
  CHECK(s.rows[7].parameters == 196 * 32 + 32);
  CHECK(s.total_parameters == 20 + 76 + 6304 + 33);
}

TEST_CASE("a CNN round-trips through a checkpoint", "[nn][checkpoint]") {
  const std::string path = "/tmp/tapegrad_cnn_" + std::to_string(::getpid()) + ".tgc";
  manual_seed(1);
  auto a = small_cnn();
  save(a, path);
  manual_seed(2);
  auto b = small_cnn();
  load(b, path);
  std::remove(path.c_str());
  Tensor x = randn({2, 1, 28, 28});
  CHECK((*a)(x).to_vector() == (*b)(x).to_vector());
  for (std::size_t i = 0; i < a->parameters().size(); ++i)
    CHECK(a->parameters()[i].to_vector() == b->parameters()[i].to_vector());
}
