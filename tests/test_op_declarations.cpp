// The generic op test: every declared op (ops/*.cpp, bottom of each file) and
// every declared nn::functional composite (nn/*.cpp) runs check_op over its
// samples and error inputs — float64 gradcheck, float32 against float64, the
// backward honouring the needs-grad mask, and each error input's message. One
// DYNAMIC_SECTION per op, so a failure names the op.
#include <catch2/catch.hpp>

#include <set>

#include <tapegrad/tapegrad.hpp>

using namespace tg;

namespace {

void check_declared(const std::vector<OpInfo>& declared, const std::string& prefix) {
  for (const OpInfo& op : declared) {
    DYNAMIC_SECTION(prefix << op.name) {
      const OpCheckReport report = check_op(op);
      INFO(report.str());
      CHECK(report.passed());
      CHECK(report.checks >= static_cast<std::int64_t>(op.samples.size() + op.errors.size()));
    }
  }
}

std::set<std::string> unique_names(const std::vector<OpInfo>& declared) {
  std::set<std::string> names;
  for (const OpInfo& op : declared) {
    INFO(op.name);
    CHECK(names.insert(op.name).second);
    CHECK_FALSE(op.samples.empty());
  }
  return names;
}

}  // namespace

TEST_CASE("every declared op passes the generic checks", "[ops][declarations]") { check_declared(declared_ops(), ""); }

TEST_CASE("every declared nn::functional composite passes the generic checks", "[nn][declarations]") {
  check_declared(nn::functional::declared_functions(), "nn::functional::");
}

TEST_CASE("op declarations: unique names, and each has a sample", "[ops][declarations]") {
  CHECK(unique_names(declared_ops()).size() >= 20);
  CHECK(unique_names(nn::functional::declared_functions()).size() >= 4);
  for (const OpInfo& f : nn::functional::declared_functions()) {
    INFO(f.name);
    CHECK(f.composite);
  }
}

// The checker itself must catch what it claims to catch.
namespace {
struct WrongSquare : autograd::Function<WrongSquare> {
  static constexpr const char* name = "wrong_square";
  static Tensor forward(autograd::Context& ctx, const Tensor& x) {
    ctx.save_for_backward({x});
    return x * x;
  }
  static autograd::Grads backward(autograd::Context& ctx, const Tensor& gy) { return {gy * ctx.saved()[0] * 3.0}; }
};
}  // namespace

TEST_CASE("check_op reports a wrong gradient, a float32 mismatch, a wrong message, a missing throw",
          "[ops][declarations]") {
  const OpCheckReport wrong_grad =
      check_op(OpInfo("wrong_square").sample("3", {inputs::any({3})}, [](const OpArgs& v) { return WrongSquare::apply(v[0]); }));
  REQUIRE(wrong_grad.failures.size() == 1);
  CHECK_THAT(wrong_grad.failures[0], Catch::Contains("sample '3'") && Catch::Contains("Jacobian mismatch"));

  // Float32 forward that differs from the float64 one by far more than rounding.
  const OpCheckReport precision = check_op(OpInfo("dtype_dependent").sample("4", {inputs::any({4})}, [](const OpArgs& v) {
    return v[0].dtype() == kFloat32 ? v[0] * 1.01 : v[0] * 1.0;
  }));
  REQUIRE(precision.failures.size() == 1);
  CHECK_THAT(precision.failures[0], Catch::Contains("float32 forward differs"));

  const OpCheckReport errors = check_op(OpInfo("exp")
                                            .sample("2", {inputs::any({2})}, [](const OpArgs& v) { return exp(v[0]); })
                                            .error("no throw", [] { exp(ones({2})); }, {"exp"})
                                            .error("other message", [] { exp(tensor_i64({1}, {1})); }, {"log"}));
  REQUIRE(errors.failures.size() == 2);
  CHECK_THAT(errors.failures[0], Catch::Contains("did not throw"));
  CHECK_THAT(errors.failures[1], Catch::Contains("lacks 'log'"));
}

TEST_CASE("a backward rule that computes a gradient nobody asked for is refused", "[autograd][declarations]") {
  Tensor a = ones({2}).requires_grad_(), b = ones({2});
  Tensor y = a * b;
  Tensor out = empty({2});
  {
    NoGradGuard g;
    out.copy_(y);
  }
  autograd::record("greedy", {a, b}, out, autograd::BackwardFn([](const Tensor& gy, const autograd::NeedsGrad&) {
                     return autograd::Grads{gy, gy};
                   }));
  CHECK_THROWS_WITH(sum(out).backward(), Catch::Contains("greedy") && Catch::Contains("input 1") &&
                                             Catch::Contains("needs none"));
}

TEST_CASE("formulas() runs only the formulas whose input needs a gradient", "[autograd][declarations]") {
  int calls_a = 0, calls_b = 0;
  Tensor a = ones({2}).requires_grad_(), b = ones({2});
  Tensor out = a * 1.0;
  Tensor fresh = empty({2});
  {
    NoGradGuard g;
    fresh.copy_(out);
  }
  autograd::record("counted", {a, b}, fresh, autograd::formulas(
      [&](const Tensor& gy) { ++calls_a; return gy; },
      [&](const Tensor& gy) { ++calls_b; return gy; }));
  sum(fresh).backward();
  CHECK(calls_a == 1);
  CHECK(calls_b == 0);
  CHECK(a.grad().to_vector() == std::vector<double>{1, 1});
}

// The example op of docs/architecture.md, as written there.
namespace {
Tensor xexp(const Tensor& x) {
  Tensor e = exp(x.detach());
  Tensor y = x.detach() * e;
  if (autograd::needs_grad(x))
    autograd::record("xexp", {x}, y, autograd::formulas(
        [x = autograd::SavedTensor(x), y = autograd::SavedTensor::output(y)](const Tensor& gy) {
          return gy * (y.get() + exp(x.get()));  // e^x (1 + x) = y + e^x
        }));
  return y;
}

std::vector<OpInfo> my_op_declarations() {
  return {
      OpInfo("xexp")
          .sample("matrix", {inputs::any({3, 4})},
                  [](const OpArgs& v) { return xexp(v[0]); })
          .sample("0-d", {inputs::any({})},
                  [](const OpArgs& v) { return xexp(v[0]); })
          .error("int64 input", [] { xexp(tensor_i64({1}, {1})); },
                 {"exp", "int64"}),
  };
}
}  // namespace

TEST_CASE("the example op of docs/architecture.md passes check_op", "[ops][declarations]") {
  for (const OpInfo& op : my_op_declarations()) {
    const OpCheckReport report = check_op(op);
    INFO(report.str());
    CHECK(report.passed());
    CHECK(report.checks == 11);  // per sample a gradcheck, a gradgradcheck, a float32 comparison and two
                                 // changed-in-place checks (input, output), and the error input
  }
}
