// Losses that are ops of their own: nll_loss on log-probabilities with int64
// class targets, and binary_cross_entropy on probabilities (both one pass each
// way, raw loops). Composite losses live in nn/loss.cpp.
//
//   nll_loss:             loss_i = -log_probs[i, t_i]
//   binary_cross_entropy: loss_i = -(y_i clog(p_i) + (1 - y_i) clog(1 - p_i)),  clog(v) = max(log v, -100)
// reduced by Mean (1/N sum), Sum, or None (per sample / element).
//
// Each op's gradients are the formulas passed to autograd::formulas; the
// samples and error inputs are declared at the bottom.
#include "ops/loss.hpp"

#include <algorithm>
#include <cmath>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include <xsimd/xsimd.hpp>

namespace tg {
using autograd::SavedTensor;

using detail::fail;

void detail::check_not_batchmean(const char* op, Reduction reduction) {
  if (reduction == Reduction::BatchMean) fail(op, ": Reduction::BatchMean is only for kl_div");
}

// ---- nll_loss ------------------------------------------------------------------------

void detail::check_class_targets(const char* op, const char* input_name, const Tensor& input, const Tensor& targets,
                                 Reduction reduction) {
  check_floating(input, op);
  check_defined(targets, op);
  check_not_batchmean(op, reduction);
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

namespace {
// nll_loss's gradient: -gy (over N for Mean) at [i, target_i], 0 elsewhere. It is
// linear in gy, and its adjoint is nll_loss itself, so it records that as its
// own gradient (double backward).
Tensor nll_loss_backward(const Tensor& gy, const Tensor& targets, std::int64_t N, std::int64_t C,
                         Reduction reduction) {
  Tensor g = zeros(Shape{N, C}, gy.dtype());
  detail::dispatch_float(gy.dtype(), "nll_loss backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pg = static_cast<const T*>(gy.raw_data());
    T* out = static_cast<T*>(g.raw_data());
    const std::int64_t* t = targets.data<std::int64_t>();
    const T scale = reduction == Reduction::Mean ? T(1) / static_cast<T>(N) : T(1);
    for (std::int64_t i = 0; i < N; ++i) out[i * C + t[i]] = -(reduction == Reduction::None ? pg[i] : pg[0]) * scale;
  });
  if (autograd::needs_grad(gy))
    autograd::record("nll_loss_backward", {gy}, g, autograd::formulas(
        [targets = SavedTensor(targets), reduction](const Tensor& gg) { return nll_loss(gg, targets.get(), reduction); }));
  return g;
}
}  // namespace

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

  // Targets are class indices, not an input of the tape.
  if (autograd::needs_grad(log_probs))
    autograd::record("nll_loss", {log_probs}, y, autograd::formulas([targets = SavedTensor(targets), N, C, reduction](
                                                                      const Tensor& gy) {
      return nll_loss_backward(gy, targets.get(), N, C, reduction);
    }));
  return y;
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, Reduction reduction) {
  detail::check_class_targets("nll_loss", "log_probs", log_probs, targets, reduction);
  return detail::nll_loss_checked(log_probs, targets, reduction);
}

// ---- binary_cross_entropy --------------------------------------------------------------

namespace {

// PyTorch clamps the logs of binary_cross_entropy at -100 so that p = 0 or 1
// gives a finite loss (e^-100 is far below float32's resolution near 0 and 1).
constexpr double kLogFloor = -100.0;
// Lower bound of p (1 - p) in the gradient's denominator (PyTorch's value).
constexpr double kGradEps = 1e-12;

template <class T> T clamped_log(T v) { return std::max(std::log(v), static_cast<T>(kLogFloor)); }

// w clog(v) for v in [0, 1]. With hard 0/1 targets one of the two weights of
// each element is zero, and then the product is a zero whose sign is that of
// clog(v) (negative below 1, +0 at 1): given without the log, so the loss runs
// one log per element instead of two, with the very same result.
template <class T> T weighted_clamped_log(T w, T v) {
  if (w == T(0)) return w * (v < T(1) ? T(-1) : T(0));
  return w * clamped_log(v);
}

// The part of the output's gradient gy that reaches each of n elements of `shape`.
Tensor spread(const Tensor& gy, const Shape& shape, Reduction reduction, std::int64_t n) {
  if (reduction == Reduction::None) return gy;
  const Tensor g = broadcast_to(gy, shape);
  return reduction == Reduction::Mean ? g * (1.0 / static_cast<double>(n)) : g;
}

// binary_cross_entropy's gradient for p, g (p - y) / max(p (1 - p), 1e-12),
// as one loop over raw buffers: the same arithmetic, in the same order and
// precision, as the composite formula in binary_cross_entropy, which makes six
// tensors in seven passes (callgrind: nearly half of the loss's instructions in
// a small MLP's training step). Only for a plain backward pass, where nothing is
// recorded; under create_graph the composite runs, so that it is differentiated.
// Returns an undefined tensor when gy is not what a plain pass hands over (the
// output's dtype, one value or one per element), leaving it to the composite.
Tensor bce_grad_unrecorded(const Tensor& gy, const Tensor& p, const Tensor& y, Reduction reduction, std::int64_t n) {
  const std::int64_t per_element = reduction == Reduction::None ? n : 1;
  if (gy.dtype() != p.dtype() || y.dtype() != p.dtype() || gy.numel() != per_element) return Tensor();
  Tensor g = detail::make_tensor(p.shape(), p.dtype());
  detail::dispatch_float(p.dtype(), "binary_cross_entropy backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pg = static_cast<const T*>(gy.raw_data());
    const T* pp = static_cast<const T*>(p.raw_data());
    const T* py = static_cast<const T*>(y.raw_data());
    T* out = static_cast<T*>(g.raw_data());
    // spread(): gy, or gy (one value) times 1/n for Mean, rounded to T as the scalar op rounds it.
    const T scale = static_cast<T>(1.0 / static_cast<double>(n));
    const T lo = static_cast<T>(kGradEps);
    for (std::int64_t i = 0; i < n; ++i) {
      const T gi = reduction == Reduction::None ? pg[i] : reduction == Reduction::Mean ? pg[0] * scale : pg[0];
      const T q = pp[i] * (T(1) - pp[i]);
      out[i] = gi * (pp[i] - py[i]) / (q < lo ? lo : q);
    }
  });
  return g;
}

}  // namespace

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& targets, Reduction reduction) {
  const char* op = "binary_cross_entropy";
  detail::check_floating(probs, op);
  detail::check_defined(targets, op);
  detail::check_not_batchmean(op, reduction);
  // int64 0/1 labels are taken as probs' dtype (PyTorch wants float targets).
  const std::pair<Tensor, Tensor> promoted =
      detail::promote_floating(probs, targets.dtype() == kInt64 ? targets.to(probs.dtype()) : targets, op);
  const Tensor& p = promoted.first;
  const Tensor& y = promoted.second;
  if (p.shape() != y.shape())
    fail(op, ": probabilities ", p.shape().str(), " and targets ", y.shape().str(), " must have the same shape");
  const std::int64_t n = p.numel();
  if (n == 0 && reduction == Reduction::Mean) fail(op, ": mean over an empty input ", describe(p));

  Tensor out = detail::make_tensor(reduction == Reduction::None ? p.shape() : Shape{}, p.dtype());
  detail::dispatch_float(p.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pp = static_cast<const T*>(p.raw_data());
    const T* py = static_cast<const T*>(y.raw_data());
    // All in range, checked without a branch per element (so it vectorises);
    // only when one is out does the loop below look for the first to name.
    bool in_range = true;
    for (std::int64_t i = 0; i < n; ++i) in_range &= py[i] >= 0 && py[i] <= 1 && pp[i] >= 0 && pp[i] <= 1;
    for (std::int64_t i = 0; !in_range && i < n; ++i) {
      if (!(py[i] >= 0 && py[i] <= 1)) fail(op, ": targets must be in [0, 1], found ", py[i], " at position ", i);
      if (!(pp[i] >= 0 && pp[i] <= 1))
        fail(op, ": probabilities must be in [0, 1] (apply sigmoid first), found ", pp[i], " at position ", i);
    }
    T* po = static_cast<T*>(out.raw_data());
    double total = 0;
    // The elements' losses a chunk at a time, then their sum in order: a
    // running sum in the loop that calls log() lives in memory, and each add
    // then waits for the previous one's store (perf showed the adds waiting).
    constexpr std::int64_t kChunk = 256;
    T chunk[kChunk];
    for (std::int64_t i0 = 0; i0 < n; i0 += kChunk) {
      const std::int64_t m = std::min(kChunk, n - i0);
      T* l = reduction == Reduction::None ? po + i0 : chunk;
      // Whole batches with xsimd's log, both logs of every element (cheaper
      // vectorised than one scalar log: a 2-16-1 MLP's loss over 140 points
      // spent 14 % of its training step in logf); the results differ from
      // the scalar loop's by at most the logs' rounding. A zero weight gives
      // the same signed zero as weighted_clamped_log: 0 times a finite log.
      using B = xsimd::batch<T>;
      constexpr std::int64_t W = static_cast<std::int64_t>(B::size);
      const B one(T(1)), floor_log(static_cast<T>(kLogFloor));
      std::int64_t j = 0;
      for (; j + W <= m; j += W) {
        const B p = B::load_unaligned(pp + i0 + j), t = B::load_unaligned(py + i0 + j);
        const B log_p = xsimd::max(xsimd::log(p), floor_log), log_q = xsimd::max(xsimd::log(one - p), floor_log);
        (-(t * log_p + (one - t) * log_q)).store_unaligned(l + j);
      }
      for (; j < m; ++j) {
        const std::int64_t i = i0 + j;
        l[j] = -(weighted_clamped_log(py[i], pp[i]) + weighted_clamped_log(T(1) - py[i], T(1) - pp[i]));
      }
      if (reduction != Reduction::None)
        for (std::int64_t j = 0; j < m; ++j) total += l[j];
    }
    if (reduction == Reduction::Mean) *po = static_cast<T>(total / static_cast<double>(n));
    if (reduction == Reduction::Sum) *po = static_cast<T>(total);
  });

  // Both gradients read p; only p's reads y.
  if (autograd::needs_grad(p, y))
    autograd::record(op, {p, y}, out, autograd::formulas(
        [p = SavedTensor(p), y = SavedTensor(p.requires_grad() ? y : Tensor()), reduction, n](const Tensor& gy) {
          const Tensor pp = p.get();  // g (p - y) / max(p (1 - p), 1e-12)
          if (!GradMode::is_enabled())
            if (Tensor g = bce_grad_unrecorded(gy, pp, y.get(), reduction, n); g.defined()) return g;
          return spread(gy, pp.shape(), reduction, n) * (pp - y.get()) / clamp(pp * (1.0 - pp), kGradEps);
        },
        [p = SavedTensor(p), reduction, n](const Tensor& gy) {
          const Tensor pp = p.get();  // g (clog(1 - p) - clog(p)), the logs clamped at -100 as in the forward
          return spread(gy, pp.shape(), reduction, n) * (clamp(log(1.0 - pp), kLogFloor) - clamp(log(pp), kLogFloor));
        }));
  return out;
}

// ---------------------------------------------------------------------------
// Declarations: samples and error inputs of nll_loss and binary_cross_entropy.
// ---------------------------------------------------------------------------
namespace {
// These exact values, not differentiated (hard 0/1 targets: a step past 1 is refused).
InputSpec fixed(const Tensor& values) {
  InputSpec s = inputs::given(values);
  s.differentiable = false;
  return s;
}
}  // namespace

std::vector<OpInfo> loss_op_declarations() {
  using inputs::given;
  const Tensor log_probs = log_softmax(ones({2, 3}));
  OpInfo nll("nll_loss");
  OpInfo bce("binary_cross_entropy");
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    const std::string reduced = r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none";
    nll.sample("over log_softmax [4,5], " + reduced,
               {inputs::any({4, 5}), given(tensor_i64({1, 0, 3, 3}, {4}))},
               [r](const OpArgs& v) { return nll_loss(log_softmax(v[0]), v[1], r); });
    bce.sample("soft targets, " + reduced,
               {given(tensor({0.1, 0.35, 0.8, 0.6}, {2, 2})), given(tensor({0.05, 0.25, 0.95, 0.7}, {2, 2}))},
               [r](const OpArgs& v) { return binary_cross_entropy(v[0], v[1], r); });
  }
  bce.sample("sigmoid of scores, int64 0/1 labels", {inputs::any({4, 1}), inputs::indices({4, 1}, 2)},
             [](const OpArgs& v) { return binary_cross_entropy(sigmoid(v[0]), v[1]); });
  bce.sample("sigmoid of scores, 0/1 targets",
             {inputs::any({3, 4}), fixed(tensor({1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0}, {3, 4}))},
             [](const OpArgs& v) { return binary_cross_entropy(sigmoid(v[0]), v[1]); });
  return {
      nll.error("class index >= number of classes", [=] { nll_loss(log_probs, tensor_i64({0, 3}, {2})); },
                {"nll_loss", "target 3", "position 1", "3 classes"})
          .error("negative class index", [=] { nll_loss(log_probs, tensor_i64({-1, 0}, {2})); },
                 {"nll_loss", "target -1", "position 0"})
          .error("float targets", [=] { nll_loss(log_probs, tensor({0, 1})); }, {"nll_loss", "int64", "float32"})
          .error("one target for two rows", [=] { nll_loss(log_probs, tensor_i64({0}, {1})); },
                 {"nll_loss", "[2,3]", "[1]"})
          .error("batchmean", [=] { nll_loss(log_probs, tensor_i64({0, 1}, {2}), Reduction::BatchMean); },
                 {"nll_loss: Reduction::BatchMean is only for kl_div"})
          .error("an empty batch", [] { nll_loss(zeros({0, 3}), tensor_i64({}, {0})); },
                 {"nll_loss", "empty", "[0,3]"}),
      bce.error("mean of empty tensors", [] { binary_cross_entropy(ones({0, 1}), ones({0, 1})); },
                {"binary_cross_entropy", "empty", "[0,1]"})
          .error("target above 1", [] { binary_cross_entropy(full({2, 1}, 0.5), tensor({0, 1.5}, {2, 1})); },
                 {"binary_cross_entropy: targets must be in [0, 1], found 1.5 at position 1"})
          .error("negative target", [] { binary_cross_entropy(full({2, 1}, 0.5), tensor({-0.25, 1}, {2, 1})); },
                 {"binary_cross_entropy", "targets must be in [0, 1]", "-0.25", "position 0"})
          .error("NaN target",
                 [] { binary_cross_entropy(full({2, 1}, 0.5), tensor({1, std::nan("")}, {2, 1})); },
                 {"binary_cross_entropy", "targets", "nan", "position 1"})
          .error("probabilities outside [0, 1] (logits passed)",
                 [] { binary_cross_entropy(tensor({0.5, 3}, {2, 1}), tensor({0, 1}, {2, 1})); },
                 {"binary_cross_entropy", "probabilities must be in [0, 1]", "sigmoid", "3"})
          .error("NaN probability", [] { binary_cross_entropy(tensor({std::nan(""), 0.5}, {2, 1}), ones({2, 1})); },
                 {"binary_cross_entropy", "probabilities", "nan", "position 0"})
          .error("shapes differ", [] { binary_cross_entropy(full({4, 1}, 0.5), ones({4})); },
                 {"binary_cross_entropy", "[4,1]", "[4]", "same shape"})
          .error("an int64 label 2", [] { binary_cross_entropy(tensor({0.5, 0.5}), tensor_i64({1, 2}, {2})); },
                 {"binary_cross_entropy: targets must be in [0, 1], found 2 at position 1"})
          .error("undefined targets", [] { binary_cross_entropy(tensor({0.5}), Tensor()); },
                 {"binary_cross_entropy", "undefined"})
          .error("batchmean", [] { binary_cross_entropy(tensor({0.5}), tensor({1.0}), Reduction::BatchMean); },
                 {"binary_cross_entropy: Reduction::BatchMean is only for kl_div"}),
  };
}

}  // namespace tg
