// tapegrad — an op's declaration: its sample inputs and its error inputs, and
// the generic checks every declared op passes (in the spirit of PyTorch's OpInfo).
//
// Every built-in op is declared next to its definition (ops/*.cpp, listed by
// tg::declared_ops() in <tapegrad/ops/declared_ops.hpp>); one test runs
// check_op over all of them. Declare a custom op the same way to get the same
// checks:
//
// @code
//   tg::OpInfo info = tg::OpInfo("softsign")
//       .sample("matrix", {tg::inputs::any({3, 4})},
//               [](const tg::OpArgs& v) { return v[0] / (tg::abs(v[0]) + 1.0); })
//       .error("int64 input", [] { tg::abs(tg::tensor_i64({1}, {1})); }, {"abs", "int64"});
//   tg::OpCheckReport report = tg::check_op(info);
//   if (!report.passed()) std::cerr << report.str();
// @endcode
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>

namespace tg {

/// Where a sample input's values come from: the op's domain.
enum class Domain {
  Any,           ///< uniform in [-2, 2]
  Positive,      ///< uniform in [0.5, 2.5] (log, sqrt, a divisor)
  AwayFromZero,  ///< |x| uniform in [0.3, 1.5], random sign (abs, kinks at 0)
  Index,         ///< int64, uniform in [0, index_high) (targets, indices)
  Given,         ///< the values of InputSpec::given
};

/// One input of a sample: its shape and domain, and whether the checks
/// differentiate with respect to it.
struct InputSpec {
  Shape shape;
  Domain domain = Domain::Any;
  bool differentiable = true;    ///< float inputs only; false keeps it a constant
  std::int64_t index_high = 0;   ///< for Domain::Index
  Tensor given;                  ///< for Domain::Given (converted to the sample's dtype if float)
};

/// Builders for InputSpec.
namespace inputs {
/// A differentiable float input in [-2, 2].
InputSpec any(const Shape& shape);
/// A differentiable float input in [0.5, 2.5].
InputSpec positive(const Shape& shape);
/// A differentiable float input with |x| in [0.3, 1.5].
InputSpec away_from_zero(const Shape& shape);
/// A float input in [-2, 2] that is not differentiated (a fixed weight, a mask).
InputSpec constant(const Shape& shape);
/// An int64 input in [0, high) (class targets, indices).
InputSpec indices(const Shape& shape, std::int64_t high);
/// These exact values (float: differentiable; int64: passed as is).
InputSpec given(const Tensor& values);
}  // namespace inputs

/// The tensors of one sample, in the order of its InputSpecs.
using OpArgs = std::vector<Tensor>;
/// How a sample calls the op (with its non-tensor arguments bound).
using OpCall = std::function<Tensor(const OpArgs&)>;

/// One sample: the op called on inputs of the given shapes and domains.
struct OpSample {
  std::string description;
  std::vector<InputSpec> inputs;
  OpCall call;
  /// False at a point where the gradient itself jumps (a tie of max): the
  /// gradient is checked there, its derivative (gradgradcheck) is not.
  bool gradient_is_smooth = true;
};

/// One way of calling the op wrongly, and what its exception must say.
struct OpErrorInput {
  std::string description;
  std::function<void()> call;           ///< must throw std::invalid_argument
  std::vector<std::string> fragments;  ///< each must appear in the message
};

/// An op's declaration. Built with the chained setters below.
struct OpInfo {
  std::string name;
  std::vector<OpSample> samples;
  std::vector<OpErrorInput> errors;
  bool differentiable = true;  ///< false: outputs are never recorded (comparisons, argmax)
  bool composite = false;      ///< built from other ops, with no backward rule of its own
  /// Finite-difference step of the gradgradcheck (gradcheck's default, 1e-6,
  /// unless an op rounds through float32: see second_order_step).
  double second_order_eps = 1e-6;

  explicit OpInfo(std::string op_name) : name(std::move(op_name)) {}
  /// Adds a sample.
  OpInfo& sample(std::string description, std::vector<InputSpec> specs, OpCall call);
  /// Adds an error input.
  OpInfo& error(std::string description, std::function<void()> call, std::vector<std::string> fragments);
  /// Marks the op as not differentiable (no gradcheck, and its output must not require grad).
  OpInfo& not_differentiable();
  /// Marks the op as composite (declared for its samples and errors only).
  OpInfo& composite_of_other_ops();
  /// Marks the last sample as lying where the gradient is discontinuous (a tie
  /// of max or maximum), so it gets no gradgradcheck: finite differences of a
  /// gradient that jumps there measure the jump, not a derivative.
  OpInfo& gradient_jumps_here();
  /// A larger finite-difference step for the gradgradcheck, for an op whose
  /// gradient passes through float32 (`to`): a step of 1e-6 on a gradient of
  /// size 1 is below float32's resolution there. The gradient is linear in the
  /// grad_output, so a larger step costs no accuracy.
  OpInfo& second_order_step(double eps);
};

/// What check_op found.
struct OpCheckReport {
  std::string op;
  std::int64_t checks = 0;            ///< individual checks run
  std::vector<std::string> failures;  ///< one line each: sample, check, what differed
  bool passed() const { return failures.empty(); }
  /// The failures, one per line, or "<op>: N checks passed".
  std::string str() const;
};

/// Runs, for each sample (inputs drawn from a fixed seed, the global generator untouched):
///  * float64 gradcheck with respect to every differentiable input, and
///    gradgradcheck (the backward differentiated again under create_graph);
///  * the float32 forward agrees with the float64 one (|d| <= 1e-4 + 1e-3 |y64|)
///    and has float32 outputs;
///  * the backward honours the mask: with only input k requiring grad, exactly
///    input k gets a gradient, equal to its gradient when all inputs require grad;
///  * a non-differentiable op's output does not require grad;
///  * changing an input or the output in place between forward and backward
///    makes backward throw the saved-tensor error (autograd::SavedTensor), or
///    leaves every gradient unchanged when the backward does not read it;
/// and, for each error input, that it throws std::invalid_argument whose message
/// holds every fragment. Never throws for a failed check.
OpCheckReport check_op(const OpInfo& info);

}  // namespace tg
