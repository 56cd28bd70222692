// Visualizing activations: trains the mnist_binary CNN (or loads
// it with --resume) and writes PNG grids of two input images and of every
// image-shaped activation ([N,C,H,W]) a leaf module produces for them. Forward
// hooks collect the activations, so this works for any model, nested custom
// modules included, not only a flat Sequential.
//
//   feature_maps --epochs 1 --out out/feature_maps
//   mnist_binary --save cnn.tgc && feature_maps --resume cnn.tgc --epochs 0
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/flags.hpp"
#include "common/image_grid.hpp"
#include "common/run_training.hpp"
#include "common/binary_mnist_cnn.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace ex = tg::examples;

namespace {
// "Conv2d" -> "conv", "ReLU" -> "relu", "MaxPool2d" -> "pool"; other types lower-cased.
std::string short_kind(const std::string& type) {
  if (type.rfind("Conv", 0) == 0) return "conv";
  if (type.find("Pool") != std::string::npos) return "pool";
  std::string lower = type;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}
}  // namespace

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

  // Two test images (a 0 and a 1 where the test set has both).
  model->eval();
  NoGradGuard no_grad;
  std::int64_t first_zero = -1, first_one = -1;
  const auto y = data.y_test.to_vector();
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] > 0 && first_one < 0) first_one = static_cast<std::int64_t>(i);
    if (y[i] <= 0 && first_zero < 0) first_zero = static_cast<std::int64_t>(i);
  }
  Tensor picks = tensor_i64({first_zero < 0 ? 0 : first_zero, first_one < 0 ? 1 : first_one}, {2});
  Tensor images = index_select(data.x_test, picks);

  // A forward hook on every leaf module keeps its image-shaped outputs, named
  // by kind and count ("conv_1", "relu_2", ...) in the order the layers ran.
  struct Activation {
    std::string name, path;
    Tensor value;
  };
  std::vector<Activation> activations;
  std::map<std::string, int> seen;
  std::vector<RemovableHandle> hooks;
  std::function<void(nn::Module&, const std::string&)> hook_leaves = [&](nn::Module& m, const std::string& path) {
    const auto children = m.named_children();
    for (const auto& [name, child] : children) hook_leaves(*child, path.empty() ? name : path + "." + name);
    if (!children.empty()) return;
    hooks.push_back(m.register_forward_hook([&, path](nn::Module& module, const Tensor&, const Tensor& out) {
      if (out.dim() != 4) return;
      const std::string kind = short_kind(module.type_name());
      activations.push_back({kind + "_" + std::to_string(++seen[kind]), path, out});
    }));
  };
  hook_leaves(*model, "");
  (*model)(images);
  for (RemovableHandle& h : hooks) h.remove();

  std::filesystem::create_directories(opt.out);
  ex::ImageGridOptions grid;
  grid.title = "input images";
  ex::write_image_grid(opt.out / "00_input.png", ex::feature_maps(images), grid);
  for (std::size_t i = 0; i < activations.size(); ++i) {
    const Activation& a = activations[i];
    grid.title = a.name + " (" + a.path + ") " + a.value.shape().str();
    grid.columns = static_cast<int>(a.value.size(1));  // one row per image
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%02zu_", i + 1);
    ex::write_image_grid(opt.out / (prefix + a.name + ".png"), ex::feature_maps(a.value), grid);
  }
  std::printf("wrote %zu activation grids to %s\n", activations.size() + 1, opt.out.string().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "feature_maps: %s\n", e.what());
  return 1;
}
