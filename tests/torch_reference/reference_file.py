"""Writes a PyTorch reference file of tests/data/ in the format that
tests/torch_reference_file.hpp reads: per case its inputs, PyTorch's output (or
"raises" when PyTorch refuses the call), every input the call changed in place
("after"), the seed gradient and the gradient of every input that requires grad.
Values are Python's repr, so float64 is exact.

A case whose call is more than one op and one backward (a module over several
calls, an optimizer's trajectory, in-place ops with a loss of their own) returns
a list of (name, tensor) pairs instead of a tensor: they are written in order as
"named" lines, and the call does its own backward."""

import os
import sys

import torch

DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64"}


def f64(*shape):
    """A float64 input that requires grad, with exact, varied values (multiples of 0.5, with ties)."""
    n = 1
    for s in shape:
        n *= s
    values = [((i * 7) % 11 - 5) * 0.5 for i in range(n)]
    return torch.tensor(values, dtype=torch.float64).reshape(shape).requires_grad_()


def i64(values, *shape):
    """An int64 input (indices) with these values."""
    return torch.tensor(values, dtype=torch.int64).reshape(shape)


def fmt(t):
    values = " ".join(repr(v) for v in t.detach().reshape(-1).tolist())
    return "[" + ",".join(str(s) for s in t.shape) + "]" + (" " + values if values else "")


def unchanged(before, after):
    """Equal, NaN matching NaN (torch.equal says a NaN differs from itself)."""
    return bool(((before == after) | (before.isnan() & after.isnan())).all())


def write(cases, out, test_file, script):
    """cases: name -> (inputs, fn); out: the data file; test_file and script name the reader and the writer."""
    lines = [
        "# PyTorch " + torch.__version__.split("+")[0] + "'s values for " + test_file + ";",
        "# written by " + script + " -- do not edit by hand.",
    ]
    for name, (inputs, fn) in cases.items():
        lines.append("case " + name)
        for t in inputs:
            lines.append("input %s %s %s" % (DTYPES[t.dtype], "grad" if t.requires_grad else "nograd", fmt(t)))
        before = [t.detach().clone() for t in inputs]
        try:
            result = fn(*inputs)
        except (RuntimeError, IndexError, ValueError) as e:
            lines.append("raises")
            lines.append("end")
            print("%-32s raises: %s" % (name, str(e).splitlines()[0]), file=sys.stderr)
            continue
        if not isinstance(result, torch.Tensor):
            for tensor_name, t in result:
                lines.append("named %s %s %s" % (tensor_name, DTYPES[t.dtype], fmt(t)))
            lines.append("end")
            continue
        lines.append("output %s %s" % (DTYPES[result.dtype], fmt(result)))
        for k, t in enumerate(inputs):
            if not unchanged(before[k], t.detach()):
                lines.append("after %d %s" % (k, fmt(t)))
        if result.requires_grad:
            n = result.numel()
            seed = torch.tensor([((i * 5) % 13 - 6) * 0.25 for i in range(n)], dtype=result.dtype)
            seed = seed.reshape(result.shape)
            result.backward(seed)
            lines.append("seed " + fmt(seed))
            for k, t in enumerate(inputs):
                if t.requires_grad:
                    lines.append("grad %d %s" % (k, "none" if t.grad is None else fmt(t.grad)))
        lines.append("end")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s" % (len(cases), os.path.relpath(out)), file=sys.stderr)
