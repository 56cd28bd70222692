// A small ResNet on Fashion-MNIST (Debian's dataset-fashion-mnist), full 60k/10k:
//   Conv3x3(1->16)-BN-ReLU, three stages of residual blocks (16, 32, 64 channels
//   at 28x28, 14x14, 7x7; the block is examples/common/resnet_model.cpp),
//   global average pooling, Linear(64->10).
// Recipe: random 28x28 crops of the 2-pixel-padded image and left-right flips,
// cross-entropy with label smoothing, SGD with Nesterov momentum under the 1cycle
// learning-rate policy (stepped per batch), weight decay on the convolution and
// linear weights only (batch norms and biases in a parameter group without it);
// the recipe's pieces are examples/common/resnet_recipe.cpp, shared with bench/tg_bench.cpp.
//
//   resnet --out out/resnet       (10 epochs)
//   resnet --export-onnx out/resnet.onnx --save-safetensors out/resnet.safetensors
#include <cstdio>
#include <memory>
#include <sstream>

#include "common/flags.hpp"
#include "common/resnet_model.hpp"
#include "common/resnet_recipe.hpp"
#include "common/run_training.hpp"
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace ex = tg::examples;

namespace {

// "16,32,64" -> {16, 32, 64}.
std::vector<std::int64_t> parse_widths(const std::string& text) {
  std::vector<std::int64_t> widths;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long w = 0;
    try {
      w = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || w < 1 || w > 4096)
      throw ex::FlagError("--widths: expected channel counts in 1..4096 separated by commas, got '" + text + "'");
    widths.push_back(w);
  }
  if (widths.empty()) throw ex::FlagError("--widths: expected at least one channel count");
  return widths;
}

int run(int argc, char** argv) {
  ex::FlagParser flags("resnet", "Trains a small ResNet on Fashion-MNIST and reports test accuracy.");
  ex::TrainingDefaults defaults;
  using D = ex::ResnetDefaults;
  defaults.epochs = D::epochs;
  defaults.batch_size = D::batch_size;
  defaults.lr = D::lr;  // the 1cycle peak
  defaults.momentum = D::momentum;
  defaults.weight_decay = D::weight_decay;
  defaults.out = "out/resnet";
  ex::add_training_flags(flags, defaults);
  flags.add_string("widths", "channels of each stage, comma-separated; each stage after the first halves the resolution",
                   "16,32,64");
  flags.add_int("blocks", "residual blocks per stage", 1).at_least(1).at_most(16);
  flags.add_double("label-smoothing", "cross-entropy label smoothing", D::label_smoothing).at_least(0).at_most(1);
  flags.add_int("crop-padding", "random 28x28 crops of the image padded by this many pixels (0: no crops)", D::crop_padding)
      .at_least(0)
      .at_most(8);
  flags.add_bool("no-augment", "train on the images as they are (no crops, no flips)");
  flags.add_string("schedule", "learning rate over the run: onecycle (per batch) or constant", "onecycle");
  flags.add_int("limit", "train on the first N images only (0: all)", 0).at_least(0);
  flags.parse_or_exit(argc, argv);
  ex::TrainingOptions opt = ex::training_options(flags);
  ex::apply_runtime_options(opt);

  const std::string data_dir = flags.was_given("data-dir") ? opt.data_dir.string() : "";
  data::TensorDataset train = data::load_fashion_mnist(data_dir, data::Split::Train);
  data::TensorDataset test = data::load_fashion_mnist(data_dir, data::Split::Test);
  if (flags.get_int("limit") > 0) train = data::take(train, flags.get_int("limit"));

  manual_seed(static_cast<std::uint64_t>(opt.seed));
  const std::vector<std::int64_t> widths = parse_widths(flags.get_string("widths"));
  auto model = ex::resnet(widths, flags.get_int("blocks"));

  // Weight decay on the convolution and linear weights only (common/resnet_recipe.cpp).
  const std::unique_ptr<optim::SGD> sgd = ex::resnet_optimizer(*model, opt.lr, opt.momentum, opt.weight_decay);

  std::unique_ptr<optim::OneCycleLR> schedule;
  const std::string schedule_name = flags.get_string("schedule");
  if (schedule_name == "onecycle") {
    // Cannot overflow: --epochs is at most ex::kMaxEpochs and an epoch has at most 60000 batches.
    const std::int64_t steps = opt.epochs * data::batches_per_epoch(train.size(), opt.batch_size);
    schedule = ex::resnet_schedule(*sgd, opt.lr, steps);
  } else if (schedule_name != "constant") {
    throw ex::FlagError("--schedule: expected onecycle or constant, got '" + schedule_name + "'");
  }

  std::printf("resnet on fashion-mnist: %lld training and %lld test images, %lld parameters, %d threads\n",
              static_cast<long long>(train.size()), static_cast<long long>(test.size()),
              static_cast<long long>(model->num_parameters()), get_num_threads());

  ex::TrainingRun tr;
  if (schedule) tr.after_step = [&schedule] { schedule->step(); };
  tr.name = "resnet (fashion-mnist)";
  tr.model = model.get();
  tr.optimizer = sgd.get();
  tr.loss = ex::resnet_loss(flags.get_double("label-smoothing"));
  tr.metric = nn::multiclass_accuracy;
  tr.train_set = std::make_shared<data::TensorDataset>(train);
  tr.test_set = std::make_shared<data::TensorDataset>(test);
  const bool augment = !flags.get_bool("no-augment");
  const std::int64_t pad = flags.get_int("crop-padding");
  if (augment) tr.train_set = ex::resnet_augmented(tr.train_set, pad, static_cast<std::uint64_t>(opt.seed));
  tr.options = opt;
  tr.extra_metrics = {{"dataset", std::string("fashion")},
                      {"batch_size", opt.batch_size},
                      {"threads", std::int64_t{get_num_threads()}},
                      {"workers", std::int64_t{opt.workers}},
                      {"augment", augment},
                      {"crop_padding", augment ? pad : std::int64_t{0}},
                      {"widths", flags.get_string("widths")},
                      {"blocks", flags.get_int("blocks")},
                      {"label_smoothing", flags.get_double("label-smoothing")},
                      {"schedule", schedule_name},
                      {"parameters", model->num_parameters()}};
  ex::run_training(tr);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resnet: %s\n", e.what());
    return 1;
  }
}
