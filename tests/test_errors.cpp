// Wrong shapes and dtypes: every op throws std::invalid_argument naming
// itself and the shapes involved. The error inputs of declared ops (ops/*.cpp)
// are checked by tests/test_op_declarations.cpp.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Catch::Contains;

TEST_CASE("tensor() names the shape its values do not fill", "[errors]") {
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
