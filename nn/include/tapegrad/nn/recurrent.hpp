// tapegrad — recurrent layers (tg::nn): RNNCell, LSTMCell, GRUCell and the
// multi-layer RNN, LSTM and GRU, with PyTorch's parameters, defaults and results.
//
// @code
//   auto lstm = std::make_shared<tg::nn::LSTM>(8, 16, tg::nn::RecurrentOptions().num_layers(2).batch_first(true));
//   tg::Tensor x = tg::randn({4, 10, 8});                           // [batch, seq, features]
//   auto [out, state] = (*lstm)(x, {});                             // zero initial states; out [4,10,16]
//   tg::Tensor h_n = std::get<0>(state), c_n = std::get<1>(state);  // [2,4,16] each
//   tg::Tensor lengths = tg::tensor_i64({10, 7, 3, 1}, {4});        // a padded batch
//   auto [padded, last] = (*lstm)(x, {h_n, c_n}, lengths);          // zeros past each length
//   (tg::sum(out) + tg::sum(padded) + tg::sum(std::get<0>(last))).backward();
// @endcode
//
// Everything is built from differentiable ops, so the tape gives the backward
// and its backward. The input projection x W_ih^T + b of a whole layer is one
// matrix product over every time step; each step then adds h W_hh^T. The LSTM
// step after that product is one op, tg::fused_lstm_cell (<tapegrad/ops/recurrent.hpp>), with
// a fused forward and backward (itself twice differentiable), which keeps the
// tape at a few nodes per step.
//
// Names and layout are PyTorch's, so a state_dict loads as it is: weight_ih_l{k}
// [gates * hidden, in], weight_hh_l{k} [gates * hidden, hidden], bias_ih_l{k},
// bias_hh_l{k} [gates * hidden] (suffix _reverse for the backward direction of
// a bidirectional layer); gates are LSTM's (i, f, g, o) and GRU's (r, z, n), and
// every parameter starts uniform in [-1/sqrt(hidden), 1/sqrt(hidden)].
//
// Variable-length batches: `lengths` (int64 [batch]) gives each sequence's
// length; steps past it leave the state alone and output zeros, so the results
// are those of PyTorch's pack_padded_sequence(..., enforce_sorted=False) followed
// by pad_packed_sequence (with padding up to the input's full length), and the
// final states are those at each sequence's last valid step (the first step,
// for the backward direction). No sorting is needed.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <tapegrad/core/tensor.hpp>
#include <tapegrad/nn/module.hpp>

namespace tg::nn {

/// The nonlinearity of RNN and RNNCell.
enum class RNNNonlinearity { Tanh, ReLU };

/// Settings of RNN, LSTM and GRU, in PyTorch's names and defaults:
/// `RecurrentOptions().num_layers(2).bidirectional(true)`.
struct RecurrentOptions {
  /// Stacked layers, each reading the previous one's output (default 1).
  RecurrentOptions& num_layers(std::int64_t v) { num_layers_ = v; return *this; }
  /// bias_ih and bias_hh parameters (default true).
  RecurrentOptions& bias(bool v) { bias_ = v; return *this; }
  /// Input and output [batch, seq, features] instead of [seq, batch, features]
  /// (default false); the states stay [layers * directions, batch, hidden].
  RecurrentOptions& batch_first(bool v) { batch_first_ = v; return *this; }
  /// Dropout probability on every layer's output but the last, in training mode only (default 0).
  RecurrentOptions& dropout(double v) { dropout_ = v; return *this; }
  /// A second pass from the last step to the first; outputs [.., 2 * hidden] (default false).
  RecurrentOptions& bidirectional(bool v) { bidirectional_ = v; return *this; }
  /// RNN only: tanh (default) or relu.
  RecurrentOptions& nonlinearity(RNNNonlinearity v) { nonlinearity_ = v; return *this; }

  std::int64_t num_layers_ = 1;
  bool bias_ = true;
  bool batch_first_ = false;
  double dropout_ = 0.0;
  bool bidirectional_ = false;
  RNNNonlinearity nonlinearity_ = RNNNonlinearity::Tanh;
};

/// What RNN, LSTM and GRU share: the parameters of every layer and direction
/// and the loop over time. Input [seq, batch, in] (or [batch, seq, in] with
/// batch_first, or [seq, in] unbatched); states [layers * directions, batch,
/// hidden] ([layers * directions, hidden] unbatched). The one-tensor call
/// returns the output only, from zero states.
class RecurrentBase : public Module {
 public:
  /// The output for zero initial states.
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  /// "LSTM(8->16, layers=2)"
  std::string brief() const override;

  std::int64_t input_size() const { return input_size_; }
  std::int64_t hidden_size() const { return hidden_size_; }
  const RecurrentOptions& options() const { return options_; }

 protected:
  enum class Kind { RNN, LSTM, GRU };
  RecurrentBase(Kind kind, std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options);
  /// Runs the layers: returns output, h_n and (LSTM) c_n. h0/c0/lengths may be undefined.
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& input, const Tensor& h0, const Tensor& c0,
                                         const Tensor& lengths);

 private:
  Kind kind_;
  std::int64_t input_size_, hidden_size_;
  RecurrentOptions options_;
  // Per layer and direction: weight_ih, weight_hh, bias_ih, bias_hh (undefined without bias).
  std::vector<Tensor> weights_;
};

/// Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), per layer.
class RNN : public RecurrentBase {
 public:
  /// Throws unless input_size, hidden_size and num_layers are positive and 0 <= dropout <= 1.
  RNN(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {});
  using Module::operator();
  /// (output, h_n) from h0 (undefined: zeros) and optional lengths (int64 [batch]).
  std::tuple<Tensor, Tensor> operator()(const Tensor& input, const Tensor& h0, const Tensor& lengths = Tensor());
};

/// LSTM with PyTorch's gates (i, f, g, o): c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
class LSTM : public RecurrentBase {
 public:
  /// As RNN's; the nonlinearity option is ignored.
  LSTM(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {});
  using Module::operator();
  /// (output, (h_n, c_n)) from (h0, c0) (undefined tensors, or `{}`: zeros) and
  /// optional lengths (int64 [batch]).
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> operator()(const Tensor& input, const std::tuple<Tensor, Tensor>& state,
                                                           const Tensor& lengths = Tensor());
};

/// GRU with PyTorch's gates (r, z, n): n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)),
/// h_t = (1 - z) n + z h_{t-1}.
class GRU : public RecurrentBase {
 public:
  /// As RNN's; the nonlinearity option is ignored.
  GRU(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {});
  using Module::operator();
  /// (output, h_n) from h0 (undefined: zeros) and optional lengths (int64 [batch]).
  std::tuple<Tensor, Tensor> operator()(const Tensor& input, const Tensor& h0, const Tensor& lengths = Tensor());
};

/// What the cells share: weight_ih [gates * hidden, in], weight_hh
/// [gates * hidden, hidden], bias_ih and bias_hh [gates * hidden] (undefined
/// without bias), all uniform in ±1/sqrt(hidden). Input [batch, in] or [in].
class RecurrentCellBase : public Module {
 public:
  std::string extra_repr() const override;
  std::int64_t input_size() const { return input_size_; }
  std::int64_t hidden_size() const { return hidden_size_; }

  Tensor weight_ih;  ///< [gates * hidden_size, input_size]
  Tensor weight_hh;  ///< [gates * hidden_size, hidden_size]
  Tensor bias_ih;    ///< [gates * hidden_size], undefined without bias
  Tensor bias_hh;    ///< [gates * hidden_size], undefined without bias

 protected:
  RecurrentCellBase(const char* type, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size, bool bias);
  /// The input checked against input_size and made 2-D; a given state checked against [batch, hidden].
  Tensor batched_input(const Tensor& input, bool& unbatched) const;
  Tensor state_or_zeros(const Tensor& state, const Tensor& input, bool unbatched, const char* what) const;

 private:
  std::int64_t input_size_, hidden_size_;
};

/// One step of RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).
class RNNCell : public RecurrentCellBase {
 public:
  RNNCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true,
          RNNNonlinearity nonlinearity = RNNNonlinearity::Tanh);
  /// h' from zero h.
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  using Module::operator();
  /// h' from h (undefined: zeros).
  Tensor operator()(const Tensor& input, const Tensor& h);

 private:
  Tensor step(const Tensor& input, const Tensor& h);
  RNNNonlinearity nonlinearity_;
};

/// One step of LSTM.
class LSTMCell : public RecurrentCellBase {
 public:
  LSTMCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true);
  /// h' from zero (h, c).
  Tensor forward(const Tensor& input) override;
  using Module::operator();
  /// (h', c') from (h, c) (undefined tensors, or `{}`: zeros).
  std::tuple<Tensor, Tensor> operator()(const Tensor& input, const std::tuple<Tensor, Tensor>& state);

 private:
  std::tuple<Tensor, Tensor> step(const Tensor& input, const std::tuple<Tensor, Tensor>& state);
};

/// One step of GRU.
class GRUCell : public RecurrentCellBase {
 public:
  GRUCell(std::int64_t input_size, std::int64_t hidden_size, bool bias = true);
  /// h' from zero h.
  Tensor forward(const Tensor& input) override;
  using Module::operator();
  /// h' from h (undefined: zeros).
  Tensor operator()(const Tensor& input, const Tensor& h);

 private:
  Tensor step(const Tensor& input, const Tensor& h);
};

}  // namespace tg::nn
