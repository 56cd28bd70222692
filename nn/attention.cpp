// tg::nn attention: scaled dot-product attention, MultiheadAttention, the
// Transformer layers and stacks, positional encodings.
//
// Built only from recorded ops, so backward comes from the tape. For speed the
// heads are never looped over: q, k and v become [N * heads, L, head_dim] with
// one permute each, and the scores and the weighted sum are one bmm each
// (cross-attention with key == value projects k and v with one gemm).
#include <cmath>
#include <limits>
#include <string>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {

using tg::detail::fail;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// 0 where key j <= query i (j - i <= offset), -inf after; [L, S].
Tensor causal_mask(std::int64_t L, std::int64_t S, Dtype dtype) {
  std::vector<double> v(static_cast<std::size_t>(L * S), 0.0);
  for (std::int64_t i = 0; i < L; ++i)
    for (std::int64_t j = i + 1; j < S; ++j) v[static_cast<std::size_t>(i * S + j)] = -kInf;
  return tensor(v, {L, S}, dtype);
}

// PyTorch's mask rule with tapegrad's dtypes: int64 is a bool mask whose true
// (non-zero) elements are removed (-inf), a float mask is added.
Tensor apply_mask(const Tensor& scores, const Tensor& mask) {
  if (mask.dtype() == kInt64) return masked_fill(scores, mask, -kInf);
  return scores + mask.to(scores.dtype());
}

}  // namespace

Tensor generate_square_subsequent_mask(std::int64_t sz, Dtype dtype) {
  if (sz < 0) fail("generate_square_subsequent_mask: sz must be >= 0, got ", sz);
  if (dtype == kInt64) fail("generate_square_subsequent_mask: the mask is -inf / 0, so its dtype must be floating");
  return causal_mask(sz, sz, dtype);
}

namespace functional {

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale) {
  tg::detail::check_defined(query, "scaled_dot_product_attention");
  tg::detail::check_defined(key, "scaled_dot_product_attention");
  tg::detail::check_defined(value, "scaled_dot_product_attention");
  auto shapes = [&] {
    return tg::detail::cat("query ", query.shape().str(), ", key ", key.shape().str(), ", value ",
                           value.shape().str());
  };
  if (query.dim() < 3 || key.dim() != query.dim() || value.dim() != query.dim())
    fail("scaled_dot_product_attention: expected query [..., L, E], key [..., S, E] and value [..., S, Ev] with "
         "at least one batch dimension; got ",
         shapes());
  const int d = query.dim();
  for (int i = 0; i < d - 2; ++i)
    if (key.size(i) != query.size(i) || value.size(i) != query.size(i))
      fail("scaled_dot_product_attention: the batch dimensions differ: ", shapes());
  const std::int64_t L = query.size(-2), E = query.size(-1), S = key.size(-2), Ev = value.size(-1);
  if (key.size(-1) != E) fail("scaled_dot_product_attention: query and key have different features E: ", shapes());
  if (value.size(-2) != S) fail("scaled_dot_product_attention: key and value have different lengths S: ", shapes());
  if (dropout_p < 0 || dropout_p > 1) fail("scaled_dot_product_attention: dropout_p must be in [0, 1], got ", dropout_p);
  if (is_causal && attn_mask.defined())
    fail("scaled_dot_product_attention: pass either attn_mask or is_causal, not both");
  std::int64_t B = 1;
  for (int i = 0; i < d - 2; ++i) B *= query.size(i);
  std::vector<std::int64_t> batch = query.shape().vec();
  batch.resize(static_cast<std::size_t>(d - 2));
  const double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(E));
  Tensor q = reshape(query, {B, L, E}) * s;
  Tensor scores = bmm(q, transpose(reshape(key, {B, S, E}), 1, 2));  // [B, L, S]
  std::vector<std::int64_t> score_shape = batch;
  score_shape.push_back(L);
  score_shape.push_back(S);
  if (is_causal) scores = scores + causal_mask(L, S, scores.dtype());
  if (attn_mask.defined()) {
    try {
      broadcast_shapes(attn_mask.shape(), Shape(score_shape));
    } catch (const std::invalid_argument&) {
      fail("scaled_dot_product_attention: attn_mask ", attn_mask.shape().str(), " does not broadcast to the scores ",
           Shape(score_shape).str(), " (", shapes(), ")");
    }
    // int64: true takes part (PyTorch 2's rule for this function), so remove where it is zero.
    Tensor m = attn_mask.dtype() == kInt64 ? eq(attn_mask, tensor_i64({0}, {1})) : attn_mask;
    scores = reshape(apply_mask(reshape(scores, score_shape), m), {B, L, S});
  }
  Tensor probs = softmax(scores, -1);
  if (dropout_p > 0) probs = dropout(probs, dropout_p, true);
  Tensor out = bmm(probs, reshape(value, {B, S, Ev}));
  std::vector<std::int64_t> out_shape = batch;
  out_shape.push_back(L);
  out_shape.push_back(Ev);
  return reshape(out, out_shape);
}

}  // namespace functional

// ---- MultiheadAttention ----------------------------------------------------------

struct MultiheadAttention::Call {
  Tensor query, key, value, key_padding_mask, attn_mask;
  bool need_weights, average_attn_weights, is_causal;
};

MultiheadAttention::MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, double dropout, bool bias,
                                       bool batch_first, std::optional<std::int64_t> kdim,
                                       std::optional<std::int64_t> vdim)
    : embed_dim_(embed_dim),
      num_heads_(num_heads),
      kdim_(kdim.value_or(embed_dim)),
      vdim_(vdim.value_or(embed_dim)),
      dropout_(dropout),
      batch_first_(batch_first) {
  if (embed_dim <= 0 || num_heads <= 0 || kdim_ <= 0 || vdim_ <= 0)
    fail("MultiheadAttention: embed_dim, num_heads, kdim and vdim must be positive, got embed_dim=", embed_dim,
         ", num_heads=", num_heads, ", kdim=", kdim_, ", vdim=", vdim_);
  if (embed_dim % num_heads != 0)
    fail("MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim=", embed_dim,
         " and num_heads=", num_heads);
  if (!(dropout >= 0 && dropout <= 1)) fail("MultiheadAttention: dropout must be in [0, 1], got ", dropout);
  const std::int64_t E = embed_dim;
  // PyTorch's registration order: projection weights, in_proj_bias, out_proj.
  if (kdim_ == E && vdim_ == E) {
    in_proj_weight = register_parameter("in_proj_weight", empty({3 * E, E}));
  } else {
    q_proj_weight = register_parameter("q_proj_weight", empty({E, E}));
    k_proj_weight = register_parameter("k_proj_weight", empty({E, kdim_}));
    v_proj_weight = register_parameter("v_proj_weight", empty({E, vdim_}));
  }
  if (bias) in_proj_bias = register_parameter("in_proj_bias", empty({3 * E}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(E, E, bias));
  // PyTorch's _reset_parameters. xavier's bound depends on fan_in + fan_out
  // only, so tapegrad's [in, out] fan convention gives PyTorch's bound here.
  if (in_proj_weight.defined()) {
    init::xavier_uniform_(in_proj_weight);
  } else {
    init::xavier_uniform_(q_proj_weight);
    init::xavier_uniform_(k_proj_weight);
    init::xavier_uniform_(v_proj_weight);
  }
  if (bias) {
    init::zeros_(in_proj_bias);
    init::zeros_(out_proj->bias);
  }
}

AttentionOutput MultiheadAttention::operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                               const Tensor& key_padding_mask, bool need_weights,
                                               const Tensor& attn_mask, bool average_attn_weights, bool is_causal) {
  // The arguments wait in pending_ while Module::operator() runs the hooks and
  // forward(query), so hooks, nn::summary and error paths see this call too.
  pending_ = std::make_shared<Call>(
      Call{query, key, value, key_padding_mask, attn_mask, need_weights, average_attn_weights, is_causal});
  weights_ = Tensor();
  struct Clear {
    MultiheadAttention& m;
    ~Clear() {
      m.pending_.reset();
      m.weights_ = Tensor();
    }
  } clear{*this};
  Tensor out = Module::operator()(query);
  return {out, weights_};
}

Tensor MultiheadAttention::forward(const Tensor& query) {
  std::shared_ptr<Call> call = std::move(pending_);
  pending_.reset();
  // A pre-hook may have replaced the query; self-attention then follows it.
  const Tensor& key = !call || call->key.is_same(call->query) ? query : call->key;
  const Tensor& value = !call || call->value.is_same(call->query) ? query : call->value;
  const Tensor kpm = call ? call->key_padding_mask : Tensor();
  const Tensor attn_mask = call ? call->attn_mask : Tensor();
  const bool need_weights = call && call->need_weights;
  const bool average = !call || call->average_attn_weights;
  const bool is_causal = call && call->is_causal;

  tg::detail::check_defined(query, "MultiheadAttention");
  tg::detail::check_defined(key, "MultiheadAttention");
  tg::detail::check_defined(value, "MultiheadAttention");
  auto shapes = [&] {
    std::string s = tg::detail::cat("query ", query.shape().str(), ", key ", key.shape().str(), ", value ",
                                    value.shape().str());
    if (kpm.defined()) s += ", key_padding_mask " + kpm.shape().str();
    if (attn_mask.defined()) s += ", attn_mask " + attn_mask.shape().str();
    return s;
  };
  const bool batched = query.dim() == 3;
  const char* layout = batch_first_ ? "[N, L, E]" : "[L, N, E]";
  if (!batched && query.dim() != 2)
    fail("expected a query ", layout, " (or unbatched [L, E]), got ", shapes());
  if (key.dim() != query.dim() || value.dim() != query.dim())
    fail("query, key and value must all be batched (3-D) or all unbatched (2-D), got ", shapes());
  if (query.size(-1) != embed_dim_)
    fail("query has ", query.size(-1), " features, expected embed_dim=", embed_dim_, " (", shapes(), ")");
  if (key.size(-1) != kdim_) fail("key has ", key.size(-1), " features, expected kdim=", kdim_, " (", shapes(), ")");
  if (value.size(-1) != vdim_)
    fail("value has ", value.size(-1), " features, expected vdim=", vdim_, " (", shapes(), ")");
  // Work batch-first-or-not in the given layout: seq_dim is where L / S are.
  const bool bf = batch_first_ || !batched;
  const Tensor q_in = batched ? query : unsqueeze(query, 0);
  const Tensor k_in = batched ? key : unsqueeze(key, 0);
  const Tensor v_in = batched ? value : unsqueeze(value, 0);
  const int seq_dim = bf ? 1 : 0, batch_dim = bf ? 0 : 1;
  const std::int64_t N = q_in.size(batch_dim), L = q_in.size(seq_dim), S = k_in.size(seq_dim);
  const std::int64_t E = embed_dim_, H = num_heads_, dh = E / H;
  if (k_in.size(batch_dim) != N || v_in.size(batch_dim) != N)
    fail("query, key and value must have the same batch size N, got ", shapes());
  if (v_in.size(seq_dim) != S) fail("key and value must have the same length S, got ", shapes());
  if (kpm.defined()) {
    const bool ok = batched ? (kpm.dim() == 2 && kpm.size(0) == N && kpm.size(1) == S)
                            : (kpm.dim() == 1 && kpm.size(0) == S);
    if (!ok)
      fail("key_padding_mask must be ", batched ? tg::detail::cat("[N, S] = [", N, ",", S, "]")
                                                : tg::detail::cat("[S] = [", S, "]"),
           ", got ", shapes());
  }
  if (attn_mask.defined()) {
    const bool ok = (attn_mask.dim() == 2 && attn_mask.size(0) == L && attn_mask.size(1) == S) ||
                    (attn_mask.dim() == 3 && attn_mask.size(0) == N * H && attn_mask.size(1) == L &&
                     attn_mask.size(2) == S);
    if (!ok)
      fail("attn_mask must be [L, S] = [", L, ",", S, "] or [N * num_heads, L, S] = [", N * H, ",", L, ",", S,
           "], got ", shapes());
  }

  // [A, B, E] in the input layout -> [N * H, len, dh]; perm moves (N, H, len, dh) into place.
  const std::vector<int> head_perm = bf ? std::vector<int>{0, 2, 1, 3} : std::vector<int>{1, 2, 0, 3};
  auto heads = [&](const Tensor& x, std::int64_t len) {
    Tensor x4 = reshape(x, {x.size(0), x.size(1), H, dh});
    return reshape(permute(x4, head_perm), {N * H, len, dh});
  };
  Tensor q, k, v;
  const Tensor b = in_proj_bias;
  auto bias_part = [&](std::int64_t i, std::int64_t n) { return b.defined() ? narrow(b, 0, i * E, n * E) : Tensor(); };
  if (in_proj_weight.defined() && key.is_same(query) && value.is_same(query)) {
    // Self-attention: a gemm each for q, k and v against row blocks of
    // in_proj_weight (views). One gemm for all three, split with narrow, cost
    // more: each narrow's gradient is a zero-padded copy of the whole [3, ...]
    // tensor (about 6 ms of a char_lm Transformer step).
    q = heads(linear(q_in, narrow(in_proj_weight, 0, 0, E), bias_part(0, 1)), L);
    k = heads(linear(q_in, narrow(in_proj_weight, 0, E, E), bias_part(1, 1)), L);
    v = heads(linear(q_in, narrow(in_proj_weight, 0, 2 * E, E), bias_part(2, 1)), L);
  } else if (in_proj_weight.defined()) {
    q = heads(linear(q_in, narrow(in_proj_weight, 0, 0, E), bias_part(0, 1)), L);
    if (value.is_same(key)) {
      // Cross-attention over one memory: k and v in one gemm.
      Tensor kv = linear(k_in, narrow(in_proj_weight, 0, E, 2 * E), bias_part(1, 2));
      kv = reshape(kv, {kv.size(0), kv.size(1), 2, H, dh});
      kv = permute(kv, bf ? std::vector<int>{2, 0, 3, 1, 4} : std::vector<int>{2, 1, 3, 0, 4});
      kv = reshape(kv, {2, N * H, S, dh});
      k = reshape(narrow(kv, 0, 0, 1), {N * H, S, dh});
      v = reshape(narrow(kv, 0, 1, 1), {N * H, S, dh});
    } else {
      k = heads(linear(k_in, narrow(in_proj_weight, 0, E, E), bias_part(1, 1)), S);
      v = heads(linear(v_in, narrow(in_proj_weight, 0, 2 * E, E), bias_part(2, 1)), S);
    }
  } else {
    q = heads(linear(q_in, q_proj_weight, bias_part(0, 1)), L);
    k = heads(linear(k_in, k_proj_weight, bias_part(1, 1)), S);
    v = heads(linear(v_in, v_proj_weight, bias_part(2, 1)), S);
  }

  Tensor scores = bmm(q * (1.0 / std::sqrt(static_cast<double>(dh))), transpose(k, 1, 2));  // [N*H, L, S]
  if (attn_mask.defined())
    scores = apply_mask(scores, attn_mask);
  else if (is_causal)
    scores = scores + causal_mask(L, S, scores.dtype());
  if (kpm.defined()) {
    Tensor m = reshape(batched ? kpm : unsqueeze(kpm, 0), {N, 1, 1, S});
    scores = reshape(apply_mask(reshape(scores, {N, H, L, S}), m), {N * H, L, S});
  }
  Tensor probs = softmax(scores, -1);
  // As PyTorch 1.13, the returned weights are the ones after dropout.
  probs = functional::dropout(probs, dropout_, is_training());
  Tensor out = bmm(probs, v);  // [N*H, L, dh]
  out = permute(reshape(out, {N, H, L, dh}), bf ? std::vector<int>{0, 2, 1, 3} : std::vector<int>{2, 0, 1, 3});
  out = reshape(out, bf ? std::vector<std::int64_t>{N, L, E} : std::vector<std::int64_t>{L, N, E});
  out = (*out_proj)(out);
  if (!batched) out = squeeze(out, 0);
  if (need_weights) {
    Tensor w = reshape(probs, {N, H, L, S});
    if (average) w = mean(w, {1});
    weights_ = batched ? w : squeeze(w, 0);
  }
  return out;
}

std::string MultiheadAttention::extra_repr() const {
  std::string s = tg::detail::cat("embed_dim=", embed_dim_, ", num_heads=", num_heads_);
  if (kdim_ != embed_dim_ || vdim_ != embed_dim_) s += tg::detail::cat(", kdim=", kdim_, ", vdim=", vdim_);
  if (dropout_ != 0) s += tg::detail::cat(", dropout=", dropout_);
  if (batch_first_) s += ", batch_first=true";
  return s;
}

std::string MultiheadAttention::brief() const {
  return tg::detail::cat("MultiheadAttention(E=", embed_dim_, ", heads=", num_heads_, ")");
}

// ---- Transformer layers ------------------------------------------------------------

namespace {

void check_activation(const std::string& activation, const char* layer) {
  if (activation != "relu" && activation != "gelu")
    fail(layer, ": activation must be \"relu\" or \"gelu\", got \"", activation, "\"");
}

void check_feedforward(std::int64_t dim_feedforward, const char* layer) {
  if (dim_feedforward <= 0) fail(layer, ": dim_feedforward must be positive, got ", dim_feedforward);
}

Tensor activate(const Tensor& x, const std::string& activation) {
  return activation == "relu" ? relu(x) : gelu(x);
}

}  // namespace

struct TransformerEncoderLayer::Call {
  Tensor src_mask, src_key_padding_mask;
  bool is_causal;
};

TransformerEncoderLayer::TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead,
                                                 std::int64_t dim_feedforward, double p,
                                                 const std::string& activation, double layer_norm_eps,
                                                 bool batch_first, bool norm_first)
    : activation_(activation), norm_first_(norm_first) {
  check_activation(activation, "TransformerEncoderLayer");
  check_feedforward(dim_feedforward, "TransformerEncoderLayer");
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, p, true, batch_first));
  linear1 = register_module("linear1", std::make_shared<Linear>(d_model, dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
  linear2 = register_module("linear2", std::make_shared<Linear>(dim_feedforward, d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(std::vector<std::int64_t>{d_model}, layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(std::vector<std::int64_t>{d_model}, layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(p));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(p));
}

Tensor TransformerEncoderLayer::feed_forward(const Tensor& x) {
  return (*dropout2)((*linear2)((*dropout)(activate((*linear1)(x), activation_))));
}

Tensor TransformerEncoderLayer::operator()(const Tensor& src, const Tensor& src_mask,
                                           const Tensor& src_key_padding_mask, bool is_causal) {
  pending_ = std::make_shared<Call>(Call{src_mask, src_key_padding_mask, is_causal});
  struct Clear {
    std::shared_ptr<Call>& p;
    ~Clear() { p.reset(); }
  } clear{pending_};
  return Module::operator()(src);
}

Tensor TransformerEncoderLayer::forward(const Tensor& src) {
  std::shared_ptr<Call> call = std::move(pending_);
  pending_.reset();
  const Tensor mask = call ? call->src_mask : Tensor(), kpm = call ? call->src_key_padding_mask : Tensor();
  const bool causal = call && call->is_causal;
  auto sa = [&](const Tensor& x) { return (*dropout1)((*self_attn)(x, x, x, kpm, false, mask, true, causal).output); };
  if (norm_first_) {
    Tensor x = src + sa((*norm1)(src));
    return x + feed_forward((*norm2)(x));
  }
  Tensor x = (*norm1)(src + sa(src));
  return (*norm2)(x + feed_forward(x));
}

std::string TransformerEncoderLayer::extra_repr() const {
  return tg::detail::cat("activation=", activation_, ", norm_first=", norm_first_ ? "true" : "false");
}

TransformerDecoderLayer::TransformerDecoderLayer(std::int64_t d_model, std::int64_t nhead,
                                                 std::int64_t dim_feedforward, double p,
                                                 const std::string& activation, double layer_norm_eps,
                                                 bool batch_first, bool norm_first)
    : activation_(activation), norm_first_(norm_first) {
  check_activation(activation, "TransformerDecoderLayer");
  check_feedforward(dim_feedforward, "TransformerDecoderLayer");
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, p, true, batch_first));
  multihead_attn =
      register_module("multihead_attn", std::make_shared<MultiheadAttention>(d_model, nhead, p, true, batch_first));
  linear1 = register_module("linear1", std::make_shared<Linear>(d_model, dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
  linear2 = register_module("linear2", std::make_shared<Linear>(dim_feedforward, d_model));
  const std::vector<std::int64_t> shape{d_model};
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(shape, layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(shape, layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(shape, layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(p));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(p));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(p));
}

Tensor TransformerDecoderLayer::feed_forward(const Tensor& x) {
  return (*dropout3)((*linear2)((*dropout)(activate((*linear1)(x), activation_))));
}

Tensor TransformerDecoderLayer::operator()(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                           const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                           const Tensor& memory_key_padding_mask, bool tgt_is_causal) {
  return with_module_path([&] {
    tg::detail::check_defined(memory, "TransformerDecoderLayer (memory)");
    auto sa = [&](const Tensor& x) {
      return (*dropout1)((*self_attn)(x, x, x, tgt_key_padding_mask, false, tgt_mask, true, tgt_is_causal).output);
    };
    auto mha = [&](const Tensor& x) {
      return (*dropout2)(
          (*multihead_attn)(x, memory, memory, memory_key_padding_mask, false, memory_mask, true, false).output);
    };
    if (norm_first_) {
      Tensor x = tgt + sa((*norm1)(tgt));
      x = x + mha((*norm2)(x));
      return x + feed_forward((*norm3)(x));
    }
    Tensor x = (*norm1)(tgt + sa(tgt));
    x = (*norm2)(x + mha(x));
    return (*norm3)(x + feed_forward(x));
  });
}

std::string TransformerDecoderLayer::extra_repr() const {
  return tg::detail::cat("activation=", activation_, ", norm_first=", norm_first_ ? "true" : "false");
}

// ---- stacks ------------------------------------------------------------------------------

struct TransformerEncoder::Call {
  Tensor mask, src_key_padding_mask;
  bool is_causal;
};

TransformerEncoder::TransformerEncoder(const std::function<std::shared_ptr<TransformerEncoderLayer>()>& make_layer,
                                       std::int64_t num_layers, std::shared_ptr<LayerNorm> final_norm) {
  if (num_layers < 1) fail("TransformerEncoder: num_layers must be >= 1, got ", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    std::shared_ptr<TransformerEncoderLayer> layer = make_layer ? make_layer() : nullptr;
    if (!layer) fail("TransformerEncoder: make_layer returned no layer (layer ", i, ")");
    layers->push_back(layer);
  }
  if (final_norm) norm = register_module("norm", std::move(final_norm));
}

Tensor TransformerEncoder::operator()(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask,
                                      bool is_causal) {
  pending_ = std::make_shared<Call>(Call{mask, src_key_padding_mask, is_causal});
  struct Clear {
    std::shared_ptr<Call>& p;
    ~Clear() { p.reset(); }
  } clear{pending_};
  return Module::operator()(src);
}

Tensor TransformerEncoder::forward(const Tensor& src) {
  std::shared_ptr<Call> call = std::move(pending_);
  pending_.reset();
  Tensor x = src;
  for (const ModulePtr& m : *layers) {
    auto& layer = static_cast<TransformerEncoderLayer&>(*m);
    x = call ? layer(x, call->mask, call->src_key_padding_mask, call->is_causal) : layer(x);
  }
  return norm ? (*norm)(x) : x;
}

TransformerDecoder::TransformerDecoder(const std::function<std::shared_ptr<TransformerDecoderLayer>()>& make_layer,
                                       std::int64_t num_layers, std::shared_ptr<LayerNorm> final_norm) {
  if (num_layers < 1) fail("TransformerDecoder: num_layers must be >= 1, got ", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    std::shared_ptr<TransformerDecoderLayer> layer = make_layer ? make_layer() : nullptr;
    if (!layer) fail("TransformerDecoder: make_layer returned no layer (layer ", i, ")");
    layers->push_back(layer);
  }
  if (final_norm) norm = register_module("norm", std::move(final_norm));
}

Tensor TransformerDecoder::operator()(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                      const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                      const Tensor& memory_key_padding_mask, bool tgt_is_causal) {
  return with_module_path([&] {
    Tensor x = tgt;
    for (const ModulePtr& m : *layers)
      x = static_cast<TransformerDecoderLayer&>(*m)(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                                                    memory_key_padding_mask, tgt_is_causal);
    return norm ? (*norm)(x) : x;
  });
}

// ---- positional encodings --------------------------------------------------------------

namespace {

// Input [L, N, d] ([N, L, d] batch-first, [L, d] unbatched): the position dimension and a check.
int position_dim(const Tensor& input, std::int64_t d_model, std::int64_t max_len, bool batch_first) {
  tg::detail::check_defined(input, "positional encoding");
  if (input.dim() != 2 && input.dim() != 3)
    fail("expected input ", batch_first ? "[N, L, d_model]" : "[L, N, d_model]", " or [L, d_model], got ",
         input.shape().str());
  if (input.size(-1) != d_model)
    fail("input has ", input.size(-1), " features, expected d_model=", d_model, " (input ", input.shape().str(), ")");
  const int dim = input.dim() == 3 && batch_first ? 1 : 0;
  if (input.size(dim) > max_len)
    fail("input has ", input.size(dim), " positions, more than max_len=", max_len, " (input ", input.shape().str(),
         ")");
  return dim;
}

// pe [L, d] shaped to broadcast against the input.
Tensor for_input(const Tensor& pe, const Tensor& input, int dim) {
  if (input.dim() == 3 && dim == 0) return unsqueeze(pe, 1);  // [L, 1, d]
  return pe;                                                   // [L, d] broadcasts against [N, L, d] and [L, d]
}

}  // namespace

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(std::int64_t d_model, double p, std::int64_t max_len,
                                                           bool batch_first)
    : d_model_(d_model), max_len_(max_len), batch_first_(batch_first) {
  if (d_model <= 0 || max_len <= 0)
    fail("SinusoidalPositionalEncoding: d_model and max_len must be positive, got ", d_model, " and ", max_len);
  std::vector<double> v(static_cast<std::size_t>(max_len * d_model));
  for (std::int64_t pos = 0; pos < max_len; ++pos)
    for (std::int64_t i = 0; i < d_model; ++i) {
      // The tutorial's exp(2i * -log(10000) / d) form of 10000^(-2i/d).
      const double freq = std::exp(static_cast<double>(i - i % 2) * (-std::log(10000.0) / static_cast<double>(d_model)));
      const double angle = static_cast<double>(pos) * freq;
      v[static_cast<std::size_t>(pos * d_model + i)] = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  pe = register_buffer("pe", tensor(v, {max_len, d_model}));
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& input) {
  const int dim = position_dim(input, d_model_, max_len_, batch_first_);
  const Tensor rows = narrow(pe, 0, 0, input.size(dim)).to(input.dtype());
  return (*dropout)(input + for_input(rows, input, dim));
}

std::string SinusoidalPositionalEncoding::extra_repr() const {
  return tg::detail::cat("d_model=", d_model_, ", max_len=", max_len_, batch_first_ ? ", batch_first=true" : "");
}

LearnedPositionalEncoding::LearnedPositionalEncoding(std::int64_t max_len, std::int64_t d_model, double p,
                                                     bool batch_first)
    : d_model_(d_model), max_len_(max_len), batch_first_(batch_first) {
  if (d_model <= 0 || max_len <= 0)
    fail("LearnedPositionalEncoding: d_model and max_len must be positive, got ", d_model, " and ", max_len);
  embedding = register_module("embedding", std::make_shared<Embedding>(max_len, d_model));
  dropout = register_module("dropout", std::make_shared<Dropout>(p));
}

Tensor LearnedPositionalEncoding::forward(const Tensor& input) {
  const int dim = position_dim(input, d_model_, max_len_, batch_first_);
  const Tensor positions = arange(input.size(dim), kInt64);
  return (*dropout)(input + for_input((*embedding)(positions), input, dim));
}

std::string LearnedPositionalEncoding::extra_repr() const {
  return tg::detail::cat("max_len=", max_len_, ", d_model=", d_model_, batch_first_ ? ", batch_first=true" : "");
}

}  // namespace tg::nn
