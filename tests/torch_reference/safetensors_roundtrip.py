#!/usr/bin/python3
"""LeNet-5 weights moving between PyTorch and tapegrad as safetensors files.

Needs PyTorch only (Debian's python3-torch); safetensors files are read and
written here with json and struct, as Debian has no safetensors package.

  make-reference MNIST_DIR OUT_DIR
      Trains tapegrad's LeNet-5 (examples/common/lenet5_model.cpp, the same
      layers in the same order, so the state_dict names match) briefly in
      PyTorch on MNIST (the four .gz files in MNIST_DIR) and writes
        OUT_DIR/lenet5_torch.safetensors         its state_dict (PyTorch layout)
        OUT_DIR/lenet5_torch_logits.safetensors  16 fixed test images ("images",
                                                 [16,1,28,28] float32 in [0,1]),
                                                 their "labels" and PyTorch's
                                                 float32 "logits" for them
      tests/test_safetensors_torch.cpp loads both (no PyTorch at test time).
      Regenerate with (from the source tree):
        /usr/bin/python3 tests/torch_reference/safetensors_roundtrip.py \\
            make-reference /path/to/mnist tests/data

  check MODEL.safetensors LOGITS.safetensors
      Loads MODEL (written by tapegrad's save_safetensors) into the PyTorch
      LeNet-5 with load_state_dict(strict=True), runs it on LOGITS's "images"
      and compares with its "logits" (tapegrad's). Exits 1 when any differs by
      more than 1e-5; prints the largest difference.
"""
import gzip
import json
import os
import struct
import sys

import torch
from torch import nn

TOLERANCE = 1e-5
DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


def lenet5():
    """tapegrad's examples::lenet5(), layer for layer."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> tensor, written in this order."""
    header, offset, chunks = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def read_safetensors(path):
    """Returns (name -> tensor, metadata)."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    metadata = header.pop("__metadata__", {})
    data = blob[8 + length:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = bytearray(data[begin:end])
        t = torch.frombuffer(raw, dtype=DTYPES[entry["dtype"]]) if raw else torch.empty(0, dtype=DTYPES[entry["dtype"]])
        tensors[name] = t.reshape(entry["shape"]).clone()
    return tensors, metadata


def read_idx(path):
    with gzip.open(path, "rb") as f:
        blob = f.read()
    ndim = blob[3]
    dims = struct.unpack(">" + "I" * ndim, blob[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(blob[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def make_reference(mnist_dir, out_dir):
    torch.manual_seed(0)
    images = read_idx(os.path.join(mnist_dir, "train-images-idx3-ubyte.gz")).float().div(255).unsqueeze(1)
    labels = read_idx(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz")).long()
    test_images = read_idx(os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz"))[:16].float().div(255).unsqueeze(1)
    test_labels = read_idx(os.path.join(mnist_dir, "t10k-labels-idx1-ubyte.gz"))[:16].long()

    model = lenet5()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = torch.randperm(len(images))
    for step in range(400):  # about 25600 images: ~95 % test accuracy
        batch = order[step * 64:(step + 1) * 64]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(test_images)
    accuracy = (logits.argmax(1) == test_labels).float().mean().item()
    os.makedirs(out_dir, exist_ok=True)
    # No "tapegrad.layout" key: such files are PyTorch layout, as a file from the
    # safetensors package would be.
    write_safetensors(os.path.join(out_dir, "lenet5_torch.safetensors"), model.state_dict(), {"format": "pt"})
    write_safetensors(os.path.join(out_dir, "lenet5_torch_logits.safetensors"),
                      {"images": test_images, "labels": test_labels, "logits": logits})
    print(f"wrote {out_dir}/lenet5_torch.safetensors and lenet5_torch_logits.safetensors "
          f"(last loss {loss.item():.3f}, {accuracy:.0%} of the 16 images right)")


def check(model_path, logits_path):
    state, metadata = read_safetensors(model_path)
    if metadata.get("tapegrad.layout", "pytorch") != "pytorch":
        print(f"check: {model_path} is not in PyTorch layout: {metadata}")
        return 1
    model = lenet5()
    model.load_state_dict(state)  # strict: every name and shape must match
    model.eval()
    reference, _ = read_safetensors(logits_path)
    with torch.no_grad():
        logits = model(reference["images"])
    worst = (logits - reference["logits"]).abs().max().item()
    ok = worst <= TOLERANCE
    print(f"check: PyTorch's logits for {model_path} differ from tapegrad's by at most {worst:.3g} "
          f"({'within' if ok else 'MORE than'} {TOLERANCE})")
    return 0 if ok else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "make-reference":
        make_reference(argv[2], argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
