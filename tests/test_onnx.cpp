// ONNX export (tg::onnx::export_model): the exact bytes of a small model against
// what the onnx package's serializer writes (tests/onnx_reference/tiny_model.py
// -> tests/data/onnx_tiny_model.onnx), the attributes ops keep on the tape, the
// refusals (an op without a mapping, named with its module path; ops that would
// break the dynamic batch; bad arguments), and the modes restored after a trace.
// The exported example models run by onnx.checker and OpenCV: onnx_export_test.sh.
#include <catch2/catch.hpp>

#include <filesystem>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;

namespace {

using tg::testing::read_bytes;
using tg::testing::TempDir;

// The model of tests/onnx_reference/tiny_model.py, with the same weights.
std::shared_ptr<nn::Sequential> tiny_model() {
  auto conv = std::make_shared<nn::Conv2d>(1, 2, 2);
  auto linear = std::make_shared<nn::Linear>(2, 3);
  std::vector<double> conv_w, linear_w;
  for (int k = 0; k < 8; ++k) conv_w.push_back((k - 3.5) / 8);
  for (int k = 0; k < 6; ++k) linear_w.push_back((k - 2.5) / 4);
  {
    NoGradGuard no_grad;
    conv->weight.copy_(tensor(conv_w, {2, 1, 2, 2}));
    conv->bias.copy_(tensor({0.25, -0.5}));
    linear->weight.copy_(tensor(linear_w, {2, 3}));
    linear->bias.copy_(tensor({0.125, -0.25, 0.5}));
  }
  return std::make_shared<nn::Sequential>(conv, std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2),
                                          std::make_shared<nn::Flatten>(), linear, std::make_shared<nn::LogSoftmax>(1));
}

// x^3 through pow, an op export_model does not map.
struct Cube : nn::Module {
  Tensor forward(const Tensor& x) override { return pow(x, 3.0); }
};

// A module whose forward is one function of its input.
struct Lambda : nn::Module {
  explicit Lambda(std::function<Tensor(const Tensor&)> f) : f_(std::move(f)) {}
  Tensor forward(const Tensor& x) override { return f_(x); }
  std::function<Tensor(const Tensor&)> f_;
};

// The message export_model refuses `model` on `input` with; no file is left behind.
std::string refusal(nn::Module& model, const Tensor& input, int opset = onnx::kDefaultOpset) {
  TempDir dir("tapegrad-onnx");
  const std::string path = dir.file("m.onnx");
  try {
    onnx::export_model(model, input, path, opset);
  } catch (const std::invalid_argument& e) {
    CHECK_FALSE(std::filesystem::exists(path));
    return e.what();
  }
  FAIL("export_model accepted the model");
  return "";
}

}  // namespace

TEST_CASE("export_model writes what the onnx package writes", "[onnx]") {
  auto model = tiny_model();
  TempDir dir("tapegrad-onnx");
  const std::string path = dir.file("tiny.onnx");
  // The traced batch (3) is not in the file: its first dimension is the dim_param "batch".
  onnx::export_model(*model, randn({3, 1, 4, 4}), path);
  const std::string expected = read_bytes(std::string(TAPEGRAD_SOURCE_DIR) + "/tests/data/onnx_tiny_model.onnx");
  REQUIRE(expected.size() > 500);
  const std::string written = read_bytes(path);
  CHECK(written.size() == expected.size());
  CHECK(written == expected);
}

TEST_CASE("export_model restores the modules' modes and grad mode", "[onnx]") {
  auto model = tiny_model();
  model->train();
  (*model)[1]->eval();  // a module whose mode differs from its parent's
  TempDir dir("tapegrad-onnx");
  {
    NoGradGuard no_grad;
    onnx::export_model(*model, randn({1, 1, 4, 4}), dir.file("m.onnx"));
    CHECK_FALSE(GradMode::is_enabled());
  }
  CHECK(model->is_training());
  CHECK((*model)[0]->is_training());
  CHECK_FALSE((*model)[1]->is_training());
  CHECK((*model)[5]->is_training());
  // The same bytes from a model in training mode: dropout is off during the trace.
  auto with_dropout = tiny_model();
  with_dropout->add(std::make_shared<nn::Dropout>(0.5));
  onnx::export_model(*with_dropout, randn({2, 1, 4, 4}), dir.file("dropout.onnx"));
  CHECK(with_dropout->is_training());
  CHECK(read_bytes(dir.file("dropout.onnx")) ==
        read_bytes(std::string(TAPEGRAD_SOURCE_DIR) + "/tests/data/onnx_tiny_model.onnx"));
}

TEST_CASE("ops keep the attributes an exporter reads on their tape node", "[onnx]") {
  const Tensor x = randn({1, 2, 7, 6}).requires_grad_();
  const Tensor conv = conv2d(x, randn({3, 2, 2, 2}), Tensor(), {2, 1}, Padding("same"), 1);
  const autograd::OpAttributes& a = conv.grad_fn()->attributes();
  CHECK(a.ints("stride") == std::vector<std::int64_t>{2, 1});
  CHECK(a.ints("dilation") == std::vector<std::int64_t>{1, 1});
  // "same" with a 2x2 kernel: height 7 by stride 2 gives 4 rows, whose windows
  // reach 3*2 + 2 = 8 rows; width 6 by stride 1 gives 6 columns, reaching 7: one
  // pixel of padding at the end of each (ONNX order: top, left, bottom, right).
  CHECK(a.ints("pads") == std::vector<std::int64_t>{0, 0, 1, 1});
  CHECK(conv.shape() == Shape({1, 3, 4, 6}));
  CHECK_THROWS_WITH(a.real("scalar"), Contains("no real attribute 'scalar'"));

  const Tensor pooled = max_pool2d(x, {3, 2}, Size2{2, 2}, {1, 1});
  CHECK(pooled.grad_fn()->attributes().ints("kernel") == std::vector<std::int64_t>{3, 2});
  CHECK(pooled.grad_fn()->attributes().ints("pads") == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(softmax(x, -1).grad_fn()->attributes().ints("dim") == std::vector<std::int64_t>{-1});
  CHECK(permute(x, {0, 2, 3, 1}).grad_fn()->attributes().ints("dims") == std::vector<std::int64_t>{0, 2, 3, 1});
  CHECK(cat({x, x}, 1).grad_fn()->attributes().ints("dim") == std::vector<std::int64_t>{1});
  CHECK(rsub(2.5, x).grad_fn()->attributes().real("scalar") == 2.5);
  CHECK(relu(x).grad_fn()->attributes().empty());
  CHECK_THROWS_WITH(autograd::set_attributes(randn({2}), autograd::OpAttributes()), Contains("has no grad_fn"));
}

TEST_CASE("export_model refuses an op without a mapping, naming it and its module", "[onnx]") {
  nn::Sequential model(std::make_shared<nn::Linear>(4, 3), std::make_shared<Cube>());
  const std::string message = refusal(model, randn({2, 4}));
  CHECK_THAT(message, Contains("Sequential[1] Cube"));
  CHECK_THAT(message, Contains("onnx::export_model: op 'pow' (inputs [2,3] float32) has no ONNX mapping"));
  CHECK_THAT(message, Contains("conv2d"));  // the list of the ops it maps
}

TEST_CASE("export_model refuses what would break the dynamic batch", "[onnx]") {
  Lambda cat_batch([](const Tensor& x) { return cat({x, x}, 0); });
  CHECK_THAT(refusal(cat_batch, randn({2, 3})), Contains("op 'cat' (inputs [2,3] float32, [2,3] float32) cannot be "
                                                         "exported: it joins along the batch dimension"));
  Lambda transposed([](const Tensor& x) { return transpose(x, 0, 1); });
  CHECK_THAT(refusal(transposed, randn({2, 3})), Contains("op 'permute'"));
  CHECK_THAT(refusal(transposed, randn({2, 3})), Contains("moves the batch dimension (dims [1,0])"));
  const Tensor table = randn({2, 3});
  const Tensor batch_of_matrices = randn({2, 3, 4});
  Lambda times_matrices([batch_of_matrices](const Tensor& x) { return matmul(x, batch_of_matrices); });
  CHECK_THAT(refusal(times_matrices, randn({2, 5, 3})),
             Contains("op 'matmul' (inputs [2,5,3] float32, [2,3,4] float32) cannot be exported: it pairs the batch"));
  Lambda plus_table([table](const Tensor& x) { return x + table; });
  CHECK_THAT(refusal(plus_table, randn({2, 3})),
             Contains("broadcasts [2,3] float32, which does not depend on the input, along the batch dimension"));
  // Before opset 13, Softmax normalises over every dimension from its axis on.
  Lambda softmax_middle([](const Tensor& x) { return softmax(x, 1); });
  CHECK_THAT(refusal(softmax_middle, randn({2, 3, 4}), 12), Contains("needs opset 13 or later"));
  TempDir dir("tapegrad-onnx");
  CHECK_NOTHROW(onnx::export_model(softmax_middle, randn({2, 3, 4}), dir.file("m.onnx"), 13));
}

TEST_CASE("export_model refuses bad arguments", "[onnx]") {
  nn::Sequential model(std::make_shared<nn::Linear>(4, 3));
  CHECK_THAT(refusal(model, randn({2, 4}), 10), Contains("onnx::export_model: opset 10 is not supported (tapegrad "
                                                         "writes opsets 11 to 17)"));
  CHECK_THAT(refusal(model, randn({2, 4}), 18), Contains("opset 18 is not supported"));
  CHECK_THAT(refusal(model, tensor_i64({1, 2, 3, 4}, {1, 4})),
             Contains("the example input must be a float32 or float64 tensor whose first dimension is the batch, got "
                      "[1,4] int64"));
  CHECK_THAT(refusal(model, randn({})), Contains("got [] float32"));
  CHECK_THAT(refusal(model, randn({2, 5})), Contains("Linear(4->3): input has 5 features, expected 4"));
  TempDir dir("tapegrad-onnx");
  CHECK_THROWS_AS(onnx::export_model(model, randn({2, 4}), dir.file("missing/dir/m.onnx")), std::runtime_error);
}

TEST_CASE("a model that returns its input exports as one Identity node", "[onnx]") {
  nn::Sequential model(std::make_shared<nn::Dropout>(0.3));  // the identity in eval mode
  TempDir dir("tapegrad-onnx");
  onnx::export_model(model, randn({2, 3}), dir.file("identity.onnx"));
  const std::string bytes = read_bytes(dir.file("identity.onnx"));
  // NodeProto: input "input", output "output", name "Identity_0", op_type "Identity".
  const std::string node = std::string("\x0a\x05input\x12\x06output\x1a\x0aIdentity_0\x22\x08Identity", 37);
  CHECK(bytes.find(node) != std::string::npos);
  CHECK(bytes.find("Dropout") == std::string::npos);
}

TEST_CASE("conv_transpose2d and sum keep the attributes an exporter reads", "[onnx]") {
  const Tensor x = randn({1, 4, 5, 6}).requires_grad_();
  const Tensor w = randn({4, 3, 3, 2});
  // With a bias the output is the bias add's: the attributes are on the product before it.
  const Tensor y = conv_transpose2d(x, w, Tensor(), {2, 1}, {1, 0}, {1, 0}, /*groups*/ 2, /*dilation*/ {1, 2});
  const autograd::OpAttributes& a = y.grad_fn()->attributes();
  CHECK(y.grad_fn()->name() == "conv_transpose2d");
  CHECK(a.ints("stride") == std::vector<std::int64_t>{2, 1});
  CHECK(a.ints("dilation") == std::vector<std::int64_t>{1, 2});
  CHECK(a.ints("pads") == std::vector<std::int64_t>{1, 0, 1, 0});
  CHECK(a.ints("output_padding") == std::vector<std::int64_t>{1, 0});
  CHECK(a.ints("groups") == std::vector<std::int64_t>{2});
  const Tensor s = sum(x, {-1, 1}, true);
  CHECK(s.grad_fn()->attributes().ints("dims") == std::vector<std::int64_t>{1, 3});
  CHECK(s.grad_fn()->attributes().ints("keepdim") == std::vector<std::int64_t>{1});
  CHECK(sum(x).grad_fn()->attributes().ints("dims") == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(sum(x).grad_fn()->attributes().ints("keepdim") == std::vector<std::int64_t>{0});
}

TEST_CASE("a BatchNorm module exports as one BatchNormalization node with its running statistics", "[onnx]") {
  auto bn = std::make_shared<nn::BatchNorm2d>(2, 1e-3);
  nn::Sequential model(std::make_shared<nn::Conv2d>(1, 2, 3), bn, std::make_shared<nn::ReLU>());
  model.train();
  {
    NoGradGuard no_grad;
    bn->running_mean.copy_(tensor({0.5f, -0.25f}));
  }
  TempDir dir("tapegrad-onnx");
  onnx::export_model(model, randn({3, 1, 6, 6}), dir.file("bn.onnx"));
  const std::string bytes = read_bytes(dir.file("bn.onnx"));
  // NodeProto inputs: X, scale, B, mean, var under the module's names.
  CHECK(bytes.find("\x0a\x06" "Conv_0" "\x0a\x08" "1.weight" "\x0a\x06" "1.bias" "\x0a\x0e" "1.running_mean"
                   "\x0a\x0d" "1.running_var") != std::string::npos);
  // AttributeProto epsilon: name, f (fixed32 0.001f = 0x3a83126f, little-endian), type FLOAT (1).
  CHECK(bytes.find(std::string("\x0a\x07" "epsilon" "\x15\x6f\x12\x83\x3a\xa0\x01\x01", 16)) != std::string::npos);
  // Nothing of batch_norm's eval-mode arithmetic is left.
  CHECK(bytes.find("Sub") == std::string::npos);
  CHECK(bytes.find("Mul") == std::string::npos);
  // Traced in eval mode: no running statistic moved, no batch counted; the mode is back.
  CHECK(bn->num_batches_tracked.item() == 0);
  CHECK(bn->running_mean.data<float>()[0] == 0.5f);
  CHECK(bn->is_training());
  // The export's hooks are gone: training afterwards counts batches as before.
  model(randn({3, 1, 6, 6}));
  CHECK(bn->num_batches_tracked.item() == 1);
}

TEST_CASE("export_model refuses batch norm with the batch's statistics", "[onnx]") {
  Lambda functional_training([](const Tensor& x) {
    return nn::functional::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), /*training*/ true);
  });
  const std::string message = refusal(functional_training, randn({4, 3}));
  CHECK_THAT(message, Contains("op 'fused_batch_norm' (inputs [4,3] float32) cannot be exported: it normalises with "
                               "the statistics of the batch"));
  CHECK_THAT(message, Contains("BatchNorm module that tracks running statistics"));
  nn::Sequential untracked(std::make_shared<nn::BatchNorm2d>(2, 1e-5, 0.1, true, /*track_running_stats*/ false));
  CHECK_THAT(refusal(untracked, randn({2, 2, 3, 3})), Contains("op 'fused_batch_norm'"));
}

TEST_CASE("global average pooling exports as GlobalAveragePool, other sums as ReduceSum", "[onnx]") {
  nn::Sequential pooled(std::make_shared<nn::Conv2d>(1, 2, 3), std::make_shared<nn::AdaptiveAvgPool2d>(1),
                        std::make_shared<nn::Flatten>());
  TempDir dir("tapegrad-onnx");
  onnx::export_model(pooled, randn({2, 1, 5, 5}), dir.file("gap.onnx"));
  std::string bytes = read_bytes(dir.file("gap.onnx"));
  CHECK(bytes.find("GlobalAveragePool") != std::string::npos);
  CHECK(bytes.find("ReduceSum") == std::string::npos);
  Lambda row_sums([](const Tensor& x) { return sum(x, {1}); });
  onnx::export_model(row_sums, randn({2, 3}), dir.file("sum.onnx"));
  bytes = read_bytes(dir.file("sum.onnx"));
  CHECK(bytes.find("ReduceSum") != std::string::npos);
  CHECK(bytes.find("ReduceSum_0_axes") != std::string::npos);  // opset 13: the axes are an input
  Lambda total([](const Tensor& x) { return sum(x); });
  CHECK_THAT(refusal(total, randn({2, 3})), Contains("op 'sum' (inputs [2,3] float32) cannot be exported: it sums "
                                                     "over the batch dimension"));
}

TEST_CASE("conv_transpose2d exports as ConvTranspose with its bias folded in", "[onnx]") {
  nn::Sequential model(std::make_shared<nn::ConvTranspose2d>(2, 3, 3, 2, 1, 1));
  TempDir dir("tapegrad-onnx");
  onnx::export_model(model, randn({2, 2, 4, 4}), dir.file("ct.onnx"));
  const std::string bytes = read_bytes(dir.file("ct.onnx"));
  // NodeProto: input, 0.weight, 0.bias -> output, ConvTranspose_0.
  CHECK(bytes.find("\x0a\x05input\x0a\x08" "0.weight\x0a\x06" "0.bias\x12\x06output\x1a\x0f" "ConvTranspose_0") !=
        std::string::npos);
  CHECK(bytes.find("output_padding") != std::string::npos);
  CHECK(bytes.find("Reshape") == std::string::npos);
  CHECK(bytes.find("Add") == std::string::npos);
}
