#!/usr/bin/python3
"""PyTorch's values for tapegrad's in-place ops (add_, sub_, mul_, div_, relu_, zero_, copy_).

Writes tests/data/inplace_ops_reference.txt: for each case, its float64 inputs
and, as named tensors, the results and gradients after backward() of a loss of
the case's own, as computed by PyTorch. tests/test_inplace.cpp runs the same
cases (by name) through tapegrad and compares. Torch is never run at test time;
rerun this script (Debian's python3-torch, stdlib otherwise) after changing a case:

    /usr/bin/python3 tests/torch_reference/inplace_ops.py

The file format is that of reference_file.py (read by tests/torch_reference_file.hpp).
"""
import os

import torch

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "inplace_ops_reference.txt")


def f64(values, *shape):
    return torch.tensor(values, dtype=torch.float64).reshape(shape).requires_grad_()


def chain(x, b, c):
    """A non-leaf changed by every in-place op in turn, broadcast operands included."""
    y = x * 2
    y.add_(b)
    y.add_(0.5)
    y.mul_(c)
    y.mul_(-1.5)
    y.relu_()  # last: it saves its output, which a later in-place op would change
    ((y * y).sum() + (y * x).sum()).backward()
    return [("y", y), ("x.grad", x.grad), ("b.grad", b.grad), ("c.grad", c.grad)]


def copy_into_nonleaf(x, s):
    y = x * 1
    y.copy_(s * s)
    (y * x).sum().backward()
    return [("y", y), ("x.grad", x.grad), ("s.grad", s.grad)]


def zero_then_add(x):
    y = x * 3
    y.zero_()
    y.add_(x * x)
    (y * y).sum().backward()
    return [("y", y), ("x.grad", x.grad)]


def sub_div_chain(x, b, c):
    """sub_ and div_, by tensors (one broadcast) and scalars."""
    y = x * 2
    y.sub_(b)
    y.sub_(0.5)
    y.div_(c)
    y.div_(-4.0)
    ((y * y).sum() + (y * x).sum()).backward()
    return [("y", y), ("x.grad", x.grad), ("b.grad", b.grad), ("c.grad", c.grad)]


def leaf_gains_history(w, v):
    """A leaf that needs no gradient, changed by tensors that do, becomes a non-leaf."""
    z = torch.zeros(3, dtype=torch.float64)
    z.add_(w)
    z.mul_(v)
    z.mul_(w)
    z.sum().backward()
    return [("z", z), ("w.grad", w.grad), ("v.grad", v.grad)]


CASES = {
    "chain": ([f64([-1.5, 0.5, 2.0, -0.25, 1.0, 3.0], 2, 3), f64([0.5, -2.0, 1.5], 3), f64([2.0, -0.5], 2, 1)], chain),
    "copy_into_nonleaf": ([f64([1.0, -2.0, 0.5], 3), f64([3.0, 0.25, -1.0], 3)], copy_into_nonleaf),
    "zero_then_add": ([f64([1.0, -2.0, 0.5], 3)], zero_then_add),
    "sub_div_chain": ([f64([-1.5, 0.5, 2.0, -0.25, 1.0, 3.0], 2, 3), f64([0.5, -2.0, 1.5], 3), f64([2.0, -0.5], 2, 1)],
                      sub_div_chain),
    "leaf_gains_history": ([f64([1.5, -0.5, 2.0], 3), f64([0.25, 4.0, -1.0], 3)], leaf_gains_history),
}


def main():
    reference_file.write(CASES, OUT, "tests/test_inplace.cpp", "tests/torch_reference/inplace_ops.py")


if __name__ == "__main__":
    main()
