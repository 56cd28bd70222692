#!/usr/bin/python3
"""PyTorch's values for tapegrad's recurrent layers (RNN, LSTM, GRU and cells).

Writes tests/data/recurrent_layers_reference.txt: for each case, a module built
with fixed weights, its state_dict keys, one call with its input (and initial
states, and lengths for a padded batch), PyTorch's outputs, and the gradients of
the input, the initial states and every parameter after backward() of
sum(output * seed) + sum(h_n * seed_h) [+ sum(c_n * seed_c)].
tests/test_nn_recurrent.cpp builds the same modules (by case name) and compares.
A case with lengths runs PyTorch's pack_padded_sequence(..., enforce_sorted=False),
the module, and pad_packed_sequence(..., total_length=seq), which tapegrad
reproduces by masking. The module layers are multi-output calls with
parameters, which the shared one-output format of reference_file.py does not
hold, hence this format (as norm_layers.py's). Torch is never run at test
time; rerun this script (Debian's python3-torch) after changing a case:

    /usr/bin/python3 tests/torch_reference/recurrent_layers.py

Format, one item per line, values space-separated in row-major order:
    case NAME
    keys NAME...                          (the state_dict keys, in order)
    param NAME [EXTENTS] VALUES...
    input x|h0|c0 [EXTENTS] VALUES...     (h0, c0 only when given)
    lengths [EXTENTS] VALUES...           (only for a padded batch)
    output out|h_n|c_n [EXTENTS] VALUES...
    seed out|h_n|c_n [EXTENTS] VALUES...
    grad x|h0|c0|PARAM [EXTENTS] VALUES...
    end
"""
import math
import os

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "recurrent_layers_reference.txt")

# name -> (constructor, input shape, initial states given, lengths or None).
# tests/test_nn_recurrent.cpp has the same names and constructors.
CASES = {
    "rnn_tanh_h0": (lambda: nn.RNN(3, 4), [5, 2, 3], True, None),
    "rnn_relu_2_layers_no_bias": (lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False), [4, 3, 3],
                                  False, None),
    "rnn_bidirectional_lengths": (lambda: nn.RNN(2, 3, bidirectional=True), [5, 3, 2], True, [5, 2, 3]),
    "lstm_h0_c0": (lambda: nn.LSTM(3, 4), [5, 2, 3], True, None),
    "lstm_2_layers_bidirectional_batch_first": (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True,
                                                                batch_first=True), [2, 4, 3], False, None),
    "lstm_2_layers_bidirectional_lengths": (lambda: nn.LSTM(2, 3, num_layers=2, bidirectional=True), [6, 4, 2],
                                            True, [6, 1, 4, 3]),
    "lstm_batch_first_lengths_no_bias": (lambda: nn.LSTM(3, 2, batch_first=True, bias=False), [3, 5, 3], False,
                                         [2, 5, 4]),
    "lstm_unbatched": (lambda: nn.LSTM(3, 4, num_layers=2), [4, 3], True, None),
    "gru_h0": (lambda: nn.GRU(3, 4), [5, 2, 3], True, None),
    "gru_2_layers_bidirectional_lengths": (lambda: nn.GRU(2, 3, num_layers=2, bidirectional=True), [5, 3, 2], True,
                                           [3, 5, 1]),
    "gru_batch_first_no_bias": (lambda: nn.GRU(3, 2, batch_first=True, bias=False), [2, 4, 3], False, None),
    "rnncell_tanh": (lambda: nn.RNNCell(3, 4), [2, 3], True, None),
    "rnncell_relu_no_state": (lambda: nn.RNNCell(3, 4, nonlinearity="relu"), [2, 3], False, None),
    "lstmcell": (lambda: nn.LSTMCell(3, 4), [2, 3], True, None),
    "lstmcell_unbatched_no_bias": (lambda: nn.LSTMCell(3, 4, bias=False), [3], True, None),
    "grucell": (lambda: nn.GRUCell(3, 4), [2, 3], True, None),
    "grucell_no_bias": (lambda: nn.GRUCell(3, 4, bias=False), [2, 3], True, None),
}


def varied(shape, offset, scale):
    """Exact, varied values of both signs (`offset` varies them per tensor)."""
    n = math.prod(shape)
    return torch.tensor([(((i * 7 + offset * 5) % 13 - 6) * 0.25 + 0.125 * ((i + offset) % 3)) * scale
                         for i in range(n)], dtype=torch.float64).reshape(shape)


def fmt(t):
    t = t.detach()
    extents = "[" + ",".join(str(s) for s in t.shape) + "]"
    return extents + " " + " ".join(repr(v) for v in t.reshape(-1).tolist())


def state_shape(m, shape):
    if isinstance(m, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        return [m.hidden_size] if len(shape) == 1 else [shape[0], m.hidden_size]
    first = m.num_layers * (2 if m.bidirectional else 1)
    if len(shape) == 2:
        return [first, m.hidden_size]
    return [first, shape[0 if m.batch_first else 1], m.hidden_size]


def main():
    lines = [
        f"# PyTorch {torch.__version__.split('+')[0]}'s values for tests/test_nn_recurrent.cpp;",
        "# written by tests/torch_reference/recurrent_layers.py -- do not edit by hand.",
    ]
    for name, (make, shape, with_state, lengths) in CASES.items():
        torch.manual_seed(0)
        m = make().double()
        cell = isinstance(m, (nn.RNNCell, nn.LSTMCell, nn.GRUCell))
        lstm = isinstance(m, (nn.LSTM, nn.LSTMCell))
        lines.append(f"case {name}")
        lines.append("keys " + " ".join(m.state_dict().keys()))
        with torch.no_grad():
            for k, (p_name, p) in enumerate(m.named_parameters()):
                p.copy_(varied(list(p.shape), 11 + k, 0.3))
                lines.append(f"param {p_name} {fmt(p)}")
        x = varied(shape, 1, 0.5).requires_grad_()
        lines.append(f"input x {fmt(x)}")
        state = []
        if with_state:
            for k, s_name in enumerate(["h0", "c0"] if lstm else ["h0"]):
                s = varied(state_shape(m, shape), 3 + k, 0.4).requires_grad_()
                lines.append(f"input {s_name} {fmt(s)}")
                state.append(s)
        hx = (tuple(state) if lstm else state[0]) if state else None
        if lengths is not None:
            lines.append(f"lengths [{len(lengths)}] " + " ".join(str(v) for v in lengths))
            packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=m.batch_first, enforce_sorted=False)
            out_packed, hn = m(packed, hx)
            out, _ = pad_packed_sequence(out_packed, batch_first=m.batch_first,
                                         total_length=shape[1 if m.batch_first else 0])
        else:
            res = m(x, hx)
            if cell:
                out, hn = (res[0], (res[0], res[1])) if lstm else (res, res)
            else:
                out, hn = res
        outs = [("out", out)]
        if not cell:
            outs += [("h_n", hn[0] if lstm else hn)] + ([("c_n", hn[1])] if lstm else [])
        elif lstm:
            outs = [("out", hn[0]), ("c_n", hn[1])]
        loss = 0
        for k, (o_name, o) in enumerate(outs):
            lines.append(f"output {o_name} {fmt(o)}")
            seed = varied(list(o.shape), 7 + k, 1.0)
            lines.append(f"seed {o_name} {fmt(seed)}")
            loss = loss + (o * seed).sum()
        loss.backward()
        lines.append(f"grad x {fmt(x.grad)}")
        for s_name, s in zip(["h0", "c0"], state):
            lines.append(f"grad {s_name} {fmt(s.grad)}")
        for p_name, p in m.named_parameters():
            lines.append(f"grad {p_name} {fmt(p.grad)}")
        lines.append("end")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
