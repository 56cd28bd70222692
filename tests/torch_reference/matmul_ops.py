#!/usr/bin/python3
"""PyTorch's values for tapegrad's matmul, bmm, linear and einsum.

Writes tests/data/matmul_ops_reference.txt: for each case, its inputs, PyTorch's
output and the gradient of every input after backward() with a fixed upstream
gradient -- or that PyTorch refuses the call. tests/test_torch_reference_matmul.cpp
runs the same cases (by name) through tapegrad and compares exactly (inputs,
seeds and so every product are multiples of 1/8, exact in float64). Torch is
never run at test time; rerun this script after changing a case:

    /usr/bin/python3 tests/torch_reference/matmul_ops.py

The file format is that of tests/torch_reference/shape_ops.py.
"""
import os

import torch
import torch.nn.functional as F

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "matmul_ops_reference.txt")


def f64(*shape, offset=0):
    """A float64 input that requires grad, with exact, varied values (multiples of 0.5)."""
    n = 1
    for s in shape:
        n *= s
    values = [(((i + offset) * 7) % 11 - 5) * 0.5 for i in range(n)]
    return torch.tensor(values, dtype=torch.float64).reshape(shape).requires_grad_()


def f32(*shape, offset=0):
    return f64(*shape, offset=offset).detach().float().requires_grad_()


# name -> (inputs, function of the inputs). The C++ test has the same names.
CASES = {
    # matmul
    "matmul_2d": ([f64(3, 4), f64(4, 2, offset=3)], torch.matmul),
    "matmul_2d_float32": ([f32(3, 4), f32(4, 2, offset=3)], torch.matmul),
    "matmul_matrix_vector": ([f64(3, 4), f64(4, offset=1)], torch.matmul),
    "matmul_vector_matrix": ([f64(4), f64(4, 2, offset=1)], torch.matmul),
    "matmul_vector_vector": ([f64(4), f64(4, offset=2)], torch.matmul),
    "matmul_batched": ([f64(2, 3, 4), f64(2, 4, 2, offset=1)], torch.matmul),
    "matmul_batched_2d_right": ([f64(2, 1, 3, 4), f64(4, 2, offset=1)], torch.matmul),
    "matmul_batch_broadcast": ([f64(2, 1, 3, 4), f64(3, 4, 2, offset=1)], torch.matmul),
    "matmul_2d_left_batched_right": ([f64(3, 4), f64(2, 4, 2, offset=1)], torch.matmul),
    "matmul_vector_batched": ([f64(4), f64(2, 4, 3, offset=1)], torch.matmul),
    "matmul_batched_vector": ([f64(2, 3, 4), f64(4, offset=1)], torch.matmul),
    "matmul_right_batch_of_one": ([f64(2, 3, 4), f64(1, 4, 2, offset=1)], torch.matmul),
    "matmul_empty_inner": ([f64(2, 0), f64(0, 3)], torch.matmul),
    "matmul_batches_do_not_broadcast": ([f64(2, 3, 4), f64(3, 4, 5)], torch.matmul),
    "matmul_vectors_differ": ([f64(4), f64(3)], torch.matmul),
    "matmul_0d": ([f64(), f64(4)], torch.matmul),
    # bmm
    "bmm": ([f64(2, 3, 4), f64(2, 4, 2, offset=1)], torch.bmm),
    "bmm_no_broadcast": ([f64(2, 3, 4), f64(1, 4, 2)], torch.bmm),
    "bmm_2d": ([f64(3, 4), f64(4, 2)], torch.bmm),
    # linear (weight [out, in])
    "linear_bias": ([f64(3, 4), f64(2, 4, offset=1), f64(2, offset=2)], F.linear),
    "linear_no_bias": ([f64(3, 4), f64(2, 4, offset=1)], F.linear),
    "linear_leading_dims": ([f64(2, 3, 4), f64(5, 4, offset=1), f64(5, offset=2)], F.linear),
    "linear_1d_input": ([f64(4), f64(3, 4, offset=1), f64(3, offset=2)], F.linear),
    "linear_1d_weight": ([f64(3, 4), f64(4, offset=1)], F.linear),
    "linear_1d_weight_with_bias": ([f64(3, 4), f64(4, offset=1), f64(offset=2)], F.linear),
    "linear_0d_bias": ([f64(3, 4), f64(2, 4, offset=1), f64(offset=2)], F.linear),
    "linear_bias_wrong_length": ([f64(3, 4), f64(2, 4, offset=1), f64(3)], F.linear),
    "linear_features_differ": ([f64(2, 3), f64(4, 2)], F.linear),
    # einsum
    "einsum_matmul": ([f64(3, 4), f64(4, 2, offset=1)], lambda a, b: torch.einsum("ij,jk->ik", a, b)),
    "einsum_bmm": ([f64(2, 3, 4), f64(2, 4, 2, offset=1)], lambda a, b: torch.einsum("bij,bjk->bik", a, b)),
    "einsum_attention": ([f64(2, 2, 3, 4), f64(2, 2, 5, 4, offset=1)],
                         lambda q, k: torch.einsum("bhqd,bhkd->bhqk", q, k)),
    "einsum_dot": ([f64(4), f64(4, offset=1)], lambda a, b: torch.einsum("i,i->", a, b)),
    "einsum_transpose": ([f64(3, 4)], lambda a: torch.einsum("ij->ji", a)),
    "einsum_diagonal": ([f64(3, 3)], lambda a: torch.einsum("ii->i", a)),
    "einsum_trace": ([f64(3, 3)], lambda a: torch.einsum("ii", a)),
    "einsum_implicit": ([f64(3, 4), f64(4, 2, offset=1)], lambda a, b: torch.einsum("ij,jk", a, b)),
    "einsum_implicit_reordered": ([f64(4, 3), f64(2, 4, offset=1)], lambda a, b: torch.einsum("ba,cb", a, b)),
    "einsum_three": ([f64(2, 3), f64(3, 4, offset=1), f64(4, 2, offset=2)],
                     lambda a, b, c: torch.einsum("ij,jk,kl->il", a, b, c)),
    "einsum_outer": ([f64(3), f64(2, offset=1)], lambda a, b: torch.einsum("i,j->ij", a, b)),
    "einsum_sum_one_operand": ([f64(3, 4), f64(3, offset=1)], lambda a, b: torch.einsum("ij,i->i", a, b)),
    "einsum_ellipsis": ([f64(2, 1, 3, 4), f64(3, 4, 2, offset=1)], lambda a, b: torch.einsum("...ij,...jk->...ik", a, b)),
    "einsum_ellipsis_summed": ([f64(2, 3, 4)], lambda a: torch.einsum("...j->j", a)),
    "einsum_broadcast_extent_1": ([f64(1), f64(3, offset=1)], lambda a, b: torch.einsum("i,i->i", a, b)),
    "einsum_spaces_uppercase": ([f64(2, 3), f64(3, 2, offset=1)], lambda a, b: torch.einsum("A b , b C -> C A", a, b)),
    "einsum_elementwise": ([f64(2, 3), f64(2, 3, offset=1)], lambda a, b: torch.einsum("ij,ij->ij", a, b)),
    "einsum_three_shared_batch": ([f64(2, 3), f64(2, 3, offset=1), f64(2, 3, offset=2)],
                                  lambda a, b, c: torch.einsum("bi,bi,bi->b", a, b, c)),
    "einsum_three_cycle": ([f64(2, 3), f64(3, 4, offset=1), f64(4, 2, offset=2)],
                           lambda a, b, c: torch.einsum("ij,jk,ki->i", a, b, c)),
    "einsum_ellipsis_diagonal": ([f64(2, 3, 3)], lambda a: torch.einsum("...ii->...i", a)),
    "einsum_batch_extent_1": ([f64(1, 2, 3), f64(2, 3, 2, offset=1)], lambda a, b: torch.einsum("bij,bjk->bik", a, b)),
    "einsum_extents_differ": ([f64(2, 3), f64(4, 2)], lambda a, b: torch.einsum("ij,jk->ik", a, b)),
    "einsum_operand_count": ([f64(2, 3)], lambda a: torch.einsum("ij,jk->ik", a)),
    "einsum_output_not_in_input": ([f64(2, 3)], lambda a: torch.einsum("ij->k", a)),
    "einsum_repeated_extents_differ": ([f64(2, 3)], lambda a: torch.einsum("ii->i", a)),
}



def main():
    reference_file.write(CASES, OUT, "tests/test_torch_reference_matmul.cpp", "tests/torch_reference/matmul_ops.py")


if __name__ == "__main__":
    main()
