// Losses that are ops of their own: nll_loss on log-probabilities with int64
// class targets (one pass each way, raw loops). Composite losses live in nn/loss.cpp.
//
//   nll_loss: loss_i = -log_probs[i, t_i]
// reduced by Mean (1/N sum), Sum, or None (per sample).
//
// Each op's gradients are the formulas passed to autograd::formulas; the
// samples and error inputs are declared at the bottom.
#include "ops/loss.hpp"

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {

using detail::fail;

// ---- nll_loss ------------------------------------------------------------------------

void detail::check_class_targets(const char* op, const char* input_name, const Tensor& input, const Tensor& targets,
                                 Reduction reduction) {
  check_floating(input, op);
  check_defined(targets, op);
  if (input.dim() != 2) fail(op, ": ", input_name, " must be [N, C], got ", describe(input));
  if (targets.dtype() != kInt64 || targets.dim() != 1)
    fail(op, ": targets must be a 1-D int64 tensor of class indices, got ", describe(targets));
  const std::int64_t N = input.shape()[0], C = input.shape()[1];
  if (targets.shape()[0] != N)
    fail(op, ": ", N, " rows of ", input_name, " ", input.shape().str(), " but ", targets.shape()[0], " targets ",
         targets.shape().str());
  if (N == 0 && reduction == Reduction::Mean) fail(op, ": mean over an empty batch ", describe(input));
  const std::int64_t* t = targets.data<std::int64_t>();
  for (std::int64_t i = 0; i < N; ++i)
    if (t[i] < 0 || t[i] >= C)
      fail(op, ": target ", t[i], " at position ", i, " is out of range for ", C, " classes");
}

Tensor detail::nll_loss_checked(const Tensor& log_probs, const Tensor& targets, Reduction reduction) {
  const std::int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  Tensor y = make_tensor(reduction == Reduction::None ? Shape{N} : Shape{}, log_probs.dtype());
  dispatch_float(log_probs.dtype(), "nll_loss", [&](auto tag) {
    using T = decltype(tag);
    const T* lp = static_cast<const T*>(log_probs.raw_data());
    const std::int64_t* t = targets.data<std::int64_t>();
    T* py = static_cast<T*>(y.raw_data());
    double total = 0;
    for (std::int64_t i = 0; i < N; ++i) {
      const T v = -lp[i * C + t[i]];
      if (reduction == Reduction::None) py[i] = v;
      total += v;
    }
    if (reduction == Reduction::Mean) *py = static_cast<T>(total / static_cast<double>(N));
    if (reduction == Reduction::Sum) *py = static_cast<T>(total);
  });

  // Targets are class indices, not an input of the tape. The gradient is
  // -gy (scaled by 1/N for Mean) at [i, t_i], 0 elsewhere.
  if (autograd::needs_grad(log_probs))
    autograd::record("nll_loss", {log_probs}, y, autograd::formulas([targets, N, C, reduction](const Tensor& gy) {
      Tensor g = zeros(Shape{N, C}, gy.dtype());
      dispatch_float(gy.dtype(), "nll_loss backward", [&](auto tag) {
        using T = decltype(tag);
        const T* pg = static_cast<const T*>(gy.raw_data());
        T* out = static_cast<T*>(g.raw_data());
        const std::int64_t* t = targets.data<std::int64_t>();
        const T scale = reduction == Reduction::Mean ? T(1) / static_cast<T>(N) : T(1);
        for (std::int64_t i = 0; i < N; ++i)
          out[i * C + t[i]] = -(reduction == Reduction::None ? pg[i] : pg[0]) * scale;
      });
      return g;
    }));
  return y;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction) {
  detail::check_class_targets("nll_loss", "log_probs", log_probs, targets, reduction);
  return detail::nll_loss_checked(log_probs, targets, reduction);
}

// ---------------------------------------------------------------------------
// Declarations: samples and error inputs of nll_loss.
// ---------------------------------------------------------------------------
std::vector<OpInfo> loss_op_declarations() {
  using inputs::given;
  const Tensor log_probs = log_softmax(ones({2, 3}));
  OpInfo nll("nll_loss");
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    const std::string reduced = r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none";
    nll.sample("over log_softmax [4,5], " + reduced,
               {inputs::any({4, 5}), given(tensor_i64({1, 0, 3, 3}, {4}))},
               [r](const OpArgs& v) { return nll_loss(log_softmax(v[0]), v[1], r); });
  }
  return {
      nll.error("class index >= number of classes", [=] { nll_loss(log_probs, tensor_i64({0, 3}, {2})); },
                {"nll_loss", "target 3", "position 1", "3 classes"})
          .error("negative class index", [=] { nll_loss(log_probs, tensor_i64({-1, 0}, {2})); },
                 {"nll_loss", "target -1", "position 0"})
          .error("float targets", [=] { nll_loss(log_probs, tensor({0, 1})); }, {"nll_loss", "int64", "float32"})
          .error("one target for two rows", [=] { nll_loss(log_probs, tensor_i64({0}, {1})); },
                 {"nll_loss", "[2,3]", "[1]"})
          .error("an empty batch", [] { nll_loss(zeros({0, 3}), tensor_i64({}, {0})); },
                 {"nll_loss", "empty", "[0,3]"}),
  };
}

}  // namespace tg
