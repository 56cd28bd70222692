#!/usr/bin/python3
"""PyTorch's values for tapegrad's element-wise activations.

Writes tests/data/activation_ops_reference.txt: for each case, its inputs,
PyTorch's output and the gradient of every float input after backward() with
a fixed upstream gradient -- or that PyTorch refuses the call.
tests/test_activations.cpp runs the same cases (by name) through tapegrad and
compares within a few units in the last place (these are transcendental
functions, which two libms may round differently). The inputs include the edge
points: 0, the kinks of the hard* functions, softplus around its threshold,
and large |x|. Torch is never run at test time; rerun this script (Debian's
python3-torch, stdlib otherwise) after changing a case:

    /usr/bin/python3 tests/torch_reference/activation_ops.py

The file format is that of shape_ops.py, one item per line, values
space-separated in row-major order:
    case NAME
    input DTYPE grad|nograd [EXTENTS] VALUES...
    output DTYPE [EXTENTS] VALUES...        (or: raises)
    seed [EXTENTS] VALUES...                (the upstream gradient)
    grad INDEX [EXTENTS] VALUES...
    end
"""
import os

import torch
import torch.nn.functional as F

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "activation_ops_reference.txt")

# Edge points of every activation below: 0; +-1 (hardtanh); +-3 (hardsigmoid,
# hardswish); 19.75, 20, 20.5 around softplus's threshold; large |x|.
EDGES = [-100.0, -30.0, -20.5, -5.0, -3.0, -2.5, -1.0, -0.5, -0.125, 0.0, 0.125, 0.5,
         1.0, 2.5, 3.0, 5.0, 19.75, 20.0, 20.5, 30.0, 100.0]


def edges(dtype):
    return torch.tensor(EDGES, dtype=dtype).requires_grad_()


def values(vs, dtype=torch.float64, shape=None):
    t = torch.tensor(vs, dtype=dtype)
    return (t if shape is None else t.reshape(shape)).requires_grad_()


def varied(*shape):
    """A float64 input with exact, varied values of both signs (multiples of 0.25)."""
    n = 1
    for s in shape:
        n *= s
    return values([((i * 7) % 11 - 5) * 0.25 for i in range(n)], shape=shape)


# name -> (inputs, function of the inputs). The C++ test has the same names.
UNARY = {
    "leaky_relu": lambda x: F.leaky_relu(x),
    "leaky_relu_slope_0.2": lambda x: F.leaky_relu(x, 0.2),
    "elu": lambda x: F.elu(x),
    "elu_alpha_0.5": lambda x: F.elu(x, 0.5),
    "selu": lambda x: F.selu(x),
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": lambda x: F.silu(x),
    "mish": lambda x: F.mish(x),
    "softplus": lambda x: F.softplus(x),
    "softplus_beta_2_threshold_5": lambda x: F.softplus(x, 2.0, 5.0),
    "softplus_beta_-0.5": lambda x: F.softplus(x, -0.5),
    "softsign": lambda x: F.softsign(x),
    "hardtanh": lambda x: F.hardtanh(x),
    "hardtanh_-0.5_2.5": lambda x: F.hardtanh(x, -0.5, 2.5),
    "hardsigmoid": lambda x: F.hardsigmoid(x),
    "hardswish": lambda x: F.hardswish(x),
    "logsigmoid": lambda x: F.logsigmoid(x),
}

CASES = {}
for name, fn in UNARY.items():
    CASES[name] = ([edges(torch.float64)], fn)
    CASES[name + "_float32"] = ([edges(torch.float32)], fn)
CASES.update({
    # beta x = 5 exactly at x = 2.5 (not above the threshold: the log1p branch); 2.75 is above.
    "softplus_beta_2_at_threshold": ([values([2.25, 2.5, 2.75])], lambda x: F.softplus(x, 2.0, 5.0)),
    "prelu_per_channel": ([varied(2, 3, 2, 2), values([0.25, -0.5, 1.5])], lambda x, w: F.prelu(x, w)),
    "prelu_shared": ([varied(2, 3, 2), values([0.25])], lambda x, w: F.prelu(x, w)),
    "prelu_1d": ([varied(5), values([0.125])], lambda x, w: F.prelu(x, w)),
    "prelu_float32": ([values([-2.0, -0.5, 0.0, 0.5, 2.0, -1.0], torch.float32, (3, 2)),
                       values([0.25, -1.5], torch.float32)], lambda x, w: F.prelu(x, w)),
    "prelu_weight_not_channels": ([varied(2, 3), values([0.25, 0.5])], lambda x, w: F.prelu(x, w)),
    "gelu_unknown_approximation": ([varied(3)], lambda x: F.gelu(x, approximate="fast")),
})



def main():
    reference_file.write(CASES, OUT, "tests/test_activations.cpp", "tests/torch_reference/activation_ops.py")


if __name__ == "__main__":
    main()
