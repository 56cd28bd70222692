// LeNet-5 (LeCun et al., 1998) for 28x28 grey images, shared by the lenet5
// trainer, the soak test (tests/test_soak.cpp) and the soak tool (bench/soak.cpp).
#pragma once

#include <memory>

#include <tapegrad/nn/nn.hpp>

namespace tg::examples {

/// Conv(1->6,5)-ReLU-MaxPool2-Conv(6->16,5)-ReLU-MaxPool2-Flatten-
/// Linear(256->120)-ReLU-Linear(120->84)-ReLU-Linear(84->10):
/// input [N,1,28,28] -> logits [N,10]. Weights come from the generator that
/// tg::manual_seed seeds.
std::shared_ptr<nn::Sequential> lenet5();

}  // namespace tg::examples
