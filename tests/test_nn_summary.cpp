// nn::summary: output shapes and parameter counts of the leaf modules, the
// printed table, and that the pass leaves the model's modes and RNG alone.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using namespace tg::nn;
using Catch::Contains;

TEST_CASE("summary lists leaf modules with output shapes and parameter counts", "[nn]") {
  auto net = std::make_shared<Sequential>(
      std::make_shared<Linear>(784, 32), std::make_shared<ReLU>(), std::make_shared<Dropout>(0.5),
      std::make_shared<Sequential>(std::make_shared<Linear>(32, 10), std::make_shared<LogSoftmax>(1)));
  net->at<Sequential>(3)->train();
  net->at<Dropout>(2)->eval();
  manual_seed(4);
  const ModelSummary s = summary(*net, {16, 784});
  REQUIRE(s.rows.size() == 5);
  CHECK(s.rows[0].path == "0");
  CHECK(s.rows[0].type == "Linear");
  CHECK(s.rows[0].output_shape == Shape{16, 32});
  CHECK(s.rows[0].parameters == 784 * 32 + 32);
  CHECK(s.rows[2].type == "Dropout");
  CHECK(s.rows[2].parameters == 0);
  CHECK(s.rows[3].path == "3.0");
  CHECK(s.rows[3].output_shape == Shape{16, 10});
  CHECK(s.rows[3].parameters == 330);
  CHECK(s.rows[4].path == "3.1");
  CHECK(s.output_shape == Shape{16, 10});
  CHECK(s.total_parameters == 25120 + 330);
  CHECK(s.trainable_parameters == 25120 + 330);
  // Modes are restored exactly, and the pass drew no random numbers (Dropout ran in eval).
  CHECK(net->is_training());
  CHECK(net->at<Sequential>(3)->is_training());
  CHECK_FALSE(net->at<Dropout>(2)->is_training());
  const double after = randn({1}).item();
  manual_seed(4);
  CHECK(randn({1}).item() == after);

  const std::string table = s.str();
  CHECK_THAT(table, Contains("Layer") && Contains("Output shape") && Contains("Param #"));
  CHECK_THAT(table, Contains("3.0    Linear      [16,10]           330"));
  CHECK_THAT(table, Contains("Total params: 25,450"));
  CHECK_THAT(table, Contains("Input shape [16,784], output shape [16,10]"));
}

TEST_CASE("summary of a single layer, and errors keep their module path", "[nn]") {
  Linear fc(3, 4);
  const ModelSummary s = summary(fc, {2, 3});
  REQUIRE(s.rows.size() == 1);
  CHECK(s.rows[0].path.empty());
  CHECK(s.rows[0].parameters == 16);
  CHECK_THAT(s.str(), Contains("(model)"));
  Sequential bad(std::make_shared<Linear>(3, 4), std::make_shared<Linear>(5, 1));
  CHECK_THROWS_WITH(summary(bad, {1, 3}), Catch::StartsWith("Sequential[1] Linear(5->1): input has 4 features"));
  CHECK(bad.is_training());
}
