// MNIST digits 0 vs 1 with a small CNN; binary NLL on a
// sigmoid output, or (--loss hinge) the hinge loss on raw scores with ±1 targets.
//
//   mnist_binary --epochs 5 --batch-size 32 --out out/mnist_binary
//   mnist_binary --loss hinge
#include <cstdio>

#include "common/flags.hpp"
#include "common/run_training.hpp"
#include "common/binary_mnist_cnn.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace ex = tg::examples;

int main(int argc, char** argv) try {
  ex::FlagParser flags("mnist_binary", "Trains a small CNN to tell MNIST 0s from 1s (NLL or hinge loss).");
  ex::TrainingDefaults defaults;
  defaults.epochs = 5;
  defaults.batch_size = 32;
  defaults.lr = 0.05;
  defaults.out = "out/mnist_binary";
  ex::add_training_flags(flags, defaults);
  flags.add_string("loss", "nll (sigmoid output) or hinge (scores, ±1 targets)", "nll");
  flags.add_int("limit", "train on the first N images of 0s and 1s (0: all)", 0).at_least(0);
  flags.add_bool("seed-init", "initialise conv weights N(0,1) and dense weights N(0,0.01) instead of PyTorch's defaults");
  flags.parse_or_exit(argc, argv);
  ex::TrainingOptions opt = ex::training_options(flags);
  ex::apply_runtime_options(opt);
  const ex::BinaryLoss loss_kind = ex::parse_binary_loss(flags.get_string("loss"));

  const std::string data_dir = flags.was_given("data-dir") ? opt.data_dir.string() : "";
  ex::BinaryMnist data = ex::load_binary_mnist(data_dir, loss_kind, flags.get_int("limit"));
  manual_seed(static_cast<std::uint64_t>(opt.seed));
  auto model = ex::binary_mnist_cnn(loss_kind, flags.get_bool("seed-init"));
  optim::SGD sgd(model->parameters(),
                 optim::SGDOptions(opt.lr).momentum(opt.momentum).weight_decay(opt.weight_decay));
  std::printf("mnist_binary (%s loss): %lld training and %lld test images\n", flags.get_string("loss").c_str(),
              static_cast<long long>(data.x_train.size(0)), static_cast<long long>(data.x_test.size(0)));

  ex::TrainingRun run = ex::binary_training_run("mnist_binary (" + flags.get_string("loss") + ")", *model, sgd, loss_kind, data, opt);
  run.extra_metrics = {{"loss", flags.get_string("loss")}};
  ex::run_training(run);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mnist_binary: %s\n", e.what());
  return 1;
}
