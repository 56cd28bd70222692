// A convolutional autoencoder on MNIST (examples/common/autoencoder_model.cpp):
// strided Conv2d layers squeeze each 28x28 digit into a 4x7x7 code (196 numbers,
// a quarter of the pixels), ConvTranspose2d layers bring it back. Trained with
// Adam on the mean squared error between the image and its reconstruction;
// reports the test MSE and writes a PNG grid of test images above their
// reconstructions.
//
//   autoencoder --epochs 5 --out out/autoencoder     (out/autoencoder/reconstructions.png)
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "common/autoencoder_model.hpp"
#include "common/flags.hpp"
#include "common/image_grid.hpp"
#include "common/run_training.hpp"
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace ex = tg::examples;

namespace {

// The first `count` test images (row 1) above their reconstructions (row 2).
void write_reconstructions(const std::filesystem::path& png, nn::Module& model, const data::TensorDataset& test,
                           std::int64_t count, double test_mse) {
  count = std::min(count, test.size());
  const Tensor images = narrow(test.images, 0, 0, count);
  Tensor rebuilt;
  {
    NoGradGuard no_grad;
    model.eval();
    rebuilt = model(images);
    model.train();
  }
  std::vector<ex::GridMap> maps;
  for (int row = 0; row < 2; ++row)
    for (std::int64_t i = 0; i < count; ++i) {
      const Tensor image = reshape(narrow(row == 0 ? images : rebuilt, 0, i, 1), {28, 28});
      ex::GridMap map{(row == 0 ? "input " : "output ") + std::to_string(i + 1), 28, 28, {}};
      const float* p = image.to(kFloat32).data<float>();
      map.values.assign(p, p + 28 * 28);
      maps.push_back(std::move(map));
    }
  ex::ImageGridOptions grid;
  char mse[32];
  std::snprintf(mse, sizeof mse, "%.5f", test_mse);  // as the summary line prints it
  grid.title = std::string("test images (top) and their reconstructions (bottom), test MSE ") + mse;
  grid.columns = static_cast<int>(count);
  grid.min_cell_pixels = 56;
  // Pixels on one scale (the decoder's last layer is linear: clipped to [0, 1]),
  // so that a faint reconstruction looks faint.
  grid.value_range = std::make_pair(0.0f, 1.0f);
  ex::write_image_grid(png, maps, grid);
  std::printf("wrote %s\n", png.string().c_str());
}

int run(int argc, char** argv) {
  ex::FlagParser flags("autoencoder", "Trains a convolutional autoencoder on MNIST and reports the test MSE.");
  ex::TrainingDefaults defaults;
  defaults.epochs = 5;
  defaults.batch_size = 64;
  defaults.lr = 2e-3;
  defaults.out = "out/autoencoder";
  ex::add_training_flags(flags, defaults);
  flags.add_int("code-channels", "channels of the 7x7 code (4: 196 numbers per 784-pixel image)", 4)
      .at_least(1)
      .at_most(64);
  flags.add_int("show", "test images in the reconstruction grid", 10).at_least(1).at_most(32);
  flags.add_int("limit", "train on the first N images only (0: all)", 0).at_least(0);
  flags.parse_or_exit(argc, argv);
  ex::TrainingOptions opt = ex::training_options(flags);
  ex::apply_runtime_options(opt);

  const std::string data_dir = flags.was_given("data-dir") ? opt.data_dir.string() : "";
  data::TensorDataset train = data::load_mnist(data_dir, data::Split::Train);
  data::TensorDataset test = data::load_mnist(data_dir, data::Split::Test);
  if (flags.get_int("limit") > 0) train = data::take(train, flags.get_int("limit"));
  // The target of every image is the image.
  train = data::TensorDataset(train.images, train.images);
  test = data::TensorDataset(test.images, test.images);

  manual_seed(static_cast<std::uint64_t>(opt.seed));
  auto model = ex::conv_autoencoder(flags.get_int("code-channels"));
  optim::Adam adam(model->parameters(), optim::AdamOptions().lr(opt.lr).weight_decay(opt.weight_decay));
  std::printf("autoencoder on mnist: %lld training and %lld test images, %lld parameters, %d threads\n",
              static_cast<long long>(train.size()), static_cast<long long>(test.size()),
              static_cast<long long>(model->num_parameters()), get_num_threads());

  ex::TrainingRun tr;
  tr.name = "autoencoder (mnist)";
  tr.model = model.get();
  tr.optimizer = &adam;
  tr.loss = [](const Tensor& out, const Tensor& y) { return nn::functional::mse_loss(out, y); };
  tr.train_set = std::make_shared<data::TensorDataset>(train);
  tr.test_set = std::make_shared<data::TensorDataset>(test);
  tr.options = opt;
  tr.extra_metrics = {{"dataset", std::string("mnist")},
                      {"batch_size", opt.batch_size},
                      {"threads", std::int64_t{get_num_threads()}},
                      {"code_channels", flags.get_int("code-channels")},
                      {"parameters", model->num_parameters()}};
  const ex::TrainingResult result = ex::run_training(tr);
  if (!opt.out.empty()) write_reconstructions(opt.out / "reconstructions.png", *model, test, flags.get_int("show"),
                                              result.test_loss);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "autoencoder: %s\n", e.what());
    return 1;
  }
}
