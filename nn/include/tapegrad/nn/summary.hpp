// tapegrad — a Keras/torchsummary-style model summary.
//
// @code
//   auto net = std::make_shared<tg::nn::Sequential>(std::make_shared<tg::nn::Conv2d>(3, 6, 3));
//   std::cout << tg::nn::summary(*net, {1, 3, 144, 144});
// @endcode
// prints
//
//   Layer  Type    Output shape   Param #
//   -------------------------------------
//   0      Conv2d  [1,6,142,142]      168
//   -------------------------------------
//   Input shape [1,3,144,144], output shape [1,6,142,142]
//   Total params: 168
//   Trainable params: 168
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tg::nn {

/// One leaf module (or module with parameters of its own, e.g.
/// MultiheadAttention) as it ran during the summary pass.
struct SummaryRow {
  std::string path;           ///< "features.0"; "" when the model itself is the leaf
  std::string type;           ///< "Conv2d"
  Shape output_shape;         ///< including the batch dimension
  std::int64_t parameters;    ///< parameter elements of this module itself (not of its children)
};

/// What summary() found: one row per leaf module, and the parameter totals.
struct ModelSummary {
  Shape input_shape;   ///< the shape the pass was run on, batch dimension included
  Shape output_shape;  ///< the model's output shape for it
  std::vector<SummaryRow> rows;  ///< leaf modules in the order they ran
  std::int64_t total_parameters = 0;      ///< elements of every parameter of the model
  std::int64_t trainable_parameters = 0;  ///< of those, elements of parameters that require grad
  /// The printed table.
  std::string str() const;
};

/// Writes summary.str().
std::ostream& operator<<(std::ostream& os, const ModelSummary& summary);

/// Runs one forward pass on zeros of `input_shape` (batch dimension included)
/// without recording, in eval mode (the modes are restored afterwards), and
/// lists every leaf module that ran with its output shape and parameter count.
/// Modules with children get a row too when they hold parameters of their own
/// (MultiheadAttention's in_proj_weight). It watches through forward hooks on
/// those modules, removed again when it returns or throws; so it sees the ones
/// called through the one-tensor operator() (MultiheadAttention and the
/// Transformer layers route their multi-input calls through it), not ones
/// called through another multi-input operator().
/// Errors from the pass propagate with the module path, as in any call.
ModelSummary summary(Module& model, const Shape& input_shape, Dtype dtype = kFloat32);

}  // namespace tg::nn
