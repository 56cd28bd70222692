// Wrong shapes and dtypes: every op throws std::invalid_argument naming
// itself and the shapes involved. The error inputs of declared ops (ops/*.cpp)
// are checked by tests/test_op_declarations.cpp.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Catch::Contains;

TEST_CASE("matmul names the shapes that do not align", "[errors]") {
  CHECK_THROWS_AS(matmul(ones({3, 4}), ones({5, 2})), std::invalid_argument);
  CHECK_THROWS_WITH(matmul(ones({3, 4}), ones({5, 2})), "matmul: shapes [3,4] and [5,2] do not align (4 != 5)");
  CHECK_THROWS_WITH(matmul(ones({4}), ones({4, 2})), Contains("matmul") && Contains("[4]"));
  CHECK_THROWS_WITH(matmul(ones({2, 3, 4}), ones({3, 4, 5})), Contains("batch"));
}

TEST_CASE("tensor() names the shape its values do not fill", "[errors]") {
  CHECK_THROWS_WITH(tensor({1, 2, 3}, {2, 2}), Contains("tensor") && Contains("[2,2]"));
}

TEST_CASE("nll_loss checks targets", "[errors]") {
  Tensor lp = log_softmax(ones({2, 3}));
  CHECK_THROWS_WITH(nll_loss(lp, tensor_i64({0, 3}, {2})), Contains("nll_loss") && Contains("target 3") &&
                                                              Contains("3 classes"));
  CHECK_THROWS_WITH(nll_loss(lp, tensor_i64({0}, {1})), Contains("nll_loss") && Contains("[2,3]"));
  CHECK_THROWS_WITH(nll_loss(lp, tensor({0, 1})), Contains("int64"));
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
