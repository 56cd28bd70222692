// fused_batch_norm: batch normalisation with the batch's statistics as one op.
//
// The composition in nn::functional (mean, subtract, square, mean, rsqrt,
// multiply, add) reads and writes the whole input about eight times forward
// and more backward; here the forward makes two passes per channel (the
// statistics, accumulated in double, then y = x * scale + shift) and the
// backward two (the two sums, then the input gradient):
//   x^ = (x - mean) * invstd,  g = dy * weight,
//   dx = invstd * (g - mean(g) - x^ * mean(g * x^)),
//   dweight = sum(dy * x^),  dbias = sum(dy),
// sums and means per channel over every dimension but 1. Under create_graph
// the backward is the same formula written with differentiable ops (the
// statistics recomputed from x), so the gradient can be differentiated again.
#include <cmath>
#include <vector>

#include "core/dispatch.hpp"
#include "core/parallel.hpp"
#include "ops/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/ops/normalization.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg {
using autograd::SavedTensor;
namespace {

// Input [N, C, *] read as [outer, channels, inner] blocks.
struct Layout {
  std::int64_t outer, channels, inner;
  std::int64_t count() const { return outer * inner; }  // values per channel
};

Layout layout_of(const Tensor& x) { return {x.size(0), x.size(1), x.numel() / (x.size(0) * x.size(1))}; }

// A channel's pass over its values: f(offset of one contiguous run of `inner` values).
template <class F> void for_each_run(const Layout& l, std::int64_t c, F&& f) {
  for (std::int64_t n = 0; n < l.outer; ++n) f((n * l.channels + c) * l.inner);
}

// Σ f(p[i], q[i]) over a run of n values, in double. The partial sums are a
// fixed array of kLanes that GCC keeps in vector registers (-O3), so the
// additions neither wait on each other nor run one lane at a time: four
// scalar partial sums read about one float per cycle, this four to eight
// (fwd+bwd of [64,32,28,28] float32 at one thread: 4.4 ms before, 2.1 after).
constexpr int kLanes = 16;
template <class T, class F> double run_sum(const T* p, const T* q, std::int64_t n, F&& f) {
  double acc[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += f(static_cast<double>(p[i + j]), static_cast<double>(q[i + j]));
  for (int j = 0; i < n; ++i, ++j) acc[j] += f(static_cast<double>(p[i]), static_cast<double>(q[i]));
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) acc[j] += acc[j + width];
  return acc[0];
}

// The same over one run.
template <class T, class F> double run_sum(const T* p, std::int64_t n, F&& f) {
  return run_sum(p, p, n, [&f](double v, double) { return f(v); });
}

// A [C] tensor as [1, C, 1, ...] for an input of `rank` dimensions.
Tensor per_channel(const Tensor& t, int rank) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(rank), 1);
  shape[1] = t.numel();
  return reshape(t, shape);
}

std::vector<int> all_but_channels(int rank) {
  std::vector<int> dims{0};
  for (int d = 2; d < rank; ++d) dims.push_back(d);
  return dims;
}

void check_channel_vector(const Tensor& t, const char* what, const Tensor& input) {
  if (!t.defined()) return;
  if (t.dim() != 1 || t.size(0) != input.size(1))
    detail::fail("fused_batch_norm: ", what, " must have shape [", input.size(1), "] to match the input ",
                 describe(input), ", got ", describe(t));
  if (t.dtype() != input.dtype())
    detail::fail("fused_batch_norm: ", what, " is ", describe(t), " but the input is ", dtype_name(input.dtype()));
}

// The backward as differentiable ops, for create_graph: every statistic is
// recomputed from x, so the second derivative sees how it depends on x.
autograd::Grads composed_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, double eps,
                                  const autograd::NeedsGrad& needs) {
  const int rank = x.dim();
  const std::vector<int> dims = all_but_channels(rank);
  const Tensor centred = x - mean(x, dims, true);
  const Tensor invstd = rsqrt(mean(centred * centred, dims, true) + eps);
  const Tensor x_hat = centred * invstd;
  autograd::Grads grads;
  if (needs[0]) {
    const Tensor g = weight.defined() ? gy * per_channel(weight, rank) : gy;
    grads.push_back(invstd * (g - mean(g, dims, true) - x_hat * mean(g * x_hat, dims, true)));
  } else {
    grads.emplace_back();
  }
  if (weight.defined()) grads.push_back(needs[1] ? sum(gy * x_hat, dims) : Tensor());
  return grads;
}

}  // namespace

Tensor fused_batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, double momentum, double eps) {
  detail::check_floating(input, "fused_batch_norm");
  if (input.dim() < 2)
    detail::fail("fused_batch_norm: expected an input [N, C, *] of at least 2 dimensions, got ", describe(input));
  if (input.numel() == 0) detail::fail("fused_batch_norm: the input ", describe(input), " is empty");
  check_channel_vector(weight, "weight", input);
  check_channel_vector(bias, "bias", input);
  check_channel_vector(running_mean, "running_mean", input);
  check_channel_vector(running_var, "running_var", input);
  if (running_mean.defined() != running_var.defined())
    detail::fail("fused_batch_norm: running_mean and running_var must both be given or both be undefined");
  const Layout l = layout_of(input);
  if (l.count() <= 1)
    detail::fail("fused_batch_norm: expected more than 1 value per channel when training, got an input ",
                 describe(input));
  if (!(eps >= 0.0)) detail::fail("fused_batch_norm: eps must be non-negative, got ", eps);

  Tensor y = empty(input.shape(), input.dtype());
  Tensor batch_mean = empty({l.channels}, input.dtype());
  Tensor invstd = empty({l.channels}, input.dtype());
  Tensor batch_var = empty({l.channels}, input.dtype());  // biased
  detail::dispatch_float(input.dtype(), "fused_batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* x = input.data<T>();
    const T* w = weight.defined() ? weight.data<T>() : nullptr;
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    T* out = y.data<T>();
    T* m_out = batch_mean.data<T>();
    T* inv_out = invstd.data<T>();
    T* var_out = batch_var.data<T>();
    detail::parallel_for(l.channels, 1, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t c = first; c < last; ++c) {
        double total = 0;
        for_each_run(l, c, [&](std::int64_t o) { total += run_sum(x + o, l.inner, [](double v) { return v; }); });
        const double m = total / static_cast<double>(l.count());
        double squares = 0;
        for_each_run(l, c, [&](std::int64_t o) {
          squares += run_sum(x + o, l.inner, [m](double v) { return (v - m) * (v - m); });
        });
        const double var = squares / static_cast<double>(l.count());
        const double inv = 1.0 / std::sqrt(var + eps);
        // In T: float32 data is scaled in float32 (one rounding more than in
        // double, as PyTorch does), and the loop is a plain vector FMA.
        const T scale = static_cast<T>(inv * (w ? w[c] : 1.0));
        const T shift = static_cast<T>((b ? b[c] : 0.0) - m * (inv * (w ? w[c] : 1.0)));
        for_each_run(l, c, [&](std::int64_t o) {
          for (std::int64_t i = 0; i < l.inner; ++i) out[o + i] = x[o + i] * scale + shift;
        });
        m_out[c] = static_cast<T>(m);
        inv_out[c] = static_cast<T>(inv);
        var_out[c] = static_cast<T>(var);
      }
    });
  });
  if (running_mean.defined()) {
    NoGradGuard no_grad;
    const double n = static_cast<double>(l.count());
    Tensor mean_state = running_mean, var_state = running_var;
    mean_state.copy_(running_mean * (1.0 - momentum) + batch_mean * momentum);
    var_state.copy_(running_var * (1.0 - momentum) + batch_var * (momentum * n / (n - 1.0)));
  }

  std::vector<Tensor> inputs{input};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  if (autograd::needs_grad_list(inputs))
    autograd::record(
        "fused_batch_norm", inputs, y,
        autograd::BackwardFn([x = SavedTensor(input), w = SavedTensor(weight), m = SavedTensor(batch_mean),
                              inv = SavedTensor(invstd), has_bias = bias.defined(),
                              eps](const Tensor& gy, const autograd::NeedsGrad& needs) -> autograd::Grads {
          const Tensor x_in = x.get(), w_in = w.defined() ? w.get() : Tensor();
          autograd::Grads grads;
          if (GradMode::is_enabled()) {
            grads = composed_backward(gy, x_in, w_in, eps, needs);
            if (has_bias) grads.push_back(needs[grads.size()] ? sum(gy, all_but_channels(x_in.dim())) : Tensor());
            return grads;
          }
          const Layout l = layout_of(x_in);
          const bool has_weight = w_in.defined();
          Tensor dx = needs[0] ? empty(x_in.shape(), x_in.dtype()) : Tensor();
          Tensor dw = has_weight && needs[1] ? empty({l.channels}, x_in.dtype()) : Tensor();
          const std::size_t bias_slot = has_weight ? 2 : 1;
          Tensor db = has_bias && needs[bias_slot] ? empty({l.channels}, x_in.dtype()) : Tensor();
          const Tensor g_in = gy;
          detail::dispatch_float(x_in.dtype(), "fused_batch_norm backward", [&](auto tag) {
            using T = decltype(tag);
            const T* xv = x_in.data<T>();
            const T* g = g_in.data<T>();
            const T* wv = has_weight ? w_in.data<T>() : nullptr;
            const T* mv = m.get().template data<T>();
            const T* iv = inv.get().template data<T>();
            T* dxv = dx.defined() ? dx.template data<T>() : nullptr;
            T* dwv = dw.defined() ? dw.template data<T>() : nullptr;
            T* dbv = db.defined() ? db.template data<T>() : nullptr;
            detail::parallel_for(l.channels, 1, [&](std::int64_t first, std::int64_t last) {
              for (std::int64_t c = first; c < last; ++c) {
                const double mc = mv[c], ic = iv[c];
                double sum_g = 0, sum_g_centred = 0;
                for_each_run(l, c, [&](std::int64_t o) {
                  sum_g += run_sum(g + o, l.inner, [](double v) { return v; });
                  sum_g_centred += run_sum(g + o, xv + o, l.inner, [mc](double gv, double x_v) { return gv * (x_v - mc); });
                });
                const double sum_g_xhat = sum_g_centred * ic;
                if (dwv) dwv[c] = static_cast<T>(sum_g_xhat);
                if (dbv) dbv[c] = static_cast<T>(sum_g);
                if (!dxv) continue;
                const double n = static_cast<double>(l.count());
                const double k = ic * (wv ? wv[c] : 1.0);
                const double mean_g = sum_g / n, mean_g_xhat = sum_g_xhat / n;
                // dx = k g - k mean_g - (x - m) k ic mean_g_xhat, in T as forward;
                // x - m first, so data far from zero keeps its precision.
                const T kg = static_cast<T>(k), a = static_cast<T>(-k * ic * mean_g_xhat);
                const T b0 = static_cast<T>(-k * mean_g), mT = static_cast<T>(mc);
                for_each_run(l, c, [&](std::int64_t o) {
                  for (std::int64_t i = 0; i < l.inner; ++i) dxv[o + i] = kg * g[o + i] + ((xv[o + i] - mT) * a + b0);
                });
              }
            });
          });
          grads.push_back(dx);
          if (has_weight) grads.push_back(dw);
          if (has_bias) grads.push_back(db);
          return grads;
        }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: gradcheck runs the fused backward, gradgradcheck its composed
// form; the running stats are made inside the call, which updates them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> normalization_op_declarations() {
  using inputs::any;
  return {
      OpInfo("fused_batch_norm")
          .sample("[N,C], weight and bias", {any({4, 3}), any({3}), any({3})},
                  [](const OpArgs& v) { return fused_batch_norm(v[0], v[1], v[2]); })
          .sample("[N,C,H,W], no affine, running stats updated", {any({2, 2, 2, 3})},
                  [](const OpArgs& v) {
                    return fused_batch_norm(v[0], Tensor(), Tensor(), zeros({2}, v[0].dtype()), ones({2}, v[0].dtype()),
                                            0.3);
                  })
          .sample("[N,C,L], weight only, eps 0.1", {any({3, 2, 2}), any({2})},
                  [](const OpArgs& v) { return fused_batch_norm(v[0], v[1], Tensor(), Tensor(), Tensor(), 0.1, 0.1); })
          .sample("[N,C,L], bias only", {any({2, 2, 3}), any({2})},
                  [](const OpArgs& v) { return fused_batch_norm(v[0], Tensor(), v[1]); })
          .error("1-D input", [] { fused_batch_norm(ones({4})); }, {"fused_batch_norm", "[N, C, *]", "[4]"})
          .error("weight of the wrong size", [] { fused_batch_norm(ones({4, 3}), ones({2})); },
                 {"fused_batch_norm", "weight", "[3]", "[2]"})
          .error("empty input", [] { fused_batch_norm(ones({0, 3})); }, {"fused_batch_norm", "[0,3]", "empty"})
          .error("one value per channel", [] { fused_batch_norm(ones({1, 3, 1})); },
                 {"fused_batch_norm", "more than 1 value per channel", "[1,3,1]"})
          .error("only running_mean", [] { fused_batch_norm(ones({4, 3}), Tensor(), Tensor(), zeros({3})); },
                 {"fused_batch_norm", "running_var"})
          .error("int64 input", [] { fused_batch_norm(tensor_i64({1, 2}, {2, 1})); }, {"fused_batch_norm", "int64"}),
  };
}

}  // namespace tg
