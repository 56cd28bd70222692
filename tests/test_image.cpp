// tg::image — matrix convolution, box blur, edge detection and pattern
// finding, on top of conv2d, against hand-computed answers. Gradient checks and
// errors are the filters' declarations (ops/image.cpp, run by
// tests/test_op_declarations.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;

namespace {

using testing::check_values;

// The cross pattern placed with np.pad(pattern, [(12, 12), (10, 14)]):
// a 27x27 image whose cross is centred on row 13, column 11.
Tensor cross_pattern() { return tensor({0, 1, 0, 1, 1, 1, 0, 1, 0}, {3, 3}, kFloat64); }
Tensor cross_image() { return pad2d(cross_pattern(), {10, 14, 12, 12}); }

}  // namespace

TEST_CASE("conv_matrix matches a hand-computed case", "[image][known]") {
  const Tensor X = tensor({1, 2, 3, 2, 3, 4, 3, 4, 5}, {3, 3});
  const Tensor K = tensor({1, 0, 0, 0, 1, 0, 0, 0, 2}, {3, 3});  // eye(3) with K[2,2] = 2
  check_values(image::conv_matrix(X, K), {7, 10, 3, 10, 14, 6, 3, 6, 8});
}

TEST_CASE("conv_matrix with a non-square odd kernel follows the definition", "[image]") {
  // Y[i,j] = sum_{a,b} K[a,b] X[i+a-p, j+b-q] with p = 0, q = 1: a horizontal [1 2 3] filter.
  const Tensor X = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  check_values(image::conv_matrix(X, tensor({1, 2, 3}, {1, 3})), {2 + 6, 1 + 4 + 9, 2 + 6, 8 + 15, 4 + 10 + 18, 5 + 12});
}

TEST_CASE("box_blur matches a hand-computed case", "[image][known]") {
  const Tensor img = tensor({9, 0, 9, 0, 0, 0, 9, 0, 9}, {3, 3});
  check_values(image::box_blur(img, 3), {1, 2, 1, 2, 4, 2, 1, 2, 1});
  // A constant image keeps its value wherever the box lies inside it.
  const Tensor flat = image::box_blur(full({5, 5}, 2.0, kFloat64), 3);
  CHECK(flat.to_vector<double>()[12] == 2.0);
  CHECK(flat.to_vector<double>()[0] == Approx(8.0 / 9.0));  // a corner box sees 4 of its 9 pixels
}

TEST_CASE("gradient_amplitude is sqrt(Xh^2 + Xv^2) with central-difference kernels", "[image][known]") {
  const Tensor X = tensor({1, 2, 3, 2, 3, 4, 3, 4, 5}, {3, 3}, kFloat64);
  const Tensor g = image::gradient_amplitude(X);
  // By hand (zero padding): centre Xh = 4-2, Xv = 4-2; (0,1): Xh = 3-1, Xv = 3-0.
  CHECK(g.to_vector<double>()[4] == Approx(std::sqrt(8.0)));
  CHECK(g.to_vector<double>()[1] == Approx(std::sqrt(13.0)));
  // The definition, through conv_matrix.
  const Tensor h = image::conv_matrix(X, tensor({-1, 0, 1}, {1, 3}));
  const Tensor v = image::conv_matrix(X, tensor({-1, 0, 1}, {3, 1}));
  check_values(g, sqrt(h * h + v * v).to_vector<double>(), 1e-12);
}

TEST_CASE("sharpen and edge kernels are the classic Laplacian-based ones", "[image][known]") {
  check_values(image::sharpen_kernel(), {0, -1, 0, -1, 5, -1, 0, -1, 0});
  check_values(image::edge_kernel(), {-1, -1, -1, -1, 8, -1, -1, -1, -1});
  // Inside a constant image: sharpen keeps the value, edge detection gives 0.
  const Tensor c = full({4, 4}, 3.0, kFloat64);
  CHECK(image::conv_matrix(c, image::sharpen_kernel()).to_vector<double>()[5] == 3.0);
  CHECK(image::conv_matrix(c, image::edge_kernel()).to_vector<double>()[5] == 0.0);
}

TEST_CASE("find_pattern locates a cross", "[image][known]") {
  Tensor response;
  const auto at = image::find_pattern(cross_image(), cross_pattern(), &response);
  CHECK(at == std::pair<std::int64_t, std::int64_t>{13, 11});
  REQUIRE(response.shape() == Shape{27, 27});
  CHECK(response.to_vector<double>()[13 * 27 + 11] == 5.0);  // all five cross pixels line up

  // A noisy version: 0.5 * image + 0.5 * uniform noise.
  manual_seed(30);
  const Tensor noisy = cross_image() * 0.5 + rand({27, 27}, kFloat64) * 0.5;
  CHECK(image::find_pattern(noisy, cross_pattern()) == std::pair<std::int64_t, std::int64_t>{13, 11});
}
