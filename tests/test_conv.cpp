// conv2d / conv1d: hand-computed known answers, a direct loop-based reference,
// float32 vs float64, the parallel path vs the serial one. Gradient checks and
// shape errors are the ops' declarations (ops/conv.cpp, run by
// tests/test_op_declarations.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"

using namespace tg;
using Catch::Contains;

namespace {

using testing::check_values;

// The definition, one output at a time, with explicit per-side padding.
std::vector<double> reference_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Size2 s,
                                     std::array<std::int64_t, 4> pads, Size2 d, std::int64_t OH, std::int64_t OW) {
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const auto bv = b.defined() ? b.to_vector<double>() : std::vector<double>();
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t F = w.size(0), KH = w.size(2), KW = w.size(3);
  std::vector<double> y;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t f = 0; f < F; ++f)
      for (std::int64_t i = 0; i < OH; ++i)
        for (std::int64_t j = 0; j < OW; ++j) {
          double acc = b.defined() ? bv[f] : 0.0;
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t a = 0; a < KH; ++a)
              for (std::int64_t e = 0; e < KW; ++e) {
                const std::int64_t h = i * s.h - pads[0] + a * d.h, v = j * s.w - pads[2] + e * d.w;
                if (h >= 0 && h < H && v >= 0 && v < W)
                  acc += wv[((f * C + c) * KH + a) * KW + e] * xv[((n * C + c) * H + h) * W + v];
              }
          y.push_back(acc);
        }
  return y;
}

// The 5x5 binary image and X-shaped 3x3 kernel of the UFLDL tutorial's
// convolution illustration (Stanford, "Feature extraction using convolution"),
// whose valid output is [[4, 3, 4], [2, 4, 3], [2, 3, 4]].
const std::vector<double> kUfldlImage = {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1,
                                         1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
const std::vector<double> kUfldlKernel = {1, 0, 1, 0, 1, 0, 1, 0, 1};

// A worked example: two 3x3 kernels on the 4x4 image 1..16, forward and backward by hand.
Tensor debug_weights() { return tensor({0, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, -1, 1, 0, 0, 0}, {2, 1, 3, 3}); }
Tensor debug_input() { return (arange(16) + 1.0).detach(); }

}  // namespace

TEST_CASE("conv_output_size follows floor((in + 2p - d(k-1) - 1) / s) + 1", "[conv][known]") {
  CHECK(conv_output_size(28, 3, 1, 1) == 28);
  CHECK(conv_output_size(10, 2, 2, 0) == 5);
  CHECK(conv_output_size(144, 3) == 142);
  CHECK(conv_output_size(60, 3) == 58);
  CHECK(conv_output_size(20, 3, 2) == 9);
  CHECK(conv_output_size(5, 3, 1, 0, 2) == 1);  // dilation 2: a 3-tap kernel spans 5
  CHECK(conv_output_size(4, 5) == 0);           // no window fits
  CHECK_THROWS_WITH(conv_output_size(4, 0), Contains("conv_output_size") && Contains("kernel 0"));
}

TEST_CASE("conv2d matches the UFLDL tutorial's 5x5 example for valid/same and stride 1/2", "[conv][known]") {
  const Tensor x = tensor(kUfldlImage, {1, 1, 5, 5});
  const Tensor k = tensor(kUfldlKernel, {1, 1, 3, 3});
  check_values(conv2d(x, k, Tensor(), 1, "valid"), {4, 3, 4, 2, 4, 3, 2, 3, 4});
  check_values(conv2d(x, k, Tensor(), 1, "same"),
               {2, 2, 3, 1, 1, 1, 4, 3, 4, 1, 1, 2, 4, 3, 3, 1, 2, 3, 4, 1, 0, 2, 2, 1, 1});
  check_values(conv2d(x, k, Tensor(), 2, "valid"), {4, 4, 2, 4});
  check_values(conv2d(x, k, Tensor(), 2, "same"), {2, 3, 1, 1, 4, 3, 0, 2, 1});
  CHECK(conv2d(x, k, Tensor(), 2, "same").shape() == Shape{1, 1, 3, 3});
}

TEST_CASE("\"same\" padding puts the odd pixel at the bottom/right (TensorFlow)", "[conv]") {
  // in 6, kernel 3, stride 2: out ceil(6/2) = 3 needs (3-1)*2 + 3 - 6 = 1 pixel of padding, at the end.
  const Padding same("same");
  const auto p = same.resolve(6, 5, 3, 3, {2, 1}, 1);
  CHECK(p == std::array<std::int64_t, 4>{0, 1, 1, 1});
  const Tensor x = arange(36, kFloat64);
  const Tensor k = ones({1, 1, 3, 3}, kFloat64);
  const Tensor y = conv2d(reshape(x, {1, 1, 6, 6}), k, Tensor(), 2, "same");
  REQUIRE(y.shape() == Shape{1, 1, 3, 3});
  // Window (0,0) covers rows 0..2, columns 0..2 (no top/left padding): 0+1+2+6+7+8+12+13+14.
  CHECK(y.to_vector<double>()[0] == 63);
  // Window (2,2) covers rows 4..5 and columns 4..5 plus the bottom/right padding: 28+29+34+35.
  CHECK(y.to_vector<double>()[8] == 126);
  CHECK(Padding("valid").resolve(6, 6, 3, 3, 1, 1) == std::array<std::int64_t, 4>{0, 0, 0, 0});
  CHECK(Padding(1, 2).str() == "(1, 2)");
  const char* mode = "same";  // a run-time string works as well as a literal
  CHECK(conv2d(reshape(x, {1, 1, 6, 6}), k, Tensor(), 2, mode).shape() == Shape{1, 1, 3, 3});
  CHECK(conv2d(reshape(x, {1, 1, 6, 6}), k, Tensor(), 1, std::string("valid")).shape() == Shape{1, 1, 4, 4});
  CHECK(conv2d(reshape(x, {1, 1, 6, 6}), k, Tensor(), 1, 0).shape() == Shape{1, 1, 4, 4});
  CHECK(same.str() == "'same'");
  CHECK_THROWS_WITH(same.resolve(6, 6, 3, 3, 0, 1), Contains("Padding 'same'") && Contains("stride (0, 0)"));
}

TEST_CASE("conv2d forward and backward match a worked example", "[conv][known]") {
  Tensor x = reshape(debug_input(), {1, 1, 4, 4}).detach().requires_grad_();
  Tensor w = debug_weights().requires_grad_();
  Tensor b = zeros({2}).requires_grad_();
  Tensor y = conv2d(x, w, b);
  check_values(y, {-4, -4, -4, -4, 1, 1, 1, 1});
  y.backward(tensor({-4, -4, 10, 11, 1, -7, 1, -11}, {1, 2, 2, 2}));
  check_values(x.grad(), {0, 0, 0, 0, 0, -5, 4, -7, 0, 13, 27, -11, 0, -10, -11, 0});
  check_values(w.grad(), {104, 117, 130, 156, 169, 182, 208, 221, 234,  //
                          -74, -90, -106, -138, -154, -170, -202, -218, -234});
  check_values(b.grad(), {13, -16});
}

TEST_CASE("conv2d with padding 1 matches the worked example's padded run", "[conv][known]") {
  Tensor x = reshape(debug_input(), {1, 1, 4, 4}).detach().requires_grad_();
  Tensor w = debug_weights().requires_grad_();
  Tensor b = zeros({2}).requires_grad_();
  Tensor y = conv2d(x, w, b, 1, 1);
  check_values(y, {-4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, 13, 14, 15, 16,  //
                   1,  1,  1,  -4, 1,  1,  1,  -8, 1,  1,  1,  -12, 1, 1,  1,  -16});
  std::vector<double> delta(32, 0.0);
  delta[0] = -4, delta[1] = -4, delta[4] = 10, delta[5] = 11;      // channel 0, top-left 2x2
  delta[16] = 1, delta[17] = -7, delta[20] = 1, delta[21] = -11;   // channel 1
  y.backward(tensor(delta, {1, 2, 4, 4}));
  check_values(x.grad(), {-5, 4, -7, 0, 13, 27, -11, 0, -10, -11, 0, 0, 0, 0, 0, 0});
  const auto gw = w.grad().to_vector<double>();
  // Filter 0's gradient and the first entry of filter 1's, computed by hand.
  const std::vector<double> filter0(gw.begin(), gw.begin() + 9);
  CHECK(filter0 == std::vector<double>{11, 32, 53, 51, 104, 117, 79, 156, 169});
  CHECK(gw[9] == -11);
  check_values(b.grad(), {13, -16});
}

TEST_CASE("conv2d equals the direct definition for strides, paddings and dilations", "[conv]") {
  manual_seed(10);
  struct Case {
    Shape x, w;
    Size2 stride;
    Padding padding;
    Size2 dilation;
  };
  const std::vector<Case> cases = {
      {{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 0, 1},         {{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1, 1},
      {{2, 3, 7, 6}, {4, 3, 3, 2}, {2, 1}, {1, 0}, 1}, {{1, 2, 8, 9}, {3, 2, 3, 3}, 2, "same", 1},
      {{1, 2, 8, 9}, {3, 2, 2, 4}, 1, "same", 1},    {{2, 2, 9, 9}, {2, 2, 3, 3}, 1, 2, 2},
      {{3, 4, 5, 5}, {6, 4, 1, 1}, 1, 0, 1},         {{1, 3, 6, 6}, {2, 3, 1, 1}, 2, 1, 1},
      {{1, 1, 4, 4}, {1, 1, 4, 4}, 3, 0, 1},         {{1, 2, 2, 3}, {2, 2, 5, 5}, 1, "same", 1},
      {{2, 1, 1, 3}, {1, 1, 5, 5}, 1, "same", 1},    {{1, 1, 2, 2}, {1, 1, 3, 3}, 1, 3, 1},
      {{1, 2, 6, 6}, {2, 2, 3, 3}, 1, "same", 3},    {{1, 1, 5, 7}, {1, 1, 3, 3}, {1, 3}, "same", 1}};
  for (const Case& c : cases) {
    INFO("x " << c.x.str() << " w " << c.w.str() << " padding " << c.padding.str());
    const Tensor x = randn(c.x, kFloat64), w = randn(c.w, kFloat64), b = randn({c.w[0]}, kFloat64);
    const Tensor y = conv2d(x, w, b, c.stride, c.padding, c.dilation);
    const auto pads = c.padding.resolve(c.x[2], c.x[3], c.w[2], c.w[3], c.stride, c.dilation);
    check_values(y, reference_conv2d(x, w, b, c.stride, pads, c.dilation, y.size(2), y.size(3)), 1e-12);
  }
}

TEST_CASE("a kernel larger than the input fits once padded", "[conv]") {
  CHECK(conv2d(ones({1, 1, 4, 4}), ones({1, 1, 5, 5}), Tensor(), 1, 1).shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("a 1x1 conv is a matrix product over the channels", "[conv]") {
  manual_seed(12);
  const Tensor x = randn({3, 4, 5, 6}, kFloat64), w = randn({7, 4, 1, 1}, kFloat64);
  const Tensor y = conv2d(x, w);
  for (std::int64_t n = 0; n < 3; ++n) {
    const Tensor xn = reshape(narrow(x, n, 1), {4, 30});
    const Tensor yn = matmul(reshape(w, {7, 4}), xn);
    check_values(reshape(narrow(y, n, 1), {7, 30}), yn.to_vector<double>(), 1e-12);
  }
}

TEST_CASE("conv2d in float32 agrees with float64", "[conv]") {
  manual_seed(13);
  const Tensor x = randn({4, 5, 12, 13}, kFloat64), w = randn({6, 5, 3, 3}, kFloat64), b = randn({6}, kFloat64);
  for (const Padding& p : {Padding(0), Padding(1), Padding("same")}) {
    const Tensor y64 = conv2d(x, w, b, 1, p);
    const Tensor y32 = conv2d(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), 1, p);
    REQUIRE(y32.dtype() == kFloat32);
    check_values(y32, y64.to_vector<double>(), 1e-4);
  }
  // Mixed precisions are computed in float64.
  CHECK(conv2d(x.to(kFloat32), w, b).dtype() == kFloat64);
}

TEST_CASE("conv2d gives the same values on one thread and on two (batch-parallel)", "[conv]") {
  manual_seed(14);
  const int before = get_num_threads();
  Tensor x0 = randn({5, 3, 9, 8}, kFloat64), w0 = randn({4, 3, 3, 3}, kFloat64), b0 = randn({4}, kFloat64);
  Tensor gy = randn({5, 4, 9, 8}, kFloat64);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    Tensor y = conv2d(x, w, b, 1, 1);
    y.backward(gy);
    return std::vector<Tensor>{y, x.grad(), w.grad(), b.grad()};
  };
  const auto serial = run(1);
  const auto parallel = run(2);
  set_num_threads(before);
  for (std::size_t i = 0; i < serial.size(); ++i) {
    INFO("tensor " << i << " (y, gx, gw, gb)");
    check_values(parallel[i], serial[i].to_vector<double>(), 1e-10);
  }
}

TEST_CASE("conv1d is conv2d on a height of 1", "[conv]") {
  manual_seed(15);
  const Tensor x = randn({2, 3, 10}, kFloat64), w = randn({4, 3, 3}, kFloat64), b = randn({4}, kFloat64);
  // Conv1d's output width: (W + 2p - K)/s + 1.
  CHECK(conv1d(x, w, b, 1, 1).shape() == Shape{2, 4, 10});
  CHECK(conv1d(x, w, b, 2, 0).shape() == Shape{2, 4, 4});
  CHECK(conv1d(x, w, b, 3, "same").shape() == Shape{2, 4, 4});
  const Tensor y = conv1d(x, w, b, 2, 1, 2);
  const Tensor y2 = conv2d(reshape(x, {2, 3, 1, 10}), reshape(w, {4, 3, 1, 3}), b, {1, 2}, Padding(0, 1), {1, 2});
  check_values(y, y2.to_vector<double>(), 0.0);
  // A hand-computed case: [1 2 3 4] with kernel [1 0 -1], padding 1 -> [-2, -2, -2, 3].
  check_values(conv1d(tensor({1, 2, 3, 4}, {1, 1, 4}), tensor({1, 0, -1}, {1, 1, 3}), Tensor(), 1, 1),
               {-2, -2, -2, 3});
}
