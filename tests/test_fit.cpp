// nn::fit and nn::evaluate: the optional training loop.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

namespace {
auto ce = [](const Tensor& out, const Tensor& t) { return nn::functional::cross_entropy(out, t); };

std::shared_ptr<nn::Sequential> small_net() {
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 16), std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Linear>(16, 3));
}
}  // namespace

TEST_CASE("fit learns a separable problem and reports every batch and epoch", "[fit]") {
  manual_seed(3);
  Tensor x = randn({200, 4});
  Tensor labels = argmax(matmul(x, randn({4, 3})), 1);
  auto net = small_net();
  optim::Adam adam(net->parameters(), optim::AdamOptions(0.02));
  nn::FitOptions options;
  options.epochs = 15;
  options.batches.batch_size = 32;
  options.metric = nn::multiclass_accuracy;
  int epochs_seen = 0;
  options.on_epoch = [&](const nn::EpochReport&) { ++epochs_seen; };
  const nn::FitHistory h = nn::fit(*net, ce, adam, x, labels, options, x, labels);
  CHECK(epochs_seen == 15);
  REQUIRE(h.epochs.size() == 15);
  CHECK(h.batches.size() == 15 * 7);  // ceil(200 / 32) batches per epoch
  CHECK(h.batches[6].batch_size == 8);
  CHECK(h.epochs.back().samples == 200);
  CHECK(h.epochs.back().train_loss < h.epochs.front().train_loss);
  REQUIRE(h.epochs.back().val_accuracy);
  CHECK(*h.epochs.back().val_accuracy > 0.9);
  // evaluate() agrees with the last validation pass and restores the mode.
  net->train();
  const nn::Evaluation ev = nn::evaluate(*net, ce, nn::multiclass_accuracy, x, labels, 64);
  CHECK(ev.accuracy == Approx(*h.epochs.back().val_accuracy));
  CHECK(ev.loss == Approx(*h.epochs.back().val_loss).epsilon(1e-5));
  CHECK(net->is_training());
}

TEST_CASE("fit follows a custom sample order and validates at the interval", "[fit]") {
  manual_seed(4);
  Tensor x = randn({10, 4});
  Tensor labels = tensor_i64({0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, {10});
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.01));
  nn::FitOptions options;
  options.epochs = 4;
  options.batches.batch_size = 2;
  options.sample_order = [](std::int64_t) { return std::vector<std::int64_t>{1, 3, 5}; };
  options.validation_interval = 3;
  options.on_epoch = [](const nn::EpochReport&) {};
  const nn::FitHistory h = nn::fit(*net, ce, sgd, x, labels, options, x, labels);
  CHECK(h.batches.size() == 4 * 2);
  CHECK(h.epochs[0].samples == 3);
  CHECK_FALSE(h.epochs[0].val_loss);
  CHECK(h.epochs[2].val_loss);
  CHECK(h.epochs[3].val_loss);  // the last epoch always validates
}

TEST_CASE("accuracy helpers", "[fit]") {
  CHECK(nn::multiclass_accuracy(tensor({0.1, 0.9, 0.8, 0.2}, {2, 2}), tensor_i64({1, 1}, {2})) == 0.5);
  CHECK(nn::binary_accuracy(tensor({0.7, 0.2, 0.6}, {3, 1}), tensor({1, 0, 0}, {3, 1})) == Approx(2.0 / 3));
  CHECK(nn::sign_accuracy(tensor({0.5, -2, 1}, {3, 1}), tensor({1, -1, -1}, {3, 1})) == Approx(2.0 / 3));
}

TEST_CASE("evaluate refuses mismatched data", "[fit]") {
  auto net = small_net();
  CHECK_THROWS_WITH(nn::evaluate(*net, ce, nullptr, ones({3, 4}), tensor_i64({0, 1}, {2})),
                    Catch::Contains("evaluate") && Catch::Contains("[3,4]") && Catch::Contains("[2]"));
}
