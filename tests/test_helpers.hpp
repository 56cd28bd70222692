// Assertions shared by the test files.
#pragma once

#include <catch2/catch.hpp>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg::testing {

/// Every element of t equals `expected` (exactly, or within `tol`), reported per element.
inline void check_values(const Tensor& t, const std::vector<double>& expected, double tol = 0.0) {
  const std::vector<double> got = t.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    if (tol == 0.0)
      CHECK(got[i] == expected[i]);
    else
      CHECK(got[i] == Approx(expected[i]).margin(tol));
  }
}

/// gradcheck passes on f at `inputs`; its message is shown otherwise.
inline void check_gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs) {
  GradcheckResult r = gradcheck(f, inputs);
  INFO(r.message);
  CHECK(r.passed);
}

}  // namespace tg::testing
