// nn::fit and nn::evaluate: the optional training loop.
#include <catch2/catch.hpp>

#include <limits>
#include <memory>

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

// ---- refusals before the first step, and stopping at the first NaN (issue 15, row 12) ----

namespace {
nn::FitOptions quiet_options(std::int64_t epochs, std::int64_t batch_size) {
  nn::FitOptions options;
  options.epochs = epochs;
  options.batches.batch_size = batch_size;
  options.batches.shuffle = false;
  options.on_epoch = [](const nn::EpochReport&) {};
  return options;
}
const Tensor no_labels = tensor_i64(std::vector<std::int64_t>{}, {0});

// The message of the E that f() throws (another exception fails the test case).
template <class E, class F> std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("nothing was thrown");
  return "";
}
}  // namespace

TEST_CASE("fit refuses an empty training set before any step", "[fit]") {
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  nn::FitOptions options = quiet_options(3, 8);
  int steps = 0;
  options.on_batch = [&](const nn::BatchReport&) { ++steps; };
  // Before: 3 epochs of nothing, each reported with loss 0 and accuracy 0.
  CHECK_THROWS_MATCHES(nn::fit(*net, ce, sgd, zeros({0, 4}), no_labels, options), std::invalid_argument,
                       Catch::Message("fit: training inputs [0,4] float32 and targets [0] int64 hold no samples (an "
                                      "empty data set: a filter that kept nothing, or an empty data file?)"));
  CHECK(steps == 0);
}

TEST_CASE("fit refuses empty or half-given validation data before any step", "[fit]") {
  manual_seed(5);
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  nn::FitOptions options = quiet_options(1, 8);
  int steps = 0;
  options.on_batch = [&](const nn::BatchReport&) { ++steps; };
  const Tensor x = randn({16, 4}), y = randint(0, 3, {16});
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, x, y, options, zeros({0, 4}), no_labels),
                    Catch::Contains("fit: validation inputs [0,4] float32") && Catch::Contains("no samples"));
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, x, y, options, x, Tensor()),
                    Catch::Contains("fit: validation inputs were given without targets"));
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, x, y, options, x, randint(0, 3, {15})),
                    Catch::Contains("fit: validation inputs [16,4]") && Catch::Contains("[15] int64"));
  CHECK(steps == 0);
}

TEST_CASE("evaluate refuses an empty data set instead of reporting loss 0", "[fit]") {
  auto net = small_net();
  const std::string message = message_of<std::invalid_argument>(
      [&] { nn::evaluate(*net, ce, nn::multiclass_accuracy, zeros({0, 4}), no_labels); });
  CHECK_THAT(message, Catch::Contains("evaluate: inputs [0,4] float32") && Catch::Contains("hold no samples"));
}

TEST_CASE("fit refuses an epoch with no batch to train on", "[fit]") {
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  const Tensor x = randn({5, 4}), y = randint(0, 3, {5});
  nn::FitOptions options = quiet_options(1, 8);
  options.batches.drop_last = true;  // 5 samples never fill a batch of 8
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, x, y, options),
                    "fit: epoch 1 has no batch to train on: 5 samples with drop_last and batch_size 8");
  options = quiet_options(2, 8);
  options.sample_order = [](std::int64_t epoch) {
    return epoch == 0 ? std::vector<std::int64_t>{0, 1} : std::vector<std::int64_t>{};
  };
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, x, y, options),
                    "fit: epoch 2 has no batch to train on: 0 samples from sample_order");
}

TEST_CASE("fit takes a batch size larger than the data set as one batch", "[fit]") {
  manual_seed(6);
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  // Before: (N + batch_size - 1) overflowed (UBSan) for batch_size INT64_MAX.
  const nn::FitHistory h = nn::fit(*net, ce, sgd, randn({10, 4}), randint(0, 3, {10}),
                                   quiet_options(2, std::numeric_limits<std::int64_t>::max()));
  REQUIRE(h.batches.size() == 2);
  CHECK(h.batches[0].batches == 1);
  CHECK(h.batches[0].batch_size == 10);
}

TEST_CASE("fit stops at the first non-finite loss, naming the epoch and step, before its update", "[fit]") {
  manual_seed(7);
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  const Tensor x = randn({12, 4}), y = randint(0, 3, {12});
  nn::FitOptions options = quiet_options(3, 4);  // 3 batches per epoch
  int calls = 0;
  auto loss_turning_infinite = [&](const Tensor& out, const Tensor& t) {
    // The 5th batch (epoch 2, batch 2) has an infinite loss.
    return ++calls == 5 ? ce(out, t) * std::numeric_limits<double>::infinity() : ce(out, t);
  };
  std::vector<double> weights_after_step_4;
  options.on_batch = [&](const nn::BatchReport& b) {
    if (b.epoch == 1 && b.batch == 0) weights_after_step_4 = net->parameters()[0].to_vector();
  };
  try {
    nn::fit(*net, loss_turning_infinite, sgd, x, y, options);
    FAIL("fit went on past an infinite loss");
  } catch (const nn::NonFiniteError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("fit: the loss is inf at epoch 2, batch 2 (step 5); stopped before that "
                                           "step's update, so the model keeps its previous parameters."));
    CHECK(e.epoch() == 1);
    CHECK(e.batch() == 1);
    CHECK(e.step() == 5);
  }
  CHECK(net->parameters()[0].to_vector() == weights_after_step_4);
}

TEST_CASE("fit names the step whose model output is NaN, before a loss refuses it", "[fit]") {
  // Before: binary_cross_entropy said "probabilities must be in [0, 1] (apply sigmoid first), found -nan".
  manual_seed(8);
  auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 1), std::make_shared<nn::Sigmoid>());
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  Tensor x = randn({6, 2});
  {
    NoGradGuard g;
    narrow(x, 4, 1).fill_(std::numeric_limits<double>::quiet_NaN());  // a NaN in the third batch
  }
  const Tensor y = tensor({0, 1, 0, 1, 0, 1}, {6, 1});
  auto bce = [](const Tensor& p, const Tensor& t) { return nn::functional::binary_cross_entropy(p, t); };
  CHECK_THAT(message_of<nn::NonFiniteError>([&] { nn::fit(*net, bce, sgd, x, y, quiet_options(1, 2)); }),
             Catch::StartsWith("fit: the model's output holds nan at epoch 1, batch 3 (step 3)"));
}

TEST_CASE("fit stops when a huge learning rate drives the loss to NaN", "[fit]") {
  // Before: training went on with loss nan and fit returned normally.
  manual_seed(9);
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(1e308));
  const Tensor x = randn({64, 4}), y = randint(0, 3, {64});
  CHECK_THAT(message_of<nn::NonFiniteError>([&] { nn::fit(*net, ce, sgd, x, y, quiet_options(5, 16)); }),
             Catch::Contains("at epoch 1, batch 2 (step 2)"));
}

TEST_CASE("under DetectAnomalyGuard, fit's anomaly names the op and the step", "[fit][anomaly]") {
  manual_seed(9);
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(1e308));
  const Tensor x = randn({64, 4}), y = randint(0, 3, {64});
  autograd::DetectAnomalyGuard anomaly;
  CHECK_THAT(message_of<autograd::AnomalyError>([&] { nn::fit(*net, ce, sgd, x, y, quiet_options(5, 16)); }),
             Catch::StartsWith("anomaly detected: forward of op '") &&
                 Catch::EndsWith("at epoch 1, batch 2 (step 2) of fit"));
}

TEST_CASE("fit on a data set trains exactly as on its tensors, with 0 or 2 loader workers", "[fit][data]") {
  manual_seed(6);
  const Tensor x = randn({50, 4}), labels = argmax(matmul(x, randn({4, 3})), 1);
  const Tensor x_val = randn({20, 4}), y_val = argmax(matmul(x_val, randn({4, 3})), 1);
  auto train = [&](int workers, bool as_dataset) {
    manual_seed(1);
    auto net = small_net();
    optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
    nn::FitOptions options;
    options.epochs = 3;
    options.batches.batch_size = 8;
    options.batches.seed = 9;
    options.workers.num_workers = workers;
    options.eval_batch_size = 7;
    options.metric = nn::multiclass_accuracy;
    options.on_epoch = [](const nn::EpochReport&) {};
    nn::FitHistory h =
        as_dataset ? nn::fit(*net, ce, sgd, std::make_shared<data::TensorDataset>(x, labels), options,
                             std::make_shared<data::TensorDataset>(x_val, y_val))
                   : nn::fit(*net, ce, sgd, x, labels, options, x_val, y_val);
    std::vector<double> trace;
    for (const nn::BatchReport& b : h.batches) trace.push_back(b.loss);
    for (const nn::EpochReport& e : h.epochs) trace.insert(trace.end(), {*e.val_loss, *e.val_accuracy});
    const std::vector<double> weights = net->parameters().front().to_vector();
    trace.insert(trace.end(), weights.begin(), weights.end());
    return trace;
  };
  const auto reference = train(0, false);
  CHECK(reference.size() == 3 * 7 + 3 * 2 + 16 * 4);
  CHECK(train(0, true) == reference);  // bit for bit
  CHECK(train(2, true) == reference);
  CHECK(train(2, false) == reference);
}

namespace {
// 12 examples whose input is [epoch seen by the data set, i]; labels i % 3.
struct Counting final : data::Dataset {
  std::int64_t size() const override { return 12; }
  data::Example get(std::int64_t i) const override {
    return {tensor({double(epoch.load()), double(i), 0, 0}, {4}), tensor_i64({i % 3}, {})};
  }
  void set_epoch(std::int64_t e) const override { epoch = e; }
  mutable std::atomic<std::int64_t> epoch{-1};
};
}  // namespace

TEST_CASE("fit tells a data set each epoch and evaluates a data set with the same numbers", "[fit][data]") {
  auto data = std::make_shared<Counting>();
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.0));  // no update: the inputs alone are checked
  nn::FitOptions options;
  options.epochs = 2;
  options.first_epoch = 3;
  options.batches.batch_size = 5;
  options.workers.num_workers = 2;
  std::vector<double> epochs_seen;
  options.on_batch = [&](const nn::BatchReport&) { epochs_seen.push_back(double(data->epoch.load())); };
  options.on_epoch = [](const nn::EpochReport&) {};
  const nn::FitHistory h = nn::fit(*net, ce, sgd, data, options);
  CHECK(epochs_seen == std::vector<double>{3, 3, 3, 4, 4, 4});
  CHECK(h.epochs[1].samples == 12);

  // The data set form of evaluate() agrees with the tensor form on the same
  // examples; an evaluation pass reads epoch 0 of the data set.
  data->set_epoch(7);
  std::vector<double> rows;
  for (std::int64_t i = 0; i < 12; ++i) rows.insert(rows.end(), {0.0, double(i), 0, 0});
  const Tensor labels = tensor_i64({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}, {12});
  const nn::Evaluation a = nn::evaluate(*net, ce, nn::multiclass_accuracy, data, 5, {/*num_workers*/ 2});
  const nn::Evaluation b = nn::evaluate(*net, ce, nn::multiclass_accuracy, tensor(rows, {12, 4}), labels, 12);
  CHECK(a.loss == Approx(b.loss).epsilon(1e-6));
  CHECK(a.accuracy == b.accuracy);
  CHECK(data->epoch == 0);
}

TEST_CASE("fit and evaluate refuse data sets they cannot train or test on", "[fit][data]") {
  auto net = small_net();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1));
  nn::FitOptions options;
  options.on_epoch = [](const nn::EpochReport&) {};
  using Catch::Matchers::Contains;
  auto empty = std::make_shared<data::Subset>(std::make_shared<data::TensorDataset>(ones({2, 4}), tensor_i64({0, 1}, {2})),
                                              std::vector<std::int64_t>{});
  auto good = std::make_shared<data::TensorDataset>(ones({2, 4}), tensor_i64({0, 1}, {2}));
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, nullptr, options), Contains("fit: the training data set is null"));
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, empty, options), Contains("fit: the training data set holds no samples"));
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, good, options, empty),
                    Contains("fit: the validation data set holds no samples"));
  options.workers.num_workers = -1;
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, good, options), Contains("num_workers must be >= 0"));
  options.workers.num_workers = 0;
  // Examples without targets: nothing to compute the loss on.
  struct NoTargets final : data::Dataset {
    std::int64_t size() const override { return 3; }
    data::Example get(std::int64_t) const override { return {ones({4}), Tensor()}; }
  };
  CHECK_THROWS_WITH(nn::fit(*net, ce, sgd, std::make_shared<NoTargets>(), options),
                    Contains("fit: batch 1 of epoch 1 has no targets"));
  CHECK_THROWS_WITH(nn::evaluate(*net, ce, nullptr, empty), Contains("evaluate: the data set holds no samples"));
  CHECK_THROWS_WITH(nn::evaluate(*net, ce, nullptr, good, 0), Contains("evaluate: batch_size must be positive, got 0"));
}

