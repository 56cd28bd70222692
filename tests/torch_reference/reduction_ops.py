#!/usr/bin/python3
"""PyTorch's values for tapegrad's reductions, statistics, norms and element-wise math.

Writes tests/data/reduction_ops_reference.txt in the format of shape_ops.py (see
there): for each case its inputs, PyTorch's output and, for a differentiable
output, every float input's gradient after backward() with a fixed upstream
gradient -- or that PyTorch refuses the call. tests/test_reduction_reference.cpp
runs the same cases (by name) through tapegrad and compares them to a relative
1e-12 (these ops round: exp, log, erf, sqrt). Torch is never run at test time;
rerun this script after changing a case:

    /usr/bin/python3 tests/torch_reference/reduction_ops.py

The inputs hold ties (multiples of 0.5), zeros and infinities on purpose: the
gradient rules at those points are what the cases pin down.
"""
import math
import os

import torch

import reference_file
from reference_file import f64, i64

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "reduction_ops_reference.txt")
INF = math.inf


def t(values, *shape):
    """A float64 input with these values that requires grad."""
    return torch.tensor(values, dtype=torch.float64).reshape(shape).requires_grad_()


def const(values, *shape):
    """A float64 input with these values that is not differentiated."""
    return torch.tensor(values, dtype=torch.float64).reshape(shape)


POSITIVE = [0.25, 0.5, 1.0, 2.0, 4.0, 9.0]
STEPS = [-2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 0.7, -2.2, 3.49, -3.51]
vnorm = torch.linalg.vector_norm

# name -> (inputs, function of the inputs). The C++ test has the same names.
CASES = {
    # max / min along a dimension, and their indices (ties: the first one)
    "max_dim1": ([f64(3, 4)], lambda x: torch.max(x, 1).values),
    "max_dim1_indices": ([f64(3, 4)], lambda x: torch.max(x, 1).indices),
    "max_dim0_keepdim": ([f64(3, 4)], lambda x: torch.max(x, 0, keepdim=True).values),
    "max_dim_ties": ([t([2, 2, 1, 0, 1, 1], 2, 3)], lambda x: torch.max(x, 1).values),
    "max_dim_ties_indices": ([t([2, 2, 1, 0, 1, 1], 2, 3)], lambda x: torch.max(x, 1).indices),
    "max_dim_nan_indices": ([const([1, math.nan, 3, 4], 1, 4)], lambda x: torch.max(x, 1).indices),
    "max_0d": ([t([1.5])], lambda x: torch.max(x, 0).values),
    "max_dim_out_of_range": ([f64(2, 3)], lambda x: torch.max(x, 2)),
    "max_dim_empty": ([f64(0, 3)], lambda x: torch.max(x, 0)),
    "min_dim_neg1": ([f64(2, 3, 4)], lambda x: torch.min(x, -1).values),
    "min_dim_neg1_indices": ([f64(2, 3, 4)], lambda x: torch.min(x, -1).indices),
    "min_dim1_keepdim_ties": ([t([1, 0, 0, 3, 3, 5], 2, 3)], lambda x: torch.min(x, 1, keepdim=True).values),
    # max / min of all elements: ties share the gradient
    "max_all_ties": ([t([1, 3, -2, 3, 0.5, 3], 2, 3)], lambda x: torch.max(x)),
    "min_all": ([f64(3, 4)], lambda x: torch.min(x)),
    "min_all_ties": ([t([-1, 3, -1, 2], 4)], lambda x: torch.min(x)),
    "max_all_nan": ([t([1, math.nan, 3, math.nan], 4)], lambda x: torch.max(x)),
    "max_all_empty": ([f64(0)], lambda x: torch.max(x)),
    # argmax / argmin
    "argmax_dim1": ([f64(3, 4)], lambda x: torch.argmax(x, 1)),
    "argmax_dim0_keepdim": ([f64(3, 4)], lambda x: torch.argmax(x, 0, keepdim=True)),
    "argmax_all": ([f64(3, 4)], lambda x: torch.argmax(x)),
    "argmax_ties": ([const([1, 3, 3, 0], 4)], lambda x: torch.argmax(x)),
    "argmin_dim_neg1": ([f64(2, 3, 4)], lambda x: torch.argmin(x, -1)),
    "argmin_all": ([f64(3, 4)], lambda x: torch.argmin(x)),
    "argmin_empty": ([f64(0)], lambda x: torch.argmin(x)),
    # prod, with zeros
    "prod_all": ([f64(2, 3)], lambda x: torch.prod(x)),
    "prod_dim1_zeros": ([t([0, 2, 3, 1.5, -2, 0.5, 0, 4, 0], 3, 3)], lambda x: torch.prod(x, 1)),
    "prod_dim0_keepdim": ([f64(3, 2)], lambda x: torch.prod(x, 0, keepdim=True)),
    "prod_all_one_zero": ([t([0.5, 0, -3, 2], 4)], lambda x: torch.prod(x)),
    "prod_all_two_zeros": ([t([0.5, 0, -3, 0], 2, 2)], lambda x: torch.prod(x)),
    "prod_empty_dim": ([f64(2, 0)], lambda x: torch.prod(x, 1)),
    # cumsum
    "cumsum_dim0": ([f64(3, 4)], lambda x: torch.cumsum(x, 0)),
    "cumsum_0d": ([t([1.5])], lambda x: torch.cumsum(x, 0)),
    "cumsum_dim_neg1": ([f64(2, 3, 4)], lambda x: torch.cumsum(x, -1)),
    # var / std
    "var_all": ([f64(3, 4)], lambda x: torch.var(x)),
    "var_dims_correction0_keepdim": ([f64(2, 3, 4)], lambda x: torch.var(x, (0, 2), correction=0, keepdim=True)),
    "var_dim1_correction2": ([f64(3, 5)], lambda x: torch.var(x, 1, correction=2)),
    "var_correction_too_large": ([t([1, 2, 4, 3, 3, 3], 2, 3)], lambda x: torch.var(x, 1, correction=3)),
    "var_int64": ([i64([1, 2, 3], 3)], lambda x: torch.var(x)),
    "std_all": ([f64(3, 4)], lambda x: torch.std(x)),
    "std_dim_neg2": ([f64(2, 3, 4)], lambda x: torch.std(x, -2)),
    "std_constant": ([t([2, 2, 2, 1, 3, 2], 2, 3)], lambda x: torch.std(x, 1, correction=0)),
    # logsumexp
    "logsumexp_dim1": ([f64(3, 4)], lambda x: torch.logsumexp(x, 1)),
    "logsumexp_dims_keepdim": ([f64(2, 3, 4)], lambda x: torch.logsumexp(x, (0, 2), keepdim=True)),
    "logsumexp_large": ([t([1000, 1001, -1000, -999], 2, 2)], lambda x: torch.logsumexp(x, -1)),
    "logsumexp_infinities": ([const([-INF, -INF, 0, -INF, INF, 1], 3, 2)], lambda x: torch.logsumexp(x, 1)),
    "logsumexp_empty_dim": ([f64(2, 0)], lambda x: torch.logsumexp(x, 1)),
    # norms
    "norm2_all": ([f64(3, 4)], lambda x: vnorm(x)),
    "norm2_dim1_keepdim": ([f64(3, 4)], lambda x: vnorm(x, 2, 1, keepdim=True)),
    "norm2_zero_row": ([t([0, 0, 0, 3, -4, 0], 2, 3)], lambda x: vnorm(x, 2, 1)),
    "norm2_empty": ([f64(0, 3)], lambda x: vnorm(x, 2, 0)),
    "norm1_dims": ([f64(2, 3, 4)], lambda x: vnorm(x, 1, (0, 2))),
    "norm1_zero": ([t([0, 0, 1.5], 3)], lambda x: vnorm(x, 1)),
    "norminf_dim0_ties": ([t([2, -1, -2, 1, 0.5, 1, 0, 0, 0], 3, 3)], lambda x: vnorm(x, INF, 0)),
    "norminf_all_ties": ([f64(3, 4)], lambda x: vnorm(x, INF)),
    "norminf_nan": ([t([1, math.nan, -3, math.nan], 4)], lambda x: vnorm(x, INF)),
    "norminf_zero": ([t([0, 0], 2)], lambda x: vnorm(x, INF)),
    # element-wise
    "maximum_broadcast": ([f64(3, 1), f64(4)], lambda a, b: torch.maximum(a, b)),
    "maximum_ties": ([t([1, 2, 3, -1], 4), t([1, 0, 3, 5], 4)], lambda a, b: torch.maximum(a, b)),
    "minimum_broadcast_ties": ([f64(2, 3), t([0.5, -2.5, 0], 3)], lambda a, b: torch.minimum(a, b)),
    "maximum_nan": ([t([math.nan, 1, 2], 3), t([0, math.nan, 1], 3)], lambda a, b: torch.maximum(a, b)),
    "minimum_nan": ([t([math.nan, 1, math.nan], 3), t([0, math.nan, math.nan], 3)], lambda a, b: torch.minimum(a, b)),
    "maximum_shapes_differ": ([f64(2, 3), f64(4)], lambda a, b: torch.maximum(a, b)),
    "floor": ([t(STEPS, 12)], lambda x: torch.floor(x)),
    "ceil": ([t(STEPS, 12)], lambda x: torch.ceil(x)),
    "round_half_even": ([t(STEPS, 12)], lambda x: torch.round(x)),
    "sign": ([t(STEPS, 12)], lambda x: torch.sign(x)),
    "erf": ([t(STEPS, 3, 4)], lambda x: torch.erf(x)),
    "log1p": ([t([-0.5, -1e-9, 0, 1e-12, 0.75, 3], 6)], lambda x: torch.log1p(x)),
    "expm1": ([t([-2, -1e-9, 0, 1e-12, 0.75, 3], 6)], lambda x: torch.expm1(x)),
    "rsqrt": ([t(POSITIVE, 2, 3)], lambda x: torch.rsqrt(x)),
    "atan2_broadcast": ([f64(3, 1), t([1.5, -0.5, 0.5, -2], 4)], lambda a, b: torch.atan2(a, b)),
    "atan2_quadrants": ([t([1, 1, -1, -1, 0, 0], 6), t([1, -1, 1, -1, 2, -2], 6)], lambda a, b: torch.atan2(a, b)),
    "pow_exponent_0": ([t([0, -1.5, 2], 3)], lambda x: torch.pow(x, 0)),
    "pow_exponent_0_times_x": ([t([0, -1.5, 2], 3)], lambda x: torch.pow(x, 0) * x),
}



def main():
    reference_file.write(CASES, OUT, "tests/test_reduction_reference.cpp", "tests/torch_reference/reduction_ops.py")


if __name__ == "__main__":
    main()
