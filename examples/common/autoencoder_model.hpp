// A convolutional autoencoder for 28x28 grey images, shared by the autoencoder
// trainer and the ONNX export check (tests/tools/models_to_onnx.cpp).
#pragma once

#include <cstdint>
#include <memory>

#include <tapegrad/nn/nn.hpp>

namespace tg::examples {

/// encoder: Conv(1->16, 3x3, stride 2)-ReLU-Conv(16->32, 3x3, stride 2)-ReLU-Conv(32->code, 3x3)
///   [N,1,28,28] -> [N,16,14,14] -> [N,32,7,7] -> the code [N,code_channels,7,7];
/// decoder: ConvTranspose(code->32, 3x3)-ReLU-ConvTranspose(32->16, 3x3, stride 2,
///   output_padding 1)-ReLU-ConvTranspose(16->1, 3x3, stride 2, output_padding 1)
///   back to [N,1,28,28]. Every 3x3 has padding 1; output_padding 1 makes a
///   stride-2 transposed convolution double 7 -> 14 -> 28 exactly. The last layer
///   is linear: with a Sigmoid after it, the mean squared error sat at the mean
///   image's (0.11) for the first few hundred Adam steps (in PyTorch too), while
///   without one it is below 0.01 after 150.
/// Returned as Sequential(encoder, decoder), each itself a Sequential.
std::shared_ptr<nn::Sequential> conv_autoencoder(std::int64_t code_channels = 4);

}  // namespace tg::examples
