// In-place ops (add_, sub_, mul_, div_, relu_, zero_, copy_) with autograd, and inference mode.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>

#include <tapegrad/tapegrad.hpp>

#include "test_helpers.hpp"
#include "torch_reference_file.hpp"

using namespace tg;
using Catch::Contains;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

// Requires that `f` throws the saved-tensor error, naming the op whose backward read the tensor.
void require_saved_tensor_error(const std::function<void()>& f, const std::string& op) {
  try {
    f();
    FAIL("backward ran on a tensor changed in place after " + op + " saved it");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Contains("backward of '" + op + "'") && Contains("changed in place"));
  }
}
}  // namespace

TEST_CASE("in-place ops agree with PyTorch in values and gradients", "[inplace][torch_reference]") {
  using V = const std::vector<Tensor>&;
  using Named = std::vector<std::pair<std::string, Tensor>>;
  // The same names, inputs and calls as CASES in tests/torch_reference/inplace_ops.py.
  const testing::ReferenceCases cases = {
      // add_, add_ scalar, mul_, mul_ scalar and relu_ in a chain, with broadcast operands.
      {"chain",
       [](V v) -> testing::ReferenceResult {
         const Tensor &x = v[0], &b = v[1], &c = v[2];
         Tensor y = x * 2.0;
         add_(y, b);
         add_(y, 0.5);
         mul_(y, c);
         mul_(y, -1.5);
         relu_(y);
         CHECK(y.grad_fn()->name() == "relu_");
         (sum(y * y) + sum(y * x)).backward();
         return Named{{"y", y}, {"x.grad", x.grad()}, {"b.grad", b.grad()}, {"c.grad", c.grad()}};
       }},
      // copy_ into a non-leaf: src gets the gradient, the overwritten values none.
      {"copy_into_nonleaf",
       [](V v) -> testing::ReferenceResult {
         const Tensor &x = v[0], &s = v[1];
         Tensor y = x * 1.0;
         y.copy_(s * s);
         CHECK(y.grad_fn()->name() == "copy_");
         sum(y * x).backward();
         return Named{{"y", y}, {"x.grad", x.grad()}, {"s.grad", s.grad()}};
       }},
      {"zero_then_add",
       [](V v) -> testing::ReferenceResult {
         const Tensor& x = v[0];
         Tensor y = x * 3.0;
         zero_(y);
         add_(y, x * x);
         sum(y * y).backward();
         return Named{{"y", y}, {"x.grad", x.grad()}};
       }},
      // sub_ and div_, by tensors (one broadcast) and scalars.
      {"sub_div_chain",
       [](V v) -> testing::ReferenceResult {
         const Tensor &x = v[0], &b = v[1], &c = v[2];
         Tensor y = x * 2.0;
         sub_(y, b);
         sub_(y, 0.5);
         div_(y, c);
         div_(y, -4.0);
         CHECK(y.grad_fn()->name() == "div_scalar_");
         (sum(y * y) + sum(y * x)).backward();
         return Named{{"y", y}, {"x.grad", x.grad()}, {"b.grad", b.grad()}, {"c.grad", c.grad()}};
       }},
      // A leaf that needs no gradient, changed by tensors that do, becomes a non-leaf.
      {"leaf_gains_history",
       [](V v) -> testing::ReferenceResult {
         const Tensor &w = v[0], &x = v[1];
         Tensor z = zeros({3}, kFloat64);
         add_(z, w);
         CHECK_FALSE(z.is_leaf());
         CHECK(z.requires_grad());
         mul_(z, x);
         mul_(z, w);
         sum(z).backward();
         return Named{{"z", z}, {"w.grad", w.grad()}, {"v.grad", x.grad()}};
       }},
  };
  // Within 1e-12: relative above 1, absolute below.
  testing::check_against_pytorch("tests/data/inplace_ops_reference.txt", cases, testing::within(1e-12, 0, 1));
}

TEST_CASE("an in-place op keeps the handle and rebases its history", "[inplace]") {
  Tensor x = tensor({1.0, -2.0, 3.0}, {3}, kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  const Tensor alias = y;  // another handle of the same tensor
  const std::shared_ptr<autograd::Node> before = y.grad_fn();
  const Tensor returned = add_(y, 1.0);
  CHECK(returned.is_same(y));
  CHECK(alias.is_same(y));
  CHECK(alias.grad_fn()->name() == "add_scalar_");
  CHECK(y.grad_fn() != before);
  CHECK(values(y) == std::vector<double>{3.0, -3.0, 7.0});
  // sum((2x + 1)^2): the gradient is 4 (2x + 1).
  sum(y * y).backward();
  CHECK(values(x.grad()) == std::vector<double>{12.0, -12.0, 28.0});
}

TEST_CASE("each in-place op bumps the version, so an op that saved the tensor refuses to run backward",
          "[inplace][autograd]") {
  using Change = std::function<void(Tensor&)>;
  const std::vector<std::pair<std::string, Change>> changes = {
      {"add_", [](Tensor& t) { add_(t, ones({3}, kFloat64)); }},
      {"add_ scalar", [](Tensor& t) { add_(t, 1.0); }},
      {"mul_", [](Tensor& t) { mul_(t, full({3}, 2.0, kFloat64)); }},
      {"mul_ scalar", [](Tensor& t) { mul_(t, 2.0); }},
      {"sub_", [](Tensor& t) { sub_(t, ones({3}, kFloat64)); }},
      {"sub_ scalar", [](Tensor& t) { sub_(t, 1.0); }},
      {"div_", [](Tensor& t) { div_(t, full({3}, 2.0, kFloat64)); }},
      {"div_ scalar", [](Tensor& t) { div_(t, 2.0); }},
      {"relu_", [](Tensor& t) { relu_(t); }},
      {"zero_", [](Tensor& t) { zero_(t); }},
      {"copy_", [](Tensor& t) { t.copy_(ones({3}, kFloat64)); }},
  };
  for (const auto& [name, change] : changes) {
    INFO(name);
    Tensor x = tensor({0.5, -1.0, 2.0}, {3}, kFloat64).requires_grad_();
    Tensor y = sigmoid(x);  // saves its output
    const std::uint64_t v0 = y.version();
    change(y);
    CHECK(y.version() == v0 + 1);
    require_saved_tensor_error([&] { sum(y).backward(); }, "sigmoid");
  }
  SECTION("an in-place op's own saved output: relu_ then add_") {
    Tensor x = tensor({0.5, -1.0, 2.0}, {3}, kFloat64).requires_grad_();
    Tensor y = x * 1.0;
    relu_(y);
    add_(y, 1.0);
    require_saved_tensor_error([&] { sum(y).backward(); }, "relu_");
  }
  SECTION("div_ saved its other operand") {
    Tensor x = tensor({0.5, -1.0, 2.0}, {3}, kFloat64).requires_grad_();
    Tensor other = tensor({1.0, 2.0, 4.0}, {3}, kFloat64);
    Tensor y = x * 1.0;
    div_(y, other);
    add_(other, 1.0);
    require_saved_tensor_error([&] { sum(y).backward(); }, "div_");
  }
  SECTION("mul_ saved its other operand") {
    Tensor x = tensor({0.5, -1.0, 2.0}, {3}, kFloat64).requires_grad_();
    Tensor other = tensor({1.0, 2.0, 3.0}, {3}, kFloat64);
    Tensor y = x * 1.0;
    mul_(y, other);
    add_(other, 1.0);
    require_saved_tensor_error([&] { sum(y).backward(); }, "mul_");
  }
}

TEST_CASE("in-place ops are refused on a leaf that requires grad while grad mode is on", "[inplace][errors]") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  const std::vector<std::pair<std::string, std::function<void()>>> calls = {
      {"add_", [&] { add_(w, ones({2}, kFloat64)); }}, {"add_", [&] { add_(w, 1.0); }},
      {"mul_", [&] { mul_(w, ones({2}, kFloat64)); }}, {"mul_", [&] { mul_(w, 3.0); }},
      {"sub_", [&] { sub_(w, ones({2}, kFloat64)); }}, {"sub_", [&] { sub_(w, 3.0); }},
      {"div_", [&] { div_(w, ones({2}, kFloat64)); }}, {"div_", [&] { div_(w, 3.0); }},
      {"relu_", [&] { relu_(w); }},                    {"zero_", [&] { zero_(w); }},
      {"copy_", [&] { w.copy_(ones({2}, kFloat64)); }},
  };
  for (const auto& [op, call] : calls) {
    INFO(op);
    CHECK_THROWS_WITH(call(), Contains(op) && Contains("leaf tensor that requires grad") && Contains("[2] float64") &&
                                  Contains("NoGradGuard"));
  }
  CHECK(values(w) == std::vector<double>{1.0, 2.0});  // refused before any change
  CHECK(w.version() == 0);
  NoGradGuard no_grad;  // an optimizer step: allowed, not recorded, version bumped
  add_(w, 1.0);
  mul_(w, tensor({2.0, -1.0}, {2}, kFloat64));
  CHECK(values(w) == std::vector<double>{4.0, -3.0});
  CHECK(w.is_leaf());
  CHECK(w.version() == 2);
}

TEST_CASE("in-place ops are refused on a view whose base is tracked, as in PyTorch", "[inplace][errors]") {
  Tensor w = tensor({1.0, -2.0, 3.0, -4.0}, {2, 2}, kFloat64).requires_grad_();
  SECTION("views of a leaf that requires grad: reshape, flatten, narrow, squeeze, unsqueeze, a view of a view") {
    const std::vector<std::pair<std::string, std::function<Tensor()>>> views = {
        {"reshape", [&] { return reshape(w, {4}); }},
        {"flatten", [&] { return flatten(w); }},
        {"narrow", [&] { return narrow(w, 0, 1, 1); }},
        {"unsqueeze", [&] { return unsqueeze(w, 0); }},
        {"squeeze of unsqueeze", [&] { return squeeze(unsqueeze(w, 0), 0); }},
    };
    for (const auto& [name, make] : views) {
      INFO(name);
      Tensor v = make();
      CHECK_FALSE(v.is_leaf());
      CHECK_THROWS_WITH(add_(v, 1.0), Contains("add_") && Contains("is a view of") && Contains("[2,2] float64") &&
                                          Contains("a leaf that requires grad") && Contains("clone()"));
      CHECK_THROWS_WITH(relu_(v), Contains("relu_") && Contains("is a view of"));
      CHECK_THROWS_WITH(v.copy_(zeros_like(v)), Contains("Tensor::copy_") && Contains("is a view of"));
      CHECK_THROWS_WITH(v.fill_(0.0), Contains("Tensor::fill_"));
    }
    CHECK(values(w) == std::vector<double>{1.0, -2.0, 3.0, -4.0});  // refused before any change
    CHECK(w.version() == 0);
  }
  SECTION("a view of a tracked non-leaf, and an untracked view changed by a tracked operand") {
    Tensor h = w * 2.0;
    Tensor v = reshape(h, {4});
    CHECK_THROWS_WITH(mul_(v, 3.0), Contains("mul_") && Contains("is a view of") && Contains("requires grad"));
    Tensor plain = zeros({2, 2}, kFloat64);
    Tensor pv = reshape(plain, {4});
    CHECK_THROWS_WITH(add_(pv, reshape(w, {4})), Contains("add_") && Contains("is a view of"));
    CHECK(values(plain) == std::vector<double>{0, 0, 0, 0});
    add_(pv, 1.0);  // nothing tracked: an ordinary in-place change, seen through the base
    CHECK(values(plain) == std::vector<double>{1, 1, 1, 1});
  }
  SECTION("allowed: under NoGradGuard, on a detach()ed alias, and once the base is gone") {
    {
      NoGradGuard no_grad;
      Tensor v = reshape(w, {4});
      mul_(v, 2.0);
    }
    CHECK(values(w) == std::vector<double>{2.0, -4.0, 6.0, -8.0});
    Tensor d = w.detach();
    add_(d, 1.0);  // PyTorch allows this too: it bumps the shared version
    CHECK(values(w) == std::vector<double>{3.0, -3.0, 7.0, -7.0});
    CHECK(w.version() == 2);
    Tensor v = reshape(w * 1.0, {4});  // the base, a temporary, no longer exists: nothing can go wrong through it
    relu_(v);
    CHECK(values(v) == std::vector<double>{3.0, 0.0, 7.0, 0.0});
    sum(v).backward();
    CHECK(values(w.grad()) == std::vector<double>{1.0, 0.0, 1.0, 0.0});
  }
}

TEST_CASE("in-place ops: other broadcasts to self's shape, which never changes", "[inplace][errors]") {
  Tensor y = ones({2, 3});
  add_(y, tensor({1, 2, 3}, {3}));
  mul_(y, tensor({10, -1}, {2, 1}));
  CHECK(values(y) == std::vector<double>{20, 30, 40, -2, -3, -4});
  CHECK_THROWS_WITH(add_(y, ones({4})), Contains("add_") && Contains("[4]") && Contains("[2,3]"));
  Tensor row = ones({3});
  CHECK_THROWS_WITH(mul_(row, ones({2, 3})),
                    Contains("mul_") && Contains("[2,3]") && Contains("[3]") && Contains("never changes self's shape"));
  CHECK(row.shape() == Shape{3});
  Tensor labels = tensor_i64({1, 2}, {2});
  CHECK_THROWS_WITH(relu_(labels), Contains("relu_") && Contains("int64"));
  zero_(labels);  // zero_ takes any dtype
  CHECK(labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0});
}

TEST_CASE("in-place ops: aliasing, dtypes, retain_grad and double backward", "[inplace][autograd]") {
  SECTION("y.mul_(y) reads self's values before the op for both operands") {
    Tensor x = tensor({1.0, -3.0, 0.5}, {3}, kFloat64).requires_grad_();
    Tensor y = x + 1.0;
    mul_(y, y);
    sum(y).backward();  // d/dx (x + 1)^2 = 2 (x + 1)
    CHECK(values(y) == std::vector<double>{4.0, 4.0, 2.25});
    CHECK(values(x.grad()) == std::vector<double>{4.0, -4.0, 3.0});
  }
  SECTION("a float64 other is converted to self's float32; its gradient comes back as float64") {
    Tensor x = tensor({1.0, 2.0}, {2}).requires_grad_();
    Tensor o = tensor({0.5, -0.25}, {2}, kFloat64).requires_grad_();
    Tensor y = x * 1.0;
    mul_(y, o);
    CHECK(y.dtype() == kFloat32);
    sum(y).backward();
    CHECK(o.grad().dtype() == kFloat64);
    CHECK(values(o.grad()) == std::vector<double>{1.0, 2.0});
    CHECK(values(x.grad()) == std::vector<double>{0.5, -0.25});
  }
  SECTION("retain_grad() keeps the gradient of the tensor's current values") {
    Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
    Tensor y = x * 2.0;
    y.retain_grad();
    add_(y, 1.0);
    sum(y * y).backward();
    CHECK(values(y.grad()) == std::vector<double>{6.0, 10.0});  // 2 y, y = (3, 5)
  }
  SECTION("second derivatives through mul_ and relu_") {
    Tensor x = tensor({1.5, -2.0, 0.5}, {3}, kFloat64).requires_grad_();
    Tensor y = x * 1.0;
    mul_(y, x);  // x^2
    mul_(y, x);  // x^3
    relu_(y);    // x^3 where x > 0
    Tensor g = autograd::grad({sum(y)}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
    CHECK(values(g) == std::vector<double>{3 * 1.5 * 1.5, 0.0, 3 * 0.25});
    Tensor h = autograd::grad({sum(g)}, {x})[0];
    CHECK(values(h) == std::vector<double>{6 * 1.5, 0.0, 6 * 0.5});
  }
  SECTION("relu_ keeps NaN") {
    Tensor t = tensor({-1.0, std::nan(""), 2.0}, {3}, kFloat64);
    relu_(t);
    const std::vector<double> v = values(t);
    CHECK(v[0] == 0.0);
    CHECK(std::isnan(v[1]));
    CHECK(v[2] == 2.0);
  }
  SECTION("under NoGradGuard a non-leaf is changed without being recorded") {
    Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
    Tensor y = x * 3.0;
    const std::shared_ptr<autograd::Node> fn = y.grad_fn();
    {
      NoGradGuard no_grad;
      add_(y, 1.0);
    }
    CHECK(y.grad_fn() == fn);
    CHECK(values(y) == std::vector<double>{4.0, 7.0});
  }
}

TEST_CASE("InferenceModeGuard: grad mode off, nothing recorded, same results, guards nest", "[inplace][inference]") {
  const Tensor w = tensor({1.0, -2.0, 3.0}, {3}, kFloat64).requires_grad_();
  const Tensor b = tensor({0.5, 0.25, -1.0}, {3}, kFloat64);
  const Tensor expected = tanh(w * b + 1.0).detach();
  REQUIRE_FALSE(InferenceMode::is_enabled());
  REQUIRE(GradMode::is_enabled());
  const std::int64_t nodes = autograd::live_nodes();
  {
    InferenceModeGuard inference;
    CHECK(InferenceMode::is_enabled());
    CHECK_FALSE(GradMode::is_enabled());
    Tensor y = tanh(w * b + 1.0);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    CHECK(autograd::live_nodes() == nodes);
    CHECK(values(y) == values(expected));
    CHECK(y.is_inference());
    CHECK(y.detach().is_inference());  // a view of an inference tensor is one too
    CHECK_FALSE(w.is_inference());     // made outside the guard
    {
      InferenceModeGuard nested;
      CHECK(InferenceMode::is_enabled());
    }
    CHECK(InferenceMode::is_enabled());
    CHECK_FALSE(GradMode::is_enabled());
    {
      GradMode::set_enabled(true);  // grad mode can come back inside; inference mode stays
      NoGradGuard inner;
      CHECK(InferenceMode::is_enabled());
    }
    CHECK(GradMode::is_enabled());
    GradMode::set_enabled(false);
  }
  CHECK_FALSE(InferenceMode::is_enabled());
  CHECK(GradMode::is_enabled());
  {
    NoGradGuard no_grad;
    {
      InferenceModeGuard inference;
    }
    CHECK_FALSE(GradMode::is_enabled());  // restored to the NoGradGuard's off, not to on
    CHECK_FALSE(InferenceMode::is_enabled());
  }
  CHECK_FALSE(ones({2}).is_inference());
}

TEST_CASE("inference tensors keep no version counter and cannot be saved for backward", "[inplace][inference]") {
  Tensor normal = zeros({3}, kFloat64);
  Tensor made_inside;
  {
    InferenceModeGuard inference;
    made_inside = ones({3}, kFloat64);
    const std::uint64_t inference_v0 = made_inside.version(), normal_v0 = normal.version();
    add_(made_inside, 1.0);
    made_inside.fill_(2.0);
    made_inside.bump_version();
    CHECK(made_inside.version() == inference_v0);  // no counter to bump
    add_(normal, 1.0);
    CHECK(normal.version() == normal_v0 + 1);  // a normal tensor changed under the guard still counts
  }
  CHECK(values(made_inside) == std::vector<double>{2.0, 2.0, 2.0});
  Tensor w = tensor({1.0, -2.0, 3.0}, {3}, kFloat64).requires_grad_();
  // mul would save the inference tensor for w's gradient: refused, naming the way out.
  CHECK_THROWS_WITH(mul(made_inside, w), Contains("inference tensor") && Contains("[3] float64") &&
                                             Contains("cannot be saved for backward") && Contains("clone()"));
  // add saves nothing: allowed, with the right gradient.
  sum(add(made_inside, w)).backward();
  CHECK(values(w.grad()) == std::vector<double>{1.0, 1.0, 1.0});
  // A clone made outside the guard is a normal tensor.
  const Tensor normal_copy = made_inside.clone();
  CHECK_FALSE(normal_copy.is_inference());
  w.zero_grad();
  sum(mul(normal_copy, w)).backward();
  CHECK(values(w.grad()) == std::vector<double>{2.0, 2.0, 2.0});
}
