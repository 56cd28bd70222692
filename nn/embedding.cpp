// Embedding: index_select of the weight's rows, reshaped to the indices' shape
// plus the embedding dimension; the gradient comes from the tape (index_select
// adds each look-up's gradient into its row). padding_idx keeps the padding
// look-ups' values but routes their gradient to a detached copy (where), so that
// row never learns; max_norm rescales the named rows in place first (not
// recorded: PyTorch's embedding_renorm_ runs under no_grad too).
#include <cmath>
#include <set>

#include "core/dispatch.hpp"
#include "core/tensor_impl.hpp"
#include "nn/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {
namespace {

using tg::detail::fail;

// padding_idx in [-num, num), made non-negative.
std::int64_t checked_padding_idx(std::int64_t padding_idx, std::int64_t num, const char* op) {
  if (padding_idx < -num || padding_idx >= num)
    fail(op, ": padding_idx ", padding_idx, " is out of range for ", num, " embeddings");
  return padding_idx < 0 ? padding_idx + num : padding_idx;
}

// PyTorch's embedding_renorm_: each distinct named row whose norm exceeds
// max_norm is scaled by max_norm / (norm + 1e-7), in place.
void renorm_rows(Tensor& weight, const std::set<std::int64_t>& rows, double max_norm, double norm_type) {
  const std::int64_t dim = weight.size(1);
  tg::detail::dispatch_float(weight.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    T* w = static_cast<T*>(weight.raw_data());
    for (std::int64_t r : rows) {
      T* row = w + r * dim;
      double norm = 0;
      for (std::int64_t j = 0; j < dim; ++j) norm += std::pow(std::abs(static_cast<double>(row[j])), norm_type);
      norm = std::pow(norm, 1.0 / norm_type);
      if (norm > max_norm) {
        const T scale = static_cast<T>(max_norm / (norm + 1e-7));
        for (std::int64_t j = 0; j < dim; ++j) row[j] *= scale;
      }
    }
  });
  weight.bump_version();
}

}  // namespace

namespace functional {

Tensor embedding(const Tensor& indices, const Tensor& weight_in, std::optional<std::int64_t> padding_idx,
                 std::optional<double> max_norm, double norm_type) {
  const char* op = "embedding";
  tg::detail::check_defined(indices, op);
  tg::detail::check_floating(weight_in, op);
  if (weight_in.dim() != 2)
    fail(op, ": weight must be [num_embeddings, embedding_dim], got ", describe(weight_in));
  if (indices.dtype() != kInt64) fail(op, ": indices must be int64, got ", describe(indices));
  const std::int64_t num = weight_in.size(0), dim = weight_in.size(1);
  const std::optional<std::int64_t> pad =
      padding_idx ? std::optional<std::int64_t>(checked_padding_idx(*padding_idx, num, op)) : std::nullopt;
  if (max_norm && !(*max_norm > 0)) fail(op, ": max_norm must be positive, got ", *max_norm);
  if (max_norm && !(norm_type > 0)) fail(op, ": norm_type must be positive, got ", norm_type);

  const std::vector<std::int64_t> idx = indices.to_vector<std::int64_t>();
  bool any_padding = false;
  for (std::size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= num)
      fail(op, ": index ", idx[i], " at position ", i, " is out of range for ", num, " embeddings (indices ",
           indices.shape().str(), ", weight ", weight_in.shape().str(), ")");
    any_padding = any_padding || (pad && idx[i] == *pad);
  }
  Tensor weight = weight_in;  // a handle: renorm changes the caller's tensor, as in PyTorch
  if (max_norm) renorm_rows(weight, std::set<std::int64_t>(idx.begin(), idx.end()), *max_norm, norm_type);

  const Tensor flat = reshape(indices, {-1});
  Tensor rows = index_select(weight, 0, flat);
  if (any_padding) {
    std::vector<double> is_padding(idx.size());
    for (std::size_t i = 0; i < idx.size(); ++i) is_padding[i] = idx[i] == *pad ? 1.0 : 0.0;
    const Tensor mask = tensor(is_padding, {static_cast<std::int64_t>(idx.size()), 1}, weight.dtype());
    rows = where(mask, rows.detach(), rows);
  }
  std::vector<std::int64_t> shape = indices.shape().vec();
  shape.push_back(dim);
  return reshape(rows, shape);
}

}  // namespace functional

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::optional<std::int64_t> padding_idx,
                     std::optional<double> max_norm, double norm_type)
    : num_(num_embeddings), dim_(embedding_dim), max_norm_(max_norm), norm_type_(norm_type) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    fail("Embedding: num_embeddings and embedding_dim must be positive, got ", num_embeddings, " and ",
         embedding_dim);
  if (padding_idx) padding_idx_ = checked_padding_idx(*padding_idx, num_, "Embedding");
  if (max_norm && !(*max_norm > 0)) fail("Embedding: max_norm must be positive, got ", *max_norm);
  if (!(norm_type > 0)) fail("Embedding: norm_type must be positive, got ", norm_type);
  weight = register_parameter("weight", empty({num_, dim_}));
  init::normal_(weight, 0.0, 1.0);
  if (padding_idx_) {
    NoGradGuard no_grad;
    narrow(weight, 0, *padding_idx_, 1).fill_(0.0);  // a view of the row (dim 0 slices share storage)
  }
}

Tensor Embedding::forward(const Tensor& indices) {
  return functional::embedding(indices, weight, padding_idx_, max_norm_, norm_type_);
}

std::string Embedding::extra_repr() const {
  std::string s = tg::detail::cat(num_, ", ", dim_);
  if (padding_idx_) s += tg::detail::cat(", padding_idx=", *padding_idx_);
  if (max_norm_) s += tg::detail::cat(", max_norm=", *max_norm_);
  if (max_norm_ && norm_type_ != 2.0) s += tg::detail::cat(", norm_type=", norm_type_);
  return s;
}

std::string Embedding::brief() const { return tg::detail::cat("Embedding(", num_, "x", dim_, ")"); }

// ---------------------------------------------------------------------------
// Declarations: samples and error inputs of embedding (a composite of
// index_select, where and reshape).
// ---------------------------------------------------------------------------
namespace functional {

std::vector<OpInfo> embedding_function_declarations() {
  using inputs::any;
  using inputs::given;
  return {
      OpInfo("embedding")
          .composite_of_other_ops()
          .sample("[2,3] indices, repeats", {given(tensor_i64({3, 0, 4, 4, 1, 0}, {2, 3})), any({5, 2})},
                  [](const OpArgs& v) { return embedding(v[0], v[1]); })
          // A look-up of the padding row has no gradient by design (not the derivative), so
          // these samples name a padding row they do not look up; the reference test covers it.
          .sample("padding_idx 0, not looked up", {given(tensor_i64({3, 1, 4, 2}, {4})), any({5, 3})},
                  [](const OpArgs& v) { return embedding(v[0], v[1], 0); })
          .sample("0-d index, padding_idx -1", {given(tensor_i64({1}, {})), any({3, 2})},
                  [](const OpArgs& v) { return embedding(v[0], v[1], -1); })
          .error("index out of range", [] { embedding(tensor_i64({1, 5}, {2}), ones({5, 3})); },
                 {"embedding: index 5 at position 1 is out of range for 5 embeddings", "[2]", "[5,3]"})
          .error("negative index", [] { embedding(tensor_i64({-1}, {1}), ones({5, 3})); },
                 {"embedding", "index -1", "position 0"})
          .error("float indices", [] { embedding(tensor({1, 2}), ones({5, 3})); }, {"embedding", "int64", "float32"})
          .error("1-D weight", [] { embedding(tensor_i64({1}, {1}), ones({5})); },
                 {"embedding: weight must be [num_embeddings, embedding_dim]", "[5]"})
          .error("padding_idx out of range", [] { embedding(tensor_i64({1}, {1}), ones({5, 3}), 5); },
                 {"embedding: padding_idx 5 is out of range for 5 embeddings"})
          .error("max_norm 0", [] { embedding(tensor_i64({1}, {1}), ones({5, 3}), std::nullopt, 0.0); },
                 {"embedding: max_norm must be positive, got 0"}),
  };
}

}  // namespace functional
}  // namespace tg::nn
