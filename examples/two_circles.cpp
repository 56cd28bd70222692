// A 2-16-1 MLP (ReLU, Sigmoid) separates two concentric circles.
// Binary NLL, SGD lr 0.1 with weight decay 1e-4 in the optimizer (the seed's
// w <- w - lr (dw + λw)), 5000 full-batch iterations, the loss printed every
// 500; a decision-boundary PNG like the seed's plot_model_prediction.
#include <cmath>
#include <cstdio>
#include <vector>

#include "common/flags.hpp"
#include "common/plots.hpp"
#include "common/run_training.hpp"
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace ex = tg::examples;

namespace {

struct Split {
  Tensor x_train, y_train, x_test, y_test;
};

// 100 points on a circle of radius 1.1 (label 1) and 100 on radius 3 (label 0),
// as the seed's generate_2_circles; then a seeded 70/30 split.
Split two_circles() {
  const int n = 100;
  std::vector<double> xs, ys;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < n; ++i) {
      const double phi = 2 * M_PI * i / (n - 1), r = c == 0 ? 1.1 : 3.0;
      xs.insert(xs.end(), {r * std::sin(phi), r * std::cos(phi)});
      ys.push_back(c == 0 ? 1.0 : 0.0);
    }
  Tensor x = tensor(xs, {2 * n, 2}), y = tensor(ys, {2 * n, 1});
  const std::vector<std::int64_t> order = randperm(2 * n);
  const std::int64_t n_train = 2 * n * 7 / 10;
  Tensor train_idx = tensor_i64({order.begin(), order.begin() + n_train}, {n_train});
  Tensor test_idx = tensor_i64({order.begin() + n_train, order.end()}, {2 * n - n_train});
  return {index_select(x, train_idx), index_select(y, train_idx), index_select(x, test_idx),
          index_select(y, test_idx)};
}

}  // namespace

int main(int argc, char** argv) try {
  ex::FlagParser flags("two_circles", "Trains the seed's 2-16-1 MLP on two concentric circles (full batch).");
  ex::TrainingDefaults defaults;
  defaults.epochs = 5000;  // full-batch iterations
  defaults.batch_size = 0;
  defaults.lr = 0.1;
  defaults.weight_decay = 1e-4;
  defaults.out = "out/two_circles";
  ex::add_training_flags(flags, defaults);
  flags.parse_or_exit(argc, argv);
  ex::TrainingOptions opt = ex::training_options(flags);
  ex::apply_runtime_options(opt);

  manual_seed(static_cast<std::uint64_t>(opt.seed));
  Split data = two_circles();
  if (opt.batch_size <= 0) opt.batch_size = data.x_train.size(0);  // full batch

  // Dense layers as in the seed: W ~ N(0, 0.01²) of shape (in, out), b = 0.
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 16), std::make_shared<nn::ReLU>(),
                                                std::make_shared<nn::Linear>(16, 1), std::make_shared<nn::Sigmoid>());
  for (auto& [name, p] : model->named_parameters()) {
    if (p.dim() == 2)
      nn::init::normal_(p, 0.0, 0.01);
    else
      nn::init::zeros_(p);
  }
  optim::SGD sgd(model->parameters(), optim::SGDOptions(opt.lr).weight_decay(opt.weight_decay));

  ex::TrainingRun run;
  run.name = "two_circles";
  run.model = model.get();
  run.optimizer = &sgd;
  run.loss = [](const Tensor& p, const Tensor& y) { return nn::functional::binary_cross_entropy(p, y); };
  run.metric = nn::binary_accuracy;
  run.train_set = std::make_shared<data::TensorDataset>(data.x_train, data.y_train);
  run.test_set = std::make_shared<data::TensorDataset>(data.x_test, data.y_test);
  run.options = opt;
  run.progress = false;
  run.validation_interval = 500;
  run.on_epoch = [](const nn::EpochReport& e) {
    if (e.epoch % 500 == 0) std::printf("Step: %lld, \tLoss = %.2f\n", static_cast<long long>(e.epoch), e.train_loss);
  };
  const ex::TrainingResult result = ex::run_training(run);

  if (!opt.out.empty()) {
    auto predict = [&](const Tensor& points) {
      NoGradGuard no_grad;
      model->eval();
      return (*model)(points.to(kFloat32));
    };
    Tensor labels = reshape(data.y_test, {-1});
    if (ex::warn_if_failed(ex::plot_decision_boundary(opt.out / "decision_boundary.png", data.x_test, labels, predict)))
      std::printf("wrote %s/decision_boundary.png\n", opt.out.string().c_str());
  }
  return result.test_accuracy == 1.0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "two_circles: %s\n", e.what());
  return 1;
}
