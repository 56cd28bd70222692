// Normalisation as functions (tg::nn::functional::batch_norm, layer_norm,
// group_norm, instance_norm, rms_norm) and as modules. Each one centres and
// scales with differentiable ops,
//   y = (x - mean) * rsqrt(var + eps) [* weight] [+ bias],
// var being the biased mean((x - mean)^2) over the normalised dimensions, so the
// tape gives the backward (and its backward) without a hand-written rule;
// batch_norm in training mode and layer_norm are the exceptions: they run the
// ops tg::fused_batch_norm and tg::fused_layer_norm (ops/normalization.cpp),
// whose fused backwards are much faster than the composition's. The running
// statistics are updated in place under NoGradGuard: they are state, not part
// of the graph.
#include <limits>

#include "core/dispatch.hpp"
#include "nn/declarations.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/ops/normalization.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg::nn {
namespace {

using tg::detail::cat;
using tg::detail::fail;

std::string shape_str(const std::vector<std::int64_t>& dims) { return Shape(dims).str(); }

// A [C] tensor as [1, C, 1, ...] to broadcast over an input of `rank` dimensions.
Tensor per_channel(const Tensor& t, int rank) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(rank), 1);
  shape[1] = t.numel();
  return reshape(t, shape);
}

// An optional per-channel or per-element tensor: undefined, or of `shape` and the input's dtype.
void check_optional(const Tensor& t, const char* what, const Shape& shape, const Tensor& input, const char* op) {
  if (!t.defined()) return;
  if (t.shape() != shape)
    fail(op, ": ", what, " must have shape ", shape.str(), " to match the input ", describe(input), ", got ", describe(t));
  if (t.dtype() != input.dtype())
    fail(op, ": ", what, " is ", describe(t), " but the input is ", dtype_name(input.dtype()));
}

// The per-channel tensors of batch_norm and instance_norm: each [C] (C = input.size(1))
// or undefined, the running statistics both given or both undefined.
void check_channel_tensors(const char* op, const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                           const Tensor& weight, const Tensor& bias) {
  const Shape channels{input.size(1)};
  check_optional(running_mean, "running_mean", channels, input, op);
  check_optional(running_var, "running_var", channels, input, op);
  check_optional(weight, "weight", channels, input, op);
  check_optional(bias, "bias", channels, input, op);
  if (running_mean.defined() != running_var.defined())
    fail(op, ": running_mean and running_var must both be given or both be undefined");
}

// Every dimension from `first` on.
std::vector<int> dims_from(int first, int rank) {
  std::vector<int> dims;
  for (int d = first; d < rank; ++d) dims.push_back(d);
  return dims;
}

// x centred and scaled by its biased statistics over `dims`; the mean and the
// biased variance (keepdim) are returned through the pointers when asked for.
Tensor standardize(const Tensor& x, const std::vector<int>& dims, double eps, Tensor* mean_out = nullptr,
                   Tensor* var_out = nullptr) {
  const Tensor m = mean(x, dims, true);
  const Tensor centred = x - m;
  const Tensor v = mean(centred * centred, dims, true);
  if (mean_out) *mean_out = m;
  if (var_out) *var_out = v;
  return centred * rsqrt(v + eps);
}

Tensor affine(Tensor y, const Tensor& weight, const Tensor& bias) {
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

// running <- (1 - momentum) running + momentum stat, without gradient; stat is [C] after reshaping.
void update_running(Tensor& running, const Tensor& stat, double momentum) {
  NoGradGuard no_grad;
  running.copy_(running * (1.0 - momentum) + reshape(stat.detach(), {running.numel()}) * momentum);
}

void check_eps(const char* module, double eps) {
  if (!(eps >= 0.0)) fail(module, ": eps must be non-negative, got ", eps);
}

void check_positive(const char* module, const char* what, std::int64_t v) {
  if (v <= 0) fail(module, ": ", what, " must be positive, got ", v);
}

void check_normalized_shape(const char* module, const std::vector<std::int64_t>& shape) {
  if (shape.empty()) fail(module, ": normalized_shape must have at least one dimension");
  for (std::int64_t extent : shape)
    if (extent <= 0) fail(module, ": normalized_shape ", shape_str(shape), " must have positive extents");
}

// The input ends in normalized_shape.
void check_trailing(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const char* op) {
  const int k = static_cast<int>(normalized_shape.size());
  bool ok = input.dim() >= k;
  for (int i = 0; ok && i < k; ++i) ok = input.size(input.dim() - k + i) == normalized_shape[static_cast<std::size_t>(i)];
  if (!ok)
    fail(op, ": normalized_shape ", shape_str(normalized_shape), " expects an input [*, ",
         shape_str(normalized_shape).substr(1), ", got ", describe(input));
}

// Batch statistics need two values per channel: the unbiased variance divides by n - 1.
void check_batch_values(const Tensor& input, const char* op) {
  if (input.numel() / input.size(1) <= 1)
    fail(op, ": expected more than 1 value per channel when training, got an input ", describe(input));
}

void check_spatial_values(const Tensor& input, const char* op) {
  if (input.numel() / (input.size(0) * input.size(1)) <= 1)
    fail(op, ": expected more than 1 spatial element per channel when using input statistics, got an input ",
         describe(input));
}

std::string flag(bool on) { return on ? "true" : "false"; }

std::string tuple_str(const std::vector<std::int64_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += cat(i ? ", " : "", dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

}  // namespace

namespace functional {

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  tg::detail::check_floating(input, "batch_norm");
  if (input.dim() < 2) fail("batch_norm: expected an input [N, C, *] of at least 2 dimensions, got ", describe(input));
  if (input.numel() == 0) fail("batch_norm: the input ", describe(input), " is empty");
  check_channel_tensors("batch_norm", input, running_mean, running_var, weight, bias);
  if (!training && !running_mean.defined())
    fail("batch_norm: running_mean and running_var are needed when not training");
  const int rank = input.dim();
  if (training) {
    // One op with a fused backward: the statistics, the normalisation, the
    // affine map and the running update in two passes over the input.
    check_batch_values(input, "batch_norm");
    return fused_batch_norm(input, weight, bias, running_mean, running_var, momentum, eps);
  }
  const Tensor y = (input - per_channel(running_mean, rank)) * rsqrt(per_channel(running_var, rank) + eps);
  return affine(y, weight.defined() ? per_channel(weight, rank) : weight, bias.defined() ? per_channel(bias, rank) : bias);
}

Tensor layer_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  tg::detail::check_floating(input, "layer_norm");
  check_normalized_shape("layer_norm", normalized_shape);
  check_trailing(input, normalized_shape, "layer_norm");
  check_optional(weight, "weight", Shape(normalized_shape), input, "layer_norm");
  check_optional(bias, "bias", Shape(normalized_shape), input, "layer_norm");
  // One op with a fused backward (the composition read and wrote the input about
  // nine times forward and twenty times backward).
  return fused_layer_norm(input, normalized_shape, weight, bias, eps);
}

Tensor group_norm(const Tensor& input, std::int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  tg::detail::check_floating(input, "group_norm");
  if (input.dim() < 2) fail("group_norm: expected an input [N, C, *] of at least 2 dimensions, got ", describe(input));
  if (num_groups <= 0 || input.size(1) % num_groups != 0)
    fail("group_norm: the input's ", input.size(1), " channels cannot be split into num_groups=", num_groups,
         " equal groups (input ", describe(input), ")");
  if (input.numel() == 0) fail("group_norm: the input ", describe(input), " is empty");
  const Shape channels{input.size(1)};
  check_optional(weight, "weight", channels, input, "group_norm");
  check_optional(bias, "bias", channels, input, "group_norm");
  // Each (sample, group) is one row of [N, G, C/G * positions].
  const Tensor grouped = reshape(input, {input.size(0), num_groups, -1});
  const Tensor y = reshape(standardize(grouped, {2}, eps), input.shape().vec());
  const int rank = input.dim();
  return affine(y, weight.defined() ? per_channel(weight, rank) : weight, bias.defined() ? per_channel(bias, rank) : bias);
}

Tensor instance_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                     const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  tg::detail::check_floating(input, "instance_norm");
  if (input.dim() < 3)
    fail("instance_norm: expected an input [N, C, *] of at least 3 dimensions, got ", describe(input));
  if (input.numel() == 0) fail("instance_norm: the input ", describe(input), " is empty");
  check_channel_tensors("instance_norm", input, running_mean, running_var, weight, bias);
  if (!use_input_stats && !running_mean.defined())
    fail("instance_norm: running_mean and running_var are needed when not using input statistics");
  const int rank = input.dim();
  Tensor y;
  if (use_input_stats) {
    check_spatial_values(input, "instance_norm");
    Tensor instance_mean, instance_var;
    y = standardize(input, dims_from(2, rank), eps, &instance_mean, &instance_var);
    if (running_mean.defined()) {
      // PyTorch's rule: each instance's statistics, averaged over the batch, update the running ones.
      const double n = static_cast<double>(input.numel() / (input.size(0) * input.size(1)));
      Tensor mean_state = running_mean, var_state = running_var;
      update_running(mean_state, mean(instance_mean.detach(), {0}), momentum);
      update_running(var_state, mean(instance_var.detach(), {0}) * (n / (n - 1.0)), momentum);
    }
  } else {
    y = (input - per_channel(running_mean, rank)) * rsqrt(per_channel(running_var, rank) + eps);
  }
  return affine(y, weight.defined() ? per_channel(weight, rank) : weight, bias.defined() ? per_channel(bias, rank) : bias);
}

Tensor rms_norm(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight,
                std::optional<double> eps) {
  tg::detail::check_floating(input, "rms_norm");
  check_normalized_shape("rms_norm", normalized_shape);
  check_trailing(input, normalized_shape, "rms_norm");
  check_optional(weight, "weight", Shape(normalized_shape), input, "rms_norm");
  if (eps && !(*eps >= 0.0)) fail("rms_norm: eps must be non-negative, got ", *eps);
  const double e = eps ? *eps
                       : input.dtype() == kFloat32 ? std::numeric_limits<float>::epsilon()
                                                   : std::numeric_limits<double>::epsilon();
  const int rank = input.dim();
  const std::vector<int> dims = dims_from(rank - static_cast<int>(normalized_shape.size()), rank);
  return affine(input * rsqrt(mean(input * input, dims, true) + e), weight, Tensor());
}

}  // namespace functional

// ---- NormBase (BatchNorm, InstanceNorm2d) ------------------------------------------------

NormBase::NormBase(const char* type, std::int64_t num_features, double eps, bool with_affine, bool track_running_stats)
    : num_features_(num_features), eps_(eps) {
  check_positive(type, "num_features", num_features);
  check_eps(type, eps);
  if (with_affine) {
    weight = register_parameter("weight", ones({num_features}));
    bias = register_parameter("bias", zeros({num_features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}));
    running_var = register_buffer("running_var", ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", tensor_i64({0}, Shape()));
  }
}

// ---- BatchNorm1d / BatchNorm2d -------------------------------------------------------

BatchNormBase::BatchNormBase(const char* type, std::int64_t num_features, double eps, std::optional<double> momentum,
                             bool with_affine, bool track_running_stats)
    : NormBase(type, num_features, eps, with_affine, track_running_stats), momentum_(momentum) {
  if (momentum && !(*momentum >= 0.0 && *momentum <= 1.0)) fail(type, ": momentum must be in [0, 1], got ", *momentum);
}

Tensor BatchNormBase::forward(const Tensor& input) {
  tg::detail::check_defined(input, type_name().c_str());
  check_rank(input);
  if (input.size(1) != num_features_)
    fail("input has ", input.size(1), " channels, expected ", num_features_, " (input ", describe(input), ")");
  // Checked here too, so a refused batch does not count in num_batches_tracked.
  if (is_training()) check_batch_values(input, "batch_norm");
  double factor = momentum_.value_or(0.0);
  if (is_training() && num_batches_tracked.defined()) {
    num_batches_tracked.data<std::int64_t>()[0] += 1;
    num_batches_tracked.bump_version();
    if (!momentum_) factor = 1.0 / static_cast<double>(num_batches_tracked.item());  // cumulative average
  }
  // Without running stats, eval mode normalises with the batch's statistics too.
  const bool use_batch_stats = is_training() || !running_mean.defined();
  return functional::batch_norm(input, running_mean, running_var, weight, bias, use_batch_stats, factor, eps_);
}

std::string BatchNormBase::extra_repr() const {
  return cat(num_features_, ", eps=", eps_, ", momentum=", momentum_ ? cat(*momentum_) : "None",
             ", affine=", flag(weight.defined()), ", track_running_stats=", flag(running_mean.defined()));
}

std::string BatchNormBase::brief() const { return cat(type_name(), "(", num_features_, ")"); }

BatchNorm1d::BatchNorm1d(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                         bool track_running_stats)
    : BatchNormBase("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

void BatchNorm1d::check_rank(const Tensor& input) const {
  if (input.dim() != 2 && input.dim() != 3)
    fail("expected an input [N, C] or [N, C, L] with C = ", num_features(), ", got ", describe(input));
}

BatchNorm2d::BatchNorm2d(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                         bool track_running_stats)
    : BatchNormBase("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

void BatchNorm2d::check_rank(const Tensor& input) const {
  if (input.dim() != 4) fail("expected an input [N, C, H, W] with C = ", num_features(), ", got ", describe(input));
}

// ---- LayerNorm ---------------------------------------------------------------------------

LayerNorm::LayerNorm(std::vector<std::int64_t> normalized_shape, double eps, bool elementwise_affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  check_normalized_shape("LayerNorm", normalized_shape_);
  check_eps("LayerNorm", eps);
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(Shape(normalized_shape_)));
    bias = register_parameter("bias", zeros(Shape(normalized_shape_)));
  }
}

Tensor LayerNorm::forward(const Tensor& input) {
  tg::detail::check_defined(input, "LayerNorm");
  return functional::layer_norm(input, normalized_shape_, weight, bias, eps_);
}

std::string LayerNorm::extra_repr() const {
  return cat(tuple_str(normalized_shape_), ", eps=", eps_, ", elementwise_affine=", flag(weight.defined()));
}

// ---- GroupNorm ---------------------------------------------------------------------------

GroupNorm::GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps, bool with_affine)
    : num_groups_(num_groups), num_channels_(num_channels), eps_(eps) {
  check_positive("GroupNorm", "num_groups", num_groups);
  check_positive("GroupNorm", "num_channels", num_channels);
  if (num_channels % num_groups != 0)
    fail("GroupNorm: num_channels=", num_channels, " must be divisible by num_groups=", num_groups);
  check_eps("GroupNorm", eps);
  if (with_affine) {
    weight = register_parameter("weight", ones({num_channels}));
    bias = register_parameter("bias", zeros({num_channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& input) {
  tg::detail::check_defined(input, "GroupNorm");
  if (input.dim() < 2) fail("expected an input [N, C, *] with C = ", num_channels_, ", got ", describe(input));
  if (input.size(1) != num_channels_)
    fail("input has ", input.size(1), " channels, expected ", num_channels_, " (input ", describe(input), ")");
  return functional::group_norm(input, num_groups_, weight, bias, eps_);
}

std::string GroupNorm::extra_repr() const {
  return cat(num_groups_, ", ", num_channels_, ", eps=", eps_, ", affine=", flag(weight.defined()));
}

// ---- InstanceNorm2d ----------------------------------------------------------------------

InstanceNorm2d::InstanceNorm2d(std::int64_t num_features, double eps, double momentum, bool with_affine,
                               bool track_running_stats)
    : NormBase("InstanceNorm2d", num_features, eps, with_affine, track_running_stats), momentum_(momentum) {
  if (!(momentum >= 0.0 && momentum <= 1.0)) fail("InstanceNorm2d: momentum must be in [0, 1], got ", momentum);
}

Tensor InstanceNorm2d::forward(const Tensor& input) {
  tg::detail::check_defined(input, "InstanceNorm2d");
  if (input.dim() != 3 && input.dim() != 4)
    fail("expected an input [N, C, H, W] or [C, H, W] with C = ", num_features_, ", got ", describe(input));
  const bool batched = input.dim() == 4;
  const std::int64_t channels = input.size(batched ? 1 : 0);
  if (channels != num_features_ && (weight.defined() || running_mean.defined()))
    fail("input has ", channels, " channels, expected ", num_features_, " (input ", describe(input), ")");
  const bool use_input_stats = is_training() || !running_mean.defined();
  const Tensor x = batched ? input : unsqueeze(input, 0);
  const Tensor y =
      functional::instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum_, eps_);
  return batched ? y : squeeze(y, 0);
}

std::string InstanceNorm2d::extra_repr() const {
  return cat(num_features_, ", eps=", eps_, ", momentum=", momentum_, ", affine=", flag(weight.defined()),
             ", track_running_stats=", flag(running_mean.defined()));
}

std::string InstanceNorm2d::brief() const { return cat("InstanceNorm2d(", num_features_, ")"); }

// ---- RMSNorm -----------------------------------------------------------------------------

RMSNorm::RMSNorm(std::vector<std::int64_t> normalized_shape, std::optional<double> eps, bool elementwise_affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  check_normalized_shape("RMSNorm", normalized_shape_);
  if (eps) check_eps("RMSNorm", *eps);
  if (elementwise_affine) weight = register_parameter("weight", ones(Shape(normalized_shape_)));
}

Tensor RMSNorm::forward(const Tensor& input) {
  tg::detail::check_defined(input, "RMSNorm");
  return functional::rms_norm(input, normalized_shape_, weight, eps_);
}

std::string RMSNorm::extra_repr() const {
  return cat(tuple_str(normalized_shape_), ", eps=", eps_ ? cat(*eps_) : "None", ", elementwise_affine=",
             flag(weight.defined()));
}

// ---------------------------------------------------------------------------
// Declarations: each function's samples (the training paths build their running
// stats inside the call, since they update them) and error inputs. The modules'
// behaviour against PyTorch is tested in tests/test_nn_norm.cpp.
// ---------------------------------------------------------------------------
namespace functional {
std::vector<OpInfo> normalization_function_declarations() {
  using inputs::any;
  using inputs::constant;
  // A running variance from a constant input: positive, and not differentiated.
  auto variance = [](const Tensor& c) { return c * c + 0.5; };
  return {
      OpInfo("batch_norm")
          .composite_of_other_ops()
          .sample("training [N,C], affine, no running stats", {any({4, 3}), any({3}), any({3})},
                  [](const OpArgs& v) { return batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], true); })
          .sample("training [N,C,H,W], running stats updated", {any({2, 2, 2, 3})},
                  [](const OpArgs& v) {
                    const Tensor rm = zeros({2}, v[0].dtype()), rv = ones({2}, v[0].dtype());
                    return batch_norm(v[0], rm, rv, Tensor(), Tensor(), true, 0.3);
                  })
          .sample("eval [N,C,L], running stats, affine",
                  {any({2, 3, 2}), constant({3}), constant({3}), any({3}), any({3})},
                  [variance](const OpArgs& v) { return batch_norm(v[0], v[1], variance(v[2]), v[3], v[4], false); })
          .error("1-D input", [] { batch_norm(ones({4}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                 {"batch_norm", "[N, C, *]", "[4]"})
          .error("weight of the wrong size",
                 [] { batch_norm(ones({4, 3}), Tensor(), Tensor(), ones({2}), Tensor(), true); },
                 {"batch_norm", "weight", "[3]", "[2]"})
          .error("training on one value per channel",
                 [] { batch_norm(ones({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                 {"batch_norm", "more than 1 value per channel", "[1,3]"})
          .error("no channels", [] { batch_norm(ones({4, 0}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                 {"batch_norm", "[4,0]", "empty"})
          .error("eval without running stats", [] { batch_norm(ones({4, 3}), Tensor(), Tensor()); },
                 {"batch_norm", "running_mean"})
          .error("int64 input", [] { batch_norm(tensor_i64({1, 2}, {2, 1}), Tensor(), Tensor()); },
                 {"batch_norm", "int64"}),
      OpInfo("layer_norm")
          .composite_of_other_ops()
          .sample("last dimension, affine", {any({2, 3, 4}), any({4}), any({4})},
                  [](const OpArgs& v) { return layer_norm(v[0], {4}, v[1], v[2]); })
          .sample("last two dimensions, eps 0.1", {any({2, 3, 4})},
                  [](const OpArgs& v) { return layer_norm(v[0], {3, 4}, Tensor(), Tensor(), 0.1); })
          .error("trailing shape differs", [] { layer_norm(ones({2, 3, 4}), {3}); },
                 {"layer_norm", "[*, 3]", "[2,3,4]"})
          .error("weight of the wrong shape", [] { layer_norm(ones({2, 4}), {4}, ones({3})); },
                 {"layer_norm", "weight", "[4]", "[3]"}),
      OpInfo("group_norm")
          .composite_of_other_ops()
          .sample("[N,C,L], 3 groups, affine", {any({2, 6, 3}), any({6}), any({6})},
                  [](const OpArgs& v) { return group_norm(v[0], 3, v[1], v[2]); })
          .sample("[N,C,H,W], 2 groups", {any({2, 4, 2, 2})}, [](const OpArgs& v) { return group_norm(v[0], 2); })
          .error("channels not divisible", [] { group_norm(ones({2, 6, 4}), 4); },
                 {"group_norm", "6 channels", "num_groups=4", "[2,6,4]"}),
      OpInfo("instance_norm")
          .composite_of_other_ops()
          .sample("input stats, affine", {any({2, 3, 4}), any({3}), any({3})},
                  [](const OpArgs& v) { return instance_norm(v[0], Tensor(), Tensor(), v[1], v[2]); })
          .sample("input stats, running stats updated", {any({2, 2, 2, 2})},
                  [](const OpArgs& v) {
                    const Tensor rm = zeros({2}, v[0].dtype()), rv = ones({2}, v[0].dtype());
                    return instance_norm(v[0], rm, rv);
                  })
          .sample("running stats", {any({2, 3, 2, 2}), constant({3}), constant({3})},
                  [variance](const OpArgs& v) { return instance_norm(v[0], v[1], variance(v[2]), Tensor(), Tensor(), false); })
          .error("one spatial element", [] { instance_norm(ones({2, 3, 1, 1})); },
                 {"instance_norm", "more than 1 spatial element", "[2,3,1,1]"})
          .error("2-D input", [] { instance_norm(ones({2, 3})); }, {"instance_norm", "[N, C, *]", "[2,3]"})
          .error("empty batch", [] { instance_norm(ones({0, 3, 2, 2})); }, {"instance_norm", "[0,3,2,2]", "empty"}),
      OpInfo("rms_norm")
          .composite_of_other_ops()
          .sample("last dimension, weight, machine epsilon", {any({3, 4}), any({4})},
                  [](const OpArgs& v) { return rms_norm(v[0], {4}, v[1]); })
          .sample("last two dimensions, eps 1e-3", {any({2, 2, 3})},
                  [](const OpArgs& v) { return rms_norm(v[0], {2, 3}, Tensor(), 1e-3); })
          .error("trailing shape differs", [] { rms_norm(ones({2, 5}), {4}); }, {"rms_norm", "[*, 4]", "[2,5]"})
          .error("negative eps", [] { rms_norm(ones({2, 4}), {4}, Tensor(), -1.0); }, {"rms_norm", "eps", "-1"}),
  };
}
}  // namespace functional

}  // namespace tg::nn
