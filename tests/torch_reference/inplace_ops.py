#!/usr/bin/python3
"""PyTorch's values for tapegrad's in-place ops (add_, mul_, relu_, zero_, copy_).

Writes tests/data/inplace_ops_reference.txt: for each case, named tensors
(results and gradients after backward()) as computed by PyTorch on float64
inputs. tests/test_inplace.cpp runs the same cases (by name) through tapegrad
and compares. Torch is never run at test time; rerun this script (Debian's
python3-torch, stdlib otherwise) after changing a case:

    /usr/bin/python3 tests/torch_reference/inplace_ops.py

Format, one item per line, values space-separated in row-major order:
    case NAME
    NAME_OF_TENSOR [EXTENTS] VALUES...
    end
"""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "inplace_ops_reference.txt")


def f64(values, *shape):
    return torch.tensor(values, dtype=torch.float64).reshape(shape).requires_grad_()


def chain():
    """A non-leaf changed by every in-place op in turn, broadcast operands included."""
    x = f64([-1.5, 0.5, 2.0, -0.25, 1.0, 3.0], 2, 3)
    b = f64([0.5, -2.0, 1.5], 3)
    c = f64([2.0, -0.5], 2, 1)
    y = x * 2
    y.add_(b)
    y.add_(0.5)
    y.mul_(c)
    y.mul_(-1.5)
    y.relu_()  # last: it saves its output, which a later in-place op would change
    ((y * y).sum() + (y * x).sum()).backward()
    return {"y": y, "x.grad": x.grad, "b.grad": b.grad, "c.grad": c.grad}


def copy_into_nonleaf():
    x = f64([1.0, -2.0, 0.5], 3)
    s = f64([3.0, 0.25, -1.0], 3)
    y = x * 1
    y.copy_(s * s)
    (y * x).sum().backward()
    return {"y": y, "x.grad": x.grad, "s.grad": s.grad}


def zero_then_add():
    x = f64([1.0, -2.0, 0.5], 3)
    y = x * 3
    y.zero_()
    y.add_(x * x)
    (y * y).sum().backward()
    return {"y": y, "x.grad": x.grad}


def leaf_gains_history():
    """A leaf that needs no gradient, changed by tensors that do, becomes a non-leaf."""
    w = f64([1.5, -0.5, 2.0], 3)
    v = f64([0.25, 4.0, -1.0], 3)
    z = torch.zeros(3, dtype=torch.float64)
    z.add_(w)
    z.mul_(v)
    z.mul_(w)
    z.sum().backward()
    return {"z": z, "w.grad": w.grad, "v.grad": v.grad}


CASES = [
    ("chain", chain),
    ("copy_into_nonleaf", copy_into_nonleaf),
    ("zero_then_add", zero_then_add),
    ("leaf_gains_history", leaf_gains_history),
]


def line(name, t):
    t = t.detach()
    extents = ",".join(str(s) for s in t.shape)
    return "%s [%s] %s" % (name, extents, " ".join(repr(float(v)) for v in t.reshape(-1).tolist()))


def main():
    torch.set_printoptions(precision=17)
    out = ["# PyTorch %s's values for tests/test_inplace.cpp;" % torch.__version__,
           "# written by tests/torch_reference/inplace_ops.py -- do not edit by hand."]
    for name, case in CASES:
        out.append("case " + name)
        for key, t in case().items():
            out.append(line(key, t))
        out.append("end")
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
