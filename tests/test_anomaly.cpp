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

TEST_CASE("the profiler counts each op's forward and backward calls", "[profiler]") {
  Tensor w = randn({8, 4}).requires_grad_();
  Tensor x = randn({16, 8});
  autograd::Profiler prof;
  for (int i = 0; i < 3; ++i) {
    prof.mark();
    Tensor loss = mean(relu(matmul(x, w)));
    loss.backward();
  }
  bool saw_matmul = false;
  for (const auto& e : prof.entries()) {
    if (e.op == "matmul") {
      saw_matmul = true;
      CHECK(e.forward_calls == 3);
      CHECK(e.backward_calls == 3);
      CHECK(e.backward_seconds > 0);
    }
  }
  CHECK(saw_matmul);
  CHECK_THAT(prof.table(), Catch::Contains("relu") && Catch::Contains("total"));
  CHECK_THROWS_WITH(autograd::Profiler(), Catch::Contains("one profiler"));
}
