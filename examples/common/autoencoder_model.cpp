#include "common/autoencoder_model.hpp"

#include <stdexcept>

namespace tg::examples {

std::shared_ptr<nn::Sequential> conv_autoencoder(std::int64_t code_channels) {
  using namespace tg::nn;
  if (code_channels < 1) throw std::invalid_argument("conv_autoencoder: code_channels must be positive");
  auto encoder = std::make_shared<Sequential>(
      std::make_shared<Conv2d>(1, 16, 3, 2, 1), std::make_shared<ReLU>(),  //
      std::make_shared<Conv2d>(16, 32, 3, 2, 1), std::make_shared<ReLU>(),
      std::make_shared<Conv2d>(32, code_channels, 3, 1, 1));
  auto decoder = std::make_shared<Sequential>(
      std::make_shared<ConvTranspose2d>(code_channels, 32, 3, 1, 1), std::make_shared<ReLU>(),
      std::make_shared<ConvTranspose2d>(32, 16, 3, 2, 1, 1), std::make_shared<ReLU>(),
      std::make_shared<ConvTranspose2d>(16, 1, 3, 2, 1, 1));
  return std::make_shared<Sequential>(encoder, decoder);
}

}  // namespace tg::examples
