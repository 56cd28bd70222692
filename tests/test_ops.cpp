// Forward values of the core ops against hand-computed answers.
#include <catch2/catch.hpp>

#include <limits>
#include <cmath>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using V = std::vector<double>;

namespace {
bool near(const V& a, const V& b, double tol = 1e-6) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > tol * (1 + std::abs(b[i]))) return false;
  return true;
}
}  // namespace

TEST_CASE("arithmetic with broadcasting", "[ops]") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor row = tensor({10, 20, 30});
  Tensor col = tensor({100, 200}, {2, 1});
  CHECK((a + row).to_vector() == V{11, 22, 33, 14, 25, 36});
  CHECK((a + col).to_vector() == V{101, 102, 103, 204, 205, 206});
  CHECK((row + col).shape() == Shape{2, 3});
  CHECK((row + col).to_vector() == V{110, 120, 130, 210, 220, 230});
  CHECK((a - row).to_vector() == V{-9, -18, -27, -6, -15, -24});
  CHECK((a * col).to_vector() == V{100, 200, 300, 800, 1000, 1200});
  CHECK((a / a).to_vector() == V(6, 1.0));
  CHECK((a * 2.0).to_vector() == V{2, 4, 6, 8, 10, 12});
  CHECK((1.0 - a).to_vector() == V{0, -1, -2, -3, -4, -5});
  CHECK((12.0 / a).to_vector() == V{12, 6, 4, 3, 2.4000000953674316, 2});
  CHECK((-a).to_vector() == V{-1, -2, -3, -4, -5, -6});
  // A 0-d tensor broadcasts against anything.
  CHECK((a + scalar_tensor(1)).to_vector() == V{2, 3, 4, 5, 6, 7});
  // Broadcasting in a middle dimension.
  Tensor m = ones({2, 1, 3}, kFloat64) * tensor({1, 2, 3, 4, 5, 6}, {2, 1, 3}, kFloat64);
  Tensor n = tensor({1, 10, 100, 1000}, {1, 4, 1}, kFloat64);
  Tensor p = m * n;
  CHECK(p.shape() == Shape{2, 4, 3});
  CHECK(p.to_vector()[3] == 10);   // [0,1,0] = 1 * 10
  CHECK(p.to_vector()[23] == 6000);  // [1,3,2] = 6 * 1000
  CHECK(broadcast_shapes({8, 1, 6, 1}, {7, 1, 5}) == Shape{8, 7, 6, 5});
}

TEST_CASE("element-wise math", "[ops]") {
  Tensor x = tensor({-2, -0.5, 0, 0.5, 2}, kFloat64);
  CHECK(near(exp(x).to_vector(), V{std::exp(-2), std::exp(-0.5), 1, std::exp(0.5), std::exp(2)}));
  CHECK(near(log(tensor({1, M_E, 10}, kFloat64)).to_vector(), V{0, 1, std::log(10)}));
  CHECK(near(sqrt(tensor({4, 9, 2}, kFloat64)).to_vector(), V{2, 3, std::sqrt(2)}));
  CHECK(abs(x).to_vector() == V{2, 0.5, 0, 0.5, 2});
  CHECK(pow(x, 2).to_vector() == V{4, 0.25, 0, 0.25, 4});
  CHECK(clamp(x, -1, 1).to_vector() == V{-1, -0.5, 0, 0.5, 1});
  CHECK(relu(x).to_vector() == V{0, 0, 0, 0.5, 2});
  CHECK(near(sigmoid(x).to_vector(), V{1 / (1 + std::exp(2)), 1 / (1 + std::exp(0.5)), 0.5,
                                        1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-2))}));
  CHECK(near(tanh(x).to_vector(), V{std::tanh(-2), std::tanh(-0.5), 0, std::tanh(0.5), std::tanh(2)}));
  CHECK(gt(x, 0).to_vector() == V{0, 0, 0, 1, 1});
  CHECK(lt(x, 0).to_vector() == V{1, 1, 0, 0, 0});
}

TEST_CASE("ReLU on a 2x2 example", "[ops][known]") {
  // ReLU([[1, -0.5], [0.3, 0.1]]) = [[1, 0], [0.3, 0.1]]
  CHECK(relu(tensor({1, -0.5, 0.3, 0.1}, {2, 2}, kFloat64)).to_vector() == V{1, 0, 0.3, 0.1});
}

TEST_CASE("sigmoid is stable for large magnitudes", "[ops]") {
  Tensor s = sigmoid(tensor({-1000, 1000}));
  CHECK(s.to_vector() == V{0, 1});
}

TEST_CASE("softmax and log_softmax", "[ops]") {
  Tensor x = tensor({1, 2, 3, 1, 1, 1}, {2, 3}, kFloat64);
  const double z = std::exp(1) + std::exp(2) + std::exp(3);
  CHECK(near(softmax(x).to_vector(), V{std::exp(1) / z, std::exp(2) / z, std::exp(3) / z, 1. / 3, 1. / 3, 1. / 3}));
  CHECK(near(log_softmax(x).to_vector(), V{1 - std::log(z), 2 - std::log(z), 3 - std::log(z), -std::log(3),
                                           -std::log(3), -std::log(3)}));
  // Along axis 0.
  CHECK(near(softmax(x, 0).to_vector(), V{0.5, 1 / (1 + std::exp(-1)), 1 / (1 + std::exp(-2)), 0.5,
                                          1 / (1 + std::exp(1)), 1 / (1 + std::exp(2))}));
  // Stable: huge logits do not overflow.
  Tensor big = tensor({1000, 1000}, kFloat32);
  CHECK(softmax(big).to_vector() == V{0.5, 0.5});
  CHECK(near(log_softmax(big).to_vector(), V{-std::log(2), -std::log(2)}));
}

TEST_CASE("reductions", "[ops]") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  CHECK(sum(x).item() == 21);
  CHECK(sum(x).dim() == 0);
  CHECK(sum(x, {0}).to_vector() == V{5, 7, 9});
  CHECK(sum(x, {1}).to_vector() == V{6, 15});
  CHECK(sum(x, {-1}, true).shape() == Shape{2, 1});
  CHECK(sum(x, {0, 1}).item() == 21);
  CHECK(mean(x).item() == 3.5);
  CHECK(mean(x, {0}).to_vector() == V{2.5, 3.5, 4.5});
  Tensor y = tensor({3, 1, 3, 0, 5, 5}, {2, 3}, kFloat64);
  auto m = max(y, 1);
  CHECK(m.values.to_vector() == V{3, 5});
  CHECK(m.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});  // first maximum, as np.argmax
  CHECK(max(y, 0).indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 1});
  CHECK(max(y, 0, true).values.shape() == Shape{1, 3});
  CHECK(max(y).item() == 5);
  CHECK(argmax(y, 1).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  Tensor t3 = reshape(arange(24, kFloat64), {2, 3, 4});
  CHECK(sum(t3, {0, 2}).to_vector() == V{60, 92, 124});
  CHECK(sum_to(ones({4, 2, 3}, kFloat64), {2, 1}).to_vector() == V{12, 12});
}

TEST_CASE("shape ops", "[ops]") {
  Tensor x = arange(6, kFloat64);
  CHECK(reshape(x, {2, -1}).shape() == Shape{2, 3});
  CHECK(reshape(x, {3, 2}).to_vector() == x.to_vector());
  Tensor m = reshape(x, {2, 3});
  CHECK(transpose(m, 0, 1).to_vector() == V{0, 3, 1, 4, 2, 5});
  Tensor t3 = reshape(arange(24, kFloat64), {2, 3, 4});
  Tensor p = permute(t3, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.to_vector()[1] == 4);    // p[0,0,1] = t3[0,1,0]
  CHECK(p.to_vector()[23] == 23);  // p[3,1,2] = t3[1,2,3]
  CHECK(flatten(ones({100, 3, 16, 16}), 1).shape() == Shape{100, 768});  // 3 * 16 * 16 = 768
  CHECK(flatten(t3).shape() == Shape{24});
  CHECK(broadcast_to(tensor({1, 2}), {3, 2}).to_vector() == V{1, 2, 1, 2, 1, 2});
  CHECK(narrow(m, 1, 1).to_vector() == V{3, 4, 5});
  CHECK(index_select(m, tensor_i64({1, 0, 1}, {3})).to_vector() == V{3, 4, 5, 0, 1, 2, 3, 4, 5});
}

TEST_CASE("narrow shares storage exactly when its slice is contiguous; split's pieces are narrows", "[ops]") {
  Tensor m = reshape(arange(12, kFloat64), {3, 4});
  narrow(m, 0, 1, 1).fill_(-1);  // row 1: one contiguous run, a view
  CHECK(m.to_vector()[4] == -1);
  narrow(m, 1, 0, 2).fill_(-2);  // columns: a copy, m unchanged
  CHECK(m.to_vector()[0] == 0);
  CHECK(narrow(reshape(m, {1, 3, 4}), 1, 2, 1).to_vector() == V{8, 9, 10, 11});  // outer extent 1: a view too
  // Only the second piece is used: the others' entries get a zero gradient.
  Tensor x = ones({5, 2}, kFloat64).requires_grad_();
  sum(split(x, 2)[1] * 3.0).backward();
  CHECK(x.grad().to_vector() == V{0, 0, 0, 0, 3, 3, 3, 3, 0, 0});
  // A list with one size means sizes, as in PyTorch: {5} is one piece of 5.
  CHECK(split(x, {5}).size() == 1);
  CHECK(split(x, 5).size() == 1);
  CHECK(split(x, 2).size() == 3);
}

TEST_CASE("matmul: 2-D, batched, 3-D x 2-D", "[ops]") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  Tensor b = tensor({7, 8, 9, 10, 11, 12}, {3, 2}, kFloat64);
  CHECK(matmul(a, b).to_vector() == V{58, 64, 139, 154});
  Tensor af = a.to(kFloat32), bf = b.to(kFloat32);
  CHECK(matmul(af, bf).to_vector() == V{58, 64, 139, 154});
  Tensor ba = reshape(broadcast_to(a, {2, 2, 3}), {2, 2, 3});
  Tensor bb = broadcast_to(b, {2, 3, 2});
  CHECK(matmul(ba, bb).to_vector() == V{58, 64, 139, 154, 58, 64, 139, 154});
  CHECK(matmul(ba, b).shape() == Shape{2, 2, 2});
  CHECK(matmul(ba, b).to_vector() == V{58, 64, 139, 154, 58, 64, 139, 154});
  // A dense layer: H = XW + b with X (3x2), W (2x1).
  Tensor X = tensor({1, 2, 3, 4, 5, 6}, {3, 2}, kFloat64);
  Tensor W = tensor({0.5, -1}, {2, 1}, kFloat64);
  CHECK((matmul(X, W) + tensor({1}, kFloat64)).to_vector() == V{-0.5, -1.5, -2.5});
}

TEST_CASE("nll_loss picks the target log-probabilities", "[ops]") {
  Tensor lp = tensor({-1, -2, -3, -0.5, -1.5, -2.5}, {2, 3}, kFloat64);
  Tensor t = tensor_i64({2, 0}, {2});
  CHECK(nll_loss(lp, t).item() == Approx((3 + 0.5) / 2));
  CHECK(nll_loss(lp, t, Reduction::Sum).item() == Approx(3.5));
  CHECK(nll_loss(lp, t, Reduction::None).to_vector() == V{3, 0.5});
}

TEST_CASE("matmul and broadcast ops split over the thread pool equal the one-thread result", "[ops][threads]") {
  manual_seed(11);
  const int before = get_num_threads();
  for (std::int64_t m : {37, 200, 257}) {
    Tensor a = randn({m, 300}, kFloat64), b = randn({300, 170}, kFloat64), bt = randn({170, 300}, kFloat64);
    set_num_threads(1);
    const auto one = matmul(a, b).to_vector(), one_t = matmul(a, transpose(bt, 0, 1)).to_vector();
    set_num_threads(2);
    const auto two = matmul(a, b).to_vector(), two_t = matmul(a, transpose(bt, 0, 1)).to_vector();
    CHECK(one == two);  // the same kernel on the same rows: bit-identical
    CHECK(one_t == two_t);
  }
  // Broadcast element-wise ops split their rows over the pool: the same values, and
  // each element the one a plain loop gives (outer dimensions broadcast both ways, so
  // a chunk starts mid-odometer).
  {
    const Tensor a = randn({40, 1, 900}, kFloat64), b = randn({40, 30, 1}, kFloat64);
    set_num_threads(1);
    const auto one = (a * b).to_vector();
    set_num_threads(2);
    const auto two = (a * b).to_vector();
    CHECK(one == two);
    const auto av = a.to_vector(), bv = b.to_vector();
    bool all_equal = true;
    for (std::size_t i = 0; i < 40; ++i)
      for (std::size_t j = 0; j < 30; ++j)
        for (std::size_t k = 0; k < 900; ++k)
          all_equal = all_equal && two[(i * 30 + j) * 900 + k] == av[i * 900 + k] * bv[i * 30 + j];
    CHECK(all_equal);
    // [R, C] + [C], a bias: its own loop nest, split by rows too.
    const Tensor x = randn({300, 170}, kFloat64), bias = randn({170}, kFloat64);
    set_num_threads(1);
    const auto bias_one = (x + bias).to_vector();
    set_num_threads(2);
    CHECK((x + bias).to_vector() == bias_one);
    const auto xv = x.to_vector(), biasv = bias.to_vector();
    bool bias_equal = true;
    for (std::size_t i = 0; i < xv.size(); ++i) bias_equal = bias_equal && bias_one[i] == xv[i] + biasv[i % 170];
    CHECK(bias_equal);
  }
  // Products with A transposed (the weight gradients Xᵀ·gY) split by columns of C.
  // OpenBLAS may run a column block through another kernel than the whole product
  // (it differs in the last bits for some splits), so these agree to rounding.
  for (std::int64_t m : {200, 257}) {
    const Tensor x = randn({m, 300}, kFloat64), g = randn({m, 170}, kFloat64);
    auto weight_grads = [&](int threads) {
      set_num_threads(threads);
      manual_seed(3);
      Tensor w = randn({170, 300}, kFloat64).requires_grad_(), b = randn({300, 170}, kFloat64).requires_grad_();
      (sum(linear(x, w) * g) + sum(matmul(x, b) * g)).backward();
      return std::make_pair(w.grad().to_vector(), b.grad().to_vector());
    };
    const auto one = weight_grads(1), two = weight_grads(2);
    const auto expected_w = matmul(transpose(g, 0, 1), x).to_vector();  // gᵀ·x as one gemm, no transposed operand
    const auto expected_b = matmul(transpose(x, 0, 1), g).to_vector();  // xᵀ·g
    REQUIRE(expected_w.size() == one.first.size());
    REQUIRE(expected_b.size() == one.second.size());
    for (std::size_t i = 0; i < expected_w.size(); ++i) {
      CHECK(one.first[i] == Approx(expected_w[i]).epsilon(1e-12).margin(1e-10));
      CHECK(two.first[i] == Approx(expected_w[i]).epsilon(1e-12).margin(1e-10));
    }
    for (std::size_t i = 0; i < expected_b.size(); ++i) {
      CHECK(one.second[i] == Approx(expected_b[i]).epsilon(1e-12).margin(1e-10));
      CHECK(two.second[i] == Approx(expected_b[i]).epsilon(1e-12).margin(1e-10));
    }
  }
  set_num_threads(before);
}

TEST_CASE("sum of int64 tensors: exact int64 counts, as in PyTorch", "[ops][reduction]") {
  const Tensor predicted = argmax(tensor({0.1, 0.9, 0.8, 0.2, 0.3, 0.7}, {3, 2}), 1);  // 1, 0, 1
  const Tensor labels = tensor_i64({1, 1, 1}, {3});
  const Tensor correct = sum(eq(predicted, labels));
  CHECK(correct.dtype() == kInt64);
  CHECK(correct.dim() == 0);
  CHECK(correct.item() == 2);
  // Exact beyond float64's 2^53, and along axes (keepdim too).
  const std::int64_t big = (std::int64_t{1} << 53) + 1;
  CHECK(sum(tensor_i64({big, 2}, {2})).to_vector<std::int64_t>() == std::vector<std::int64_t>{big + 2});
  const Tensor m = tensor_i64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(m, {0}).to_vector<std::int64_t>() == std::vector<std::int64_t>{5, 7, 9});
  CHECK(sum(m, {1}, true).shape() == Shape{2, 1});
  CHECK(sum(m, {-1}).to_vector<std::int64_t>() == std::vector<std::int64_t>{6, 15});
  CHECK(sum(m, {0, 1}).dtype() == kInt64);
  // Wraps around on overflow, as torch.sum of int64 does.
  const std::int64_t top = std::numeric_limits<std::int64_t>::max();
  CHECK(sum(tensor_i64({top, 1}, {2})).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min()});
  // mean stays float-only, as torch.mean.
  CHECK_THROWS_WITH(mean(correct), Catch::Matchers::Contains("mean") && Catch::Matchers::Contains("int64"));
}

