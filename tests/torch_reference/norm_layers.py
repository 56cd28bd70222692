#!/usr/bin/python3
"""PyTorch's values for tapegrad's normalisation layers.

Writes tests/data/norm_layers_reference.txt: for each case, a module built with
fixed weights and three calls -- two in training mode (so the running
statistics move twice) and one in eval mode. Its inputs are the parameters (set
before the first call), then each call's input and upstream gradient; its named
tensors are, per call, PyTorch's output, the gradients of the input and of every
parameter after backward(), and the buffers after the call, parameters and
buffers in PyTorch's state_dict order. tests/test_nn_norm.cpp builds the same
modules (by case name) and compares. Torch is never run at test time; rerun
this script (Debian's python3-torch, stdlib otherwise) after changing a case:

    /usr/bin/python3 tests/torch_reference/norm_layers.py

PyTorch 1.13 has no RMSNorm: its cases use the formula of PyTorch 2.4's
documentation, x / sqrt(mean(x^2 over the normalised dimensions) + eps) * weight,
with eps defaulting to torch.finfo(dtype).eps, written with torch ops here.

The file format is that of reference_file.py (read by tests/torch_reference_file.hpp),
the named tensors of call k (1, 2, 3) in mode MODE (train, train, eval) being
    MODEk.output, MODEk.grad.input, MODEk.grad.PARAM..., MODEk.BUFFER...
"""
import math
import os

import torch
import torch.nn as nn

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "norm_layers_reference.txt")


class RMSNorm(nn.Module):
    """PyTorch 2.4's RMSNorm, which 1.13 lacks, from its documented formula."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape)) if elementwise_affine else None

    def forward(self, x):
        eps = torch.finfo(x.dtype).eps if self.eps is None else self.eps
        dims = tuple(range(-len(self.normalized_shape), 0))
        y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
        return y * self.weight if self.weight is not None else y


# name -> (constructor, input shape, dtype). tests/test_nn_norm.cpp has the same names.
CASES = {
    "batchnorm1d_nc_affine": (lambda: nn.BatchNorm1d(3), [4, 3], torch.float64),
    "batchnorm1d_ncl_no_affine_momentum_0.2": (lambda: nn.BatchNorm1d(3, momentum=0.2, affine=False), [2, 3, 4],
                                               torch.float64),
    "batchnorm2d_affine": (lambda: nn.BatchNorm2d(2), [2, 2, 3, 3], torch.float64),
    "batchnorm2d_momentum_none": (lambda: nn.BatchNorm2d(2, momentum=None), [3, 2, 2, 2], torch.float64),
    "batchnorm2d_no_running_stats": (lambda: nn.BatchNorm2d(2, track_running_stats=False), [2, 2, 2, 3],
                                     torch.float64),
    "batchnorm2d_eps_0.1": (lambda: nn.BatchNorm2d(3, eps=0.1), [2, 3, 2, 2], torch.float64),
    "batchnorm2d_float32": (lambda: nn.BatchNorm2d(2), [2, 2, 3, 3], torch.float32),
    "layernorm_last": (lambda: nn.LayerNorm(4), [2, 3, 4], torch.float64),
    "layernorm_last_two_no_affine": (lambda: nn.LayerNorm([3, 4], eps=1e-3, elementwise_affine=False), [2, 3, 4],
                                     torch.float64),
    "layernorm_float32": (lambda: nn.LayerNorm(5), [3, 5], torch.float32),
    "groupnorm_2_of_4": (lambda: nn.GroupNorm(2, 4), [2, 4, 3], torch.float64),
    "groupnorm_3_of_6_no_affine": (lambda: nn.GroupNorm(3, 6, affine=False), [2, 6, 2, 2], torch.float64),
    "groupnorm_1_of_3": (lambda: nn.GroupNorm(1, 3, eps=1e-3), [2, 3, 2, 2], torch.float64),
    "instancenorm2d_default": (lambda: nn.InstanceNorm2d(3), [2, 3, 3, 3], torch.float64),
    "instancenorm2d_affine_running_stats": (lambda: nn.InstanceNorm2d(2, affine=True, track_running_stats=True),
                                            [3, 2, 2, 3], torch.float64),
    "instancenorm2d_unbatched": (lambda: nn.InstanceNorm2d(2, affine=True), [2, 3, 3], torch.float64),
    "rmsnorm_last": (lambda: RMSNorm([4]), [2, 3, 4], torch.float64),
    "rmsnorm_last_two_eps_no_affine": (lambda: RMSNorm([2, 3], eps=1e-5, elementwise_affine=False), [2, 2, 3],
                                       torch.float64),
    "rmsnorm_float32": (lambda: RMSNorm([5]), [3, 5], torch.float32),
}


def varied(shape, offset):
    """Exact, varied values of both signs that differ per call (`offset`)."""
    n = math.prod(shape)
    return [((i * 7 + offset * 5) % 13 - 6) * 0.25 + 0.125 * ((i + offset) % 3) for i in range(n)]


MODES = ["train", "train", "eval"]


def module_case(make, shape, dtype):
    """The inputs (parameters, then each call's input and seed) and the call of one case."""
    torch.manual_seed(0)
    m = make().to(dtype)
    params = [(torch.tensor(varied(list(p.shape), 11), dtype=torch.float64) * 0.5 + 1.0).reshape(p.shape).to(dtype)
              for p in m.parameters()]
    calls = []
    for step in range(len(MODES)):
        x = torch.tensor(varied(shape, step), dtype=dtype).reshape(shape)
        # Spread the channels apart so every statistic differs.
        x = (x * (1.0 + 0.5 * torch.arange(math.prod(shape), dtype=dtype).reshape(shape) / math.prod(shape)))
        seed = torch.tensor(varied(shape, step + 3), dtype=dtype).reshape(shape)  # the output has the input's shape
        calls += [x.requires_grad_(), seed]

    def run(*inputs):
        with torch.no_grad():
            for p, v in zip(m.parameters(), inputs):
                p.copy_(v)
        named = []
        for step, mode in enumerate(MODES):
            x, seed = inputs[len(params) + 2 * step:len(params) + 2 * step + 2]
            m.train(mode == "train")
            for p in m.parameters():
                p.grad = None
            y = m(x)
            y.backward(seed)
            prefix = "%s%d." % (mode, step + 1)
            named += [(prefix + "output", y), (prefix + "grad.input", x.grad)]
            named += [(prefix + "grad." + n, p.grad) for n, p in m.named_parameters()]
            named += [(prefix + n, b.detach().clone()) for n, b in m.named_buffers()]
        return named

    return params + calls, run


def main():
    cases = {name: module_case(*case) for name, case in CASES.items()}
    reference_file.write(cases, OUT, "tests/test_nn_norm.cpp", "tests/torch_reference/norm_layers.py")


if __name__ == "__main__":
    main()
