#include "common/resnet_model.hpp"

#include <stdexcept>
#include <string>

namespace tg::examples {

namespace {

std::shared_ptr<nn::Conv2d> conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride) {
  auto c = std::make_shared<nn::Conv2d>(in, out, kernel, stride, kernel / 2, 1, 1, /*bias*/ false);
  nn::init::kaiming_normal_(c->weight, 0.0, nn::init::FanMode::FanOut, nn::init::Nonlinearity::ReLU);
  return c;
}

}  // namespace

ResidualBlock::ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride) {
  conv1_ = register_module("conv1", conv(in_channels, out_channels, 3, stride));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out_channels));
  conv2_ = register_module("conv2", conv(out_channels, out_channels, 3, 1));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out_channels));
  // A 1x1 projection only where the identity cannot be added: another shape.
  if (stride != 1 || in_channels != out_channels)
    shortcut_ = register_module("shortcut", std::make_shared<nn::Sequential>(
                                                conv(in_channels, out_channels, 1, stride),
                                                std::make_shared<nn::BatchNorm2d>(out_channels)));
}

Tensor ResidualBlock::forward(const Tensor& x) {
  Tensor y = relu((*bn1_)((*conv1_)(x)));
  y = (*bn2_)((*conv2_)(y));
  return relu(y + (shortcut_ ? (*shortcut_)(x) : x));
}

std::shared_ptr<nn::Sequential> resnet(std::vector<std::int64_t> widths, std::int64_t blocks_per_stage,
                                       std::int64_t classes) {
  if (widths.empty() || blocks_per_stage < 1)
    throw std::invalid_argument("resnet: needs at least one stage of at least one block");
  auto net = std::make_shared<nn::Sequential>(conv(1, widths[0], 3, 1), std::make_shared<nn::BatchNorm2d>(widths[0]),
                                              std::make_shared<nn::ReLU>());
  std::int64_t in = widths[0];
  for (std::size_t stage = 0; stage < widths.size(); ++stage)
    for (std::int64_t b = 0; b < blocks_per_stage; ++b) {
      const std::int64_t stride = stage > 0 && b == 0 ? 2 : 1;
      net->add(std::make_shared<ResidualBlock>(in, widths[stage], stride));
      in = widths[stage];
    }
  net->add(std::make_shared<nn::AdaptiveAvgPool2d>(1));
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Linear>(in, classes));
  return net;
}

}  // namespace tg::examples
