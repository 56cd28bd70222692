// Recurrent layers: RNN, LSTM, GRU and their cells, from differentiable ops.
//
// A layer's input projection x W_ih^T + b is one linear() over all T * B rows
// (one large product instead of T small ones); the loop over time then adds
// h W_hh^T per step and applies the gate nonlinearities. LSTM's step after the
// products is the op tg::fused_lstm_cell; GRU's and RNN's are a few ops.
//
// Variable lengths are handled by masking rather than PyTorch's sorting and
// packing: at a step past a sequence's length its state is kept (where()) and
// its output is zero. The forward direction therefore ends holding each
// sequence's state at its last valid step, and the backward direction, which
// runs from step T-1 down, starts each sequence from its initial state at its
// own last valid step: exactly pack_padded_sequence + pad_packed_sequence.
#include <cmath>

#include "core/dispatch.hpp"
#include <tapegrad/core/autograd.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/layers.hpp>
#include <tapegrad/nn/recurrent.hpp>
#include <tapegrad/ops/ops.hpp>
#include <tapegrad/ops/recurrent.hpp>

namespace tg::nn {
namespace {

using tg::detail::cat;
using tg::detail::fail;

void check_sizes(const char* type, std::int64_t input_size, std::int64_t hidden_size) {
  if (input_size <= 0 || hidden_size <= 0)
    fail(type, ": input_size and hidden_size must be positive, got ", input_size, " and ", hidden_size);
}

// PyTorch's reset_parameters for every recurrent layer and cell.
void init_uniform(Tensor& t, std::int64_t hidden_size) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  init::uniform_(t, -bound, bound);
}

// tg::unbind(x, 0) as one op with an output per step. tg::unbind records a
// narrow per slice, and each narrow's backward builds a zero-filled gradient
// of the whole [T, B, G] projection: T of them, quadratic in T (measured: 13 %
// of an LSTM's fwd+bwd at T = 64). Here the backward stacks the T gradients
// once (zeros for steps no gradient reached), itself differentiable.
struct StepSlices : autograd::Function<StepSlices> {
  static constexpr const char* name = "step_slices";
  static std::vector<Tensor> forward(autograd::Context&, const Tensor& x) { return unbind(x, 0); }
  static autograd::Grads backward(autograd::Context&, const std::vector<Tensor>& grads) { return {stack(grads, 0)}; }
};

// fused_lstm_cell's [B, 2H] output as h' and c', one op whose backward joins the two gradients.
struct Halves : autograd::Function<Halves> {
  static constexpr const char* name = "lstm_state_halves";
  static std::vector<Tensor> forward(autograd::Context&, const Tensor& hc) { return chunk(hc, 2, 1); }
  static autograd::Grads backward(autograd::Context&, const std::vector<Tensor>& grads) { return {tg::cat(grads, 1)}; }
};

Tensor activation(RNNNonlinearity n, const Tensor& x) { return n == RNNNonlinearity::Tanh ? tanh(x) : relu(x); }

Tensor rnn_step(RNNNonlinearity n, const Tensor& gx, const Tensor& h, const Tensor& w_hh) {
  return activation(n, gx + linear(h, w_hh));
}

// gx = x W_ih^T + b_ih (all three gates), h -> h'.
Tensor gru_step(const Tensor& gx, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  const std::int64_t hs = h.size(1);
  const Tensor gh = linear(h, w_hh, b_hh);
  const Tensor rz = sigmoid(narrow(gx, 1, 0, 2 * hs) + narrow(gh, 1, 0, 2 * hs));
  const Tensor r = narrow(rz, 1, 0, hs), z = narrow(rz, 1, hs, hs);
  const Tensor n = tanh(narrow(gx, 1, 2 * hs, hs) + r * narrow(gh, 1, 2 * hs, hs));
  return n + z * (h - n);  // (1 - z) n + z h
}

// gx = x W_ih^T + b_ih + b_hh, (h, c) -> (h', c').
std::pair<Tensor, Tensor> lstm_step(const Tensor& gx, const Tensor& h, const Tensor& c, const Tensor& w_hh) {
  const std::vector<Tensor> hc = Halves::apply(fused_lstm_cell(gx + linear(h, w_hh), c));
  return {hc[0], hc[1]};
}

Tensor add_biases(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return Tensor();
  return a + b;
}

}  // namespace

// ---- RNN, LSTM, GRU -------------------------------------------------------------

RecurrentBase::RecurrentBase(Kind kind, std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options)
    : kind_(kind), input_size_(input_size), hidden_size_(hidden_size), options_(options) {
  const char* type = kind == Kind::RNN ? "RNN" : kind == Kind::LSTM ? "LSTM" : "GRU";
  check_sizes(type, input_size, hidden_size);
  if (options.num_layers_ <= 0) fail(type, ": num_layers must be positive, got ", options.num_layers_);
  if (!(options.dropout_ >= 0.0 && options.dropout_ <= 1.0))
    fail(type, ": dropout must be in [0, 1], got ", options.dropout_);
  const std::int64_t gates = kind == Kind::RNN ? 1 : kind == Kind::LSTM ? 4 : 3;
  const int directions = options.bidirectional_ ? 2 : 1;
  for (std::int64_t k = 0; k < options.num_layers_; ++k) {
    const std::int64_t in = k == 0 ? input_size : hidden_size * directions;
    for (int d = 0; d < directions; ++d) {
      const std::string suffix = cat("_l", k, d == 1 ? "_reverse" : "");
      // PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh, each uniform in ±1/sqrt(hidden).
      Tensor w_ih = zeros({gates * hidden_size, in}), w_hh = zeros({gates * hidden_size, hidden_size});
      init_uniform(w_ih, hidden_size);
      init_uniform(w_hh, hidden_size);
      weights_.push_back(register_parameter("weight_ih" + suffix, w_ih));
      weights_.push_back(register_parameter("weight_hh" + suffix, w_hh));
      if (options.bias_) {
        Tensor b_ih = zeros({gates * hidden_size}), b_hh = zeros({gates * hidden_size});
        init_uniform(b_ih, hidden_size);
        init_uniform(b_hh, hidden_size);
        weights_.push_back(register_parameter("bias_ih" + suffix, b_ih));
        weights_.push_back(register_parameter("bias_hh" + suffix, b_hh));
      } else {
        weights_.emplace_back();
        weights_.emplace_back();
      }
    }
  }
}

std::string RecurrentBase::extra_repr() const {
  std::string s = cat(input_size_, ", ", hidden_size_);
  if (options_.num_layers_ != 1) s += cat(", num_layers=", options_.num_layers_);
  if (kind_ == Kind::RNN && options_.nonlinearity_ == RNNNonlinearity::ReLU) s += ", nonlinearity=relu";
  if (!options_.bias_) s += ", bias=false";
  if (options_.batch_first_) s += ", batch_first=true";
  if (options_.dropout_ != 0.0) s += cat(", dropout=", options_.dropout_);
  if (options_.bidirectional_) s += ", bidirectional=true";
  return s;
}

std::string RecurrentBase::brief() const {
  std::string s = cat(type_name(), "(", input_size_, "->", hidden_size_);
  if (options_.num_layers_ != 1) s += cat(", layers=", options_.num_layers_);
  if (options_.bidirectional_) s += ", bidirectional";
  return s + ")";
}

Tensor RecurrentBase::forward(const Tensor& input) { return std::get<0>(run(input, Tensor(), Tensor(), Tensor())); }

std::tuple<Tensor, Tensor, Tensor> RecurrentBase::run(const Tensor& input, const Tensor& h0, const Tensor& c0,
                                                      const Tensor& lengths) {
  const bool lstm = kind_ == Kind::LSTM;
  const char* layout = options_.batch_first_ ? "[batch, seq, features]" : "[seq, batch, features]";
  tg::detail::check_floating(input, "recurrent input");
  if (input.dim() != 2 && input.dim() != 3)
    fail("expected an input ", layout, " (or [seq, features] unbatched) of 3 or 2 dimensions, got ", describe(input));
  const bool unbatched = input.dim() == 2;
  Tensor x = unbatched ? unsqueeze(input, 1) : options_.batch_first_ ? transpose(input, 0, 1) : input;
  if (x.size(2) != input_size_)
    fail("input has ", x.size(2), " features, expected input_size=", input_size_, " (input ", describe(input), ")");
  const std::int64_t steps = x.size(0), batch = x.size(1), hs = hidden_size_;
  if (steps == 0 || batch == 0) fail("the input ", describe(input), " is empty");
  const int directions = options_.bidirectional_ ? 2 : 1;
  const std::int64_t layers = options_.num_layers_;
  const std::vector<std::int64_t> state_shape =
      unbatched ? std::vector<std::int64_t>{layers * directions, hs} : std::vector<std::int64_t>{layers * directions, batch, hs};
  auto initial = [&](const Tensor& given, const char* name) -> std::vector<Tensor> {
    if (!given.defined()) {
      const Tensor z = zeros({batch, hs}, input.dtype());
      return std::vector<Tensor>(static_cast<std::size_t>(layers * directions), z);
    }
    if (given.shape() != Shape(state_shape))
      fail(name, " must be ", Shape(state_shape).str(), " (num_layers * num_directions, ",
           unbatched ? "" : "batch, ", "hidden_size) for the input ", describe(input), ", got ", describe(given));
    if (given.dtype() != input.dtype())
      fail(name, " is ", describe(given), " but the input is ", dtype_name(input.dtype()));
    return unbind(unbatched ? unsqueeze(given, 1) : given, 0);
  };
  std::vector<Tensor> h_init = initial(h0, "h0");
  std::vector<Tensor> c_init = lstm ? initial(c0, "c0") : std::vector<Tensor>();

  // One [batch, 1] mask per step (1 while the step is within the sequence), or none.
  std::vector<Tensor> masks;
  if (lengths.defined()) {
    if (unbatched) fail("lengths are for batched input, got an unbatched input ", describe(input));
    if (lengths.dtype() != kInt64 || lengths.dim() != 1 || lengths.size(0) != batch)
      fail("lengths must be int64 [batch] = [", batch, "] for the input ", describe(input), ", got ", describe(lengths));
    const std::vector<std::int64_t> len = lengths.to_vector<std::int64_t>();
    bool all_full = true;
    for (std::int64_t b = 0; b < batch; ++b) {
      if (len[b] < 1 || len[b] > steps)
        fail("lengths[", b, "] = ", len[b], " is outside [1, ", steps, "], the input's sequence length (input ",
             describe(input), ")");
      all_full = all_full && len[b] == steps;
    }
    if (!all_full)
      for (std::int64_t t = 0; t < steps; ++t) {
        std::vector<double> m(static_cast<std::size_t>(batch));
        for (std::int64_t b = 0; b < batch; ++b) m[b] = t < len[b] ? 1.0 : 0.0;
        masks.push_back(tensor(m, Shape{batch, 1}, input.dtype()));
      }
  }

  std::vector<Tensor> h_n, c_n;
  Tensor layer_input = x;
  for (std::int64_t k = 0; k < layers; ++k) {
    const Tensor rows = reshape(layer_input, {steps * batch, layer_input.size(2)});
    std::vector<Tensor> direction_outputs;
    for (int d = 0; d < directions; ++d) {
      const std::size_t at = static_cast<std::size_t>(k * directions + d);
      const Tensor& w_ih = weights_[4 * at];
      const Tensor& w_hh = weights_[4 * at + 1];
      const Tensor& b_ih = weights_[4 * at + 2];
      const Tensor& b_hh = weights_[4 * at + 3];
      // GRU keeps b_hh inside r * (h W_hn^T + b_hn); the others fold both biases into the projection.
      const Tensor bias = kind_ == Kind::GRU ? b_ih : add_biases(b_ih, b_hh);
      const std::vector<Tensor> gx = StepSlices::apply(reshape(linear(rows, w_ih, bias), {steps, batch, -1}));
      Tensor h = h_init[at], c = lstm ? c_init[at] : Tensor();
      std::vector<Tensor> outputs(static_cast<std::size_t>(steps));
      for (std::int64_t s = 0; s < steps; ++s) {
        const std::int64_t t = d == 0 ? s : steps - 1 - s;
        Tensor h_new, c_new;
        if (kind_ == Kind::LSTM) {
          std::tie(h_new, c_new) = lstm_step(gx[t], h, c, w_hh);
        } else if (kind_ == Kind::GRU) {
          h_new = gru_step(gx[t], h, w_hh, b_hh);
        } else {
          h_new = rnn_step(options_.nonlinearity_, gx[t], h, w_hh);
        }
        if (masks.empty()) {
          outputs[t] = h_new;
          h = h_new;
          c = c_new;
        } else {
          const Tensor& m = masks[t];
          outputs[t] = h_new * m;
          h = where(m, h_new, h);
          if (lstm) c = where(m, c_new, c);
        }
      }
      direction_outputs.push_back(stack(outputs, 0));
      h_n.push_back(h);
      if (lstm) c_n.push_back(c);
    }
    layer_input = directions == 1 ? direction_outputs[0] : tg::cat(direction_outputs, 2);
    if (k + 1 < layers && options_.dropout_ > 0.0 && is_training())
      layer_input = functional::dropout(layer_input, options_.dropout_, true);
  }
  Tensor output = layer_input, hn = stack(h_n, 0), cn = lstm ? stack(c_n, 0) : Tensor();
  if (unbatched) {
    output = squeeze(output, 1);
    hn = squeeze(hn, 1);
    if (lstm) cn = squeeze(cn, 1);
  } else if (options_.batch_first_) {
    output = transpose(output, 0, 1);
  }
  return {output, hn, cn};
}

RNN::RNN(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options)
    : RecurrentBase(Kind::RNN, input_size, hidden_size, options) {}

std::tuple<Tensor, Tensor> RNN::operator()(const Tensor& input, const Tensor& h0, const Tensor& lengths) {
  return with_module_path([&] {
    auto [out, h, c] = run(input, h0, Tensor(), lengths);
    return std::make_tuple(out, h);
  });
}

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options)
    : RecurrentBase(Kind::LSTM, input_size, hidden_size, options) {}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTM::operator()(const Tensor& input,
                                                                const std::tuple<Tensor, Tensor>& state,
                                                                const Tensor& lengths) {
  return with_module_path([&] {
    auto [out, h, c] = run(input, std::get<0>(state), std::get<1>(state), lengths);
    return std::make_tuple(out, std::make_tuple(h, c));
  });
}

GRU::GRU(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options)
    : RecurrentBase(Kind::GRU, input_size, hidden_size, options) {}

std::tuple<Tensor, Tensor> GRU::operator()(const Tensor& input, const Tensor& h0, const Tensor& lengths) {
  return with_module_path([&] {
    auto [out, h, c] = run(input, h0, Tensor(), lengths);
    return std::make_tuple(out, h);
  });
}

// ---- cells ----------------------------------------------------------------------

RecurrentCellBase::RecurrentCellBase(const char* type, std::int64_t gates, std::int64_t input_size,
                                     std::int64_t hidden_size, bool bias)
    : input_size_(input_size), hidden_size_(hidden_size) {
  check_sizes(type, input_size, hidden_size);
  Tensor w_ih = zeros({gates * hidden_size, input_size}), w_hh = zeros({gates * hidden_size, hidden_size});
  init_uniform(w_ih, hidden_size);
  init_uniform(w_hh, hidden_size);
  weight_ih = register_parameter("weight_ih", w_ih);
  weight_hh = register_parameter("weight_hh", w_hh);
  if (bias) {
    Tensor b_ih = zeros({gates * hidden_size}), b_hh = zeros({gates * hidden_size});
    init_uniform(b_ih, hidden_size);
    init_uniform(b_hh, hidden_size);
    bias_ih = register_parameter("bias_ih", b_ih);
    bias_hh = register_parameter("bias_hh", b_hh);
  }
}

std::string RecurrentCellBase::extra_repr() const {
  return cat(input_size_, ", ", hidden_size_, bias_ih.defined() ? "" : ", bias=false");
}

Tensor RecurrentCellBase::batched_input(const Tensor& input, bool& unbatched) const {
  tg::detail::check_floating(input, "cell input");
  if (input.dim() != 1 && input.dim() != 2)
    fail("expected an input [batch, features] (or [features] unbatched) of 2 or 1 dimensions, got ", describe(input));
  unbatched = input.dim() == 1;
  const Tensor x = unbatched ? unsqueeze(input, 0) : input;
  if (x.size(1) != input_size_)
    fail("input has ", x.size(1), " features, expected input_size=", input_size_, " (input ", describe(input), ")");
  return x;
}

Tensor RecurrentCellBase::state_or_zeros(const Tensor& state, const Tensor& input, bool unbatched,
                                         const char* what) const {
  const std::int64_t batch = unbatched ? 1 : input.size(0);
  if (!state.defined()) return zeros({batch, hidden_size_}, input.dtype());
  const Shape want = unbatched ? Shape{hidden_size_} : Shape{batch, hidden_size_};
  if (state.shape() != want)
    fail(what, " must be ", want.str(), " for the input ", describe(input), ", got ", describe(state));
  if (state.dtype() != input.dtype()) fail(what, " is ", describe(state), " but the input is ", dtype_name(input.dtype()));
  return unbatched ? unsqueeze(state, 0) : state;
}

RNNCell::RNNCell(std::int64_t input_size, std::int64_t hidden_size, bool bias, RNNNonlinearity nonlinearity)
    : RecurrentCellBase("RNNCell", 1, input_size, hidden_size, bias), nonlinearity_(nonlinearity) {}

std::string RNNCell::extra_repr() const {
  return RecurrentCellBase::extra_repr() + (nonlinearity_ == RNNNonlinearity::ReLU ? ", nonlinearity=relu" : "");
}

Tensor RNNCell::step(const Tensor& input, const Tensor& h) {
  bool unbatched = false;
  const Tensor x = batched_input(input, unbatched);
  const Tensor hx = state_or_zeros(h, input, unbatched, "h");
  const Tensor y = activation(nonlinearity_, linear(x, weight_ih, bias_ih) + linear(hx, weight_hh, bias_hh));
  return unbatched ? squeeze(y, 0) : y;
}

Tensor RNNCell::forward(const Tensor& input) { return step(input, Tensor()); }

Tensor RNNCell::operator()(const Tensor& input, const Tensor& h) {
  return with_module_path([&] { return step(input, h); });
}

LSTMCell::LSTMCell(std::int64_t input_size, std::int64_t hidden_size, bool bias)
    : RecurrentCellBase("LSTMCell", 4, input_size, hidden_size, bias) {}

std::tuple<Tensor, Tensor> LSTMCell::step(const Tensor& input, const std::tuple<Tensor, Tensor>& state) {
  bool unbatched = false;
  const Tensor x = batched_input(input, unbatched);
  const Tensor h = state_or_zeros(std::get<0>(state), input, unbatched, "h");
  const Tensor c = state_or_zeros(std::get<1>(state), input, unbatched, "c");
  const std::vector<Tensor> hc = Halves::apply(fused_lstm_cell(linear(x, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh), c));
  const Tensor& h2 = hc[0];
  const Tensor& c2 = hc[1];
  if (unbatched) return {squeeze(h2, 0), squeeze(c2, 0)};
  return {h2, c2};
}

Tensor LSTMCell::forward(const Tensor& input) { return std::get<0>(step(input, {})); }

std::tuple<Tensor, Tensor> LSTMCell::operator()(const Tensor& input, const std::tuple<Tensor, Tensor>& state) {
  return with_module_path([&] { return step(input, state); });
}

GRUCell::GRUCell(std::int64_t input_size, std::int64_t hidden_size, bool bias)
    : RecurrentCellBase("GRUCell", 3, input_size, hidden_size, bias) {}

Tensor GRUCell::step(const Tensor& input, const Tensor& h) {
  bool unbatched = false;
  const Tensor x = batched_input(input, unbatched);
  const Tensor hx = state_or_zeros(h, input, unbatched, "h");
  const Tensor y = gru_step(linear(x, weight_ih, bias_ih), hx, weight_hh, bias_hh);
  return unbatched ? squeeze(y, 0) : y;
}

Tensor GRUCell::forward(const Tensor& input) { return step(input, Tensor()); }

Tensor GRUCell::operator()(const Tensor& input, const Tensor& h) {
  return with_module_path([&] { return step(input, h); });
}

}  // namespace tg::nn
