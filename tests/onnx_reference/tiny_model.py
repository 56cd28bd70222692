"""The ONNX file that tg::onnx::export_model must write, byte for byte, for the
tiny model of tests/test_onnx.cpp ("export_model writes what the onnx package
writes"), built with the onnx package's own helpers and serializer.

    /usr/bin/python3 tests/onnx_reference/tiny_model.py tests/data/onnx_tiny_model.onnx

Needs Debian's python3-onnx (1.12). The model, for an input [batch, 1, 4, 4]:
Conv2d(1->2, 2x2) - ReLU - MaxPool2d(2) - Flatten - Linear(2->3) - LogSoftmax(dim 1),
with weights that float32 holds exactly:
  conv weight  (k - 3.5) / 8, k = 0..7, shape [2,1,2,2];  conv bias [0.25, -0.5]
  linear weight (k - 2.5) / 4, k = 0..5, as tapegrad's [in=2, out=3] (written transposed, [3,2])
  linear bias  [0.125, -0.25, 0.5]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7  # the IR version of opset 13 (ONNX 1.8)


def main(path):
    conv_w = ((np.arange(8) - 3.5) / 8).astype(np.float32).reshape(2, 1, 2, 2)
    conv_b = np.array([0.25, -0.5], dtype=np.float32)
    linear_w = ((np.arange(6) - 2.5) / 4).astype(np.float32).reshape(2, 3)
    linear_b = np.array([0.125, -0.25, 0.5], dtype=np.float32)

    nodes = [
        helper.make_node("Conv", ["input", "0.weight", "0.bias"], ["Conv_0"], name="Conv_0",
                         dilations=[1, 1], kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[1, 1]),
        helper.make_node("Relu", ["Conv_0"], ["Relu_1"], name="Relu_1"),
        helper.make_node("MaxPool", ["Relu_1"], ["MaxPool_2"], name="MaxPool_2",
                         kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2]),
        helper.make_node("Flatten", ["MaxPool_2"], ["Flatten_3"], name="Flatten_3", axis=1),
        helper.make_node("Gemm", ["Flatten_3", "4.weight", "4.bias"], ["Gemm_4"], name="Gemm_4", transB=1),
        helper.make_node("LogSoftmax", ["Gemm_4"], ["output"], name="LogSoftmax_5", axis=1),
    ]
    initializers = [
        numpy_helper.from_array(conv_w, "0.weight"),
        numpy_helper.from_array(conv_b, "0.bias"),
        numpy_helper.from_array(np.ascontiguousarray(linear_w.T), "4.weight"),
        numpy_helper.from_array(linear_b, "4.bias"),
    ]
    graph = helper.make_graph(
        nodes, "Sequential",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 4, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])],
        initializer=initializers)
    model = helper.make_model(graph, producer_name="tapegrad", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    print("wrote", path)


if __name__ == "__main__":
    main(sys.argv[1])
