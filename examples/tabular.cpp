// An MLP classifier for any CSV table (tg::data::read_csv): a seeded split,
// stratified by class (--test-fraction, 20 % by default), standardisation fitted on the training
// split only (so nothing about the test rows leaks into training), then
// cross-entropy with Adam and the test accuracy.
//
//   tabular --csv iris.csv --target species
//   tabular --csv breast_cancer.csv --skip-rows 1 --no-header          # sklearn's files: target last
//   tabular --csv digits.csv.gz --no-header --target -1 --metrics-json out/digits.json
#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/flags.hpp"
#include "common/run_training.hpp"
#include <tapegrad/data/csv.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <tapegrad/tapegrad.hpp>

using namespace tg;
namespace ex = tg::examples;

namespace {

struct Split {
  Tensor x_train, y_train, x_test, y_test;
};

// A seeded split stratified by class: each class gives round(test_fraction x
// its rows) to the test set, so a small table's test set has every class in
// proportion (wine has 36 test rows; a plain shuffle can leave a class nearly
// absent from them). The order of each part is a seeded shuffle as well.
Split split(const Tensor& x, const Tensor& y, std::int64_t n_classes, double test_fraction, std::uint64_t seed) {
  const std::int64_t n = x.size(0);
  const std::vector<std::int64_t> labels = y.to_vector<std::int64_t>();
  const std::vector<std::int64_t> order = randperm(n, seed);
  std::vector<std::vector<std::int64_t>> by_class(static_cast<std::size_t>(n_classes));
  for (const std::int64_t i : order) by_class[static_cast<std::size_t>(labels[i])].push_back(i);
  std::vector<std::int64_t> train_rows, test_rows;
  for (const std::vector<std::int64_t>& rows : by_class) {
    const auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(rows.size())));
    test_rows.insert(test_rows.end(), rows.begin(), rows.begin() + n_test);
    train_rows.insert(train_rows.end(), rows.begin() + n_test, rows.end());
  }
  if (train_rows.empty() || test_rows.empty())
    throw std::invalid_argument("tabular: " + std::to_string(n) + " rows cannot be split into training and test rows with --test-fraction " +
                                std::to_string(test_fraction));
  // Interleave the classes again (nn::fit shuffles the training rows each epoch anyway).
  auto shuffled = [seed](const std::vector<std::int64_t>& rows, std::uint64_t stream) {
    const std::vector<std::int64_t> p = randperm(static_cast<std::int64_t>(rows.size()), seed, stream);
    std::vector<std::int64_t> out;
    for (const std::int64_t i : p) out.push_back(rows[static_cast<std::size_t>(i)]);
    return tensor_i64(out, {static_cast<std::int64_t>(out.size())});
  };
  const Tensor train_idx = shuffled(train_rows, 1), test_idx = shuffled(test_rows, 2);
  return {index_select(x, train_idx), index_select(y, train_idx), index_select(x, test_idx), index_select(y, test_idx)};
}

// (x - mean) / std per feature, with the mean and std of the training rows; a
// feature constant in the training rows (digits' border pixels) is only centred.
void standardise(Split& s) {
  const std::int64_t n = s.x_train.size(0), f = s.x_train.size(1);
  const std::vector<double> train = s.x_train.to_vector<double>();
  std::vector<double> mu(static_cast<std::size_t>(f), 0.0), sd(static_cast<std::size_t>(f), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) mu[j] += train[i * f + j] / static_cast<double>(n);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) sd[j] += (train[i * f + j] - mu[j]) * (train[i * f + j] - mu[j]) / static_cast<double>(n);
  for (double& v : sd) v = v > 1e-12 ? std::sqrt(v) : 1.0;
  const Tensor mean_row = tensor(mu, {1, f}, s.x_train.dtype()), std_row = tensor(sd, {1, f}, s.x_train.dtype());
  s.x_train = (s.x_train - mean_row) / std_row;
  s.x_test = (s.x_test - mean_row) / std_row;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  ex::FlagParser flags("tabular", "Trains an MLP classifier on a CSV table and reports its test accuracy.");
  ex::TrainingDefaults defaults;
  defaults.epochs = 30;
  defaults.batch_size = 32;
  defaults.lr = 0.001;
  defaults.weight_decay = 1e-2;  // L2 in Adam: the small tables (wine: 142 training rows) overfit without it
  defaults.out = "out/tabular";
  ex::add_training_flags(flags, defaults);
  flags.add_path("csv", "the CSV file (plain or gzip)", ex::Presence::Required).metavar("FILE");
  flags.add_string("target", "the target column: a header name, or an index (-1: the last column)", "-1")
      .metavar("NAME|INDEX");
  flags.add_int("skip-rows", "lines skipped before the header or data (sklearn's summary line: 1)", 0).at_least(0);
  flags.add_bool("no-header", "the first row (after --skip-rows) is data, not column names");
  flags.add_string("delimiter", "the field delimiter (one character; \\t for tab)", ",").metavar("C");
  flags.add_string("categorical", "comma-separated feature columns holding categories (one-hot encoded)", "")
      .metavar("COLS");
  flags.add_int("hidden", "width of each of the two hidden layers", 64).at_least(1);
  flags.add_double("test-fraction", "share of the rows held out for testing (seeded by --seed)", 0.2)
      .at_least(0.01)
      .at_most(0.99);
  flags.parse_or_exit(argc, argv);
  ex::TrainingOptions opt = ex::training_options(flags);
  ex::apply_runtime_options(opt);

  data::CsvOptions csv;
  csv.has_header = !flags.get_bool("no-header");
  csv.skip_rows = flags.get_int("skip-rows");
  const std::string delimiter = flags.get_string("delimiter");
  if (delimiter == "\\t")
    csv.delimiter = '\t';
  else if (delimiter.size() == 1)
    csv.delimiter = delimiter[0];
  else
    throw ex::FlagError("--delimiter: expected one character (or \\t), got '" + delimiter + "'");
  csv.target = data::CsvColumn::parse(flags.get_string("target"));
  for (const std::string& c : split_list(flags.get_string("categorical"))) csv.categorical.push_back(data::CsvColumn::parse(c));
  const std::string path = flags.get_path("csv").string();
  const data::CsvData table = data::read_csv(path, csv);
  const std::int64_t n_features = table.features.size(1), n_classes = static_cast<std::int64_t>(table.classes.size());
  if (n_classes < 2)
    throw std::invalid_argument("tabular: the target column '" + table.target_name + "' of " + path +
                                " holds a single class; a classifier needs at least two");

  Split data = split(table.features, table.targets, n_classes, flags.get_double("test-fraction"), static_cast<std::uint64_t>(opt.seed));
  standardise(data);
  std::printf("tabular: %s, %lld rows (%lld training, %lld test), %lld features, %lld classes (target '%s')\n",
              path.c_str(), static_cast<long long>(table.rows()), static_cast<long long>(data.x_train.size(0)),
              static_cast<long long>(data.x_test.size(0)), static_cast<long long>(n_features),
              static_cast<long long>(n_classes), table.target_name.c_str());

  manual_seed(static_cast<std::uint64_t>(opt.seed));
  const std::int64_t hidden = flags.get_int("hidden");
  auto model = std::make_shared<nn::Sequential>(
      std::make_shared<nn::Linear>(n_features, hidden), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(hidden, hidden), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(hidden, n_classes));
  optim::Adam adam(model->parameters(), optim::AdamOptions(opt.lr).weight_decay(opt.weight_decay));

  ex::TrainingRun run;
  run.name = "tabular";
  run.model = model.get();
  run.optimizer = &adam;
  run.loss = [](const Tensor& logits, const Tensor& y) { return nn::functional::cross_entropy(logits, y); };
  run.metric = nn::multiclass_accuracy;
  run.train_set = std::make_shared<data::TensorDataset>(data.x_train, data.y_train);
  run.test_set = std::make_shared<data::TensorDataset>(data.x_test, data.y_test);
  run.options = opt;
  run.extra_metrics = {{"csv", path},
                       {"rows", table.rows()},
                       {"features", n_features},
                       {"classes", n_classes}};
  ex::run_training(run);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tabular: %s\n", e.what());
  return 1;
}
