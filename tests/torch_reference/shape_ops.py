#!/usr/bin/python3
"""PyTorch's values for tapegrad's joining, splitting, shape, indexing and mask ops.

Writes tests/data/shape_ops_reference.txt: for each case, its inputs, PyTorch's
output and, for a differentiable output, the gradient of every float input
after backward() with a fixed upstream gradient -- or that PyTorch refuses the
call. tests/test_torch_reference.cpp runs the same cases (by name) through
tapegrad and compares exactly. Torch is never run at test time; rerun this
script (Debian's python3-torch, stdlib otherwise) after changing a case:

    /usr/bin/python3 tests/torch_reference/shape_ops.py

The file format, one item per line, values space-separated in row-major order:
    case NAME
    input DTYPE grad|nograd [EXTENTS] VALUES...
    output DTYPE [EXTENTS] VALUES...        (or: raises)
    seed [EXTENTS] VALUES...                (the upstream gradient, float outputs only)
    grad INDEX [EXTENTS] VALUES...          (or: grad INDEX none)
    end
Masks are int64 inputs (tapegrad has no bool dtype); the PyTorch side turns
them into bool tensors with `!= 0`.
"""
import os

import torch

import reference_file
from reference_file import f64, i64

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "shape_ops_reference.txt")


def mask(t):
    return t != 0


def sizes(pieces):
    """The pieces' extents along their split dimension, as an int64 tensor (not differentiable)."""
    return torch.tensor([list(p.shape) for p in pieces], dtype=torch.int64)


# name -> (inputs, function of the inputs). The C++ test has the same names.
CASES = {
    # joining
    "cat_dim0": ([f64(2, 3), f64(1, 3)], lambda a, b: torch.cat([a, b])),
    "cat_three_dim_neg1": ([f64(2, 1), f64(2, 3), f64(2, 2)], lambda a, b, c: torch.cat([a, b, c], -1)),
    "cat_same_twice_dim1": ([f64(2, 2, 3)], lambda a: torch.cat([a, a], 1)),
    "cat_legacy_empty": ([f64(0), f64(2, 2)], lambda e, a: torch.cat([e, a], 1)),
    "cat_int64": ([i64([1, 2, 3], 1, 3), i64([4, 5, 6, 7, 8, 9], 2, 3)], lambda a, b: torch.cat([a, b])),
    "cat_int64_and_float": ([i64([1, 2, 3], 1, 3), f64(2, 3)], lambda a, b: torch.cat([a, b])),
    "cat_shapes_differ": ([f64(2, 3), f64(2, 4)], lambda a, b: torch.cat([a, b])),
    "cat_0d": ([f64(), f64()], lambda a, b: torch.cat([a, b])),
    "stack_dim1": ([f64(2, 3), f64(2, 3)], lambda a, b: torch.stack([a, b], 1)),
    "stack_dim_neg1": ([f64(2, 3), f64(2, 3), f64(2, 3)], lambda a, b, c: torch.stack([a, b, c], -1)),
    "stack_0d": ([f64(), f64()], lambda a, b: torch.stack([a, b])),
    "stack_shapes_differ": ([f64(2, 3), f64(3, 2)], lambda a, b: torch.stack([a, b])),
    # splitting
    "split_last_piece": ([f64(5, 3)], lambda x: torch.split(x, 2)[2]),
    "split_pieces": ([f64(5, 3)], lambda x: sizes(torch.split(x, 2))),
    "split_reversed_dim_neg1": ([f64(2, 4)], lambda x: torch.cat(list(reversed(torch.split(x, 3, -1))), 1)),
    "split_sizes_dim1": ([f64(2, 4, 2)], lambda x: torch.cat([torch.split(x, [1, 0, 3], 1)[i] for i in (2, 1)], 1)),
    "split_empty_dim": ([f64(0, 3)], lambda x: sizes(torch.split(x, 2))),
    "split_sizes_do_not_add_up": ([f64(4, 2)], lambda x: torch.split(x, [1, 2])),
    "split_size_0": ([f64(4, 2)], lambda x: torch.split(x, 0)),
    "chunk_first_and_last": ([f64(5, 2)], lambda x: torch.cat([torch.chunk(x, 3)[i] for i in (0, 2)])),
    "chunk_5_in_3": ([f64(5)], lambda x: sizes(torch.chunk(x, 3))),
    "chunk_6_in_4": ([f64(2, 6)], lambda x: sizes(torch.chunk(x, 4, -1))),
    "chunk_1_in_3": ([f64(1)], lambda x: sizes(torch.chunk(x, 3))),
    "chunk_empty_in_3": ([f64(0)], lambda x: sizes(torch.chunk(x, 3))),
    "chunk_0": ([f64(4)], lambda x: torch.chunk(x, 0)),
    "unbind_one_used": ([f64(2, 3, 2)], lambda x: torch.unbind(x, 1)[2]),
    "unbind_restacked": ([f64(2, 3, 2)], lambda x: torch.stack(list(reversed(torch.unbind(x, -1))))),
    # shapes
    "unsqueeze_neg1": ([f64(2, 3)], lambda x: torch.unsqueeze(x, -1)),
    "unsqueeze_0d": ([f64()], lambda x: torch.unsqueeze(x, 0)),
    "unsqueeze_out_of_range": ([f64(2, 3)], lambda x: torch.unsqueeze(x, 3)),
    "squeeze_all": ([f64(1, 3, 1, 2)], lambda x: torch.squeeze(x)),
    "squeeze_dim_neg2": ([f64(3, 1, 2)], lambda x: torch.squeeze(x, -2)),
    "squeeze_not_1": ([f64(3, 2)], lambda x: torch.squeeze(x, 0)),
    "squeeze_0d": ([f64()], lambda x: torch.squeeze(x, -1)),
    "expand_keep": ([f64(3, 1)], lambda x: x.expand(2, -1, 4)),
    "expand_0d": ([f64()], lambda x: x.expand(2, 3)),
    "expand_bad": ([f64(2, 3)], lambda x: x.expand(4, 3)),
    "expand_new_dim_minus_1": ([f64(2, 3)], lambda x: x.expand(-1, 2, 3)),
    "flatten_middle": ([f64(2, 3, 2, 2)], lambda x: torch.flatten(x, -3, -2)),
    "flatten_0d": ([f64()], lambda x: torch.flatten(x)),
    "unflatten_infer": ([f64(2, 6)], lambda x: torch.unflatten(x, 1, (3, -1))),
    "unflatten_bad": ([f64(2, 3)], lambda x: torch.unflatten(x, 1, (2, 2))),
    "movedim_one": ([f64(2, 3, 4)], lambda x: torch.movedim(x, 0, -1)),
    "movedim_two": ([f64(2, 3, 4)], lambda x: torch.movedim(x, (0, 1), (2, 0))),
    "narrow_dim1": ([f64(2, 4)], lambda x: torch.narrow(x, 1, 1, 3)),
    "narrow_negative_start": ([f64(2, 5, 3)], lambda x: torch.narrow(x, -2, -3, 2)),
    "narrow_past_end": ([f64(4, 2)], lambda x: torch.narrow(x, 0, 3, 2)),
    # indexing
    "index_select_dim_neg1": ([f64(2, 3, 4), i64([3, 3, 0, 1, 2], 5)], lambda x, i: torch.index_select(x, -1, i)),
    "index_select_0d_index": ([f64(2, 3, 2), i64([1])], lambda x, i: torch.index_select(x, 1, i)),
    "index_select_int64": ([i64(list(range(6)), 2, 3), i64([2, 0], 2)], lambda x, i: torch.index_select(x, 1, i)),
    "index_select_negative": ([f64(4, 2), i64([-1], 1)], lambda x, i: torch.index_select(x, 0, i)),
    "gather_dim1": ([f64(3, 4), i64([3, 0, 1, 1, 2, 3], 3, 2)], lambda x, i: torch.gather(x, 1, i)),
    "gather_smaller_dim0": ([f64(3, 4), i64([2, 0, 0, 1, 1, 2], 2, 3)], lambda x, i: torch.gather(x, 0, i)),
    "gather_int64": ([i64(list(range(6)), 2, 3), i64([2, 2, 0, 1], 2, 2)], lambda x, i: torch.gather(x, 1, i)),
    "gather_0d": ([f64(), i64([0])], lambda x, i: torch.gather(x, 0, i)),
    "gather_out_of_range": ([f64(4, 2), i64([0, 2], 1, 2)], lambda x, i: torch.gather(x, 1, i)),
    "scatter_add_dim0": ([f64(3, 4), i64([2, 0, 0, 1, 2, 2, 1, 0], 2, 4), f64(2, 4)],
                         lambda x, i, s: torch.scatter_add(x, 0, i, s)),
    # src not differentiated here: PyTorch 1.13's backward refuses a src larger than the index
    # (tapegrad's gradient, zero where the index does not reach, is gradchecked in the op's declaration).
    "scatter_add_src_larger": ([f64(2, 3), i64([2, 2, 0, 1], 2, 2), f64(3, 4).detach()],
                               lambda x, i, s: torch.scatter_add(x, -1, i, s)),
    "take_along_dim_broadcast": ([f64(3, 4), i64([3, 1], 1, 2)], lambda x, i: torch.take_along_dim(x, i, 1)),
    "take_along_dim_flat": ([f64(2, 3), i64([5, 0, 5], 3)], lambda x, i: torch.take_along_dim(x, i)),
    "take_along_dim_negative": ([f64(2, 3), i64([-1], 1, 1)], lambda x, i: torch.take_along_dim(x, i, 1)),
    # masks
    "where_same_shape": ([i64([1, 0, 0, 1, 1, 0], 2, 3), f64(2, 3), f64(2, 3)],
                         lambda c, a, b: torch.where(mask(c), a, b)),
    "where_broadcast": ([i64([0, 1], 2, 1), f64(3), f64()], lambda c, a, b: torch.where(mask(c), a, b)),
    "where_int64_and_float": ([i64([1, 0, 0, 1, 1, 0], 2, 3), i64([1, 2, 3, 4, 5, 6], 2, 3), f64(2, 3)],
                              lambda c, a, b: torch.where(mask(c), a, b)),
    "where_do_not_broadcast": ([i64([1, 0, 1], 3), f64(2, 2), f64(2, 2)], lambda c, a, b: torch.where(mask(c), a, b)),
    "masked_fill_same_shape": ([f64(2, 3), i64([1, 0, 0, 1, 1, 0], 2, 3)],
                               lambda x, m: torch.masked_fill(x, mask(m), -7.5)),
    "masked_fill_broadcast_mask": ([f64(2, 3), i64([0, 1, 1], 3)], lambda x, m: torch.masked_fill(x, mask(m), 0.0)),
    "masked_fill_mask_larger": ([f64(3), i64([0, 1, 1, 1, 0, 0], 2, 3)],
                                lambda x, m: torch.masked_fill(x, mask(m), 0.0)),
    "masked_fill_int64": ([i64([1, 2, 3, 4], 2, 2), i64([1, 0], 2)], lambda x, m: torch.masked_fill(x, mask(m), 9)),
}



def main():
    reference_file.write(CASES, OUT, "tests/test_torch_reference.cpp", "tests/torch_reference/shape_ops.py")


if __name__ == "__main__":
    main()
