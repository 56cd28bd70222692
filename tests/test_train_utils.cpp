// The train layer's utilities for training programs: the progress display
// (<tapegrad/train/progress.hpp>), metrics JSON and history CSV
// (<tapegrad/train/metrics.hpp>), the metrics logger
// (<tapegrad/train/metrics_logger.hpp>) and the atomic file writer they share
// with the checkpoints (<tapegrad/train/atomic_file.hpp>).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using namespace tg::train;
using tg::testing::read_text;
using tg::testing::TempDir;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// The value after `"key":` in a one-line JSON object, read with strtod.
double json_number_at(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}


// Everything written to a stdio stream by `write`, read back.
template <class Write> std::string captured(Write write) {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  write(f);
  std::rewind(f);
  std::string out;
  for (int c; (c = std::fgetc(f)) != EOF;) out += static_cast<char>(c);
  std::fclose(f);
  return out;
}

// Names in `dir`, sorted.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A fit() run small enough for a unit test: 40 samples of a learnable rule
// (which of 2 inputs is larger), batches of 16 (so 16, 16, 8), two epochs.
struct SmallRun {
  std::shared_ptr<nn::Linear> model;
  Tensor x, y;
  nn::FitOptions options;
  SmallRun() {
    manual_seed(7);
    model = std::make_shared<nn::Linear>(2, 2);
    x = randn({40, 2});
    y = argmax(x, 1);
    options.epochs = 2;
    options.batches.batch_size = 16;
    options.metric = nn::multiclass_accuracy;
    options.on_epoch = [](const nn::EpochReport&) {};  // quiet
  }
  nn::FitHistory fit(bool validate) {
    optim::SGD sgd(model->parameters(), optim::SGDOptions(0.5));
    auto loss = [](const Tensor& out, const Tensor& t) { return nn::functional::cross_entropy(out, t); };
    return validate ? nn::fit(*model, loss, sgd, x, y, options, x, y) : nn::fit(*model, loss, sgd, x, y, options);
  }
};

}  // namespace

// ---- progress ---------------------------------------------------------------------

TEST_CASE("train: durations and bars", "[train]") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(41.6) == "0:42");
  CHECK(format_duration(725) == "12:05");
  CHECK(format_duration(3723) == "1:02:03");
  CHECK(format_duration(-1) == "--:--");
  CHECK(format_duration(std::nan("")) == "--:--");

  CHECK(format_bar(5, 10, 10) == "[=====>    ]");
  CHECK(format_bar(0, 10, 4) == "[    ]");
  CHECK(format_bar(10, 10, 4) == "[====]");
  CHECK(format_bar(12, 10, 4) == "[====]");
  CHECK(format_bar(3, 0, 4) == "[    ]");
}

TEST_CASE("train: the live progress line fits the terminal", "[train]") {
  ProgressSnapshot s;
  s.epoch = 2;
  s.epochs = 5;
  s.batch = 120;
  s.batches = 469;
  s.loss = 0.34567;
  s.accuracy = 0.91234;
  s.images_per_second = 5230.4;
  s.eta_seconds = 42;
  for (const int width : {50, 70, 90, 120, 200}) {
    const std::string line = format_progress_line(s, width);
    INFO(line);
    CHECK(static_cast<int>(line.size()) <= width);
    CHECK_THAT(line, Contains("epoch 2/5  batch 120/469"));
    if (width >= 90) {
      CHECK_THAT(line, Contains("loss 0.3457") && Contains("acc  91.23%") && Contains("5230 img/s") &&
                           Contains("ETA 0:42"));
    }
    // Bars of up to 30 characters, and none when fewer than 5 fit.
    const std::size_t open = line.find('['), close = line.find(']');
    if (width >= 120) {
      REQUIRE(open != std::string::npos);
      CHECK(close - open - 1 == 30);
    }
    if (width == 70) CHECK(open == std::string::npos);
  }
  // The bar's length does not change while the counters grow.
  s.batch = 5;
  const std::string early = format_progress_line(s, 100);
  s.batch = 400;
  CHECK(format_progress_line(s, 100).size() == early.size());
}

TEST_CASE("train: the per-epoch line", "[train]") {
  EpochSummary e;
  e.epoch = 2;
  e.epochs = 5;
  e.loss = 0.34567;
  e.accuracy = 0.91234;
  e.images_per_second = 5230.4;
  e.seconds = 11.24;
  CHECK(format_epoch_line(e) == "epoch 2/5  loss 0.3457  accuracy 0.9123  images/s 5230  seconds 11.2");
  CHECK(format_epoch_line(e, "test_accuracy 0.9812") ==
        "epoch 2/5  loss 0.3457  accuracy 0.9123  images/s 5230  seconds 11.2  test_accuracy 0.9812");
}

TEST_CASE("train: progress prints one line per epoch off a terminal", "[train]") {
  for (const ProgressStyle style : {ProgressStyle::Auto, ProgressStyle::Lines, ProgressStyle::Bar}) {
    std::vector<EpochSummary> summaries;
    const std::string out = captured([&](std::FILE* f) {
      Progress progress(2, 2, f, style);
      CHECK(progress.live() == (style == ProgressStyle::Bar));  // a tmpfile is not a terminal
      for (int epoch = 1; epoch <= 2; ++epoch) {
        progress.start_epoch(epoch);
        progress.batch(10, 1.0 * epoch, 0.5);  // means weighted by images: (10*l1 + 30*l2) / 40
        progress.batch(30, 2.0 * epoch, 1.0);
        summaries.push_back(progress.end_epoch(epoch == 2 ? "test_accuracy 0.5" : ""));
      }
    });
    CHECK(summaries[0].loss == Approx(1.75));
    CHECK(summaries[1].loss == Approx(3.5));
    CHECK(summaries[0].accuracy == Approx(0.875));
    CHECK(summaries[1].epoch == 2);
    CHECK(summaries[1].images_per_second > 0);

    INFO(out);
    CHECK(std::count(out.begin(), out.end(), '\n') == 2);
    CHECK_THAT(out, Contains("epoch 1/2  loss 1.7500  accuracy 0.8750"));
    CHECK_THAT(out, Contains("epoch 2/2  loss 3.5000  accuracy 0.8750"));
    if (style == ProgressStyle::Bar) {
      // The epoch line overwrites the bar, padded with spaces over its longer text.
      CHECK_THAT(out, Contains("\repoch 1/2  batch 2/2 [") && Contains("\repoch 1/2  loss"));
      CHECK_THAT(out, Contains("test_accuracy 0.5 "));
    } else {
      CHECK(out.find('\r') == std::string::npos);
      CHECK_THAT(out, Contains("test_accuracy 0.5\n"));
    }
  }
}

TEST_CASE("train: Progress::attach drives the display from fit and keeps the callbacks", "[train]") {
  SmallRun run;
  run.options.first_epoch = 4;  // resumed: shown as epochs 1 and 2 of 2
  std::vector<std::int64_t> begun, batches, ended;
  run.options.on_epoch_begin = [&](std::int64_t e) { begun.push_back(e); };
  run.options.on_batch = [&](const nn::BatchReport& b) { batches.push_back(b.batch); };
  run.options.on_epoch = [&](const nn::EpochReport& e) { ended.push_back(e.epoch); };
  nn::FitHistory history;
  const std::string out = captured([&](std::FILE* f) {
    Progress progress(2, 3, f, ProgressStyle::Lines);
    progress.attach(run.options, "test_accuracy");
    history = run.fit(true);
  });
  INFO(out);
  // The callbacks that were there still run, once per epoch / batch.
  CHECK(begun == std::vector<std::int64_t>{4, 5});
  CHECK(batches == std::vector<std::int64_t>{0, 1, 2, 0, 1, 2});
  CHECK(ended == std::vector<std::int64_t>{4, 5});
  // One line per epoch, with the epoch's sample-weighted training means and
  // the validation accuracy under the given label; fit's own lines replaced.
  REQUIRE(std::count(out.begin(), out.end(), '\n') == 2);
  for (int e = 0; e < 2; ++e) {
    const nn::EpochReport& r = history.epochs[static_cast<std::size_t>(e)];
    char expected[160];
    std::snprintf(expected, sizeof expected, "epoch %d/2  loss %.4f  accuracy %.4f  images/s ", e + 1, r.train_loss,
                  r.train_accuracy);
    CHECK_THAT(out, Contains(expected));
    std::snprintf(expected, sizeof expected, "  test_accuracy %.4f\n", *r.val_accuracy);
    CHECK_THAT(out, Contains(expected));
  }
  CHECK_THAT(out, !Contains("val accuracy"));  // fit's default line ("..., val loss ... val accuracy ...")

  // Without validation data the lines carry no accuracy label.
  SmallRun quiet;
  const std::string plain = captured([&](std::FILE* f) {
    Progress progress(2, 3, f, ProgressStyle::Lines);
    progress.attach(quiet.options);
    quiet.fit(false);
  });
  CHECK(std::count(plain.begin(), plain.end(), '\n') == 2);
  CHECK_THAT(plain, Contains("epoch 2/2  loss ") && !Contains("val_accuracy"));
}

// ---- metrics files ----------------------------------------------------------------

TEST_CASE("train: metrics JSON has the five keys and round-trips", "[train]") {
  RunMetrics m;
  m.test_accuracy = 0.9812;
  m.train_loss = 1.0 / 3.0;
  m.epochs = 5;
  m.seconds = 12.5;
  m.images_per_second = 24000.25;
  CHECK(metrics_json(m) ==
        "{\"test_accuracy\":0.9812, \"train_loss\":0.3333333333333333, \"epochs\":5, \"seconds\":12.5, "
        "\"images_per_second\":24000.25}");

  m.extra = {{"model", std::string("lenet \"5\"")}, {"batch_size", std::int64_t{64}}, {"augment", false},
             {"lr", 0.05}, {"bad", std::nan("")}};
  TempDir dir;
  const fs::path file = dir.path / "sub" / "metrics.json";  // the missing directory is created
  write_metrics_json(file, m);
  const std::string text = read_text(file);
  CHECK(text == metrics_json(m) + "\n");
  CHECK(json_number_at(text, "test_accuracy") == 0.9812);
  CHECK(json_number_at(text, "train_loss") == 1.0 / 3.0);
  CHECK(json_number_at(text, "epochs") == 5);
  CHECK(json_number_at(text, "seconds") == 12.5);
  CHECK(json_number_at(text, "images_per_second") == 24000.25);
  CHECK(json_number_at(text, "batch_size") == 64);
  CHECK_THAT(text, Contains("\"model\":\"lenet \\\"5\\\"\"") && Contains("\"augment\":false") &&
                       Contains("\"bad\":null"));

  // Atomic replacement: the second write replaces the file and leaves no temporary behind.
  m.test_accuracy = 0.5;
  write_metrics_json(file, m);
  CHECK(json_number_at(read_text(file), "test_accuracy") == 0.5);
  CHECK(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator{}) == 1);

  m.extra = {{"epochs", std::int64_t{3}}};
  CHECK_THROWS_WITH(metrics_json(m), Contains("\"epochs\" appears twice"));
  m.extra.clear();
  std::ofstream(dir.path / "plain") << "x";  // a file where a directory should be
  CHECK_THROWS_WITH(write_metrics_json(dir.path / "plain" / "m.json", m), Contains("plain"));
}

TEST_CASE("train: history.csv round-trips exactly", "[train]") {
  manual_seed(5);
  const std::vector<double> noise = randn({20}, kFloat64).to_vector<double>();
  std::vector<BatchRecord> history;
  for (int i = 0; i < 20; ++i)
    history.push_back({1 + i / 8, 1 + i % 8, std::exp(noise[i]), 0.5 + noise[i] / 10});
  history.push_back({3, 5, 1e-300, 0.1});

  TempDir dir;
  const fs::path file = dir.path / "history.csv";
  write_history_csv(file, history);
  const std::string text = read_text(file);
  CHECK(text.rfind("epoch,batch,loss,accuracy\n1,1,", 0) == 0);
  CHECK_THAT(text, Contains("\n3,5,1e-300,0.1\n"));

  const std::vector<BatchRecord> back = read_history_csv(file);
  REQUIRE(back.size() == history.size());
  for (std::size_t i = 0; i < history.size(); ++i) {
    CHECK(back[i].epoch == history[i].epoch);
    CHECK(back[i].batch == history[i].batch);
    CHECK(back[i].loss == history[i].loss);  // exact: shortest round-trip text
    CHECK(back[i].accuracy == history[i].accuracy);
  }

  std::ofstream(dir.path / "bad.csv") << "epoch,batch,loss,accuracy\n1,1,0.5,0.5\n1,2,zero,0.5\n";
  CHECK_THROWS_WITH(read_history_csv(dir.path / "bad.csv"), Contains("bad.csv:3") && Contains("1,2,zero,0.5"));
  CHECK_THROWS_WITH(read_history_csv(dir.path / "missing.csv"), Contains("missing.csv"));
}

TEST_CASE("train: run_metrics and batch_records summarise a fit history", "[train]") {
  SmallRun run;
  const nn::FitHistory history = run.fit(true);
  REQUIRE(history.epochs.size() == 2);
  REQUIRE(history.batches.size() == 6);

  const RunMetrics m = run_metrics(history);
  CHECK(m.epochs == 2);
  CHECK(m.train_loss == history.epochs[1].train_loss);
  CHECK(m.test_accuracy == *history.epochs[1].val_accuracy);
  CHECK(m.seconds == history.epochs[0].seconds + history.epochs[1].seconds);
  CHECK(m.images_per_second == Approx(80 / m.seconds));  // 2 epochs of 40 samples
  CHECK(m.extra.empty());

  const std::vector<BatchRecord> records = batch_records(history);
  REQUIRE(records.size() == 6);
  for (std::size_t i = 0; i < records.size(); ++i) {
    INFO("record " << i);
    CHECK(records[i].epoch == static_cast<std::int64_t>(i / 3 + 1));  // 1-based
    CHECK(records[i].batch == static_cast<std::int64_t>(i % 3 + 1));
    CHECK(records[i].loss == history.batches[i].loss);
    CHECK(records[i].accuracy == history.batches[i].accuracy);
  }
  // The epoch's mean is the sample-weighted mean of its batches (16, 16, 8).
  CHECK(history.epochs[0].train_loss ==
        Approx((16 * records[0].loss + 16 * records[1].loss + 8 * records[2].loss) / 40));

  // No validation data: test_accuracy stays 0; no epochs: all zero.
  SmallRun unvalidated;
  CHECK(run_metrics(unvalidated.fit(false)).test_accuracy == 0);
  const RunMetrics none = run_metrics(nn::FitHistory{});
  CHECK(none.epochs == 0);
  CHECK(none.seconds == 0);
  CHECK(none.images_per_second == 0);
  CHECK(batch_records(nn::FitHistory{}).empty());
}

TEST_CASE("train: numbers are written exactly and read strictly", "[train]") {
  CHECK(number_text(0.1) == "0.1");
  CHECK(number_text(1e-5) == "1e-05");
  CHECK(number_text(3) == "3");
  CHECK(number_text(-2.5) == "-2.5");
  CHECK(number_text(1e-300) == "1e-300");
  CHECK(number_text(std::nan("")) == "nan");
  CHECK(number_text(-HUGE_VAL) == "-inf");
  manual_seed(11);
  for (const double v : randn({200}, kFloat64).to_vector<double>()) {
    const double scaled = v * std::pow(10.0, 40 * v);  // magnitudes far from 1 too
    INFO(number_text(scaled));
    CHECK(parse_number(number_text(scaled)) == scaled);
  }
  CHECK(parse_number("2.5e3") == 2500.0);
  for (const char* bad : {"", " 1", "1 ", "+1", "1,5", "0.1x", "--1"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_number(bad));
  }
  CHECK(parse_integer("-42") == std::int64_t{-42});
  CHECK(parse_integer("9223372036854775807") == INT64_MAX);
  for (const char* bad : {"", "2.5", "1e3", "+7", "9223372036854775808", "12a"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_integer(bad));
  }
}

// ---- the metrics logger -----------------------------------------------------------

namespace {

// The lines of a text file, without their "\n".
std::vector<std::string> lines_of(const fs::path& file) {
  std::vector<std::string> lines;
  std::istringstream in(read_text(file));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The cells of a CSV line without quoted fields.
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  for (std::size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
    cells.push_back(line.substr(start, comma - start));
  cells.push_back(line.substr(start));
  return cells;
}

// The text of the value after `"key":` in a one-line JSON object of numbers.
std::string json_text_at(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  const std::size_t start = at + key.size() + 3;
  return json.substr(start, json.find_first_of(",}", start) - start);
}

}  // namespace

TEST_CASE("train: MetricsLogger writes every row to CSV and JSON lines, exactly", "[train]") {
  TempDir dir;
  const fs::path csv = dir.path / "run" / "log.csv", jsonl = dir.path / "run" / "log.jsonl";  // "run/" is created
  const double third = 1.0 / 3.0, tiny = 1e-300;
  {
    MetricsLogger logger(csv, jsonl);
    logger.log({{"epoch", std::int64_t{1}}, {"loss", third}});
    logger.log({{"epoch", std::int64_t{2}}, {"loss", tiny}, {"lr", 0.05}});      // adds a column
    logger.log({{"epoch", std::int64_t{3}}, {"lr", 0.025}});                      // lacks "loss"
    logger.log({{"epoch", std::int64_t{4}}, {"loss", std::nan("")}, {"note", std::string("a, \"b\"\nc")},
                {"best", true}, {"lr", HUGE_VAL}});
    CHECK(logger.columns() == std::vector<std::string>{"epoch", "loss", "lr", "note", "best"});
    logger.close();
  }
  CHECK(read_text(csv) ==
        "epoch,loss,lr,note,best\n"
        "1,0.3333333333333333,,,\n"
        "2,1e-300,0.05,,\n"
        "3,,0.025,,\n"
        "4,nan,inf,\"a, \"\"b\"\"\nc\",true\n");
  CHECK(read_text(jsonl) ==
        "{\"epoch\":1, \"loss\":0.3333333333333333}\n"
        "{\"epoch\":2, \"loss\":1e-300, \"lr\":0.05}\n"
        "{\"epoch\":3, \"lr\":0.025}\n"
        "{\"epoch\":4, \"loss\":null, \"note\":\"a, \\\"b\\\"\\u000ac\", \"best\":true, \"lr\":null}\n");
  // The numbers read back exactly.
  const std::vector<std::string> rows = lines_of(csv), json = lines_of(jsonl);
  CHECK(parse_number(cells_of(rows[1])[1]) == third);
  CHECK(parse_number(cells_of(rows[2])[1]) == tiny);
  CHECK(parse_number(json_text_at(json[0], "loss")) == third);
  CHECK(parse_number(json_text_at(json[1], "loss")) == tiny);
  CHECK(listing(dir.path / "run") == std::vector<std::string>{"log.csv", "log.jsonl"});  // no temporary left

  // Keys are quoted in the header like any field; one path alone is fine.
  {
    MetricsLogger csv_only(dir.path / "keys.csv", "");
    csv_only.log({{"loss, train", 0.5}, {"acc", std::int64_t{-3}}});
  }  // the destructor closes
  CHECK(read_text(dir.path / "keys.csv") == "\"loss, train\",acc\n0.5,-3\n");
  CHECK_FALSE(fs::exists(dir.path / "keys.jsonl"));
}

TEST_CASE("train: MetricsLogger streams JSON lines and rewrites the CSV by its interval", "[train]") {
  TempDir dir;
  const fs::path csv = dir.path / "log.csv", jsonl = dir.path / "log.jsonl";
  SECTION("JSON lines are in the file after every log(), before close()") {
    MetricsLoggerOptions only_on_flush;
    only_on_flush.csv_interval_seconds = HUGE_VAL;
    MetricsLogger logger(csv, jsonl, only_on_flush);
    CHECK(read_text(jsonl).empty());  // created (truncated) at once
    CHECK_FALSE(fs::exists(csv));     // checked writable, not yet written
    for (std::int64_t step = 1; step <= 3; ++step) {
      logger.log({{"step", step}, {"loss", 0.5 * static_cast<double>(step)}});
      const std::vector<std::string> lines = lines_of(jsonl);
      REQUIRE(lines.size() == static_cast<std::size_t>(step));
      CHECK(lines.back() == "{\"step\":" + std::to_string(step) + ", \"loss\":" + number_text(0.5 * step) + "}");
      CHECK_FALSE(fs::exists(csv));
    }
    logger.flush();
    CHECK(read_text(csv) == "step,loss\n1,0.5\n2,1\n3,1.5\n");
    logger.log({{"step", std::int64_t{4}}, {"loss", 2.0}, {"lr", 0.1}});
    CHECK(lines_of(csv).size() == 4);  // not rewritten by log()
    logger.close();
    CHECK(read_text(csv) == "step,loss,lr\n1,0.5,\n2,1,\n3,1.5,\n4,2,0.1\n");
    CHECK(lines_of(jsonl).size() == 4);
    CHECK_THROWS_AS(logger.log({{"step", std::int64_t{5}}}), std::logic_error);
    logger.close();  // again: nothing to do
    logger.flush();
  }
  SECTION("an interval of 0 rewrites the CSV on every log()") {
    MetricsLoggerOptions every_row;
    every_row.csv_interval_seconds = 0;
    MetricsLogger logger(csv, jsonl, every_row);
    logger.log({{"a", 1.0}});
    CHECK(read_text(csv) == "a\n1\n");
    logger.log({{"b", 2.0}});
    CHECK(read_text(csv) == "a,b\n1,\n,2\n");
  }
}

TEST_CASE("train: MetricsLogger refuses bad rows and unwritable files, naming them", "[train]") {
  TempDir dir;
  const fs::path csv = dir.path / "log.csv", jsonl = dir.path / "log.jsonl";
  {
    MetricsLogger logger(csv, jsonl);
    logger.log({{"epoch", std::int64_t{1}}, {"loss", 0.5}});
    // A refused row changes nothing.
    CHECK_THROWS_WITH(logger.log({{"epoch", std::int64_t{2}}, {"acc", 0.5}, {"epoch", std::int64_t{3}}}),
                      Contains("MetricsLogger::log") && Contains("key \"epoch\" appears twice"));
    CHECK_THROWS_AS(logger.log({{"epoch", std::int64_t{2}}, {"loss", 0.5}, {"loss", 0.5}}), std::invalid_argument);
    CHECK_THROWS_WITH(logger.log({{"epoch", std::int64_t{2}}, {"", 0.5}}),
                      Contains("key of entry 2 of the row is empty"));
    CHECK_THROWS_WITH(logger.log({}), Contains("the row is empty"));
    CHECK(logger.columns() == std::vector<std::string>{"epoch", "loss"});
    CHECK(lines_of(jsonl).size() == 1);
  }
  CHECK(read_text(csv) == "epoch,loss\n1,0.5\n");

  CHECK_THROWS_AS(MetricsLogger(csv, csv), std::invalid_argument);
  MetricsLoggerOptions negative;
  negative.csv_interval_seconds = -1;
  CHECK_THROWS_WITH(MetricsLogger(csv, "", negative), Contains("csv_interval_seconds must be >= 0"));

  // A regular file where a directory should be (fails as root too).
  std::ofstream(dir.path / "plain") << "x";
  const fs::path bad_csv = dir.path / "plain" / "log.csv", bad_jsonl = dir.path / "plain" / "log.jsonl";
  CHECK_THROWS_WITH(MetricsLogger(bad_csv, ""), Contains("MetricsLogger") && Contains(bad_csv.string()));
  CHECK_THROWS_WITH(MetricsLogger("", bad_jsonl), "MetricsLogger: cannot create the directory '" +
                                                      (dir.path / "plain").string() + "' for '" + bad_jsonl.string() +
                                                      "': Not a directory");
  CHECK_THROWS_WITH(MetricsLogger("", dir.path / "log.jsonl" / "x.jsonl"), Contains("log.jsonl"));
}

TEST_CASE("train: a MetricsLogger whose CSV cannot be written at close still writes its JSON lines", "[train]") {
  TempDir dir;
  const fs::path csv = dir.path / "csv" / "log.csv", jsonl = dir.path / "json" / "log.jsonl";
  SECTION("close() reports the failure and a second close() retries") {
    MetricsLogger logger(csv, jsonl);
    logger.log({{"loss", 0.25}});
    fs::remove_all(dir.path / "csv");
    std::ofstream(dir.path / "csv") << "x";  // the CSV's directory is now a file
    CHECK_THROWS_WITH(logger.close(), Contains("MetricsLogger::close") && Contains(csv.string()) &&
                                          !Contains(jsonl.string()));
    CHECK(read_text(jsonl) == "{\"loss\":0.25}\n");
    fs::remove(dir.path / "csv");
    logger.close();
    CHECK(read_text(csv) == "loss\n0.25\n");
  }
  SECTION("the destructor swallows the failure, and the JSON-lines file is still written") {
    {
      MetricsLogger logger(csv, jsonl);
      logger.log({{"loss", 0.25}});
      fs::remove_all(dir.path / "csv");
      std::ofstream(dir.path / "csv") << "x";
    }
    CHECK(read_text(jsonl) == "{\"loss\":0.25}\n");
  }
}

TEST_CASE("train: MetricsLogger::attach logs one row per fit epoch and chains with Progress", "[train]") {
  for (const bool logger_first : {true, false}) {
    INFO("logger attached " << (logger_first ? "before" : "after") << " the progress display");
    TempDir dir;
    SmallRun run;
    std::vector<std::int64_t> ended;
    run.options.on_epoch = [&](const nn::EpochReport& e) { ended.push_back(e.epoch); };  // the user's own
    run.options.epochs = 3;
    run.options.validation_interval = 2;  // epoch 1 without validation, 2 and 3 (the last) with
    nn::FitHistory history;
    const std::string out = captured([&](std::FILE* f) {
      MetricsLogger logger(dir.path / "epochs.csv", dir.path / "epochs.jsonl");
      Progress progress(3, 3, f, ProgressStyle::Lines);
      if (logger_first) logger.attach(run.options);
      progress.attach(run.options);
      if (!logger_first) logger.attach(run.options);
      history = run.fit(true);
      CHECK(lines_of(dir.path / "epochs.jsonl").size() == 3);  // streamed during fit
      logger.close();
    });
    CHECK(ended == std::vector<std::int64_t>{0, 1, 2});
    CHECK(std::count(out.begin(), out.end(), '\n') == 3);  // the display's lines

    const std::vector<std::string> csv = lines_of(dir.path / "epochs.csv");
    REQUIRE(csv.size() == 4);
    // Epoch 1 had no validation: its columns come after the ones it had.
    CHECK(csv[0] == "epoch,train_loss,train_accuracy,seconds,samples,val_loss,val_accuracy");
    const std::vector<std::string> json = lines_of(dir.path / "epochs.jsonl");
    REQUIRE(json.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
      INFO("epoch " << e + 1);
      const nn::EpochReport& r = history.epochs[e];
      CHECK(parse_integer(json_text_at(json[e], "epoch")) == static_cast<std::int64_t>(e + 1));
      CHECK(parse_number(json_text_at(json[e], "train_loss")) == r.train_loss);
      CHECK(parse_number(json_text_at(json[e], "seconds")) == r.seconds);
      CHECK(parse_integer(json_text_at(json[e], "samples")) == std::int64_t{40});
      CHECK((json[e].find("\"val_loss\":") != std::string::npos) == r.val_loss.has_value());
      if (r.val_accuracy) CHECK(parse_number(json_text_at(json[e], "val_accuracy")) == *r.val_accuracy);
      const std::string row = std::to_string(e + 1) + "," + number_text(r.train_loss) + "," +
                              number_text(r.train_accuracy) + "," + number_text(r.seconds) + ",40";
      CHECK(csv[e + 1] == (r.val_loss ? row + "," + number_text(*r.val_loss) + "," + number_text(*r.val_accuracy)
                                      : row + ",,"));
    }
    CHECK_FALSE(history.epochs[0].val_loss);
    CHECK(history.epochs[1].val_loss);
  }
}

// ---- the atomic file writer -----------------------------------------------------

TEST_CASE("train: write_file_atomically replaces a file and leaves nothing else", "[train]") {
  TempDir dir;
  const fs::path file = dir.path / "notes.txt";
  write_file_atomically(file, "first\n");
  CHECK(read_text(file) == "first\n");
  write_file_atomically(file, std::string("second\0with a NUL\n", 18));
  CHECK(read_text(file) == std::string("second\0with a NUL\n", 18));
  write_file_atomically(file, "");
  CHECK(fs::file_size(file) == 0);
  CHECK(listing(dir.path) == std::vector<std::string>{"notes.txt"});

  // Readable by others, as a file written with the usual umask would be (mkstemp's 0600 is widened).
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);

  // A relative path without a directory goes to the working directory.
  {
    struct RestoreCwd {
      fs::path old = fs::current_path();
      ~RestoreCwd() { fs::current_path(old); }
    } restore;
    fs::current_path(dir.path);
    write_file_atomically("relative.txt", "here");
  }
  CHECK(read_text(dir.path / "relative.txt") == "here");
}

TEST_CASE("train: write_file_atomically creates directories only when asked", "[train]") {
  TempDir dir;
  const fs::path nested = dir.path / "a" / "b" / "c.json";
  CHECK_THROWS_WITH(write_file_atomically(nested, "{}"),
                    Contains("write_file_atomically: cannot create a temporary file next to '" + nested.string() +
                             "': No such file or directory"));
  CHECK(listing(dir.path).empty());
  write_file_atomically(nested, "{}", {/*create_directories*/ true});
  CHECK(read_text(nested) == "{}");
  CHECK(listing(dir.path / "a" / "b") == std::vector<std::string>{"c.json"});

  // A file where a directory should be: the message names it and uses the context.
  std::ofstream(dir.path / "plain") << "x";
  AtomicWriteOptions o;
  o.create_directories = true;
  o.context = "write_metrics_json";
  CHECK_THROWS_WITH(write_file_atomically(dir.path / "plain" / "m.json", "{}", o),
                    Contains("write_metrics_json: cannot create the directory '" + (dir.path / "plain").string() + "'"));
}

TEST_CASE("train: write_file_atomically refuses what is not a file and cleans up after a failed rename", "[train]") {
  TempDir dir;
  CHECK_THROWS_AS(write_file_atomically("", "x"), std::invalid_argument);
  CHECK_THROWS_WITH(write_file_atomically(dir.path / "sub/", "x"), Contains("is not a file name"));

  // A directory in the way: the rename fails, the temporary file is removed and
  // the directory is untouched.
  fs::create_directories(dir.path / "taken" / "inside");
  CHECK_THROWS_WITH(write_file_atomically(dir.path / "taken", "x", {false, "save"}),
                    Contains("save: cannot rename the temporary file to '" + (dir.path / "taken").string() + "'"));
  CHECK(listing(dir.path) == std::vector<std::string>{"taken"});
  CHECK(listing(dir.path / "taken") == std::vector<std::string>{"inside"});
}
