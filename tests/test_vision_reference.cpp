// tapegrad's vision ops against PyTorch: the cases of
// tests/data/vision_ops_reference.txt, written by
// tests/torch_reference/vision_ops.py with PyTorch (never run here), run
// through tapegrad by name in float64 and in float32. These ops add up
// products in an order of their own, so values agree within a tolerance
// (float64: 1e-12, float32: 1e-5 relative); a call PyTorch refuses must throw
// std::invalid_argument here. Also: the vision modules' parameters, defaults and printing.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"
#include "torch_reference_file.hpp"

using namespace tg;

namespace {

using Case = testing::ReferenceCase;

// The same names, and the same calls, as CASES in tests/torch_reference/vision_ops.py.
const std::map<std::string, Case>& cases() {
  using V = const std::vector<Tensor>&;
  static const std::map<std::string, Case> all = {
      {"conv2d_groups2_stride2", [](V v) { return conv2d(v[0], v[1], v[2], 2, 1, 1, 2); }},
      {"conv2d_depthwise", [](V v) { return conv2d(v[0], v[1], Tensor(), 1, 1, 1, 3); }},
      {"conv2d_depthwise_x2_dilation2", [](V v) { return conv2d(v[0], v[1], v[2], 1, 0, 2, 2); }},
      {"conv2d_groups_bad", [](V v) { return conv2d(v[0], v[1], Tensor(), 1, 0, 1, 2); }},
      {"conv_transpose2d_plain", [](V v) { return conv_transpose2d(v[0], v[1], v[2]); }},
      {"conv_transpose2d_stride2_pad1_outpad1", [](V v) { return conv_transpose2d(v[0], v[1], v[2], 2, 1, 1); }},
      {"conv_transpose2d_groups2_dilation2",
       [](V v) { return conv_transpose2d(v[0], v[1], Tensor(), {2, 1}, {1, 0}, {1, 0}, 2, 2); }},
      {"conv_transpose2d_outpad_under_dilation",
       [](V v) { return conv_transpose2d(v[0], v[1], v[2], 1, 1, 1, 1, 2); }},
      {"conv_transpose2d_depthwise", [](V v) { return conv_transpose2d(v[0], v[1], Tensor(), 2, 0, 0, 3); }},
      {"conv_transpose2d_outpad_too_large", [](V v) { return conv_transpose2d(v[0], v[1], Tensor(), 2, 0, 2); }},
      {"conv_transpose2d_groups_bad", [](V v) { return conv_transpose2d(v[0], v[1], Tensor(), 1, 0, 0, 2); }},
      {"max_pool2d_2x2_odd_plane_ties", [](V v) { return max_pool2d(v[0], 2); }},
      {"max_pool2d_3x3_stride2_pad1_ties", [](V v) { return max_pool2d(v[0], 3, Size2(2), 1); }},
      {"max_pool2d_2x3_stride_1x2_pad1", [](V v) { return max_pool2d(v[0], {2, 3}, Size2{1, 2}, 1); }},
      {"max_pool2d_nan_inf", [](V v) { return max_pool2d(v[0], 2); }},
      {"max_pool2d_nan_inf_3x3_stride1_pad1", [](V v) { return max_pool2d(v[0], 3, Size2(1), 1); }},
      {"avg_pool2d_2x2_odd_plane", [](V v) { return avg_pool2d(v[0], 2); }},
      {"avg_pool2d_3x2_stride_2x1_pad_1x0", [](V v) { return avg_pool2d(v[0], {3, 2}, Size2{2, 1}, {1, 0}); }},
      {"adaptive_avg_5x7_to_3x4", [](V v) { return adaptive_avg_pool2d(v[0], {3, 4}); }},
      {"adaptive_avg_3x2_to_5x3_no_batch", [](V v) { return adaptive_avg_pool2d(v[0], {5, 3}); }},
      {"adaptive_avg_global", [](V v) { return adaptive_avg_pool2d(v[0], 1); }},
      {"adaptive_max_5x7_to_3x4", [](V v) { return adaptive_max_pool2d(v[0], {3, 4}); }},
      {"adaptive_max_6x6_to_4x4_ties", [](V v) { return adaptive_max_pool2d(v[0], 4); }},
      {"adaptive_max_global", [](V v) { return adaptive_max_pool2d(v[0], 1); }},
      {"adaptive_max_nan_inf_to_3x2", [](V v) { return adaptive_max_pool2d(v[0], {3, 2}); }},
      {"nearest_size_5x3", [](V v) { return interpolate(v[0], Size2(5, 3)); }},
      {"nearest_size_7x9_from_3x4", [](V v) { return interpolate(v[0], Size2(7, 9)); }},
      {"nearest_scale_2", [](V v) { return interpolate(v[0], std::nullopt, ScaleFactor(2)); }},
      {"nearest_scale_1.5_0.5", [](V v) { return interpolate(v[0], std::nullopt, ScaleFactor(1.5, 0.5)); }},
      {"nearest_scale_1.7", [](V v) { return interpolate(v[0], std::nullopt, ScaleFactor(1.7)); }},
      {"bilinear_size_5x7", [](V v) { return interpolate(v[0], Size2(5, 7), std::nullopt, "bilinear"); }},
      {"bilinear_size_down_3x2", [](V v) { return interpolate(v[0], Size2(3, 2), std::nullopt, "bilinear"); }},
      {"bilinear_align_corners_5x7",
       [](V v) { return interpolate(v[0], Size2(5, 7), std::nullopt, "bilinear", true); }},
      {"bilinear_scale_1.7", [](V v) { return interpolate(v[0], std::nullopt, ScaleFactor(1.7), "bilinear"); }},
      {"bilinear_scale_2.5_0.6_align_corners",
       [](V v) { return interpolate(v[0], std::nullopt, ScaleFactor(2.5, 0.6), "bilinear", true); }},
      {"bilinear_align_corners_to_1x2",
       [](V v) { return interpolate(v[0], Size2(1, 2), std::nullopt, "bilinear", true); }},
      {"nearest_align_corners", [](V v) { return interpolate(v[0], Size2(4), std::nullopt, "nearest", false); }},
      {"interpolate_size_and_scale", [](V v) { return interpolate(v[0], Size2(4), ScaleFactor(2.0)); }},
      {"pixel_shuffle_2", [](V v) { return pixel_shuffle(v[0], 2); }},
      {"pixel_shuffle_3_no_batch", [](V v) { return pixel_shuffle(v[0], 3); }},
      {"pixel_unshuffle_2", [](V v) { return pixel_unshuffle(v[0], 2); }},
      {"pixel_shuffle_bad_channels", [](V v) { return pixel_shuffle(v[0], 2); }},
  };
  return all;
}

// rtol relative above 1 and absolute below: float64 1e-12, float32 1e-5.
testing::Tolerance vision_tolerance(const std::string&, Dtype dtype, const std::string&) {
  return testing::Tolerance{dtype == kFloat64 ? 1e-12 : 1e-5, 0, 1};
}

}  // namespace

TEST_CASE("grouped conv2d, conv_transpose2d, pooling, interpolate and pixel_shuffle agree with PyTorch",
          "[ops][vision][torch_reference]") {
  const std::string file = "tests/data/vision_ops_reference.txt";
  SECTION("float64") { testing::check_against_pytorch(file, cases(), vision_tolerance); }
  SECTION("float32, against the same float64 values") {
    testing::check_against_pytorch(file, cases(), vision_tolerance, {kFloat32});
  }
}

TEST_CASE("conv2d with groups equals separate convolutions of the channel blocks", "[ops][vision]") {
  manual_seed(3);
  const Tensor x = randn({2, 6, 5, 5}, kFloat64), w = randn({4, 3, 3, 3}, kFloat64), b = randn({4}, kFloat64);
  const Tensor grouped = conv2d(x, w, b, 1, 1, 1, 2);
  const Tensor first = conv2d(narrow(x, 1, 0, 3), narrow(w, 0, 0, 2), narrow(b, 0, 0, 2), 1, 1);
  const Tensor second = conv2d(narrow(x, 1, 3, 3), narrow(w, 0, 2, 2), narrow(b, 0, 2, 2), 1, 1);
  const std::vector<double> got = grouped.to_vector<double>(), want = cat({first, second}, 1).to_vector<double>();
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-12));
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>",
          "[ops][vision]") {
  manual_seed(5);
  // stride 2, padding 1, groups 2: conv2d maps [2,4,7,7] -> [2,6,4,4]; output_padding 0 brings 4 back to 7.
  const Tensor x = randn({2, 4, 7, 7}, kFloat64), w = randn({6, 2, 3, 3}, kFloat64), y = randn({2, 6, 4, 4}, kFloat64);
  const double lhs = sum(conv2d(x, w, Tensor(), 2, 1, 1, 2) * y).item<double>();
  const Tensor back = conv_transpose2d(y, w, Tensor(), 2, 1, 0, 2);
  REQUIRE(back.shape() == x.shape());
  CHECK(sum(x * back).item<double>() == Approx(lhs).epsilon(1e-12));
}

TEST_CASE("vision modules: parameters, PyTorch's default init bounds, printing", "[nn][vision]") {
  manual_seed(0);
  nn::Conv2d depthwise(4, 8, 3, 1, 1, 1, 4);
  CHECK(depthwise.weight.shape() == Shape{8, 1, 3, 3});
  CHECK(depthwise(randn({2, 4, 6, 6})).shape() == Shape{2, 8, 6, 6});
  CHECK_THAT(depthwise.extra_repr(), Catch::Contains("groups=4"));
  CHECK_THROWS_WITH(nn::Conv2d(4, 6, 3, 1, 0, 1, 4), Catch::Contains("Conv2d: out_channels 6 is not divisible by groups 4"));

  nn::ConvTranspose2d up(4, 6, 3, 2, 1, 1, 2);
  const auto params = up.named_parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0].first == "weight");
  CHECK(params[1].first == "bias");
  CHECK(up.weight.shape() == Shape{4, 3, 3, 3});  // [in, out/groups, kh, kw]
  // PyTorch's bound 1/sqrt(fan_in) with fan_in = weight.size(1) * kernel area = 3 * 9.
  const double bound = 1.0 / std::sqrt(27.0);
  for (double v : up.bias.to_vector<double>()) CHECK(std::abs(v) <= bound);
  for (double v : up.weight.to_vector<double>()) CHECK(std::abs(v) <= bound);
  CHECK(up(randn({1, 4, 5, 5})).shape() == Shape{1, 6, 10, 10});  // (5-1)*2 - 2 + 3 + 1
  CHECK(up.extra_repr() == "4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2");
  CHECK_THROWS_WITH(nn::ConvTranspose2d(2, 2, 3, 1, 0, 1), Catch::Contains("output_padding (1, 1)"));

  nn::AdaptiveAvgPool2d global(1);
  CHECK(global(randn({2, 3, 5, 4})).shape() == Shape{2, 3, 1, 1});
  CHECK(global.extra_repr() == "output_size=1");
  nn::Upsample twice(std::nullopt, ScaleFactor(2), "bilinear", false);
  CHECK(twice(randn({1, 1, 3, 4})).shape() == Shape{1, 1, 6, 8});
  CHECK(twice.extra_repr() == "scale_factor=2, mode='bilinear', align_corners=false");
  CHECK_THROWS_WITH(nn::Upsample(std::nullopt), Catch::Contains("Upsample: give exactly one of size and scale_factor"));
  nn::PixelShuffle shuffle(2);
  CHECK(shuffle(randn({1, 8, 3, 3})).shape() == Shape{1, 2, 6, 6});
}

TEST_CASE("pixel_shuffle and pixel_unshuffle: known layout, inverse of each other, empty batch", "[ops][vision]") {
  // Channel c*r*r + i*r + j goes to pixel (h*r + i, w*r + j): with one pixel per channel the
  // 4 channels 0..3 become the 2x2 plane [[0, 1], [2, 3]].
  const Tensor x = tensor({0, 1, 2, 3}, {1, 4, 1, 1});
  const Tensor y = pixel_shuffle(x, 2);
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector<double>() == std::vector<double>{0, 1, 2, 3});
  const Tensor z = randn({2, 3, 8, 4, 6});
  CHECK(pixel_shuffle(pixel_unshuffle(z, 2), 2).to_vector<double>() == z.to_vector<double>());
  CHECK(pixel_shuffle(zeros({0, 4, 2, 2}), 2).shape() == Shape{0, 1, 4, 4});
}

TEST_CASE("vision module gradients match finite differences", "[nn][vision]") {
  manual_seed(17);
  auto check = [](nn::Module& m, const Tensor& x) {
    const GradcheckResult r = nn::gradcheck_module(m, x);
    INFO(r.message);
    CHECK(r.passed);
  };
  nn::Conv2d depthwise(4, 8, 3, 2, 1, 1, 4);
  check(depthwise.to(kFloat64), randn({2, 4, 5, 5}, kFloat64));
  nn::ConvTranspose2d up(4, 6, 3, 2, 1, 1, 2);
  check(up.to(kFloat64), randn({2, 4, 3, 3}, kFloat64));
  nn::ConvTranspose2d dilated(2, 3, {2, 3}, 1, 0, 0, 1, false, 2);
  check(dilated.to(kFloat64), randn({1, 2, 3, 4}, kFloat64));
  nn::AdaptiveMaxPool2d pool({2, 3});
  check(pool, randn({2, 2, 5, 7}, kFloat64));
  nn::Upsample nearest(Size2(5, 4));
  check(nearest, randn({1, 2, 3, 3}, kFloat64));
}

TEST_CASE("vision modules in nn::summary and checkpoints", "[nn][vision]") {
  auto make = [] {
    return std::make_shared<nn::Sequential>(
        std::make_shared<nn::Conv2d>(4, 8, 3, 1, 1, 1, 4), std::make_shared<nn::ConvTranspose2d>(8, 6, 3, 2, 1, 1, 2),
        std::make_shared<nn::Dropout2d>(0.25), std::make_shared<nn::Upsample>(std::nullopt, ScaleFactor(2)),
        std::make_shared<nn::AdaptiveAvgPool2d>(Size2(3, 2)));
  };
  manual_seed(8);
  auto trained = make();
  // Rows in call order with their output shapes: depthwise 8*1*9+8, transposed 8*3*9+6.
  const nn::ModelSummary s = nn::summary(*trained, {2, 4, 5, 5});
  std::vector<std::string> rows;
  for (const nn::SummaryRow& r : s.rows) rows.push_back(r.path + " " + r.type + " " + std::to_string(r.parameters));
  CHECK(rows == std::vector<std::string>{"0 Conv2d 80", "1 ConvTranspose2d 222", "2 Dropout2d 0", "3 Upsample 0",
                                         "4 AdaptiveAvgPool2d 0"});
  REQUIRE(s.rows.size() == 5);
  CHECK(s.rows[1].output_shape == Shape({2, 6, 10, 10}));
  CHECK(s.rows[3].output_shape == Shape({2, 6, 20, 20}));
  CHECK(s.output_shape == Shape({2, 6, 3, 2}));
  CHECK(s.total_parameters == 302);

  trained->eval();  // Dropout2d is the identity in eval mode
  const Tensor x = randn({2, 4, 5, 5});
  const std::vector<double> expected = (*trained)(x).to_vector();
  testing::TempDir dir;
  save(*trained, dir.file("v.tgck"));
  auto loaded = make();
  loaded->eval();
  CHECK((*loaded)(x).to_vector() != expected);
  load(*loaded, dir.file("v.tgck"));
  CHECK((*loaded)(x).to_vector() == expected);

  io::save_safetensors(*trained, dir.file("v.safetensors"));
  auto from_safetensors = make();
  from_safetensors->eval();
  const io::LoadReport report = io::load_safetensors(*from_safetensors, dir.file("v.safetensors"));
  CHECK(report.missing.empty());
  CHECK(report.unexpected.empty());
  CHECK((*from_safetensors)(x).to_vector() == expected);
  // PyTorch's layout for the transposed convolution: [in, out/groups, kh, kw].
  CHECK(io::read_safetensors(dir.file("v.safetensors")).at("1.weight").shape() == Shape({8, 3, 3, 3}));
}

TEST_CASE("a grouped conv2d keeps its groups for exporters", "[ops][vision][onnx]") {
  const Tensor x = randn({1, 4, 5, 5}).requires_grad_();
  CHECK(conv2d(x, randn({4, 1, 3, 3}), Tensor(), 1, 1, 1, 4).grad_fn()->attributes().ints("groups") ==
        std::vector<std::int64_t>{4});
  CHECK(conv2d(x, randn({2, 4, 3, 3})).grad_fn()->attributes().ints("groups") == std::vector<std::int64_t>{1});
}
