// Wrong shapes and dtypes: every op throws std::invalid_argument naming
// itself and the shapes involved.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Catch::Contains;

TEST_CASE("int64 tensors are refused where floats are needed", "[errors]") {
  Tensor labels = tensor_i64({1, 2}, {2});
  CHECK_THROWS_WITH(relu(labels), Contains("relu"));
}

TEST_CASE("shape ops and reductions report bad requests", "[errors]") {
  CHECK_THROWS_WITH(reshape(ones({2, 3}), {4, 2}), Contains("reshape") && Contains("[2,3]") && Contains("[4,2]"));
  CHECK_THROWS_WITH(reshape(ones({2, 3}), {-1, -1}), Contains("only one"));
  CHECK_THROWS_WITH(sum(ones({2, 3}), {2}), Contains("sum") && Contains("axis 2"));
  CHECK_THROWS_WITH(permute(ones({2, 3}), {0, 0}), Contains("permute"));
  CHECK_THROWS_WITH(broadcast_to(ones({3}), {2, 4}), Contains("broadcast_to"));
  CHECK_THROWS_WITH(softmax(ones({2, 3}), 3), Contains("softmax"));
  CHECK_THROWS_WITH(mean(ones({0})), Contains("mean") && Contains("empty"));
  CHECK_THROWS_WITH(tensor({1, 2, 3}, {2, 2}), Contains("tensor") && Contains("[2,2]"));
}

TEST_CASE("accessing data with the wrong type is refused", "[errors]") {
  Tensor t = ones({2});
  CHECK_THROWS_WITH(t.data<double>(), Contains("float32") && Contains("float64"));
  CHECK_THROWS_WITH(ones({2}).item(), Contains("item") && Contains("2 elements"));
  CHECK_THROWS_WITH(Tensor().shape(), Contains("undefined"));
}

TEST_CASE("set_grad on an undefined tensor throws instead of crashing", "[errors]") {
  CHECK_THROWS_WITH(Tensor().set_grad(ones({1})), Contains("set_grad") && Contains("undefined"));
}
