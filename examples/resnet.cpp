// A small ResNet on Fashion-MNIST (Debian's dataset-fashion-mnist), full 60k/10k:
//   Conv3x3(1->16)-BN-ReLU, three stages of residual blocks (16, 32, 64 channels
//   at 28x28, 14x14, 7x7; the block is examples/common/resnet_model.cpp),
//   global average pooling, Linear(64->10).
// Recipe: random 28x28 crops of the 2-pixel-padded image and left-right flips,
// cross-entropy with label smoothing, SGD with Nesterov momentum under the 1cycle
// learning-rate policy (stepped per batch), weight decay on the convolution and
// linear weights only (batch norms and biases in a parameter group without it).
//
//   resnet --out out/resnet       (10 epochs)
//   resnet --export-onnx out/resnet.onnx --save-safetensors out/resnet.safetensors
#include <cstdio>
#include <memory>
#include <sstream>

#include "common/flags.hpp"
#include "common/resnet_model.hpp"
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
  defaults.epochs = 10;
  defaults.batch_size = 128;
  defaults.lr = 0.2;  // the 1cycle peak
  defaults.momentum = 0.9;
  defaults.weight_decay = 5e-4;
  defaults.out = "out/resnet";
  ex::add_training_flags(flags, defaults);
  flags.add_string("widths", "channels of each stage, comma-separated; each stage after the first halves the resolution",
                   "16,32,64");
  flags.add_int("blocks", "residual blocks per stage", 1).at_least(1).at_most(16);
  flags.add_double("label-smoothing", "cross-entropy label smoothing", 0.1).at_least(0).at_most(1);
  flags.add_int("crop-padding", "random 28x28 crops of the image padded by this many pixels (0: no crops)", 2)
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

  // Weight decay pulls weights towards 0; on a batch norm's scale and shift, and
  // on biases, that only fights the normalisation, so they get none.
  std::vector<Tensor> decayed, not_decayed;
  for (const auto& [name, p] : model->named_parameters()) (p.dim() > 1 ? decayed : not_decayed).push_back(p);
  optim::SGD sgd({optim::ParamGroup(decayed), optim::ParamGroup(not_decayed, {{"weight_decay", 0.0}})},
                 optim::SGDOptions(opt.lr).momentum(opt.momentum).nesterov(opt.momentum > 0).weight_decay(opt.weight_decay));

  std::unique_ptr<optim::OneCycleLR> schedule;
  const std::string schedule_name = flags.get_string("schedule");
  if (schedule_name == "onecycle") {
    // Cannot overflow: --epochs is at most ex::kMaxEpochs and an epoch has at most 60000 batches.
    const std::int64_t steps = opt.epochs * data::batches_per_epoch(train.size(), opt.batch_size);
    schedule = std::make_unique<optim::OneCycleLR>(sgd, opt.lr, std::max<std::int64_t>(1, steps),
                                                   optim::OneCycleLROptions().pct_start(0.25));
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
  tr.optimizer = &sgd;
  const nn::functional::CrossEntropyOptions loss_options(Reduction::Mean, Tensor(), -100, flags.get_double("label-smoothing"));
  tr.loss = [loss_options](const Tensor& out, const Tensor& y) {
    return nn::functional::cross_entropy(out, y, loss_options);
  };
  tr.metric = nn::multiclass_accuracy;
  tr.train_set = std::make_shared<data::TensorDataset>(train);
  tr.test_set = std::make_shared<data::TensorDataset>(test);
  const bool augment = !flags.get_bool("no-augment");
  const std::int64_t pad = flags.get_int("crop-padding");
  if (augment) {
    // Clothes keep their class under a mirror and a shift of a few pixels.
    namespace T = data::transforms;
    std::vector<T::Transform> steps;
    if (pad > 0) steps.push_back(T::random_crop(28, pad));
    steps.push_back(T::random_horizontal_flip());
    tr.train_set = std::make_shared<T::TransformedDataset>(tr.train_set, T::compose(steps),
                                                           static_cast<std::uint64_t>(opt.seed));
  }
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
