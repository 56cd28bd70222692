// Visualizing activations: trains the mnist_binary CNN (or loads
// it with --resume) and writes PNG grids of two input images and of every
// conv / ReLU / pool activation they produce.
//
//   feature_maps --epochs 1 --out out/feature_maps
//   mnist_binary --save cnn.tgc && feature_maps --resume cnn.tgc --epochs 0
#include <cstdio>

#include "common/flags.hpp"
#include "common/image_grid.hpp"
#include "common/run_training.hpp"
#include "common/binary_mnist_cnn.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace ex = tg::examples;

int main(int argc, char** argv) try {
  ex::FlagParser flags("feature_maps", "Writes PNG grids of the mnist_binary CNN's activations for two images.");
  ex::TrainingDefaults defaults;
  defaults.epochs = 1;
  defaults.batch_size = 32;
  defaults.lr = 0.05;
  defaults.out = "out/feature_maps";
  ex::add_training_flags(flags, defaults);
  flags.add_string("loss", "nll or hinge: which of the two seed CNNs", "nll");
  flags.add_int("limit", "train on the first N images of 0s and 1s (0: all)", 0).at_least(0);
  flags.parse_or_exit(argc, argv);
  ex::TrainingOptions opt = ex::training_options(flags);
  ex::apply_runtime_options(opt);
  const ex::BinaryLoss loss_kind = ex::parse_binary_loss(flags.get_string("loss"));

  const std::string data_dir = flags.was_given("data-dir") ? opt.data_dir.string() : "";
  ex::BinaryMnist data = ex::load_binary_mnist(data_dir, loss_kind, flags.get_int("limit"));
  manual_seed(static_cast<std::uint64_t>(opt.seed));
  auto model = ex::binary_mnist_cnn(loss_kind, false);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(opt.lr).momentum(opt.momentum));

  ex::TrainingRun run = ex::binary_training_run("feature_maps", *model, sgd, loss_kind, data, opt);
  ex::run_training(run);

  // Two test images (a 0 and a 1 where the test set has both) through the layers one by one.
  model->eval();
  NoGradGuard no_grad;
  std::int64_t first_zero = -1, first_one = -1;
  const auto y = data.y_test.to_vector();
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] > 0 && first_one < 0) first_one = static_cast<std::int64_t>(i);
    if (y[i] <= 0 && first_zero < 0) first_zero = static_cast<std::int64_t>(i);
  }
  Tensor picks = tensor_i64({first_zero < 0 ? 0 : first_zero, first_one < 0 ? 1 : first_one}, {2});
  Tensor h = index_select(data.x_test, picks);
  std::filesystem::create_directories(opt.out);
  ex::ImageGridOptions grid;
  grid.title = "input images";
  ex::write_image_grid(opt.out / "00_input.png", ex::feature_maps(h), grid);
  const char* names[] = {"conv_1", "relu_1", "pool_1", "conv_2", "relu_2", "pool_2"};
  for (std::size_t i = 0; i < 6; ++i) {
    h = (*(*model)[i])(h);
    grid.title = std::string(names[i]) + " " + h.shape().str();
    grid.columns = static_cast<int>(h.size(1));  // one row per image
    const std::string file = "0" + std::to_string(i + 1) + "_" + names[i] + ".png";
    ex::write_image_grid(opt.out / file, ex::feature_maps(h), grid);
  }
  std::printf("wrote 7 activation grids to %s\n", opt.out.string().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "feature_maps: %s\n", e.what());
  return 1;
}
