// tapegrad — attention (tg::nn): scaled dot-product attention, MultiheadAttention,
// Transformer encoder/decoder layers and stacks, positional encodings.
//
// Everything is built from differentiable ops (linear, bmm, softmax,
// masked_fill, layer_norm, dropout), so backward comes from the tape. The heads
// run as one batched matmul over [N * num_heads, L, head_dim], and the q/k/v
// projection of self-attention is one matmul. Parameter names, defaults, shapes
// and mask semantics are PyTorch 1.13's, so a PyTorch state_dict loads as it is:
// @code
//   auto mha = std::make_shared<tg::nn::MultiheadAttention>(16, 4, 0.0, true, /*batch_first=*/true);
//   tg::Tensor x = tg::randn({2, 5, 16});                              // [N, L, E]
//   auto [out, weights] = (*mha)(x, x, x);                            // [2,5,16] and [2,5,5]
//   tg::Tensor causal = tg::nn::generate_square_subsequent_mask(5);   // 0 / -inf, [5,5]
//   tg::Tensor y = (*mha)(x, x, x, tg::Tensor(), false, causal).output;
//   // parameters: in_proj_weight [48,16], in_proj_bias [48], out_proj.weight, out_proj.bias
//
//   auto layer = std::make_shared<tg::nn::TransformerEncoderLayer>(16, 4, 32, 0.1, "gelu", 1e-5,
//                                                                   /*batch_first=*/true, /*norm_first=*/true);
//   tg::Tensor h = (*layer)(x, causal);                               // [2,5,16]
// @endcode
//
// Masks. tapegrad has no bool dtype, so the dtype of a mask says which kind it
// is: an int64 mask is PyTorch's bool mask (non-zero = true), a float32/float64
// mask is added to the attention scores (0 keeps, -inf removes). For
// MultiheadAttention and the Transformer layers, as in PyTorch, a true element
// of attn_mask / key_padding_mask means "may NOT attend" (gt(x, 0).to(tg::kInt64)
// makes one from a comparison). Functional scaled_dot_product_attention follows
// PyTorch 2's function instead: there a true element means "takes part".
// A query row whose keys are all masked gives NaN, as in PyTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/nn/containers.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/normalization.hpp>

namespace tg::nn {

/// A float mask [sz, sz] for causal attention (PyTorch's
/// Transformer.generate_square_subsequent_mask): 0 on and below the diagonal,
/// -inf above it, so position i attends to positions 0..i only.
Tensor generate_square_subsequent_mask(std::int64_t sz, Dtype dtype = kFloat32);

namespace functional {
/// softmax(query key^T * scale + mask) value, with dropout on the attention
/// weights (PyTorch 2.1's F.scaled_dot_product_attention): query [..., L, E],
/// key [..., S, E], value [..., S, Ev] with one batch shape (at least one batch
/// dimension) -> [..., L, Ev]. attn_mask broadcasts to [..., L, S]: int64 is a
/// bool mask whose true (non-zero) elements take part, float is added to the
/// scores. is_causal applies the lower-triangular mask (position i sees keys
/// 0..i) and then refuses an attn_mask. scale defaults to 1 / sqrt(E).
/// dropout_p > 0 drops attention weights (pass 0 in evaluation). Throws
/// naming the shapes when they do not fit.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0,
                                    bool is_causal = false, std::optional<double> scale = std::nullopt);
}  // namespace functional

/// What MultiheadAttention returns: the attended values and, when requested,
/// the attention weights (undefined otherwise). Works with structured
/// bindings: auto [out, weights] = (*mha)(q, k, v);
struct AttentionOutput {
  Tensor output;   ///< [L, N, E] ([N, L, E] with batch_first; [L, E] unbatched)
  Tensor weights;  ///< [N, L, S] averaged over heads, or [N, num_heads, L, S]; undefined without need_weights
};

/// PyTorch's nn.MultiheadAttention: num_heads heads of embed_dim / num_heads,
/// attention dropout, biases, batch_first, and key/value feature sizes kdim /
/// vdim (default embed_dim).
///
/// Parameters (PyTorch's names and layouts): in_proj_weight [3E, E] (rows: q, k,
/// v) when kdim == vdim == E, otherwise q_proj_weight [E, E], k_proj_weight
/// [E, kdim] and v_proj_weight [E, vdim]; in_proj_bias [3E] with bias; and the
/// submodule out_proj, an nn::Linear(E, E) (whose weight tapegrad stores as [in,
/// out]; checkpoints convert it like any Linear). Initialisation as PyTorch's:
/// xavier_uniform_ on the projection weights, zero in_proj_bias and out_proj.bias,
/// out_proj.weight as Linear's default.
///
/// Called with one tensor (operator()(x), e.g. inside Sequential or
/// nn::summary) it is unmasked self-attention returning the output only. The
/// full call runs through that one-tensor operator() too, so forward hooks see
/// (query, output) and nn::summary lists the module. add_bias_kv and
/// add_zero_attn are not supported.
class MultiheadAttention : public Module {
 public:
  /// Throws std::invalid_argument unless embed_dim, num_heads, kdim, vdim are
  /// positive, num_heads divides embed_dim and 0 <= dropout <= 1.
  MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, double dropout = 0.0, bool bias = true,
                     bool batch_first = false, std::optional<std::int64_t> kdim = std::nullopt,
                     std::optional<std::int64_t> vdim = std::nullopt);

  /// Attention of query [L, N, E] over key [S, N, kdim] and value [S, N, vdim]
  /// ([N, L, E] etc. with batch_first; unbatched [L, E], [S, kdim], [S, vdim]).
  ///  * key_padding_mask [N, S] ([S] unbatched): true (int64 non-zero) marks keys
  ///    to ignore; a float mask is added to the scores.
  ///  * attn_mask [L, S] or [N * num_heads, L, S]: int64 true = not allowed, a
  ///    float mask is added (e.g. generate_square_subsequent_mask).
  ///  * is_causal without attn_mask applies the causal mask; with one, it is a
  ///    hint that attn_mask is causal (it is used as given).
  ///  * Both masks given: each applies on its own (a bool mask removes, a float
  ///    one adds), which is PyTorch's result for every pair it accepts (it
  ///    refuses a float key_padding_mask next to a float attn_mask).
  ///  * need_weights: also return the attention weights (after the attention
  ///    dropout in training mode, as PyTorch 1.13), averaged over the heads
  ///    when average_attn_weights, else per head.
  /// Errors name the module path and the shapes.
  AttentionOutput operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                             const Tensor& key_padding_mask = Tensor(), bool need_weights = true,
                             const Tensor& attn_mask = Tensor(), bool average_attn_weights = true,
                             bool is_causal = false);
  /// Unmasked self-attention of one input; returns the output only.
  using Module::operator();
  Tensor forward(const Tensor& query) override;
  std::string extra_repr() const override;
  /// "MultiheadAttention(E=16, heads=4)"
  std::string brief() const override;

  /// Sizes and settings, as constructed.
  ///@{
  std::int64_t embed_dim() const { return embed_dim_; }
  std::int64_t num_heads() const { return num_heads_; }
  std::int64_t head_dim() const { return embed_dim_ / num_heads_; }
  std::int64_t kdim() const { return kdim_; }
  std::int64_t vdim() const { return vdim_; }
  bool batch_first() const { return batch_first_; }
  double dropout() const { return dropout_; }
  ///@}

  Tensor in_proj_weight;  ///< [3E, E]; undefined when kdim or vdim differs from E
  Tensor q_proj_weight;   ///< [E, E]; only when kdim or vdim differs from E
  Tensor k_proj_weight;   ///< [E, kdim]; only when kdim or vdim differs from E
  Tensor v_proj_weight;   ///< [E, vdim]; only when kdim or vdim differs from E
  Tensor in_proj_bias;    ///< [3E]; undefined without bias
  std::shared_ptr<Linear> out_proj;  ///< Linear(E, E), with bias when bias

 private:
  struct Call;
  std::int64_t embed_dim_, num_heads_, kdim_, vdim_;
  double dropout_;
  bool batch_first_;
  std::shared_ptr<Call> pending_;  // the arguments of operator()(q, k, v, ...) while forward() runs
  Tensor weights_;                 // the weights forward() computed for that call
};

/// PyTorch's nn.TransformerEncoderLayer: self-attention then a feed-forward
/// block, each with residual connection, dropout and LayerNorm; post-norm
/// (x = norm(x + block(x))) by default, pre-norm (x = x + block(norm(x))) with
/// norm_first. Submodules, in PyTorch's order and names: self_attn, linear1,
/// dropout, linear2, norm1, norm2, dropout1, dropout2. activation: "relu" or "gelu".
class TransformerEncoderLayer : public Module {
 public:
  /// Throws std::invalid_argument for sizes MultiheadAttention refuses, a
  /// non-positive dim_feedforward, or another activation.
  TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward = 2048,
                          double dropout = 0.1, const std::string& activation = "relu", double layer_norm_eps = 1e-5,
                          bool batch_first = false, bool norm_first = false);
  /// src [S, N, E] ([N, S, E] with batch_first; [S, E] unbatched) with optional
  /// src_mask [S, S] or [N * nhead, S, S] and src_key_padding_mask [N, S], as in
  /// MultiheadAttention (is_causal without src_mask applies the causal mask).
  Tensor operator()(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = Tensor(),
                    bool is_causal = false);
  using Module::operator();
  /// The layer without masks.
  Tensor forward(const Tensor& src) override;
  std::string extra_repr() const override;

  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Dropout> dropout1, dropout2;

 private:
  struct Call;
  Tensor feed_forward(const Tensor& x);
  std::string activation_;
  bool norm_first_;
  std::shared_ptr<Call> pending_;
};

/// PyTorch's nn.TransformerDecoderLayer: self-attention, attention over the
/// encoder's output (memory), feed-forward; post- or pre-norm as the encoder
/// layer. Submodules: self_attn, multihead_attn, linear1, dropout, linear2,
/// norm1, norm2, norm3, dropout1, dropout2, dropout3.
class TransformerDecoderLayer : public Module {
 public:
  /// As TransformerEncoderLayer's.
  TransformerDecoderLayer(std::int64_t d_model, std::int64_t nhead, std::int64_t dim_feedforward = 2048,
                          double dropout = 0.1, const std::string& activation = "relu", double layer_norm_eps = 1e-5,
                          bool batch_first = false, bool norm_first = false);
  /// tgt [T, N, E] attending to itself (tgt_mask [T, T] or [N * nhead, T, T],
  /// tgt_key_padding_mask [N, T]) and to memory [S, N, E] (memory_mask [T, S] or
  /// [N * nhead, T, S], memory_key_padding_mask [N, S]); [N, T, E] and [N, S, E]
  /// with batch_first. tgt_is_causal without tgt_mask applies the causal mask.
  Tensor operator()(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                    const Tensor& memory_mask = Tensor(), const Tensor& tgt_key_padding_mask = Tensor(),
                    const Tensor& memory_key_padding_mask = Tensor(), bool tgt_is_causal = false);
  std::string extra_repr() const override;

  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> linear2;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
  std::shared_ptr<Dropout> dropout1, dropout2, dropout3;

 private:
  Tensor feed_forward(const Tensor& x);
  std::string activation_;
  bool norm_first_;
};

/// PyTorch's nn.TransformerEncoder: num_layers encoder layers (ModuleList
/// "layers", so parameters are "layers.0.self_attn.in_proj_weight", ...) and an
/// optional final LayerNorm "norm". Each layer comes from make_layer(), so each
/// is initialised on its own (PyTorch deep-copies one layer, so its layers start
/// equal; load a state_dict to reproduce that).
class TransformerEncoder : public Module {
 public:
  /// Throws std::invalid_argument for num_layers < 1 or a null layer.
  TransformerEncoder(const std::function<std::shared_ptr<TransformerEncoderLayer>()>& make_layer,
                     std::int64_t num_layers, std::shared_ptr<LayerNorm> norm = nullptr);
  /// src through every layer with the same masks, then norm.
  Tensor operator()(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = Tensor(),
                    bool is_causal = false);
  using Module::operator();
  /// The stack without masks.
  Tensor forward(const Tensor& src) override;

  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;  ///< null without a final norm

 private:
  struct Call;
  std::shared_ptr<Call> pending_;
};

/// PyTorch's nn.TransformerDecoder: num_layers decoder layers (ModuleList
/// "layers") and an optional final LayerNorm "norm"; layers as TransformerEncoder's.
class TransformerDecoder : public Module {
 public:
  /// Throws std::invalid_argument for num_layers < 1 or a null layer.
  TransformerDecoder(const std::function<std::shared_ptr<TransformerDecoderLayer>()>& make_layer,
                     std::int64_t num_layers, std::shared_ptr<LayerNorm> norm = nullptr);
  /// tgt through every layer (each attending to memory) with the same masks, then norm.
  Tensor operator()(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = Tensor(),
                    const Tensor& memory_mask = Tensor(), const Tensor& tgt_key_padding_mask = Tensor(),
                    const Tensor& memory_key_padding_mask = Tensor(), bool tgt_is_causal = false);

  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;  ///< null without a final norm
};

/// The fixed sinusoidal positional encoding of "Attention Is All You Need",
/// added to the input, then dropout (the PyTorch tutorial's PositionalEncoding):
///   pe[pos, 2i] = sin(pos / 10000^(2i / d_model)),  pe[pos, 2i+1] = cos(same).
/// pe [max_len, d_model] is a buffer (saved, converted by to(), never trained).
/// Input [L, N, d_model] ([N, L, d_model] with batch_first; [L, d_model] unbatched).
class SinusoidalPositionalEncoding : public Module {
 public:
  /// Throws unless d_model, max_len > 0 and 0 <= dropout <= 1.
  explicit SinusoidalPositionalEncoding(std::int64_t d_model, double dropout = 0.1, std::int64_t max_len = 5000,
                                        bool batch_first = false);
  /// Throws naming the shapes for a last dimension other than d_model or more than max_len positions.
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Tensor pe;  ///< buffer [max_len, d_model]
  std::shared_ptr<Dropout> dropout;

 private:
  std::int64_t d_model_, max_len_;
  bool batch_first_;
};

/// A learned positional encoding: row pos of an Embedding(max_len, d_model)
/// (submodule "embedding", so the parameter is "embedding.weight", ~ N(0, 1) as
/// Embedding's) added at position pos, then dropout. Shapes as SinusoidalPositionalEncoding.
class LearnedPositionalEncoding : public Module {
 public:
  /// Throws unless d_model, max_len > 0 and 0 <= dropout <= 1.
  LearnedPositionalEncoding(std::int64_t max_len, std::int64_t d_model, double dropout = 0.1,
                            bool batch_first = false);
  /// Throws naming the shapes for a last dimension other than d_model or more than max_len positions.
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  std::shared_ptr<Embedding> embedding;
  std::shared_ptr<Dropout> dropout;

 private:
  std::int64_t d_model_, max_len_;
  bool batch_first_;
};

}  // namespace tg::nn
