#!/usr/bin/python3
"""PyTorch's values for tapegrad's vision ops: grouped conv2d, conv_transpose2d,
max and average pooling, adaptive pooling, interpolate and pixel_shuffle /
pixel_unshuffle.

Writes tests/data/vision_ops_reference.txt: for each case, its inputs, PyTorch's
output and the gradient of every input after backward() with a fixed upstream
gradient -- or that PyTorch refuses the call. tests/test_vision_reference.cpp
runs the same cases (by name) through tapegrad in float64 and float32 and
compares within a tolerance (these ops sum products, so the last bits depend on
the order of the additions). Torch is never run at test time; rerun this
script (Debian's python3-torch, stdlib otherwise) after changing a case:

    /usr/bin/python3 tests/torch_reference/vision_ops.py

The file format is that of reference_file.py (read by tests/torch_reference_file.hpp).
"""
import os

import torch
import torch.nn.functional as F

import reference_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "vision_ops_reference.txt")


def f64(*shape, step=7):
    """A float64 input that requires grad, with exact, varied values (multiples of 0.25).

    Values repeat, so max pooling meets ties (PyTorch's gradient goes to the first maximum)."""
    n = 1
    for s in shape:
        n *= s
    values = [((i * step) % 17 - 8) * 0.25 for i in range(n)]
    return torch.tensor(values, dtype=torch.float64).reshape(shape).requires_grad_()


def with_nan_inf():
    """[1,1,4,6] float64 that requires grad: two NaNs in one 2x2 window (PyTorch's
    gradient goes to the last), windows of -inf only, inf and ties."""
    nan, inf = float("nan"), float("inf")
    values = [nan, 1, nan, 2, 3, 3,
              3, nan, -inf, -inf, 3, -inf,
              -inf, -inf, 5, 5, inf, 0,
              -inf, -inf, 5, 5, 0, nan]
    return torch.tensor(values, dtype=torch.float64).reshape(1, 1, 4, 6).requires_grad_()


# name -> (inputs, function of the inputs). The C++ test has the same names and calls.
CASES = {
    # conv2d with groups
    "conv2d_groups2_stride2": ([f64(2, 4, 5, 5), f64(6, 2, 3, 3, step=5), f64(6, step=3)],
                               lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2)),
    "conv2d_depthwise": ([f64(1, 3, 5, 4), f64(3, 1, 3, 3, step=5)],
                         lambda x, w: F.conv2d(x, w, None, padding=1, groups=3)),
    "conv2d_depthwise_x2_dilation2": ([f64(2, 2, 6, 6), f64(4, 1, 2, 2, step=5), f64(4, step=3)],
                                      lambda x, w, b: F.conv2d(x, w, b, dilation=2, groups=2)),
    "conv2d_groups_bad": ([f64(1, 3, 4, 4), f64(4, 1, 3, 3)], lambda x, w: F.conv2d(x, w, None, groups=2)),
    # conv_transpose2d (PyTorch's argument order: stride, padding, output_padding, groups, dilation)
    "conv_transpose2d_plain": ([f64(2, 3, 3, 4), f64(3, 2, 3, 3, step=5), f64(2, step=3)],
                               lambda x, w, b: F.conv_transpose2d(x, w, b)),
    "conv_transpose2d_stride2_pad1_outpad1": ([f64(1, 2, 3, 3), f64(2, 3, 3, 3, step=5), f64(3, step=3)],
                                              lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1)),
    "conv_transpose2d_groups2_dilation2": ([f64(1, 4, 3, 3), f64(4, 2, 2, 3, step=5)],
                                           lambda x, w: F.conv_transpose2d(x, w, None, (2, 1), (1, 0), (1, 0), 2, 2)),
    "conv_transpose2d_outpad_under_dilation": ([f64(1, 2, 3, 3), f64(2, 1, 2, 2, step=5), f64(1, step=3)],
                                               lambda x, w, b: F.conv_transpose2d(x, w, b, 1, 1, 1, 1, 2)),
    "conv_transpose2d_depthwise": ([f64(2, 3, 4, 3), f64(3, 1, 2, 2, step=5)],
                                   lambda x, w: F.conv_transpose2d(x, w, None, 2, 0, 0, 3)),
    "conv_transpose2d_outpad_too_large": ([f64(1, 2, 3, 3), f64(2, 2, 3, 3)],
                                          lambda x, w: F.conv_transpose2d(x, w, None, 2, 0, 2)),
    "conv_transpose2d_groups_bad": ([f64(1, 3, 3, 3), f64(3, 2, 3, 3)],
                                    lambda x, w: F.conv_transpose2d(x, w, None, 1, 0, 0, 2)),
    # max and average pooling
    "max_pool2d_2x2_odd_plane_ties": ([f64(2, 3, 5, 7, step=3)], lambda x: F.max_pool2d(x, 2)),
    "max_pool2d_3x3_stride2_pad1_ties": ([f64(1, 2, 7, 6, step=3)], lambda x: F.max_pool2d(x, 3, 2, 1)),
    "max_pool2d_2x3_stride_1x2_pad1": ([f64(1, 2, 5, 7, step=5)], lambda x: F.max_pool2d(x, (2, 3), (1, 2), 1)),
    "max_pool2d_nan_inf": ([with_nan_inf()], lambda x: F.max_pool2d(x, 2)),
    "max_pool2d_nan_inf_3x3_stride1_pad1": ([with_nan_inf()], lambda x: F.max_pool2d(x, 3, 1, 1)),
    "avg_pool2d_2x2_odd_plane": ([f64(2, 3, 5, 7)], lambda x: F.avg_pool2d(x, 2)),
    "avg_pool2d_3x2_stride_2x1_pad_1x0": ([f64(1, 2, 6, 5)], lambda x: F.avg_pool2d(x, (3, 2), (2, 1), (1, 0))),
    # adaptive pooling
    "adaptive_avg_5x7_to_3x4": ([f64(2, 2, 5, 7)], lambda x: F.adaptive_avg_pool2d(x, (3, 4))),
    "adaptive_avg_3x2_to_5x3_no_batch": ([f64(2, 3, 2)], lambda x: F.adaptive_avg_pool2d(x, (5, 3))),
    "adaptive_avg_global": ([f64(2, 3, 4, 5)], lambda x: F.adaptive_avg_pool2d(x, 1)),
    "adaptive_max_5x7_to_3x4": ([f64(2, 2, 5, 7)], lambda x: F.adaptive_max_pool2d(x, (3, 4))),
    "adaptive_max_6x6_to_4x4_ties": ([f64(1, 2, 6, 6, step=3)], lambda x: F.adaptive_max_pool2d(x, 4)),
    "adaptive_max_global": ([f64(2, 2, 3, 3)], lambda x: F.adaptive_max_pool2d(x, 1)),
    "adaptive_max_nan_inf_to_3x2": ([with_nan_inf()], lambda x: F.adaptive_max_pool2d(x, (3, 2))),
    # interpolate
    "nearest_size_5x3": ([f64(2, 2, 3, 5)], lambda x: F.interpolate(x, size=(5, 3), mode="nearest")),
    "nearest_size_7x9_from_3x4": ([f64(1, 1, 3, 4)], lambda x: F.interpolate(x, size=(7, 9), mode="nearest")),
    "nearest_scale_2": ([f64(1, 2, 3, 2)], lambda x: F.interpolate(x, scale_factor=2, mode="nearest")),
    "nearest_scale_1.5_0.5": ([f64(1, 1, 5, 4)], lambda x: F.interpolate(x, scale_factor=(1.5, 0.5), mode="nearest")),
    "nearest_scale_1.7": ([f64(1, 1, 5, 3)], lambda x: F.interpolate(x, scale_factor=1.7, mode="nearest")),
    "bilinear_size_5x7": ([f64(2, 2, 3, 4)], lambda x: F.interpolate(x, size=(5, 7), mode="bilinear")),
    "bilinear_size_down_3x2": ([f64(1, 2, 5, 6)], lambda x: F.interpolate(x, size=(3, 2), mode="bilinear")),
    "bilinear_align_corners_5x7": ([f64(2, 1, 3, 4)],
                                   lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True)),
    "bilinear_scale_1.7": ([f64(1, 1, 4, 3)], lambda x: F.interpolate(x, scale_factor=1.7, mode="bilinear")),
    "bilinear_scale_2.5_0.6_align_corners": ([f64(1, 1, 3, 5)],
                                             lambda x: F.interpolate(x, scale_factor=(2.5, 0.6), mode="bilinear",
                                                                     align_corners=True)),
    "bilinear_align_corners_to_1x2": ([f64(1, 1, 3, 3)],
                                      lambda x: F.interpolate(x, size=(1, 2), mode="bilinear", align_corners=True)),
    "nearest_align_corners": ([f64(1, 1, 2, 2)],
                              lambda x: F.interpolate(x, size=4, mode="nearest", align_corners=False)),
    "interpolate_size_and_scale": ([f64(1, 1, 2, 2)], lambda x: F.interpolate(x, size=4, scale_factor=2.0)),
    # pixel shuffle
    "pixel_shuffle_2": ([f64(2, 8, 2, 3)], lambda x: F.pixel_shuffle(x, 2)),
    "pixel_shuffle_3_no_batch": ([f64(9, 1, 2)], lambda x: F.pixel_shuffle(x, 3)),
    "pixel_unshuffle_2": ([f64(2, 2, 4, 6)], lambda x: F.pixel_unshuffle(x, 2)),
    "pixel_shuffle_bad_channels": ([f64(1, 6, 2, 2)], lambda x: F.pixel_shuffle(x, 2)),
}


def main():
    reference_file.write(CASES, OUT, "tests/test_vision_reference.cpp", "tests/torch_reference/vision_ops.py")


if __name__ == "__main__":
    main()
