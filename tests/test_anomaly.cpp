// Anomaly mode: the first NaN/Inf names the op, its inputs and the direction.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

using namespace tg;
using Catch::Contains;

TEST_CASE("anomaly mode names the op whose forward produced NaN", "[anomaly]") {
  Tensor x = tensor({-1.0, 4.0}).requires_grad_();
  autograd::DetectAnomalyGuard guard;
  CHECK_THROWS_AS(sqrt(x), autograd::AnomalyError);
  CHECK_THROWS_WITH(sqrt(x), Contains("forward of op 'sqrt'") && Contains("NaN") && Contains("[2] float32"));
  CHECK_THROWS_WITH(log(x * 0.0), Contains("forward of op 'log'") && Contains("Inf"));
}

TEST_CASE("anomaly mode names the op whose backward produced NaN/Inf", "[anomaly]") {
  // sqrt(0) is finite, its gradient 1/(2*sqrt(0)) is not.
  Tensor x = tensor({0.0, 4.0}).requires_grad_();
  autograd::DetectAnomalyGuard guard;
  Tensor y = sum(sqrt(x));
  CHECK_THROWS_WITH(y.backward(), Contains("backward of op 'sqrt'") && Contains("Inf") && Contains("input 0"));
}

TEST_CASE("anomaly mode is off by default and scoped by the guard", "[anomaly]") {
  Tensor x = tensor({-1.0}).requires_grad_();
  CHECK_FALSE(autograd::DetectAnomalyGuard::is_enabled());
  CHECK_NOTHROW(sqrt(x));
  {
    autograd::DetectAnomalyGuard guard;
    CHECK(autograd::DetectAnomalyGuard::is_enabled());
  }
  CHECK_FALSE(autograd::DetectAnomalyGuard::is_enabled());
}
