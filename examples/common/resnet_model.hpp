// A small ResNet (He et al., 2016) for 28x28 grey images, written as an example
// of a residual block built from library modules (tapegrad has no ResidualBlock
// class: a block is a few lines of forward, as below). Shared by the resnet
// trainer, the ONNX export check (tests/tools/models_to_onnx.cpp) and the
// benchmarks. Parameter names are those of the same network in PyTorch
// (bench/resnet_torch.py), so its safetensors files load there.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <tapegrad/nn/nn.hpp>

namespace tg::examples {

/// The basic residual block of ResNet-18/34, pre-addition batch norm:
///   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
/// conv1 3x3 with `stride`, conv2 3x3, both without bias (the batch norm after
/// each has one); shortcut the identity, or a 1x1 conv with `stride` + batch norm
/// when the shape changes (named shortcut.0, shortcut.1 as PyTorch's Sequential).
class ResidualBlock : public nn::Module {
 public:
  ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride = 1);
  Tensor forward(const Tensor& x) override;

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<nn::Sequential> shortcut_;  // null: the identity
};

/// stem: Conv3x3(1->w0)-BN-ReLU at 28x28; then one stage per entry of `widths`,
/// `blocks_per_stage` ResidualBlocks each, the first of every stage after the
/// first halving the resolution (28 -> 14 -> 7); then global average pooling
/// (AdaptiveAvgPool2d(1)), Flatten and Linear(w_last -> classes).
/// Input [N,1,28,28] -> logits [N,classes]. Convolutions get Kaiming-normal
/// weights (fan_out, ReLU gain), as torchvision's ResNet; batch norms weight 1, bias 0.
std::shared_ptr<nn::Sequential> resnet(std::vector<std::int64_t> widths = {16, 32, 64},
                                       std::int64_t blocks_per_stage = 1, std::int64_t classes = 10);

}  // namespace tg::examples
