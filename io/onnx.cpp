// ONNX export: trace one forward pass on the tape, map each recorded op to ONNX
// operators, encode the ModelProto (onnx/onnx.proto) with our own protobuf
// writer.
//
// Why no library: Debian's libonnx-dev (1.12) is the onnx C++ library built on
// libprotobuf's generated classes of onnx.proto. Using it would make every
// program that links tapegrad link libprotobuf too (its ABI tied to the
// protobuf version the classes were generated with), for a job that is small
// here: export only writes, and writes six messages (ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto, ValueInfoProto) made of varints and
// length-delimited fields — io/protobuf_writer.hpp and the encode functions
// below, about a hundred lines. What the library would add, checking, is done
// by independent implementations in the tests: onnx.checker and OpenCV's DNN
// module run the exported example models (tests/onnx_export_test.sh), and one
// export is compared byte for byte with what the onnx package's own serializer
// writes for the same graph (tests/test_onnx.cpp).
#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "core/engine.hpp"
#include "io/protobuf_writer.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/io/onnx.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/train/atomic_file.hpp>

namespace tg::onnx {
namespace {

using io::detail::ProtoWriter;

// ---- the messages, as plain data ----------------------------------------------------

// Integer attributes, and BatchNormalization's epsilon (FLOAT).
struct Attribute {
  enum Kind { Float = 1, Int = 2, Ints = 7 };  // AttributeProto.AttributeType
  std::string name;
  Kind kind = Int;
  std::int64_t i = 0;
  std::vector<std::int64_t> ints;
  float f = 0;
};

Attribute int_attribute(std::string name, std::int64_t v) { return {std::move(name), Attribute::Int, v, {}, 0}; }
Attribute ints_attribute(std::string name, std::vector<std::int64_t> v) {
  return {std::move(name), Attribute::Ints, 0, std::move(v), 0};
}
Attribute float_attribute(std::string name, float v) { return {std::move(name), Attribute::Float, 0, {}, v}; }

struct OnnxNode {
  std::string op_type, name;
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attributes;
};

struct Initializer {
  std::string name;
  Tensor value;
};

// ---- encoding (field numbers of onnx.proto) -----------------------------------------

int onnx_type(Dtype dtype) {
  switch (dtype) {
    case kFloat32: return 1;   // TensorProto.FLOAT
    case kInt64: return 7;     // TensorProto.INT64
    case kFloat64: return 11;  // TensorProto.DOUBLE
  }
  throw std::logic_error("onnx::export_model: unknown dtype");
}

ProtoWriter encode(const Attribute& a) {
  ProtoWriter w;
  w.bytes_field(1, a.name);
  if (a.kind == Attribute::Float) w.float_field(2, a.f);
  if (a.kind == Attribute::Int) w.int_field(3, a.i);
  if (a.kind == Attribute::Ints)
    for (std::int64_t v : a.ints) w.int_field(8, v);  // proto2 repeated int64: not packed
  w.int_field(20, a.kind);
  return w;
}

ProtoWriter encode(const OnnxNode& n) {
  ProtoWriter w;
  for (const std::string& s : n.inputs) w.bytes_field(1, s);
  for (const std::string& s : n.outputs) w.bytes_field(2, s);
  w.bytes_field(3, n.name);
  w.bytes_field(4, n.op_type);
  std::vector<const Attribute*> sorted;  // by name, as onnx.helper.make_node writes them
  for (const Attribute& a : n.attributes) sorted.push_back(&a);
  std::sort(sorted.begin(), sorted.end(), [](const Attribute* a, const Attribute* b) { return a->name < b->name; });
  for (const Attribute* a : sorted) w.message_field(5, encode(*a));
  return w;
}

ProtoWriter encode(const Initializer& init) {
  ProtoWriter w;
  for (std::int64_t d : init.value.shape().vec()) w.int_field(1, d);
  w.int_field(2, onnx_type(init.value.dtype()));
  w.bytes_field(8, init.name);
  // raw_data is little-endian, as tapegrad's tensors are on the hosts it builds for.
  w.bytes_field(9, std::string_view(static_cast<const char*>(init.value.raw_data()),
                                    static_cast<std::size_t>(init.value.numel()) * element_size(init.value.dtype())));
  return w;
}

// A ValueInfoProto of a tensor whose first dimension is the batch when `batched`.
ProtoWriter encode_value_info(const std::string& name, Dtype dtype, const Shape& shape, bool batched) {
  ProtoWriter dims;
  for (int i = 0; i < shape.size(); ++i) {
    ProtoWriter dim;
    if (i == 0 && batched)
      dim.bytes_field(2, "batch");  // dim_param
    else
      dim.int_field(1, shape[i]);  // dim_value
    dims.message_field(1, dim);
  }
  ProtoWriter tensor_type;
  tensor_type.int_field(1, onnx_type(dtype));
  tensor_type.message_field(2, dims);
  ProtoWriter type;
  type.message_field(1, tensor_type);
  ProtoWriter w;
  w.bytes_field(1, name);
  w.message_field(2, type);
  return w;
}

// The IR version of the ONNX release that introduced each opset.
int ir_version(int opset) { return opset <= 11 ? 6 : opset <= 14 ? 7 : 8; }

// ---- the trace ------------------------------------------------------------------------

struct TracedOp {
  std::string name;
  std::vector<Tensor> inputs;
  Tensor output;
  const autograd::OpAttributes& attributes() const { return output.grad_fn()->attributes(); }
};

class GraphBuilder;
using Emitter = void (GraphBuilder::*)(std::size_t op);
const std::map<std::string, Emitter>& emitters();

std::string mapped_op_list() {
  std::string s;
  for (const auto& [name, emit] : emitters()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

std::string shapes_of(const std::vector<Tensor>& inputs) {
  std::string s;
  for (const Tensor& t : inputs) s += (s.empty() ? "" : ", ") + (t.defined() ? describe(t) : std::string("none"));
  return s;
}

// A call of a BatchNorm module that normalises with its running statistics: the
// ops recorded from `begin` to `end` (its forward: sub, mul, reshape, add) become
// one BatchNormalization node from `input` to `output`.
struct BatchNormCall {
  std::size_t begin = 0, end = 0;
  Tensor input, output;
  const nn::BatchNormBase* module = nullptr;
};

// Keeps every recorded op of the forward pass. An op without a mapping is
// refused right there, inside the module that runs it, so that the module's
// error path (nn::Module::operator()) names where it is.
struct Tracer final : autograd::EngineHook {
  std::vector<TracedOp> ops;
  std::vector<BatchNormCall> batch_norms;
  void on_record_inputs(const autograd::TapeNode& node, const std::vector<Tensor>& inputs,
                        const Tensor& output) override {
    if (!emitters().count(node.name()))
      throw std::invalid_argument("onnx::export_model: op '" + node.name() + "' (inputs " + shapes_of(inputs) +
                                  ") has no ONNX mapping; the ops export_model maps: " + mapped_op_list());
    ops.push_back({node.name(), inputs, output});
  }
};

// ---- from traced ops to ONNX nodes -----------------------------------------------------

struct Value {
  std::string name;
  bool batched = false;  // its first dimension is the input's batch
};

class GraphBuilder {
 public:
  GraphBuilder(const nn::Module& model, std::vector<TracedOp> ops, std::vector<BatchNormCall> batch_norms,
               const Tensor& input, const Tensor& output, int opset)
      : ops_(std::move(ops)), input_(input), output_(output), opset_(opset) {
    values_[input.id()] = {"input", true};
    for (const auto& [name, t] : model.named_parameters()) parameters_.emplace(t.id(), name);
    for (const auto& [name, t] : model.named_buffers()) parameters_.emplace(t.id(), name);
    for (const auto& [path, m] : model.named_modules())
      if (const auto* linear = dynamic_cast<const nn::Linear*>(m)) linear_weights_.insert(linear->weight.id());
    find_live_ops();
    for (BatchNormCall& call : batch_norms)
      if (is_batch_norm_forward(call)) {
        for (std::size_t k = call.begin; k + 1 < call.end; ++k) fused_[k] = true;
        batch_norm_at_.emplace(call.end - 1, std::move(call));
      }
  }

  void build() {
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      if (auto bn = batch_norm_at_.find(i); bn != batch_norm_at_.end()) {
        if (live_[i]) batch_normalization(bn->second);
        continue;
      }
      if (live_[i] && !fused_[i]) (this->*emitters().at(ops_[i].name))(i);
    }
    if (!values_.count(output_.id()) || values_.at(output_.id()).name != "output") {
      const Value in = value(output_);  // the output is the input, a parameter or a constant
      emit("Identity", {in.name}, {}, in.batched, &output_);
    }
  }

  std::string model_proto(const std::string& graph_name) const {
    ProtoWriter graph;
    for (const OnnxNode& n : nodes_) graph.message_field(1, encode(n));
    graph.bytes_field(2, graph_name);
    for (const Initializer& init : initializers_) graph.message_field(5, encode(init));
    graph.message_field(11, encode_value_info("input", input_.dtype(), input_.shape(), true));
    graph.message_field(12, encode_value_info("output", output_.dtype(), output_.shape(), output_value().batched));
    ProtoWriter opset;
    opset.bytes_field(1, "");  // the default domain, ai.onnx
    opset.int_field(2, opset_);
    ProtoWriter model;
    model.int_field(1, ir_version(opset_));
    model.bytes_field(2, "tapegrad");
    model.message_field(7, graph);
    model.message_field(8, opset);
    return model.bytes();
  }

  // One emitter per mapped op (the table is emitters() below).
  void unary(std::size_t i, const char* op_type) {
    const Value x = value(ops_[i].inputs[0]);
    emit(op_type, {x.name}, {}, x.batched, &ops_[i].output);
  }
  void relu(std::size_t i) { unary(i, "Relu"); }
  void sigmoid(std::size_t i) { unary(i, "Sigmoid"); }
  void tanh(std::size_t i) { unary(i, "Tanh"); }
  void exp(std::size_t i) { unary(i, "Exp"); }
  void log(std::size_t i) { unary(i, "Log"); }
  void sqrt(std::size_t i) { unary(i, "Sqrt"); }
  void neg(std::size_t i) { unary(i, "Neg"); }
  void abs(std::size_t i) { unary(i, "Abs"); }

  void binary(std::size_t i, const char* op_type) {
    const TracedOp& op = ops_[i];
    const Value a = value(op.inputs[0]), b = value(op.inputs[1]);
    const bool batched = a.batched || b.batched;
    if (batched)
      for (std::size_t k = 0; k < 2; ++k) {
        const Tensor& t = op.inputs[k];
        if (!(k ? b : a).batched && t.dim() == op.output.dim() && t.dim() > 0 && t.shape()[0] != 1)
          fail(op, "broadcasts " + describe(t) + ", which does not depend on the input, along the batch dimension");
      }
    emit(op_type, {a.name, b.name}, {}, batched, &op.output);
  }
  void add(std::size_t i) { binary(i, "Add"); }
  void sub(std::size_t i) { binary(i, "Sub"); }
  void mul(std::size_t i) { binary(i, "Mul"); }
  void div(std::size_t i) { binary(i, "Div"); }

  // x (op) s, or s (op) x when `scalar_first`.
  void with_scalar(std::size_t i, const char* op_type, bool scalar_first) {
    const TracedOp& op = ops_[i];
    const Value x = value(op.inputs[0]);
    const std::string s = constant(next_name(op_type) + "_scalar",
                                   full({}, op.attributes().real("scalar"), op.inputs[0].dtype()));
    emit(op_type, scalar_first ? std::vector<std::string>{s, x.name} : std::vector<std::string>{x.name, s}, {},
         x.batched, &op.output);
  }
  void add_scalar(std::size_t i) { with_scalar(i, "Add", false); }
  void mul_scalar(std::size_t i) { with_scalar(i, "Mul", false); }
  void div_scalar(std::size_t i) { with_scalar(i, "Div", false); }
  void rsub_scalar(std::size_t i) { with_scalar(i, "Sub", true); }
  void rdiv_scalar(std::size_t i) { with_scalar(i, "Div", true); }

  void softmax_like(std::size_t i, const char* op_type) {
    const TracedOp& op = ops_[i];
    const Value x = value(op.inputs[0]);
    const int rank = op.inputs[0].dim();
    if (rank == 0) fail(op, "a 0-d input has no axis to normalise over");
    std::int64_t axis = op.attributes().ints("dim").at(0);
    if (axis < 0) axis += rank;
    // Before opset 13, Softmax flattens the input to 2-D at `axis`: the same only for the last axis.
    if (opset_ < 13 && axis != rank - 1)
      fail(op, "dim " + std::to_string(axis) + " of a " + std::to_string(rank) +
                   "-d input needs opset 13 or later (before it, ONNX normalises over all dimensions from dim on)");
    emit(op_type, {x.name}, {int_attribute("axis", axis)}, x.batched, &op.output);
  }
  void softmax(std::size_t i) { softmax_like(i, "Softmax"); }
  void log_softmax(std::size_t i) { softmax_like(i, "LogSoftmax"); }

  void conv2d(std::size_t i) {
    const TracedOp& op = ops_[i];
    const Value x = value(op.inputs[0]), w = value(op.inputs[1]);
    std::vector<std::string> inputs{x.name, w.name};
    if (op.inputs[2].defined()) inputs.push_back(value(op.inputs[2]).name);
    const autograd::OpAttributes& a = op.attributes();
    const Shape& ws = op.inputs[1].shape();
    std::vector<Attribute> attributes{ints_attribute("dilations", a.ints("dilation")),
                                      ints_attribute("kernel_shape", {ws[2], ws[3]}),
                                      ints_attribute("pads", a.ints("pads")),
                                      ints_attribute("strides", a.ints("stride"))};
    // ONNX's default is 1: written only for a grouped (depthwise) convolution.
    const std::int64_t groups = a.ints("groups").at(0);
    if (groups != 1) attributes.push_back(int_attribute("group", groups));
    emit("Conv", inputs, attributes, x.batched || w.batched, &op.output);
  }

  // conv_transpose2d, with the bias add that follows it (add of the bias reshaped
  // to [1,F,1,1]) folded in as ConvTranspose's third input.
  void conv_transpose2d(std::size_t i) {
    const TracedOp& op = ops_[i];
    const autograd::OpAttributes& a = op.attributes();
    // Recorded by conv2d's double backward, which keeps no attributes.
    if (a.empty()) fail(op, "was recorded by a gradient computation, not by tg::conv_transpose2d");
    const Value x = value(op.inputs[0]), w = value(op.inputs[1]);
    std::vector<std::string> inputs{x.name, w.name};
    const Tensor* out = &op.output;
    if (const auto bias = bias_after_conv_transpose(i)) {
      const TracedOp& add = ops_[bias->second];
      inputs.push_back(value(ops_[bias->first].inputs[0]).name);
      out = &add.output;
      fused_[bias->first] = fused_[bias->second] = true;
    }
    const Shape& ws = op.inputs[1].shape();
    std::vector<Attribute> attributes{ints_attribute("dilations", a.ints("dilation")),
                                      ints_attribute("kernel_shape", {ws[2], ws[3]}),
                                      ints_attribute("pads", a.ints("pads")),
                                      ints_attribute("strides", a.ints("stride"))};
    const std::int64_t groups = a.ints("groups").at(0);
    if (groups != 1) attributes.push_back(int_attribute("group", groups));
    const std::vector<std::int64_t>& output_padding = a.ints("output_padding");
    if (output_padding != std::vector<std::int64_t>{0, 0})
      attributes.push_back(ints_attribute("output_padding", output_padding));
    emit("ConvTranspose", inputs, attributes, x.batched || w.batched, out);
  }

  // BatchNorm in training mode (or without running statistics) normalises with
  // the batch's own statistics: ONNX's BatchNormalization normalises with fixed
  // ones in inference, and a file whose outputs depend on what else is in the
  // batch is not what a user exporting a model wants. Modules are exported in
  // eval mode (export_model switches them), so this is a functional
  // batch_norm(..., training = true) or a BatchNorm without track_running_stats.
  void fused_batch_norm(std::size_t i) {
    fail(ops_[i], "normalises with the statistics of the batch (batch norm in training mode, or without running "
                  "statistics), which ONNX's BatchNormalization does not do in inference; export a BatchNorm module "
                  "that tracks running statistics (export_model runs it in eval mode), or call batch_norm with "
                  "training = false");
  }

  // sum: GlobalAveragePool for the mean over H and W of [N,C,H,W] with keepdim
  // (global average pooling, adaptive_avg_pool2d to 1x1: the sum then a
  // mul_scalar by 1 / (H W), folded in); otherwise ReduceSum.
  void sum(std::size_t i) {
    const TracedOp& op = ops_[i];
    const Tensor& in = op.inputs[0];
    const Value x = value(in);
    const std::vector<std::int64_t>& dims = op.attributes().ints("dims");
    const bool keepdim = op.attributes().ints("keepdim").at(0) != 0;
    if (x.batched && std::find(dims.begin(), dims.end(), 0) != dims.end())
      fail(op, "sums over the batch dimension");
    if (x.batched && in.dim() == 4 && dims == std::vector<std::int64_t>{2, 3} && keepdim)
      if (const auto scale = scale_after(i, 1.0 / static_cast<double>(in.shape()[2] * in.shape()[3]))) {
        fused_[*scale] = true;
        emit("GlobalAveragePool", {x.name}, {}, true, &ops_[*scale].output);
        return;
      }
    if (dims.empty()) {
      emit("Identity", {x.name}, {}, x.batched, &op.output);
      return;
    }
    std::vector<std::string> inputs{x.name};
    std::vector<Attribute> attributes{int_attribute("keepdims", keepdim ? 1 : 0)};
    // Opset 13 made ReduceSum's axes an input (for the other reductions it was opset 18).
    if (opset_ >= 13)
      inputs.push_back(constant(next_name("ReduceSum") + "_axes",
                                tensor_i64(dims, {static_cast<std::int64_t>(dims.size())})));
    else
      attributes.push_back(ints_attribute("axes", dims));
    emit("ReduceSum", inputs, attributes, x.batched, &op.output);
  }

  void pool(std::size_t i, const char* op_type) {
    const TracedOp& op = ops_[i];
    if (op.inputs[0].dim() != 4) fail(op, "ONNX pools [N,C,H,W] inputs, got " + describe(op.inputs[0]));
    const Value x = value(op.inputs[0]);
    const autograd::OpAttributes& a = op.attributes();
    std::vector<Attribute> attributes{ints_attribute("kernel_shape", a.ints("kernel")),
                                      ints_attribute("pads", a.ints("pads")),
                                      ints_attribute("strides", a.ints("stride"))};
    // tapegrad's avg_pool2d divides by the whole window, padding included (PyTorch's default).
    if (std::string(op_type) == "AveragePool") attributes.push_back(int_attribute("count_include_pad", 1));
    emit(op_type, {x.name}, attributes, x.batched, &op.output);
  }
  void max_pool2d(std::size_t i) { pool(i, "MaxPool"); }
  void avg_pool2d(std::size_t i) { pool(i, "AveragePool"); }

  void matmul(std::size_t i) {
    const TracedOp& op = ops_[i];
    const Tensor &a = op.inputs[0], &b = op.inputs[1];
    const Value va = value(a);
    if (!linear_weights_.count(b.id()) || a.dim() != 2) {
      const Value vb = value(b);
      if (vb.batched && b.dim() < 3) fail(op, "multiplies by " + describe(b) + ", whose first dimension is the batch");
      if (va.batched != vb.batched && b.dim() == 3)
        fail(op, "pairs the batch of one operand with the first dimension of the other, which does not depend on "
                 "the input");
      emit("MatMul", {va.name, vb.name}, {}, va.batched || vb.batched, &op.output);
      return;
    }
    // nn::Linear: Gemm(x, W^T, bias) with W kept in PyTorch's [out, in] layout.
    std::vector<std::string> inputs{va.name, linear_weight(b)};
    const Tensor* out = &op.output;
    if (const auto bias_add = bias_add_after(i)) {
      const TracedOp& add = ops_[*bias_add];
      const Tensor& bias = add.inputs[add.inputs[0].is_same(op.output) ? 1 : 0];
      inputs.push_back(value(bias).name);
      out = &add.output;
      fused_[*bias_add] = true;
    }
    emit("Gemm", inputs, {int_attribute("transB", 1)}, va.batched, out);
  }

  void reshape(std::size_t i) {
    const TracedOp& op = ops_[i];
    const Tensor& in = op.inputs[0];
    const Value x = value(in);
    const Shape& to = op.output.shape();
    if (x.batched && in.dim() >= 2 && to.size() == 2 && to[0] == in.shape()[0]) {
      emit("Flatten", {x.name}, {int_attribute("axis", 1)}, true, &op.output);
      return;
    }
    std::vector<std::int64_t> shape = to.vec();
    if (x.batched) {
      if (shape.empty()) fail(op, "reshapes a batched tensor to a 0-d one");
      shape[0] = -1;  // the batch, whatever its size
    }
    const std::string s =
        constant(next_name("Reshape") + "_shape", tensor_i64(shape, {static_cast<std::int64_t>(shape.size())}));
    emit("Reshape", {x.name, s}, {}, x.batched, &op.output);
  }

  void permute(std::size_t i) {
    const TracedOp& op = ops_[i];
    const Value x = value(op.inputs[0]);
    const std::vector<std::int64_t>& perm = op.attributes().ints("dims");
    if (x.batched && !perm.empty() && perm[0] != 0)
      fail(op, "moves the batch dimension (dims " + list(perm) + ")");
    emit("Transpose", {x.name}, {ints_attribute("perm", perm)}, x.batched, &op.output);
  }

  void cat(std::size_t i) {
    const TracedOp& op = ops_[i];
    const std::int64_t axis = op.attributes().ints("dim").at(0);
    std::vector<std::string> inputs;
    std::size_t batched = 0;
    for (const Tensor& t : op.inputs) {
      const Value v = value(t);
      inputs.push_back(v.name);
      batched += v.batched;
    }
    if (batched && (batched != op.inputs.size() || axis == 0))
      fail(op, axis == 0 ? "joins along the batch dimension"
                         : "joins tensors that depend on the input with tensors that do not");
    emit("Concat", inputs, {int_attribute("axis", axis)}, batched > 0, &op.output);
  }

 private:
  [[noreturn]] void fail(const TracedOp& op, const std::string& why) const {
    throw std::invalid_argument("onnx::export_model: op '" + op.name + "' (inputs " + shapes_of(op.inputs) +
                                ") cannot be exported: it " + why);
  }
  static std::string list(const std::vector<std::int64_t>& v) {
    std::string s;
    for (std::int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
    return "[" + s + "]";
  }

  const Value& output_value() const { return values_.at(output_.id()); }

  // The only reader of op i's output, when there is exactly one (live) and op i
  // is not the graph's output: what may be folded into op i's node.
  std::optional<std::size_t> only_reader(std::size_t i) const {
    const Tensor& y = ops_[i].output;
    auto it = readers_.find(y.id());
    if (y.is_same(output_) || it == readers_.end() || it->second.size() != 1) return std::nullopt;
    return it->second[0];
  }

  // The mul_scalar by `factor` that alone reads op i's output (mean = sum * 1/count).
  std::optional<std::size_t> scale_after(std::size_t i, double factor) const {
    const auto reader = only_reader(i);
    if (!reader || ops_[*reader].name != "mul_scalar" || ops_[*reader].attributes().real("scalar") != factor)
      return std::nullopt;
    return reader;
  }

  // (the reshape, the add) of conv_transpose2d's bias after op i: the add alone
  // reads the product, and its other operand is a parameter of [F] reshaped to
  // [1,F,1,1] that nothing else reads.
  std::optional<std::pair<std::size_t, std::size_t>> bias_after_conv_transpose(std::size_t i) const {
    const auto add_index = only_reader(i);
    if (!add_index) return std::nullopt;
    const TracedOp& add = ops_[*add_index];
    if (add.name != "add" || !add.inputs[0].is_same(ops_[i].output) || add.inputs[1].is_same(ops_[i].output))
      return std::nullopt;
    for (std::size_t k = i + 1; k < *add_index; ++k) {
      const TracedOp& r = ops_[k];
      if (r.name != "reshape" || !r.output.is_same(add.inputs[1])) continue;
      const Tensor& bias = r.inputs[0];
      const auto readers = readers_.find(r.output.id());
      if (bias.dim() == 1 && bias.shape()[0] == ops_[i].output.shape()[1] && parameters_.count(bias.id()) &&
          readers != readers_.end() && readers->second.size() == 1)
        return std::make_pair(k, *add_index);
    }
    return std::nullopt;
  }

  // Whether a BatchNorm call recorded exactly what batch_norm in eval mode
  // records, ending in the module's output: then its ops can be replaced by one
  // node. (Anything else, such as a forward hook that changes the output, is
  // exported op by op.)
  bool is_batch_norm_forward(const BatchNormCall& call) const {
    if (call.begin >= call.end || call.end > ops_.size() || !ops_[call.end - 1].output.is_same(call.output))
      return false;
    static const std::unordered_set<std::string> expected{"sub", "mul", "reshape", "add"};
    for (std::size_t k = call.begin; k < call.end; ++k)
      if (!expected.count(ops_[k].name)) return false;
    return call.input.dim() >= 2;
  }

  // BatchNormalization(X, scale, B, mean, var) with the module's parameters and
  // running statistics as initializers under their names.
  void batch_normalization(const BatchNormCall& call) {
    const nn::BatchNormBase& bn = *call.module;
    const Value x = value(call.input);
    const std::string base = next_name("BatchNormalization");
    const std::int64_t channels = call.input.shape()[1];
    const Dtype dtype = call.input.dtype();
    const std::string scale = bn.weight.defined() ? value(bn.weight).name
                                                  : constant(base + "_scale", ones({channels}, dtype));
    const std::string shift = bn.bias.defined() ? value(bn.bias).name
                                                : constant(base + "_bias", zeros({channels}, dtype));
    emit("BatchNormalization",
         {x.name, scale, shift, value(bn.running_mean).name, value(bn.running_var).name},
         {float_attribute("epsilon", static_cast<float>(bn.eps()))}, x.batched, &call.output);
  }

  // Marks the ops the output depends on, and counts who reads each tensor.
  void find_live_ops() {
    live_.assign(ops_.size(), false);
    fused_.assign(ops_.size(), false);
    std::unordered_map<const void*, std::size_t> producer;
    for (std::size_t i = 0; i < ops_.size(); ++i) producer[ops_[i].output.id()] = i;
    std::vector<const void*> stack{output_.id()};
    while (!stack.empty()) {
      auto it = producer.find(stack.back());
      stack.pop_back();
      if (it == producer.end() || live_[it->second]) continue;
      live_[it->second] = true;
      for (const Tensor& t : ops_[it->second].inputs)
        if (t.defined()) stack.push_back(t.id());
    }
    for (std::size_t i = 0; i < ops_.size(); ++i)
      if (live_[i])
        for (const Tensor& t : ops_[i].inputs)
          if (t.defined()) readers_[t.id()].push_back(i);
  }

  // The add right after matmul i that adds a Linear's bias: the only reader of
  // the product, adding a 1-D tensor of its width that does not depend on the input.
  std::optional<std::size_t> bias_add_after(std::size_t i) const {
    const Tensor& y = ops_[i].output;
    auto it = readers_.find(y.id());
    if (y.is_same(output_) || it == readers_.end() || it->second.size() != 1) return std::nullopt;
    const TracedOp& add = ops_[it->second[0]];
    if (add.name != "add" || add.inputs[0].is_same(add.inputs[1])) return std::nullopt;
    const Tensor& other = add.inputs[add.inputs[0].is_same(y) ? 1 : 0];
    if (other.dim() != 1 || other.shape()[0] != y.shape()[1] || other.dtype() != y.dtype() ||
        !parameters_.count(other.id()))
      return std::nullopt;
    return it->second[0];
  }

  // The ONNX name of a tensor: a value already computed, else a parameter or
  // buffer (an initializer under its name), else a constant.
  Value value(const Tensor& t) {
    if (auto it = values_.find(t.id()); it != values_.end()) return it->second;
    Value v;
    if (auto p = parameters_.find(t.id()); p != parameters_.end()) {
      if (linear_weights_.count(t.id())) {
        // Used by something other than its Linear's product: back to [in, out].
        v.name = emit("Transpose", {linear_weight(t)}, {ints_attribute("perm", {1, 0})}, false, nullptr);
      } else {
        v.name = p->second;
        initializers_.push_back({v.name, t});
      }
    } else {
      v.name = constant("constant_" + std::to_string(constants_++), t);
    }
    values_[t.id()] = v;
    return v;
  }

  // The initializer of a Linear's weight, in PyTorch's [out, in] layout.
  std::string linear_weight(const Tensor& w) {
    const std::string& name = parameters_.at(w.id());
    if (transposed_.insert(name).second) {
      NoGradGuard no_grad;
      initializers_.push_back({name, transpose(w, 0, 1)});
    }
    return name;
  }

  std::string constant(const std::string& name, const Tensor& t) {
    initializers_.push_back({name, t});
    return name;
  }

  std::string next_name(const std::string& op_type) const { return op_type + "_" + std::to_string(nodes_.size()); }

  // Adds a node computing `out` (the graph's output gets the name "output").
  std::string emit(const std::string& op_type, std::vector<std::string> inputs, std::vector<Attribute> attributes,
                   bool batched, const Tensor* out) {
    OnnxNode n;
    n.op_type = op_type;
    n.name = next_name(op_type);
    n.inputs = std::move(inputs);
    n.attributes = std::move(attributes);
    const std::string result = out && out->is_same(output_) ? "output" : n.name;
    n.outputs = {result};
    nodes_.push_back(std::move(n));
    if (out) values_[out->id()] = {result, batched};
    return result;
  }

  std::vector<TracedOp> ops_;
  std::map<std::size_t, BatchNormCall> batch_norm_at_;  // by the index of the call's last op
  Tensor input_, output_;
  int opset_;
  std::vector<bool> live_, fused_;
  std::unordered_map<const void*, std::vector<std::size_t>> readers_;
  std::unordered_map<const void*, Value> values_;
  std::unordered_map<const void*, std::string> parameters_;
  std::unordered_set<const void*> linear_weights_;
  std::unordered_set<std::string> transposed_;
  std::vector<OnnxNode> nodes_;
  std::vector<Initializer> initializers_;
  int constants_ = 0;
};

// The ops export_model maps, by the name they record on the tape. A BatchNorm
// module with running statistics is not an op: export_model watches its calls
// (forward hooks) and writes each as one BatchNormalization node; the op
// fused_batch_norm (batch statistics) is in the table only to refuse it clearly.
const std::map<std::string, Emitter>& emitters() {
  static const std::map<std::string, Emitter> table{
      {"abs", &GraphBuilder::abs},
      {"add", &GraphBuilder::add},
      {"add_scalar", &GraphBuilder::add_scalar},
      {"avg_pool2d", &GraphBuilder::avg_pool2d},
      {"cat", &GraphBuilder::cat},
      {"conv2d", &GraphBuilder::conv2d},
      {"conv_transpose2d", &GraphBuilder::conv_transpose2d},
      {"div", &GraphBuilder::div},
      {"div_scalar", &GraphBuilder::div_scalar},
      {"exp", &GraphBuilder::exp},
      {"fused_batch_norm", &GraphBuilder::fused_batch_norm},
      {"log", &GraphBuilder::log},
      {"log_softmax", &GraphBuilder::log_softmax},
      {"matmul", &GraphBuilder::matmul},
      {"max_pool2d", &GraphBuilder::max_pool2d},
      {"mul", &GraphBuilder::mul},
      {"mul_scalar", &GraphBuilder::mul_scalar},
      {"neg", &GraphBuilder::neg},
      {"rdiv_scalar", &GraphBuilder::rdiv_scalar},
      {"relu", &GraphBuilder::relu},
      {"reshape", &GraphBuilder::reshape},
      {"rsub_scalar", &GraphBuilder::rsub_scalar},
      {"permute", &GraphBuilder::permute},
      {"sigmoid", &GraphBuilder::sigmoid},
      {"softmax", &GraphBuilder::softmax},
      {"sqrt", &GraphBuilder::sqrt},
      {"sub", &GraphBuilder::sub},
      {"sum", &GraphBuilder::sum},
      {"tanh", &GraphBuilder::tanh},
  };
  return table;
}

}  // namespace

void export_model(nn::Module& model, const Tensor& example_input, const std::string& path, int opset) {
  if (opset < kMinOpset || opset > kMaxOpset)
    throw std::invalid_argument("onnx::export_model: opset " + std::to_string(opset) +
                                " is not supported (tapegrad writes opsets " + std::to_string(kMinOpset) + " to " +
                                std::to_string(kMaxOpset) + ")");
  if (!example_input.defined()) throw std::invalid_argument("onnx::export_model: the example input is undefined");
  if (example_input.dtype() == kInt64 || example_input.dim() == 0)
    throw std::invalid_argument("onnx::export_model: the example input must be a float32 or float64 tensor whose first "
                                "dimension is the batch, got " + describe(example_input));

  // Traced in eval mode (dropout off), as PyTorch's exporter does; each module's mode comes back after.
  std::vector<std::pair<const nn::Module*, bool>> modes;
  for (const auto& [name, m] : model.named_modules()) modes.emplace_back(m, m->is_training());
  struct Restore {
    std::vector<std::pair<const nn::Module*, bool>>& modes;
    bool grad_mode = GradMode::is_enabled();
    // named_modules lists parents before their children, and train() reaches
    // the children: setting each in that order restores them all. (The
    // modules are those of `model`, which is not const.)
    ~Restore() {
      for (const auto& [m, training] : modes) const_cast<nn::Module*>(m)->train(training);
      GradMode::set_enabled(grad_mode);
    }
  } restore{modes};
  model.eval();
  GradMode::set_enabled(true);

  Tracer tracer;
  // Each call of a BatchNorm module that uses running statistics (in eval mode,
  // all that track them) becomes one BatchNormalization node: the hooks note
  // which recorded ops its forward made.
  struct RemoveHooks {
    std::vector<RemovableHandle> handles;
    void remove() {
      for (RemovableHandle& h : handles) h.remove();
    }
    ~RemoveHooks() { remove(); }
  } hooks;
  for (const auto& [path, m] : model.named_modules()) {
    const auto* bn = dynamic_cast<const nn::BatchNormBase*>(m);
    if (!bn || !bn->running_mean.defined()) continue;
    auto* module = const_cast<nn::BatchNormBase*>(bn);  // a module of `model`, which is not const
    auto begin = std::make_shared<std::size_t>(0);
    hooks.handles.push_back(module->register_forward_pre_hook(
        [&tracer, begin](nn::Module&, const Tensor&) { *begin = tracer.ops.size(); }));
    hooks.handles.push_back(module->register_forward_hook(
        [&tracer, begin, bn](nn::Module&, const Tensor& x, const Tensor& y) {
          tracer.batch_norms.push_back({*begin, tracer.ops.size(), x, y, bn});
        }));
  }
  const Tensor input = example_input.detach().requires_grad_();
  Tensor output;
  {
    autograd::InstallHook installed(&tracer);
    output = model(input);
  }
  hooks.remove();
  if (!output.defined()) throw std::invalid_argument("onnx::export_model: the model returned an undefined tensor");

  GraphBuilder graph(model, std::move(tracer.ops), std::move(tracer.batch_norms), input, output, opset);
  graph.build();
  train::write_file_atomically(path, graph.model_proto(model.type_name()), {false, "onnx::export_model"});
}

}  // namespace tg::onnx
