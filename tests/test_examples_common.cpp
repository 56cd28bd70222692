// The example trainers' support code: flags, PNG grids and gnuplot charts
// (skipped with a warning when gnuplot is absent). The progress display and
// the metrics files they use are the library's: tests/test_train_utils.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <stb/stb_image.h>
#include <unistd.h>

#include <tapegrad/tapegrad.hpp>

#include "common/flags.hpp"
#include "common/image_grid.hpp"
#include "common/plots.hpp"
#include "common/run_training.hpp"
#include "test_helpers.hpp"

using namespace tg;
using namespace tg::examples;
using tg::testing::read_bytes;
using tg::testing::TempDir;
using tg::train::BatchRecord;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// Sets an environment variable for one scope, then restores it.
struct EnvOverride {
  std::string name;
  std::optional<std::string> old;
  EnvOverride(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvOverride() {
    if (old)
      setenv(name.c_str(), old->c_str(), 1);
    else
      unsetenv(name.c_str());
  }
};

FlagParser trainer_flags() {
  FlagParser flags("lenet5", "Trains LeNet-5 on MNIST.");
  TrainingDefaults d;
  d.epochs = 3;
  d.batch_size = 64;
  d.lr = 0.05;
  d.data_dir = "mnist";
  add_training_flags(flags, d);
  flags.add_bool("plots", "write PNG charts into --out");
  return flags;
}

// The message of the FlagError that parsing `args` raises ("" if none).
std::string flag_error(FlagParser& flags, const std::vector<std::string>& args) {
  try {
    flags.parse(args);
  } catch (const FlagError& e) {
    return e.what();
  }
  return "";
}

struct Png {
  int width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;
  unsigned char at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

// Decodes a PNG as one 8-bit channel with stb_image; fails the test if it is not one.
Png load_gray_png(const fs::path& p) {
  Png png;
  unsigned char* data = stbi_load(p.c_str(), &png.width, &png.height, &png.channels, 1);
  INFO(p.string() << ": " << (data ? "ok" : stbi_failure_reason()));
  REQUIRE(data != nullptr);
  png.pixels.assign(data, data + static_cast<std::size_t>(png.width) * png.height);
  stbi_image_free(data);
  return png;
}

}  // namespace

// ---- flags -------------------------------------------------------------------------

TEST_CASE("examples: training flags take the trainer's defaults", "[examples]") {
  FlagParser flags = trainer_flags();
  REQUIRE(flags.parse({}));
  const TrainingOptions o = training_options(flags);
  CHECK(o.epochs == 3);
  CHECK(o.batch_size == 64);
  CHECK(o.lr == 0.05);
  CHECK(o.weight_decay == 0.0);
  CHECK(o.momentum == 0.0);
  CHECK(o.seed == 0);
  CHECK(o.threads == 0);
  CHECK(o.data_dir == fs::path("mnist"));
  CHECK(o.out == fs::path("out"));
  CHECK_FALSE(o.save);
  CHECK_FALSE(o.resume);
  CHECK_FALSE(o.metrics_json);
  CHECK_FALSE(flags.get_bool("plots"));
  CHECK_FALSE(flags.was_given("epochs"));
  CHECK(flags.has("epochs"));
  CHECK_FALSE(flags.has("save"));
}

TEST_CASE("examples: flags accept --name value and --name=value", "[examples]") {
  FlagParser flags = trainer_flags();
  REQUIRE(flags.parse({"--epochs", "7", "--lr=0.5", "--batch-size=16", "--weight-decay", "1e-4", "--momentum=0.9",
                       "--seed", "42", "--threads=2", "--data-dir", "/data/mnist", "--out=runs/a", "--save",
                       "model.bin", "--resume=old.bin", "--metrics-json", "m.json", "--plots"}));
  const TrainingOptions o = training_options(flags);
  CHECK(o.epochs == 7);
  CHECK(o.lr == 0.5);
  CHECK(o.batch_size == 16);
  CHECK(o.weight_decay == 1e-4);
  CHECK(o.momentum == 0.9);
  CHECK(o.seed == 42);
  CHECK(o.threads == 2);
  CHECK(o.data_dir == fs::path("/data/mnist"));
  CHECK(o.out == fs::path("runs/a"));
  REQUIRE(o.save);
  CHECK(*o.save == fs::path("model.bin"));
  REQUIRE(o.resume);
  CHECK(*o.resume == fs::path("old.bin"));
  REQUIRE(o.metrics_json);
  CHECK(*o.metrics_json == fs::path("m.json"));
  CHECK(flags.get_bool("plots"));
  CHECK(flags.was_given("epochs"));

  // The last occurrence wins; a negative number is a value, not a flag.
  FlagParser more("t", "");
  more.add_int("n", "a number", 1);
  more.add_double("shift", "an offset", 0.0);
  REQUIRE(more.parse({"--n", "2", "--n=5", "--shift", "-1.5"}));
  CHECK(more.get_int("n") == 5);
  CHECK(more.get_double("shift") == -1.5);
}

TEST_CASE("examples: bool flags", "[examples]") {
  FlagParser flags = trainer_flags();
  REQUIRE(flags.parse({"--plots=false"}));
  CHECK_FALSE(flags.get_bool("plots"));
  REQUIRE(flags.parse({"--plots", "--no-plots"}));
  CHECK_FALSE(flags.get_bool("plots"));
  REQUIRE(flags.parse({"--plots=yes"}));
  CHECK(flags.get_bool("plots"));
  CHECK_THAT(flag_error(flags, {"--plots=maybe"}), Contains("--plots") && Contains("true or false") && Contains("maybe"));
  CHECK_THAT(flag_error(flags, {"--no-plots=1"}), Contains("--no-plots takes no value"));
  CHECK_THAT(flag_error(flags, {"--plots="}), Contains("--plots: expected true or false, got ''"));
}

TEST_CASE("examples: bad flag values name the flag", "[examples]") {
  FlagParser flags = trainer_flags();
  CHECK_THAT(flag_error(flags, {"--epochs", "abc"}),
             Contains("--epochs") && Contains("expected an integer") && Contains("'abc'"));
  CHECK_THAT(flag_error(flags, {"--epochs=2.5"}), Contains("--epochs") && Contains("'2.5'"));
  CHECK_THAT(flag_error(flags, {"--lr", "0.1x"}), Contains("--lr") && Contains("finite number") && Contains("'0.1x'"));
  CHECK_THAT(flag_error(flags, {"--lr=nan"}), Contains("--lr") && Contains("finite number"));
  CHECK_THAT(flag_error(flags, {"--epochs", "0"}), Contains("--epochs must be at least 1, got 0"));
  CHECK_THAT(flag_error(flags, {"--momentum=1.5"}), Contains("--momentum must be at most 1, got 1.5"));
  CHECK_THAT(flag_error(flags, {"--lr"}), Contains("--lr needs a value (X)"));
  CHECK_THAT(flag_error(flags, {"--lr", "--epochs", "3"}), Contains("--lr needs a value"));
  CHECK_THAT(flag_error(flags, {"--out="}), Contains("--out needs a value (DIR)"));
  CHECK_THAT(flag_error(flags, {"extra"}), Contains("unexpected argument 'extra'"));
}

TEST_CASE("examples: numeric flags refuse what would overflow, naming the flag", "[examples]") {
  FlagParser flags = trainer_flags();
  // Before: accepted, and printed as "epoch 1/-1294967296".
  CHECK(flag_error(flags, {"--epochs", "3000000000"}) == "--epochs must be at most 1000000000, got 3000000000");
  CHECK(flag_error(flags, {"--epochs", "99999999999999999999"}) ==
        "--epochs: expected an integer (N), got '99999999999999999999'");
  // A batch larger than any data set is one batch of all of it (fit's batch count no longer overflows).
  REQUIRE(flags.parse({"--batch-size", "9223372036854775807"}));
  CHECK(training_options(flags).batch_size == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("examples: --detect-anomaly", "[examples]") {
  FlagParser flags = trainer_flags();
  REQUIRE(flags.parse({}));
  CHECK_FALSE(training_options(flags).detect_anomaly);
  REQUIRE(flags.parse({"--detect-anomaly"}));
  CHECK(training_options(flags).detect_anomaly);
}

TEST_CASE("examples: unknown and missing required flags are errors", "[examples]") {
  FlagParser flags = trainer_flags();
  CHECK_THAT(flag_error(flags, {"--epoch", "3"}), Contains("unknown flag --epoch") && Contains("did you mean --epochs?"));
  CHECK_THAT(flag_error(flags, {"--frobnicate"}), Contains("unknown flag --frobnicate"));
  CHECK_THAT(flag_error(flags, {"--frobnicate"}), !Contains("did you mean"));

  FlagParser required("t", "");
  required.add_path("weights", "trained parameters", Presence::Required).metavar("FILE");
  required.add_string("name", "run name", Presence::Optional);
  CHECK_THAT(flag_error(required, {}), Contains("missing required flag --weights FILE"));
  REQUIRE(required.parse({"--weights", "w.bin"}));
  CHECK(required.get_path("weights") == fs::path("w.bin"));
  CHECK_FALSE(required.has("name"));
  CHECK_THROWS_WITH(required.get_string("name"), Contains("--name was not given"));
  CHECK_THROWS_WITH(required.get_int("weights"), Contains("--weights is a path flag, read as int"));
  CHECK_THROWS_WITH(required.get_int("nope"), Contains("no flag --nope was declared"));
  CHECK_THROWS_AS(required.add_int("weights", "again", 1), std::logic_error);
}

TEST_CASE("examples: --help lists every flag with its default", "[examples]") {
  FlagParser flags = trainer_flags();
  flags.add_string("tag", "label for this run", Presence::Required);
  CHECK_FALSE(flags.parse({"--epochs", "oops", "--help"}));  // help wins over mistakes
  CHECK_FALSE(flags.parse({"-h"}));
  const std::string help = flags.help();
  CHECK_THAT(help, Contains("Usage: lenet5 [flags]") && Contains("Trains LeNet-5 on MNIST."));
  for (const char* name : {"--epochs N", "--batch-size N", "--lr X", "--weight-decay X", "--momentum X", "--seed N",
                           "--threads N", "--data-dir DIR", "--out DIR", "--save FILE", "--resume FILE",
                           "--metrics-json FILE", "--[no-]plots", "--tag TEXT", "-h, --help"})
    CHECK_THAT(help, Contains(name));
  CHECK_THAT(help, Contains("(default: 3)") && Contains("(default: 0.05)") && Contains("(default: mnist)") &&
                       Contains("(required)"));
}

// ---- PNG grids ----------------------------------------------------------------------

TEST_CASE("examples: grid layout upscales small maps by whole pixels", "[examples]") {
  ImageGridOptions o;
  o.columns = 4;
  const ImageGridLayout l = image_grid_layout(8, 7, 7, o);  // two images x four 7x7 channels
  const int pad = ImageGridLayout::kPadding, label = ImageGridLayout::kLabelHeight;
  CHECK(l.scale == 20);  // 7 * 20 = 140 = min_cell_pixels
  CHECK(l.cell_width == 140);
  CHECK(l.rows == 2);
  CHECK(l.width == 4 * 140 + 5 * pad);
  CHECK(l.height == 2 * (label + 140) + 3 * pad);
  CHECK(l.map_origin(5) == std::pair<int, int>{pad + 140 + pad, pad + label + 140 + pad + label});

  CHECK(image_grid_layout(3, 28, 28, {}).scale == 5);  // 140 / 28
  CHECK(image_grid_layout(3, 28, 28, {}).columns == 3);
  CHECK(image_grid_layout(20, 200, 300, {}).scale == 1);
  CHECK(image_grid_layout(20, 200, 300, {}).columns == 8);
  CHECK_THROWS_WITH(image_grid_layout(0, 7, 7, {}), Contains("0 maps of 7x7"));
}

TEST_CASE("examples: PNG grid writes normalised, upscaled maps", "[examples]") {
  // Map 0 counts up 0..5 (3x2), map 1 is the same scaled by 100 and shifted
  // (identical after min-max normalisation), map 2 is constant.
  std::vector<GridMap> maps(3);
  for (int k = 0; k < 3; ++k) {
    maps[k].height = 3;
    maps[k].width = 2;
    for (int i = 0; i < 6; ++i) maps[k].values.push_back(k == 0 ? i : k == 1 ? 100.0f * i - 7 : 4.0f);
  }
  maps[0].label = "channel 1";
  ImageGridOptions o;
  o.title = "activations";
  o.min_cell_pixels = 12;

  TempDir dir;
  const fs::path file = dir.path / "grid.png";
  const ImageGridLayout l = write_image_grid(file, maps, o);
  CHECK(l.scale == 4);  // ceil(12 / 3)
  const Png png = load_gray_png(file);
  CHECK(png.width == l.width);
  CHECK(png.height == l.height);
  CHECK(png.channels == 1);

  for (int k = 0; k < 3; ++k) {
    const auto [x0, y0] = l.map_origin(k);
    for (int i = 0; i < 6; ++i) {
      const int r = i / 2, c = i % 2;
      // gray_r: the minimum is white, the maximum black; a constant map is all minimum.
      const int expected = k == 2 ? 255 : static_cast<int>(std::lround(255.0 * (1.0 - i / 5.0)));
      for (int dy = 0; dy < l.scale; ++dy)
        for (int dx = 0; dx < l.scale; ++dx) {
          INFO("map " << k << " element " << i << " pixel +" << dx << ",+" << dy);
          REQUIRE(static_cast<int>(png.at(x0 + c * l.scale + dx, y0 + r * l.scale + dy)) == expected);
        }
    }
  }
  // The labelled map has ink in its label band, the unlabelled one none.
  const auto ink_above = [&](int k) {
    const auto [x0, y0] = l.map_origin(k);
    int dark = 0;
    for (int y = y0 - ImageGridLayout::kLabelHeight; y < y0 - 1; ++y)
      for (int x = x0; x < x0 + l.cell_width; ++x) dark += png.at(x, y) == 0;
    return dark;
  };
  CHECK(ink_above(0) > 10);
  CHECK(ink_above(1) == 0);

  o.large_is_dark = false;
  write_image_grid(file, maps, o);
  const auto [x0, y0] = l.map_origin(0);
  CHECK(static_cast<int>(load_gray_png(file).at(x0, y0)) == 0);

  // A fixed value range: map 0 (0..5) on [0, 10] spans white..mid-grey; map 1 (-7..493) clips at 10.
  o.large_is_dark = true;
  o.value_range = std::make_pair(0.0f, 10.0f);
  write_image_grid(file, maps, o);
  const Png fixed = load_gray_png(file);
  CHECK(static_cast<int>(fixed.at(l.map_origin(0).first, l.map_origin(0).second)) == 255);  // 0: white
  CHECK(static_cast<int>(fixed.at(l.map_origin(0).first + l.scale, l.map_origin(0).second + 2 * l.scale)) ==
        std::lround(255.0 * (1.0 - 5 / 10.0)));                                              // 5: half
  CHECK(static_cast<int>(fixed.at(l.map_origin(1).first, l.map_origin(1).second)) == 255);  // -7: clipped to white
  CHECK(static_cast<int>(fixed.at(l.map_origin(1).first + l.scale, l.map_origin(1).second)) == 0);  // 93: black
  o.value_range.reset();

  maps[1].width = 3;
  CHECK_THROWS_WITH(write_image_grid(file, maps, o), Contains("map 1") && Contains("3x3") && Contains("like map 0"));
}

TEST_CASE("examples: feature maps from an activation tensor", "[examples]") {
  manual_seed(3);
  const Tensor act = randn({2, 3, 4, 5});
  const std::vector<GridMap> maps = feature_maps(act);
  REQUIRE(maps.size() == 6);
  CHECK(maps[5].label == "img 2 ch 3");
  CHECK(maps[5].height == 4);
  CHECK(maps[5].width == 5);
  const std::vector<float> all = act.to_vector<float>();
  CHECK(maps[5].values == std::vector<float>(all.end() - 20, all.end()));
  CHECK(feature_maps(randn({3, 4, 5}))[2].label == "channel 3");
  CHECK(feature_maps(randn({4, 5})).size() == 1);
  CHECK_THROWS_WITH(feature_maps(randn({5})), Contains("feature_maps") && Contains("[5]"));
}

// ---- gnuplot charts ----------------------------------------------------------------

TEST_CASE("examples: charts without gnuplot give a message, not a crash", "[examples]") {
  TempDir dir;
  const std::vector<BatchRecord> history = {{1, 1, 0.7, 0.5}, {1, 2, 0.6, 0.6}};
  {
    EnvOverride env("TAPEGRAD_GNUPLOT", (dir.path / "no-such-gnuplot").string());
    const PlotResult r = plot_loss_accuracy(dir.path / "a.png", history);
    CHECK_FALSE(r);
    CHECK_THAT(r.message, Contains("a.png") && Contains("no-such-gnuplot is not an executable"));
  }
  {
    EnvOverride env("TAPEGRAD_GNUPLOT", "");
    CHECK_THAT(plot_loss_accuracy(dir.path / "b.png", history).message, Contains("plotting is disabled"));
  }
  {
    EnvOverride env("TAPEGRAD_GNUPLOT", "/bin/false");  // a gnuplot that fails
    CHECK_THAT(plot_loss_accuracy(dir.path / "c.png", history).message, Contains("gnuplot (/bin/false) failed"));
  }
  {
    EnvOverride env("PATH", dir.path.string());
    std::string why;
    CHECK(find_gnuplot(&why).empty());
    CHECK_THAT(why, Contains("not found on PATH") && Contains("gnuplot-nox"));
  }
  CHECK(fs::is_empty(dir.path));  // nothing half-written
}

TEST_CASE("examples: chart arguments are checked", "[examples]") {
  CHECK_THROWS_WITH(plot_loss_accuracy("x.png", {}), Contains("plot_loss_accuracy: the history is empty"));
  EpochChart chart;
  CHECK_THROWS_WITH(plot_epoch_metrics("x.png", chart), Contains("no series"));
  chart.series = {{"test accuracy", {}, true}};
  CHECK_THROWS_WITH(plot_epoch_metrics("x.png", chart), Contains("'test accuracy' has no values"));
  const auto always_one = [](const Tensor& p) { return ones({p.size(0)}); };
  CHECK_THROWS_WITH(plot_decision_boundary("x.png", randn({5, 3}), zeros({5}), always_one),
                    Contains("plot_decision_boundary") && Contains("[5,3]"));
  CHECK_THROWS_WITH(plot_decision_boundary("x.png", randn({5, 2}), zeros({4}), always_one),
                    Contains("one label per point (5)") && Contains("[4]"));
  const auto wrong_count = [](const Tensor&) { return ones({7}); };
  CHECK_THROWS_WITH(plot_decision_boundary("x.png", randn({5, 2}), zeros({5}), wrong_count),
                    Contains("[10000,2]") && Contains("[7]"));
}

TEST_CASE("examples: gnuplot writes the three charts as PNGs", "[examples]") {
  if (find_gnuplot().empty()) {
    WARN("gnuplot not found: chart smoke test skipped (apt-get install gnuplot-nox)");
    return;
  }
  TempDir dir;
  std::vector<BatchRecord> history;
  for (int e = 1; e <= 3; ++e)
    for (int b = 1; b <= 50; ++b) {
      const double t = (e - 1) * 50 + b;
      history.push_back({e, b, std::exp(-t / 60), 1 - 0.5 * std::exp(-t / 40)});
    }
  const auto check_png = [](const fs::path& p) {
    const Png png = load_gray_png(p);
    CHECK(png.width == kPlotWidth);
    CHECK(png.height == kPlotHeight);
  };

  PlotResult r = plot_loss_accuracy(dir.path / "plots" / "loss_accuracy.png", history, "it's a test");
  INFO(r.message);
  REQUIRE(r);
  check_png(dir.path / "plots" / "loss_accuracy.png");

  EpochChart chart;
  chart.series = {{"train loss", {0.5, 0.3, 0.2}, false}, {"test accuracy", {0.8, 0.9, 0.95}, true}};
  r = plot_epoch_metrics(dir.path / "epochs.png", chart);
  INFO(r.message);
  REQUIRE(r);
  check_png(dir.path / "epochs.png");

  // The predictor sees the grid in the data's dtype: 100 x 100 points.
  const Tensor points = tensor({-1, -1, 1, 1, -1, 1, 1, -1}, {4, 2}, kFloat64);
  const Tensor labels = tensor({0, 1, 1, 0}, {4}, kFloat64);
  Shape seen;
  Dtype seen_dtype = kFloat32;
  const auto predict = [&](const Tensor& p) {
    seen = p.shape();
    seen_dtype = p.dtype();
    return gt(sum(p, {1}), 0.0);  // class 1 where x1 + x2 > 0
  };
  r = plot_decision_boundary(dir.path / "boundary.png", points, labels, predict);
  INFO(r.message);
  REQUIRE(r);
  check_png(dir.path / "boundary.png");
  CHECK(seen == Shape{10000, 2});
  CHECK(seen_dtype == kFloat64);
}

// ---- outputs: checked before training, and the model never lost (issue 15, row 11) ----

namespace {

// A regular file where a directory is expected: unwritable even for root.
fs::path blocked_path(const TempDir& dir, const std::string& below) {
  const fs::path file = dir.path / "a-file";
  std::ofstream(file) << "not a directory";
  return file / below;
}

// A small classification run that trains in milliseconds.
struct TinyRun {
  std::shared_ptr<nn::Linear> model = std::make_shared<nn::Linear>(4, 3);
  optim::SGD sgd{model->parameters(), optim::SGDOptions(0.1)};
  TrainingRun run;
  int epochs_run = 0;
  explicit TinyRun(const TempDir& dir) {
    manual_seed(11);
    run.name = "tiny";
    run.model = model.get();
    run.optimizer = &sgd;
    run.loss = [](const Tensor& out, const Tensor& t) { return nn::functional::cross_entropy(out, t); };
    run.metric = nn::multiclass_accuracy;
    run.train_set = std::make_shared<data::TensorDataset>(randn({32, 4}), randint(0, 3, {32}));
    run.test_set = run.train_set;
    run.options.epochs = 2;
    run.options.batch_size = 8;
    run.options.out = dir.path / "out";
    run.progress = false;
    run.on_epoch = [this](const nn::EpochReport&) { ++epochs_run; };
  }
};

}  // namespace

TEST_CASE("examples: every unwritable output is refused before training, naming its flag", "[examples]") {
  TempDir dir;
  const std::string nothing_trained = " (checked before training: nothing was trained)";
  TrainingOptions o;
  o.out = blocked_path(dir, "out");
  CHECK_THROWS_WITH(check_output_locations(o), "--out: cannot create the directory '" + o.out.string() +
                                                   "': Not a directory" + nothing_trained);
  o.out = dir.path / "out";
  o.save = blocked_path(dir, "m.tgc");
  CHECK_THROWS_WITH(check_output_locations(o), Contains("--save: cannot create the directory") &&
                                                   Contains("a-file") && Contains(nothing_trained));
  o.save = dir.path / "models";  // a directory, not a file
  fs::create_directories(*o.save);
  CHECK_THROWS_WITH(check_output_locations(o), Contains("--save: cannot replace") && Contains("Is a directory"));
  o.save.reset();
  o.save_safetensors = blocked_path(dir, "m.safetensors");
  CHECK_THROWS_WITH(check_output_locations(o), Contains("--save-safetensors: cannot create the directory"));
  o.save_safetensors.reset();
  o.export_onnx = blocked_path(dir, "m.onnx");
  CHECK_THROWS_WITH(check_output_locations(o), Contains("--export-onnx: cannot create the directory"));
  o.export_onnx.reset();
  o.metrics_json = blocked_path(dir, "m.json");
  CHECK_THROWS_WITH(check_output_locations(o), Contains("--metrics-json: cannot create the directory"));
  // Writable outputs: their directories are made now, and nothing is left behind.
  o.metrics_json = dir.path / "runs" / "metrics.json";
  o.save = dir.path / "checkpoints" / "m.tgc";
  check_output_locations(o);
  CHECK(fs::is_empty(dir.path / "out"));
  CHECK(fs::is_empty(dir.path / "runs"));
  CHECK(fs::is_empty(dir.path / "checkpoints"));
}

TEST_CASE("examples: run_training refuses an unwritable --save before the first step", "[examples]") {
  // Before: it trained, then failed at the save, and the trained model was lost.
  TempDir dir;
  TinyRun tiny(dir);
  tiny.run.options.save = blocked_path(dir, "m.tgc");
  const std::vector<double> initial = tiny.model->weight.to_vector();
  CHECK_THROWS_WITH(run_training(tiny.run), Contains("--save") && Contains("nothing was trained"));
  CHECK(tiny.epochs_run == 0);
  CHECK(tiny.model->weight.to_vector() == initial);
}

TEST_CASE("examples: a safetensors file that cannot be saved where asked is rescued elsewhere", "[examples]") {
  TempDir dir, rescue;
  auto model = std::make_shared<nn::Linear>(2, 3);
  CHECK(save_safetensors_or_rescue(*model, dir.path / "m.safetensors", {rescue.path}) == dir.path / "m.safetensors");
  const fs::path rescued = rescue.path / ("m.rescued-" + std::to_string(::getpid()) + ".safetensors");
  CHECK_THROWS_WITH(save_safetensors_or_rescue(*model, blocked_path(dir, "m.safetensors"), {rescue.path}),
                    Contains("write_safetensors: cannot create a temporary file") &&
                        Contains("the trained model was saved to '" + rescued.string() + "' instead"));
  auto loaded = std::make_shared<nn::Linear>(2, 3);
  io::load_safetensors(*loaded, rescued.string());
  CHECK(loaded->weight.to_vector() == model->weight.to_vector());
}

TEST_CASE("examples: an ONNX file that cannot be written where asked is rescued elsewhere", "[examples]") {
  TempDir dir, rescue;
  nn::Linear model(2, 3);
  const Tensor example = randn({1, 2});
  CHECK(export_onnx_or_rescue(model, example, dir.path / "m.onnx", {rescue.path}) == dir.path / "m.onnx");
  const fs::path rescued = rescue.path / ("m.rescued-" + std::to_string(::getpid()) + ".onnx");
  CHECK_THROWS_WITH(export_onnx_or_rescue(model, example, blocked_path(dir, "m.onnx"), {rescue.path}),
                    Contains("onnx::export_model: cannot create a temporary file") &&
                        Contains("the trained model was exported to '" + rescued.string() + "' instead"));
  CHECK(read_bytes(rescued) == read_bytes(dir.path / "m.onnx"));
}

TEST_CASE("examples: a checkpoint that cannot be saved where asked is rescued elsewhere", "[examples]") {
  TempDir dir, rescue;
  auto model = std::make_shared<nn::Linear>(2, 2);
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1));
  const fs::path blocked = blocked_path(dir, "lenet5.tgc");
  const SavedCheckpoint saved = save_checkpoint(*model, sgd, blocked, {dir.path / "a-file", rescue.path});
  CHECK_THAT(saved.failure, Contains("save: cannot create a temporary file next to '" + blocked.string()));
  CHECK(saved.model == rescue.path / ("lenet5.rescued-" + std::to_string(::getpid()) + ".tgc"));
  CHECK(saved.optimizer == fs::path(saved.model.string() + ".optim"));
  auto loaded = std::make_shared<nn::Linear>(2, 2);
  tg::load(*loaded, saved.model.string());
  CHECK(loaded->weight.to_vector() == model->weight.to_vector());
  tg::load(sgd, saved.optimizer.string());
  // Nowhere to go: the error says so and names every place tried.
  CHECK_THROWS_WITH(save_checkpoint(*model, sgd, blocked, {dir.path / "a-file"}),
                    Contains("could not be saved anywhere else either") && Contains("a-file/lenet5.rescued-"));
  // Where asked, when it can.
  const SavedCheckpoint direct = save_checkpoint(*model, sgd, dir.path / "m.tgc", {rescue.path});
  CHECK(direct.failure.empty());
  CHECK(fs::exists(dir.path / "m.tgc"));
  CHECK(fs::exists(dir.path / "m.tgc.optim"));
}

TEST_CASE("examples: an output that fails after training does not cost the model", "[examples]") {
  TempDir dir;
  TinyRun tiny(dir);
  tiny.run.options.save = dir.path / "ckpt" / "m.tgc";
  tiny.run.options.metrics_json = dir.path / "metrics" / "m.json";
  // Both pass the check before training; then, during training, --metrics-json's
  // directory and --save's directory become files (a vanished mount, say).
  tiny.run.on_epoch = [&](const nn::EpochReport& e) {
    if (e.epoch != 0) return;
    for (const char* sub : {"metrics", "ckpt"}) {
      fs::remove_all(dir.path / sub);
      std::ofstream(dir.path / sub) << "in the way";
    }
  };
  std::string message;
  try {
    run_training(tiny.run);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK_THAT(message, StartsWith("after training, 2 output(s) could not be written"));
  CHECK_THAT(message, Contains("--metrics-json: write_metrics_json: cannot create the directory"));
  // The model went to the rescue place, and the message says where.
  const fs::path rescued = fs::temp_directory_path() / ("m.rescued-" + std::to_string(::getpid()) + ".tgc");
  CHECK_THAT(message, Contains("--save: save: cannot create a temporary file next to") &&
                          Contains("the trained model was saved to '" + rescued.string() + "' instead"));
  REQUIRE(fs::exists(rescued));
  auto loaded = std::make_shared<nn::Linear>(4, 3);
  tg::load(*loaded, rescued.string());
  CHECK(loaded->weight.to_vector() == tiny.model->weight.to_vector());
  fs::remove(rescued);
  fs::remove(rescued.string() + ".optim");
  // --out was still written: per batch, and per epoch (header + 2 epochs).
  CHECK(fs::exists(dir.path / "out" / "history.csv"));
  const std::string epochs_csv = tg::testing::read_text(dir.path / "out" / "epochs.csv");
  CHECK(epochs_csv.rfind("epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,samples\n1,", 0) == 0);
  CHECK(std::count(epochs_csv.begin(), epochs_csv.end(), '\n') == 3);
  const std::string epochs_jsonl = tg::testing::read_text(dir.path / "out" / "epochs.jsonl");
  CHECK(std::count(epochs_jsonl.begin(), epochs_jsonl.end(), '\n') == 2);
}
