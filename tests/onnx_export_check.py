"""Checks ONNX files written by tg::onnx::export_model with two independent
implementations: onnx.checker (full check, with shape inference) and OpenCV's
DNN module, which runs each file on the input saved beside it; its output must
match tapegrad's within 1e-4 (max abs difference, printed per model).

    /usr/bin/python3 tests/onnx_export_check.py DIR lenet5 seed_cnn two_circles

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


def check(directory, name):
    path = f"{directory}/{name}.onnx"
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert batch == "batch", f"{name}: input's first dimension is {batch!r}, not the dim_param 'batch'"

    io = read_safetensors(f"{directory}/{name}_io.safetensors")
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(np.ascontiguousarray(io["input"]))
    got = net.forward()
    want = io["output"]
    assert got.shape == want.shape, f"{name}: OpenCV gives shape {got.shape}, tapegrad {want.shape}"
    diff = float(np.max(np.abs(got - want)))
    print(f"{name}: onnx.checker ok; OpenCV DNN on a batch of {want.shape[0]}: max abs difference {diff:.3g}")
    return diff <= TOLERANCE


def main():
    directory, names = sys.argv[1], sys.argv[2:]
    failed = [name for name in names if not check(directory, name)]
    if failed:
        print(f"FAILED (difference above {TOLERANCE}): {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
