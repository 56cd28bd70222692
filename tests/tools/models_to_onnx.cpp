// Exports the example models to ONNX and writes what tests/onnx_export_check.py
// compares them with, for tests/onnx_export_test.sh:
//   OUT_DIR/<model>.onnx               export_model traced on a batch of 2 (opset 13)
//   OUT_DIR/<model>_io.safetensors     "input", a batch of 5, and tapegrad's "output" for it
// for <model> = lenet5 (examples/common/lenet5_model.cpp), seed_cnn (the NLL CNN of
// mnist_binary, conv N(0,1) and dense N(0,0.01) weights as with --seed-init,
// biases set random here so that they count) and two_circles (Linear(2->16)-ReLU-
// Linear(16->1)-Sigmoid, as in examples/two_circles.cpp), and op_mix (OpMix below:
// the mapped ops the example models do not use), and LeNet-5 again at opsets 11
// and 17 (lenet5_opset11, lenet5_opset17), tied (Tied below), and depthwise (a
// grouped 3x3 conv, ReLU, 1x1 conv: ONNX's `group` attribute), resnet (the
// resnet trainer's network, examples/common/resnet_model.cpp, its batch norms'
// running statistics and affine parameters set random so that they count:
// BatchNormalization, residual Add, GlobalAveragePool, Flatten, Gemm),
// autoencoder (examples/common/autoencoder_model.cpp: ConvTranspose with
// stride 2 and output_padding, bias folded in), transposed (ConvTranspose with
// groups, no bias, a non-square kernel and stride; transposed_dilated the same with
// dilation 2, checked with numpy instead of OpenCV) and batch_norm_1d
// (BatchNorm1d on [N,C] after a Linear, one without affine parameters) and
// reductions (sum and mean over non-batch dimensions, ReduceSum; also at opset 11).
// The batch of 5 differs from the traced batch of 2: the files must run with any batch.
// Usage: models_to_onnx OUT_DIR
#include <cstdio>
#include <exception>
#include <string>

#include <tapegrad/tapegrad.hpp>

#include "common/autoencoder_model.hpp"
#include "common/binary_mnist_cnn.hpp"
#include "common/lenet5_model.hpp"
#include "common/resnet_model.hpp"

namespace {

// Average pooling, tanh, scalar arithmetic, a reshape and a transpose that keep
// the batch first, cat, a 3-D product with a plain parameter (MatMul between
// reshapes), softmax over the last dimension and conv with "same" padding and a stride.
struct OpMix : tg::nn::Module {
  tg::Tensor weight = register_parameter("weight", tg::randn({4, 3}));
  tg::Tensor filters = register_parameter("filters", tg::randn({2, 2, 3, 3}));
  tg::Tensor forward(const tg::Tensor& x) override {  // x [N,2,6,6]
    using namespace tg;
    Tensor y = conv2d(x, filters, Tensor(), 1, Padding("same"));         // [N,2,6,6]
    y = 0.5 - tanh(avg_pool2d(y, 2)) * 2.5 / 4.0 + 1.0;                  // [N,2,3,3]
    y = permute(reshape(y, {-1, 2, 9}), {0, 2, 1});                      // [N,9,2]
    Tensor z = matmul(cat({y, sigmoid(y)}, 2), weight);                  // [N,9,3]
    return softmax(z - 1.0 / (abs(z) + 1.0), -1);
  }
};

// A tied autoencoder: the encoder's weight, transposed, decodes. The weight is a
// Linear's, kept in PyTorch's layout for the Gemm and transposed back for the product.
struct Tied : tg::nn::Module {
  std::shared_ptr<tg::nn::Linear> encoder = register_module("encoder", std::make_shared<tg::nn::Linear>(3, 4));
  tg::Tensor forward(const tg::Tensor& x) override {  // x [N,3]
    return tg::matmul(tg::relu((*encoder)(x)), tg::transpose(encoder->weight, 0, 1));
  }
};

// BatchNorm1d after a Linear, and one without affine parameters.
struct BatchNorm1dMix : tg::nn::Module {
  std::shared_ptr<tg::nn::Linear> linear = register_module("linear", std::make_shared<tg::nn::Linear>(3, 4));
  std::shared_ptr<tg::nn::BatchNorm1d> bn = register_module("bn", std::make_shared<tg::nn::BatchNorm1d>(4));
  std::shared_ptr<tg::nn::BatchNorm1d> plain =
      register_module("plain", std::make_shared<tg::nn::BatchNorm1d>(4, 1e-3, 0.1, /*affine*/ false));
  tg::Tensor forward(const tg::Tensor& x) override {  // x [N,3]
    return (*plain)(tg::relu((*bn)((*linear)(x))));
  }
};

// Sums and means over non-batch dimensions, with and without keepdim (ReduceSum).
struct Reductions : tg::nn::Module {
  tg::Tensor forward(const tg::Tensor& x) override {  // x [N,4]
    using namespace tg;
    const Tensor z = sum(reshape(x, {-1, 2, 2}), {1}, false);  // [N,2]
    return x - mean(x, {1}, true) + cat({z, z}, 1) * 0.5;      // [N,4]
  }
};

// Random running statistics and affine parameters, so that a wrong mapping shows.
void randomize_batch_norms(tg::nn::Module& model) {
  using namespace tg;
  NoGradGuard no_grad;
  for (auto& [name, t] : model.named_buffers())
    if (name.find("running_mean") != std::string::npos) t.copy_(randn(t.shape()) * 0.5);
    else if (name.find("running_var") != std::string::npos) t.copy_(rand(t.shape()) + 0.5);
  for (auto& [path, m] : model.named_modules())
    if (const auto* bn = dynamic_cast<const nn::BatchNormBase*>(m); bn && bn->weight.defined()) {
      Tensor w = bn->weight, b = bn->bias;
      w.copy_(rand(w.shape()) + 0.5);
      b.copy_(randn(b.shape()) * 0.2);
    }
}

void write(const std::string& out, const std::string& name, tg::nn::Module& model, const tg::Shape& example,
           int opset = tg::onnx::kDefaultOpset) {
  using namespace tg;
  std::vector<std::int64_t> traced = example.vec(), checked = example.vec();
  traced[0] = 2;
  checked[0] = 5;
  onnx::export_model(model, randn(Shape(traced)), out + "/" + name + ".onnx", opset);
  const Tensor input = randn(Shape(checked));
  model.eval();
  Tensor output;
  {
    NoGradGuard no_grad;
    output = model(input);
  }
  io::write_safetensors(out + "/" + name + "_io.safetensors", {{"input", input}, {"output", output}});
  std::printf("wrote %s/%s.onnx and %s_io.safetensors\n", out.c_str(), name.c_str(), name.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: models_to_onnx OUT_DIR\n");
    return 2;
  }
  try {
    using namespace tg;
    const std::string out = argv[1];
    manual_seed(17);
    auto lenet5 = examples::lenet5();
    write(out, "lenet5", *lenet5, {1, 1, 28, 28});
    // The oldest and newest opsets export_model writes (their IR versions 6 and 8).
    write(out, "lenet5_opset11", *lenet5, {1, 1, 28, 28}, onnx::kMinOpset);
    write(out, "lenet5_opset17", *lenet5, {1, 1, 28, 28}, onnx::kMaxOpset);

    auto seed_cnn = examples::binary_mnist_cnn(examples::BinaryLoss::NLL, /*normal_init*/ true);
    for (auto& [name, p] : seed_cnn->named_parameters())
      if (p.dim() == 1) nn::init::normal_(p, 0.0, 0.1);
    write(out, "seed_cnn", *seed_cnn, {1, 1, 28, 28});

    nn::Sequential two_circles(std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::ReLU>(),
                               std::make_shared<nn::Linear>(16, 1), std::make_shared<nn::Sigmoid>());
    write(out, "two_circles", two_circles, {1, 2});

    OpMix op_mix;
    write(out, "op_mix", op_mix, {1, 2, 6, 6});
    Tied tied;
    write(out, "tied", tied, {1, 3});
    // A depthwise-separable block: the grouped conv exports with ONNX's `group` attribute.
    nn::Sequential depthwise(std::make_shared<nn::Conv2d>(3, 6, 3, 1, 1, 1, /*groups*/ 3), std::make_shared<nn::ReLU>(),
                             std::make_shared<nn::Conv2d>(6, 4, 1));
    write(out, "depthwise", depthwise, {1, 3, 6, 6});

    auto resnet = examples::resnet();
    randomize_batch_norms(*resnet);
    write(out, "resnet", *resnet, {1, 1, 28, 28});
    auto autoencoder = examples::conv_autoencoder();
    write(out, "autoencoder", *autoencoder, {1, 1, 28, 28});
    nn::Sequential transposed(
        std::make_shared<nn::ConvTranspose2d>(4, 6, Size2{3, 2}, Size2{2, 1}, Size2{1, 0}, Size2{1, 0}, /*groups*/ 2),
        std::make_shared<nn::Tanh>(), std::make_shared<nn::ConvTranspose2d>(6, 3, 2, 2, 0, 0, 1, /*bias*/ false));
    write(out, "transposed", transposed, {1, 4, 5, 6});
    // OpenCV 4.6 ignores ConvTranspose's dilations: checked with numpy (onnx_export_check.py).
    nn::Sequential transposed_dilated(
        std::make_shared<nn::ConvTranspose2d>(4, 6, Size2{3, 2}, Size2{2, 1}, Size2{1, 0}, Size2{1, 0}, /*groups*/ 2),
        std::make_shared<nn::Tanh>(),
        std::make_shared<nn::ConvTranspose2d>(6, 3, 3, 1, 2, 0, 1, /*bias*/ false, /*dilation*/ 2));
    write(out, "transposed_dilated", transposed_dilated, {1, 4, 5, 6});
    BatchNorm1dMix batch_norm_1d;
    randomize_batch_norms(batch_norm_1d);
    write(out, "batch_norm_1d", batch_norm_1d, {1, 3});
    // ReduceSum's axes: an attribute before opset 13, an input from it.
    Reductions reductions;
    write(out, "reductions", reductions, {1, 4});
    write(out, "reductions_opset11", reductions, {1, 4}, onnx::kMinOpset);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "models_to_onnx: %s\n", e.what());
    return 1;
  }
}
