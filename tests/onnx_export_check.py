"""Checks ONNX files written by tg::onnx::export_model with two independent
implementations: onnx.checker (full check, with shape inference) and OpenCV's
DNN module, which runs each file on the input saved beside it; its output must
match tapegrad's within 1e-4 (max abs difference, printed per model).

    /usr/bin/python3 tests/onnx_export_check.py DIR lenet5 seed_cnn two_circles transposed_dilated:numpy

A name ending in ":numpy" is run by run_numpy below instead of OpenCV: OpenCV
4.6's deconvolution ignores ConvTranspose's dilations, so a dilated transposed
convolution is checked against this plain numpy reading of the ONNX operator
(and ONNX's own shape inference) instead; and so are ReduceSum at opset 13 (OpenCV
4.6 refuses its axes input) and 2-D element-wise ops on its results (which OpenCV
4.6 fails to broadcast).

reads DIR/<model>.onnx and DIR/<model>_io.safetensors ("input", "output",
written by tests/tools/models_to_onnx.cpp). Needs Debian's python3-onnx and
python3-opencv; safetensors is read with json + struct + numpy.
"""
import json
import struct
import sys

import cv2
import numpy as np
import onnx
import onnx.numpy_helper
import onnx.shape_inference

TOLERANCE = 1e-4
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


def conv_transpose(x, w, b, attributes):
    """ONNX ConvTranspose as its specification reads, one input pixel at a time."""
    strides = attributes.get("strides", [1, 1])
    dilations = attributes.get("dilations", [1, 1])
    pads = attributes.get("pads", [0, 0, 0, 0])
    output_padding = attributes.get("output_padding", [0, 0])
    group = attributes.get("group", 1)
    n, c, h, wd = x.shape
    kh, kw = w.shape[2], w.shape[3]
    per_group_in, per_group_out = c // group, w.shape[1]
    full_h = (h - 1) * strides[0] + (kh - 1) * dilations[0] + 1 + output_padding[0]
    full_w = (wd - 1) * strides[1] + (kw - 1) * dilations[1] + 1 + output_padding[1]
    y = np.zeros((n, per_group_out * group, full_h, full_w), dtype=np.float64)
    for g in range(group):
        for ci in range(g * per_group_in, (g + 1) * per_group_in):
            for i in range(h):
                for j in range(wd):
                    for p in range(kh):
                        for q in range(kw):
                            r, s = i * strides[0] + p * dilations[0], j * strides[1] + q * dilations[1]
                            y[:, g * per_group_out:(g + 1) * per_group_out, r, s] += (
                                x[:, ci, i, j][:, None] * w[ci, :, p, q][None, :])
    y = y[:, :, pads[0]:full_h - pads[2], pads[1]:full_w - pads[3]]
    if b is not None:
        y += b[None, :, None, None]
    return y


def run_numpy(model, x):
    """Runs a graph of the ops below, as the ONNX specification defines them."""
    values = {"input": x.astype(np.float64)}
    values.update({t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer})
    for node in model.graph.node:
        a = values[node.input[0]]
        attributes = {at.name: (list(at.ints) if at.ints else at.i) for at in node.attribute}
        binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}
        if node.op_type == "ConvTranspose":
            bias = values[node.input[2]] if len(node.input) > 2 else None
            y = conv_transpose(a, values[node.input[1]], bias, attributes)
        elif node.op_type in binary:
            y = binary[node.op_type](a, values[node.input[1]])
        elif node.op_type == "ReduceSum":
            axes = values[node.input[1]] if len(node.input) > 1 else attributes["axes"]
            y = np.sum(a, axis=tuple(int(i) for i in axes), keepdims=bool(attributes.get("keepdims", 1)))
        elif node.op_type == "Reshape":
            y = a.reshape([int(d) for d in values[node.input[1]]])
        elif node.op_type == "Concat":
            y = np.concatenate([values[name] for name in node.input], axis=attributes["axis"])
        elif node.op_type == "Tanh":
            y = np.tanh(a)
        elif node.op_type == "Relu":
            y = np.maximum(a, 0)
        elif node.op_type == "Sigmoid":
            y = 1 / (1 + np.exp(-a))
        else:
            raise ValueError(f"run_numpy does not run {node.op_type}")
        values[node.output[0]] = y
    return values["output"]


def check(directory, name):
    name, _, runner = name.partition(":")
    path = f"{directory}/{name}.onnx"
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert batch == "batch", f"{name}: input's first dimension is {batch!r}, not the dim_param 'batch'"

    io = read_safetensors(f"{directory}/{name}_io.safetensors")
    want = io["output"]
    if runner == "numpy":
        # ONNX's shape inference on the batch checked must give tapegrad's output shape too.
        sized = onnx.load(path)
        sized.graph.input[0].type.tensor_type.shape.dim[0].dim_value = want.shape[0]
        inferred = onnx.shape_inference.infer_shapes(sized, strict_mode=True).graph.output[0]
        shape = tuple(d.dim_value for d in inferred.type.tensor_type.shape.dim)
        assert shape == want.shape, f"{name}: ONNX infers shape {shape}, tapegrad gives {want.shape}"
        got, runtime = run_numpy(model, io["input"]), "numpy"
    else:
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(np.ascontiguousarray(io["input"]))
        got, runtime = net.forward(), "OpenCV DNN"
    assert got.shape == want.shape, f"{name}: {runtime} gives shape {got.shape}, tapegrad {want.shape}"
    diff = float(np.max(np.abs(got - want)))
    print(f"{name}: onnx.checker ok; {runtime} on a batch of {want.shape[0]}: max abs difference {diff:.3g}")
    return diff <= TOLERANCE


def main():
    directory, names = sys.argv[1], sys.argv[2:]
    failed = [name for name in names if not check(directory, name)]
    if failed:
        print(f"FAILED (difference above {TOLERANCE}): {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
