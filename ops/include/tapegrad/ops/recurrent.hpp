// tapegrad — the LSTM step as one op. The layers (nn::LSTM, nn::LSTMCell) are
// in <tapegrad/nn/recurrent.hpp> and run this op once per time step.
// @code
//   tg::Tensor gates = tg::randn({2, 12}).requires_grad_();   // [B, 4H]: i, f, g, o
//   tg::Tensor c = tg::randn({2, 3}).requires_grad_();        // [B, H]
//   tg::Tensor hc = tg::fused_lstm_cell(gates, c);            // [B, 2H]: h' then c'
//   tg::sum(hc).backward();                                   // gates and c get gradients
// @endcode
#pragma once

#include <tapegrad/core/tensor.hpp>

namespace tg {

/// One LSTM step after the gate products: gates [B, 4H] (the pre-activations
/// of PyTorch's i, f, g, o) and the cell state c [B, H] give
///   c' = sigmoid(f) c + sigmoid(i) tanh(g),   h' = sigmoid(o) tanh(c'),
/// returned as one tensor [B, 2H] holding h' in its first H columns and c' in
/// the last H (an op has one output). Forward and backward are each one pass
/// over the gates; under create_graph the backward is the same formula written
/// with differentiable ops, so the step can be differentiated twice. Throws
/// unless gates is [B, 4H] and c [B, H] of one floating dtype.
Tensor fused_lstm_cell(const Tensor& gates, const Tensor& c);

}  // namespace tg
