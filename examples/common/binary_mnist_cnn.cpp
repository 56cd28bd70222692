#include "common/binary_mnist_cnn.hpp"

#include "common/flags.hpp"

namespace tg::examples {

std::shared_ptr<nn::Sequential> binary_mnist_cnn(BinaryLoss loss, bool normal_init) {
  using namespace tg::nn;
  const std::int64_t hidden = loss == BinaryLoss::NLL ? 8 : 32;
  auto conv1 = std::make_shared<Conv2d>(1, 2, 3, 1, "same");
  auto conv2 = std::make_shared<Conv2d>(2, 4, 3, 1, "same");
  auto fc1 = std::make_shared<Linear>(4 * 7 * 7, hidden);
  auto fc2 = std::make_shared<Linear>(hidden, 1);
  auto model = std::make_shared<Sequential>(conv1, std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2), conv2,
                                            std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2),
                                            std::make_shared<Flatten>(), fc1, std::make_shared<ReLU>(), fc2);
  if (loss == BinaryLoss::NLL) model->add(std::make_shared<Sigmoid>());
  if (normal_init) {
    for (auto& [name, p] : model->named_parameters()) {
      const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
      if (is_bias)
        init::zeros_(p);
      else
        init::normal_(p, 0.0, p.dim() == 4 ? 1.0 : 0.01);
    }
  }
  return model;
}

BinaryMnist load_binary_mnist(const std::string& data_dir, BinaryLoss loss, std::int64_t limit) {
  auto prepare = [&](data::Split split, Tensor& x, Tensor& y, std::int64_t n) {
    data::TensorDataset d = data::filter_labels(data::load_mnist(data_dir, split), {0, 1});
    if (n > 0) d = data::take(d, n);
    x = d.images;
    y = loss == BinaryLoss::NLL ? data::labels_to_column(d.labels) : data::labels_to_signs(d.labels);
  };
  BinaryMnist b;
  prepare(data::Split::Train, b.x_train, b.y_train, limit);
  prepare(data::Split::Test, b.x_test, b.y_test, 0);
  return b;
}

BinaryLoss parse_binary_loss(const std::string& name) {
  if (name == "nll") return BinaryLoss::NLL;
  if (name == "hinge") return BinaryLoss::Hinge;
  throw FlagError("--loss: expected nll or hinge, got '" + name + "'");
}

TrainingRun binary_training_run(const std::string& name, nn::Module& model, optim::Optimizer& optimizer,
                                BinaryLoss kind, const BinaryMnist& data, const TrainingOptions& options) {
  TrainingRun run;
  run.name = name;
  run.model = &model;
  run.optimizer = &optimizer;
  if (kind == BinaryLoss::NLL) {
    run.loss = [](const Tensor& p, const Tensor& y) { return nn::functional::binary_cross_entropy(p, y); };
    run.metric = nn::binary_accuracy;
  } else {
    run.loss = [](const Tensor& s, const Tensor& y) { return nn::functional::hinge_loss(s, y); };
    run.metric = nn::sign_accuracy;
  }
  run.train_set = std::make_shared<data::TensorDataset>(data.x_train, data.y_train);
  run.test_set = std::make_shared<data::TensorDataset>(data.x_test, data.y_test);
  run.options = options;
  return run;
}

}  // namespace tg::examples
