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
//
// fused_layer_norm: the same for layer normalisation, each row of the trailing
// normalized_shape (D values) normalised by its own statistics. Forward makes
// two passes over a row (the sums, then y), backward one (two sums and dx,
// row by row, the row still in cache), in xsimd batches of the element type:
//   dx = invstd * (g - mean(g) - x^ * mean(g * x^)),  g = dy * weight,
//   dweight = sum over rows of dy * x^,  dbias = sum over rows of dy.
// The rows are split into a fixed number of blocks whatever the thread count,
// and dweight / dbias are summed block by block in order, so the result does
// not depend on the number of threads.
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>
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

// ---- layer norm ----

// Row kernels of fused_layer_norm over rows of n contiguous values.
template <class T> struct LayerNormRows {
  using B = xsimd::batch<T>;
  static constexpr std::int64_t W = static_cast<std::int64_t>(B::size);

  // sum of f(p[i]) (f on values and on batches alike).
  template <class F> static T sum(const T* p, std::int64_t n, F&& f) {
    std::int64_t i = 0;
    T total = 0;
    if (n >= W) {
      B acc(T(0));
      for (; i + W <= n; i += W) acc += f(B::load_unaligned(p + i));
      total = xsimd::hadd(acc);
    }
    for (; i < n; ++i) total += f(p[i]);
    return total;
  }

  // y = (x - mean) * invstd [* w] [+ b] for one row; returns {mean, invstd}.
  static std::pair<T, T> forward(const T* x, T* y, const T* w, const T* b, std::int64_t n, double eps) {
    const T m = sum(x, n, [](auto v) { return v; }) / static_cast<T>(n);
    const T var = sum(x, n, [m](auto v) { return (v - m) * (v - m); }) / static_cast<T>(n);
    const T inv = static_cast<T>(1.0 / std::sqrt(static_cast<double>(var) + eps));
    auto out = [&](auto v, auto wv, auto bv) { return (v - m) * inv * wv + bv; };
    std::int64_t i = 0;
    for (; i + W <= n; i += W) {
      const B wv = w ? B::load_unaligned(w + i) : B(T(1)), bv = b ? B::load_unaligned(b + i) : B(T(0));
      out(B::load_unaligned(x + i), wv, bv).store_unaligned(y + i);
    }
    for (; i < n; ++i) y[i] = out(x[i], w ? w[i] : T(1), b ? b[i] : T(0));
    return {m, inv};
  }

  // One row's dx (when dx is not null), and its dy * x^ and dy added into
  // dw / db (when not null).
  static void backward(const T* x, const T* dy, const T* w, T m, T inv, std::int64_t n, T* dx, T* dw, T* db) {
    if (dx) {
      // a = sum(g), c = sum(g (x - m)), g = dy * w
      T a = 0, c = 0;
      std::int64_t i = 0;
      if (n >= W) {
        B va(T(0)), vc(T(0));
        const B bm(m);
        for (; i + W <= n; i += W) {
          const B g = w ? B::load_unaligned(dy + i) * B::load_unaligned(w + i) : B::load_unaligned(dy + i);
          va += g;
          vc += g * (B::load_unaligned(x + i) - bm);
        }
        a = xsimd::hadd(va);
        c = xsimd::hadd(vc);
      }
      for (; i < n; ++i) {
        const T g = w ? dy[i] * w[i] : dy[i];
        a += g;
        c += g * (x[i] - m);
      }
      // dx = inv (g - a/n - (x - m) inv^2 c/n)
      const T mean_g = a / static_cast<T>(n), k = inv * inv * c / static_cast<T>(n);
      auto d = [&](auto g, auto v) { return inv * (g - mean_g - (v - m) * k); };
      i = 0;
      for (; i + W <= n; i += W) {
        const B g = w ? B::load_unaligned(dy + i) * B::load_unaligned(w + i) : B::load_unaligned(dy + i);
        d(g, B::load_unaligned(x + i)).store_unaligned(dx + i);
      }
      for (; i < n; ++i) dx[i] = d(w ? dy[i] * w[i] : dy[i], x[i]);
    }
    std::int64_t i = 0;
    for (; i + W <= n; i += W) {
      const B g = B::load_unaligned(dy + i);
      if (dw) (B::load_unaligned(dw + i) + g * ((B::load_unaligned(x + i) - B(m)) * B(inv))).store_unaligned(dw + i);
      if (db) (B::load_unaligned(db + i) + g).store_unaligned(db + i);
    }
    for (; i < n; ++i) {
      if (dw) dw[i] += dy[i] * ((x[i] - m) * inv);
      if (db) db[i] += dy[i];
    }
  }
};

std::int64_t numel_of(const std::vector<std::int64_t>& extents) {
  std::int64_t n = 1;
  for (std::int64_t e : extents) n *= e;
  return n;
}

// The backward as differentiable ops over [rows, D], for create_graph.
autograd::Grads composed_layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, bool has_bias,
                                             const std::vector<std::int64_t>& normalized_shape, std::int64_t D,
                                             double eps, const autograd::NeedsGrad& needs) {
  const std::int64_t rows = D == 0 ? 0 : x.numel() / D;
  const Tensor x2 = reshape(x, {rows, D}), g2 = reshape(gy, {rows, D});
  const Tensor centred = x2 - mean(x2, {1}, true);
  const Tensor invstd = rsqrt(mean(centred * centred, {1}, true) + eps);
  const Tensor x_hat = centred * invstd;
  autograd::Grads grads;
  if (needs[0]) {
    const Tensor g = weight.defined() ? g2 * reshape(weight, {D}) : g2;
    grads.push_back(reshape(invstd * (g - mean(g, {1}, true) - x_hat * mean(g * x_hat, {1}, true)), x.shape().vec()));
  } else {
    grads.emplace_back();
  }
  std::size_t slot = 1;
  if (weight.defined()) {
    grads.push_back(needs[slot] ? reshape(sum(g2 * x_hat, {0}), weight.shape().vec()) : Tensor());
    ++slot;
  }
  if (has_bias) grads.push_back(needs[slot] ? reshape(sum(g2, {0}), normalized_shape) : Tensor());
  return grads;
}

// The gradients a fused normalisation's plain backward writes: dx like x, and
// dweight / dbias of `param_shape` when the op has them and they are wanted
// (undefined otherwise). grads() lists them in the op's input order.
struct NormGrads {
  Tensor dx, dw, db;
  bool has_weight, has_bias;
  NormGrads(const Tensor& x, bool weight, bool bias, const Shape& param_shape, const autograd::NeedsGrad& needs)
      : has_weight(weight), has_bias(bias) {
    if (needs[0]) dx = empty(x.shape(), x.dtype());
    if (weight && needs[1]) dw = empty(param_shape, x.dtype());
    if (bias && needs[weight ? 2 : 1]) db = empty(param_shape, x.dtype());
  }
  autograd::Grads grads() const {
    autograd::Grads g{dx};
    if (has_weight) g.push_back(dw);
    if (has_bias) g.push_back(db);
    return g;
  }
};

}  // namespace

Tensor fused_layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight,
                        const Tensor& bias, double eps) {
  const char* op = "fused_layer_norm";
  detail::check_floating(input, op);
  if (normalized_shape.empty()) detail::fail(op, ": normalized_shape must have at least one dimension");
  for (std::int64_t extent : normalized_shape)
    if (extent <= 0)
      detail::fail(op, ": normalized_shape ", Shape(normalized_shape).str(), " must have positive extents");
  const int k = static_cast<int>(normalized_shape.size());
  bool trailing = input.dim() >= k;
  for (int i = 0; trailing && i < k; ++i)
    trailing = input.size(input.dim() - k + i) == normalized_shape[static_cast<std::size_t>(i)];
  if (!trailing)
    detail::fail(op, ": normalized_shape ", Shape(normalized_shape).str(), " expects an input ending in it, got ",
                 describe(input));
  auto check_affine = [&](const Tensor& t, const char* what) {
    if (!t.defined()) return;
    if (t.shape() != Shape(normalized_shape))
      detail::fail(op, ": ", what, " must have shape ", Shape(normalized_shape).str(), " to match the input ",
                   describe(input), ", got ", describe(t));
    if (t.dtype() != input.dtype())
      detail::fail(op, ": ", what, " is ", describe(t), " but the input is ", dtype_name(input.dtype()));
  };
  check_affine(weight, "weight");
  check_affine(bias, "bias");
  const std::int64_t D = numel_of(normalized_shape), rows = input.numel() / D;

  Tensor y = empty(input.shape(), input.dtype());
  Tensor row_mean = empty({rows}, input.dtype()), row_invstd = empty({rows}, input.dtype());
  detail::dispatch_float(input.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* x = input.data<T>();
    const T* w = weight.defined() ? weight.data<T>() : nullptr;
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    T* out = y.data<T>();
    T* mv = row_mean.data<T>();
    T* iv = row_invstd.data<T>();
    detail::parallel_for(rows, detail::grain_for_rows(D), [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t r = first; r < last; ++r)
        std::tie(mv[r], iv[r]) = LayerNormRows<T>::forward(x + r * D, out + r * D, w, b, D, eps);
    });
  });

  std::vector<Tensor> inputs{input};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  if (autograd::needs_grad_list(inputs))
    autograd::record(
        op, inputs, y,
        autograd::BackwardFn([x = SavedTensor(input), w = SavedTensor(weight), m = SavedTensor(row_mean),
                              inv = SavedTensor(row_invstd), has_bias = bias.defined(), normalized_shape, D, rows,
                              eps](const Tensor& gy, const autograd::NeedsGrad& needs) -> autograd::Grads {
          const Tensor x_in = x.get(), w_in = w.defined() ? w.get() : Tensor();
          const bool has_weight = w_in.defined();
          if (GradMode::is_enabled())
            return composed_layer_norm_backward(gy, x_in, w_in, has_bias, normalized_shape, D, eps, needs);
          NormGrads out(x_in, has_weight, has_bias, Shape(normalized_shape), needs);
          Tensor &dx = out.dx, &dw = out.dw, &db = out.db;
          const Tensor g_in = gy.dtype() == x_in.dtype() ? gy : gy.to(x_in.dtype());
          detail::dispatch_float(x_in.dtype(), "fused_layer_norm backward", [&](auto tag) {
            using T = decltype(tag);
            const T* xv = x_in.data<T>();
            const T* g = g_in.data<T>();
            const T* wv = has_weight ? w_in.data<T>() : nullptr;
            const T* mv = m.get().template data<T>();
            const T* iv = inv.get().template data<T>();
            T* dxv = dx.defined() ? dx.template data<T>() : nullptr;
            const bool want_w = dw.defined(), want_b = db.defined();
            // Blocks of rows, a fixed number whatever the thread count; each
            // block sums its own dw / db, added up in block order below.
            const std::int64_t blocks = std::min<std::int64_t>(rows, 16);
            std::vector<T> part_w(want_w ? static_cast<std::size_t>(blocks * D) : 0, T(0));
            std::vector<T> part_b(want_b ? static_cast<std::size_t>(blocks * D) : 0, T(0));
            detail::parallel_for(blocks, 1, [&](std::int64_t first, std::int64_t last) {
              for (std::int64_t blk = first; blk < last; ++blk)
                for (std::int64_t r = rows * blk / blocks; r < rows * (blk + 1) / blocks; ++r)
                  LayerNormRows<T>::backward(xv + r * D, g + r * D, wv, mv[r], iv[r], D, dxv ? dxv + r * D : nullptr,
                                             want_w ? part_w.data() + blk * D : nullptr,
                                             want_b ? part_b.data() + blk * D : nullptr);
            });
            auto add_blocks = [&](Tensor& out, const std::vector<T>& part) {
              if (!out.defined()) return;
              T* o = out.template data<T>();
              std::fill(o, o + D, T(0));
              for (std::int64_t blk = 0; blk < blocks; ++blk)
                for (std::int64_t i = 0; i < D; ++i) o[i] += part[static_cast<std::size_t>(blk * D + i)];
            };
            add_blocks(dw, part_w);
            add_blocks(db, part_b);
          });
          return out.grads();
        }));
  return y;
}

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
          NormGrads out(x_in, has_weight, has_bias, Shape{l.channels}, needs);
          Tensor &dx = out.dx, &dw = out.dw, &db = out.db;
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
          return out.grads();
        }));
  return y;
}

// ---------------------------------------------------------------------------
// Declarations: gradcheck runs the fused backwards, gradgradcheck their composed
// forms; batch norm's running stats are made inside the call, which updates them.
// ---------------------------------------------------------------------------
std::vector<OpInfo> normalization_op_declarations() {
  using inputs::any;
  return {
      OpInfo("fused_layer_norm")
          .sample("[N,D], weight and bias", {any({4, 5}), any({5}), any({5})},
                  [](const OpArgs& v) { return fused_layer_norm(v[0], {5}, v[1], v[2]); })
          .sample("[N,D] with D = 37: xsimd batches and a tail", {any({2, 37}), any({37}), any({37})},
                  [](const OpArgs& v) { return fused_layer_norm(v[0], {37}, v[1], v[2]); })
          .sample("[N,C,L] over [C,L], no affine, eps 0.1", {any({2, 3, 4})},
                  [](const OpArgs& v) { return fused_layer_norm(v[0], {3, 4}, Tensor(), Tensor(), 0.1); })
          .sample("[N,C,L], weight only", {any({3, 2, 4}), any({4})},
                  [](const OpArgs& v) { return fused_layer_norm(v[0], {4}, v[1]); })
          .sample("[D], bias only", {any({6}), any({6})},
                  [](const OpArgs& v) { return fused_layer_norm(v[0], {6}, Tensor(), v[1]); })
          .error("trailing shape differs", [] { fused_layer_norm(ones({2, 3, 4}), {3}); },
                 {"fused_layer_norm", "[3]", "[2,3,4]"})
          .error("weight of the wrong shape", [] { fused_layer_norm(ones({2, 4}), {4}, ones({3})); },
                 {"fused_layer_norm", "weight", "[4]", "[3]"})
          .error("no normalized dimension", [] { fused_layer_norm(ones({2, 4}), {}); },
                 {"fused_layer_norm", "normalized_shape", "at least one"})
          .error("int64 input", [] { fused_layer_norm(tensor_i64({1, 2}, {2, 1}), {1}); },
                 {"fused_layer_norm", "int64"}),
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
