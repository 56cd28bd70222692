// A small CNN that tells MNIST 0s from 1s (two 3x3 convolutions, two dense
// layers, one output), shared by the mnist_binary and feature_maps examples and
// tg_bench, with the data it trains on.
#pragma once

#include <memory>
#include <string>

#include "common/flags.hpp"
#include "common/run_training.hpp"
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>

namespace tg::examples {

enum class BinaryLoss { NLL, Hinge };

/// Conv(1->2,3,same)-ReLU-MaxPool2-Conv(2->4,3,same)-ReLU-MaxPool2-Flatten, then
///   NLL:   Dense(196->8)-ReLU-Dense(8->1)-Sigmoid   (a probability of "1")
///   hinge: Dense(196->32)-ReLU-Dense(32->1)          (a score, no sigmoid)
/// With normal_init, weights start as conv N(0,1), dense N(0,0.01), biases 0
/// (mnist_binary --seed-init); otherwise the layers' PyTorch-style defaults.
std::shared_ptr<nn::Sequential> binary_mnist_cnn(BinaryLoss loss, bool normal_init);

/// Digits 0 and 1 of MNIST, with targets as [N,1] floats: {0,1} for NLL, {-1,+1} for hinge.
struct BinaryMnist {
  Tensor x_train, y_train, x_test, y_test;
};
BinaryMnist load_binary_mnist(const std::string& data_dir, BinaryLoss loss, std::int64_t limit);

/// "nll" or "hinge"; throws FlagError otherwise.
BinaryLoss parse_binary_loss(const std::string& name);

/// A TrainingRun of `model` on `data` with the loss and accuracy that go with
/// `kind` (binary NLL + threshold 0.5, or hinge + sign).
TrainingRun binary_training_run(const std::string& name, nn::Module& model, optim::Optimizer& optimizer,
                                BinaryLoss kind, const BinaryMnist& data, const TrainingOptions& options);

}  // namespace tg::examples
