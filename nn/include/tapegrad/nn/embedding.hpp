// tapegrad — lookup tables: tg::nn::Embedding and functional::embedding.
//
// @code
//   auto emb = std::make_shared<tg::nn::Embedding>(10, 4, /*padding_idx=*/0);
//   tg::Tensor tokens = tg::tensor_i64({3, 0, 7, 7, 1, 0}, {2, 3});
//   tg::Tensor vectors = (*emb)(tokens);  // [2,3,4]; the rows of token 0 are zeros
//   tg::sum(vectors).backward();          // emb->weight.grad(): row 7 holds 2s, row 0 zeros
// @endcode
//
// The lookup is index_select of rows of the weight, so backward comes from the
// tape: each row's gradient is the sum of the gradients of its look-ups.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/nn/module.hpp>

namespace tg::nn {

namespace functional {
/// Rows of `weight` [num_embeddings, dim] picked by the int64 `indices` of any
/// shape: the result is [*indices.shape(), dim] (PyTorch's F.embedding).
///  * padding_idx (negative counts from the back): look-ups of that row give
///    its values but no gradient, so the row never learns.
///  * max_norm: before the look-up, each row that `indices` names and whose
///    norm_type-norm exceeds max_norm is scaled in place, under no_grad, to
///    norm max_norm (times max_norm / (norm + 1e-7), PyTorch's
///    embedding_renorm_). This changes `weight` itself (its version rises, so a
///    graph that saved it before refuses to run backward), as in PyTorch.
/// Throws naming the index, its position and the shapes for an index outside
/// [0, num_embeddings), and for a weight that is not 2-D, non-int64 indices, a
/// padding_idx out of range or a max_norm that is not positive.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx = std::nullopt,
                 std::optional<double> max_norm = std::nullopt, double norm_type = 2.0);
}  // namespace functional

/// A table of num_embeddings vectors of embedding_dim, looked up by int64
/// indices of any shape: [...] -> [..., embedding_dim] (functional::embedding
/// with the module's settings). Its parameter `weight` [num_embeddings,
/// embedding_dim] starts ~ N(0, 1), as in PyTorch, with the padding_idx row
/// zeroed. An index out of range throws naming the module's path and the shapes.
class Embedding : public Module {
 public:
  /// Throws unless both sizes are positive, padding_idx is in
  /// [-num_embeddings, num_embeddings) and max_norm (when given) is positive.
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
            std::optional<std::int64_t> padding_idx = std::nullopt, std::optional<double> max_norm = std::nullopt,
            double norm_type = 2.0);
  Tensor forward(const Tensor& indices) override;
  std::string extra_repr() const override;
  /// "Embedding(10x4)"
  std::string brief() const override;
  /// The sizes and settings, as constructed (padding_idx made non-negative).
  ///@{
  std::int64_t num_embeddings() const { return num_; }
  std::int64_t embedding_dim() const { return dim_; }
  std::optional<std::int64_t> padding_idx() const { return padding_idx_; }
  std::optional<double> max_norm() const { return max_norm_; }
  ///@}

  Tensor weight;  ///< [num_embeddings, embedding_dim]

 private:
  std::int64_t num_, dim_;
  std::optional<std::int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_;
};

}  // namespace tg::nn
