// The resnet trainer's recipe around its network (examples/resnet.cpp), shared
// with the side-by-side benchmark (bench/tg_bench.cpp), which times steps of
// exactly this recipe against its PyTorch twin (bench/resnet_torch.py).
#pragma once

#include <cstdint>
#include <memory>

#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/train/fit.hpp>

namespace tg::examples {

/// The trainer's defaults (its flags start at these).
struct ResnetDefaults {
  static constexpr std::int64_t epochs = 10, batch_size = 128, crop_padding = 2;
  static constexpr double lr = 0.2;  ///< the 1cycle peak
  static constexpr double momentum = 0.9, weight_decay = 5e-4, label_smoothing = 0.1;
};

/// SGD with Nesterov momentum (plain SGD for momentum 0) and `weight_decay` on the
/// convolution and linear weights only: weight decay pulls weights towards 0, and
/// on a batch norm's scale and shift, and on biases, that only fights the
/// normalisation, so they are in a second parameter group without it.
std::unique_ptr<optim::SGD> resnet_optimizer(nn::Module& model, double lr, double momentum, double weight_decay);

/// The 1cycle policy up to `lr` over `total_steps` optimizer steps (pct_start 0.25),
/// stepped after every batch.
std::unique_ptr<optim::OneCycleLR> resnet_schedule(optim::SGD& sgd, double lr, std::int64_t total_steps);

/// Cross-entropy (mean) with `label_smoothing`.
nn::LossFunction resnet_loss(double label_smoothing);

/// `train` with its images augmented per example: a random 28x28 crop of the image
/// padded by `crop_padding` pixels (no crop for 0), then a random left-right flip
/// (clothes keep their class under a mirror and a shift of a few pixels).
std::shared_ptr<const data::Dataset> resnet_augmented(std::shared_ptr<const data::Dataset> train,
                                                      std::int64_t crop_padding, std::uint64_t seed);

}  // namespace tg::examples
