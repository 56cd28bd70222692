// <tapegrad/core/xtensor.hpp>: zero-copy views and copies from xtensor expressions.
#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/tapegrad.hpp>
#include <tapegrad/core/xtensor.hpp>

TEST_CASE("as_xtensor views a tensor's buffer without copying", "[xtensor]") {
  tg::Tensor t = tg::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  auto v = tg::as_xtensor<float>(t);
  CHECK(v.shape()[0] == 2);
  CHECK(v.shape()[1] == 3);
  CHECK(v(1, 2) == 6);
  v(0, 1) = 20;
  CHECK(t.to_vector()[1] == 20);
  CHECK(v.data() == t.data<float>());
}

TEST_CASE("from_xtensor copies any expression", "[xtensor]") {
  xt::xarray<double> a = {{1.0, 2.0}, {3.0, 4.0}};
  tg::Tensor t = tg::from_xtensor(a * 2.0);
  CHECK(t.dtype() == tg::kFloat64);
  CHECK(t.shape() == tg::Shape{2, 2});
  CHECK(t.to_vector() == std::vector<double>{2, 4, 6, 8});
  tg::Tensor col = tg::from_xtensor(xt::view(a, xt::all(), 1));
  CHECK(col.to_vector() == std::vector<double>{2, 4});
}
