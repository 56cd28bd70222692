#include "common/lenet5_model.hpp"

namespace tg::examples {

std::shared_ptr<nn::Sequential> lenet5() {
  using namespace tg::nn;
  return std::make_shared<Sequential>(
      std::make_shared<Conv2d>(1, 6, 5), std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2),
      std::make_shared<Conv2d>(6, 16, 5), std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2),
      std::make_shared<Flatten>(), std::make_shared<Linear>(256, 120), std::make_shared<ReLU>(),
      std::make_shared<Linear>(120, 84), std::make_shared<ReLU>(), std::make_shared<Linear>(84, 10));
}

}  // namespace tg::examples
