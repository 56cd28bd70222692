#!/usr/bin/python3
"""PyTorch side of tapegrad's side-by-side benchmark (bench/compare.py runs it).

Runs one workload once (after warm-up) and prints one JSON line:
  {"workload": ..., "value": ..., "unit": ..., "peak_rss_mb": ...}
Conditions: float32, torch.set_num_threads(--threads); OpenBLAS is pinned to one
thread by the caller (OPENBLAS_NUM_THREADS=1: with both at 2 threads PyTorch
collapses ~3x on this machine).
"""
import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The resnet trainer's block (examples/common/resnet_model.cpp) as its PyTorch twin defines it;
# bench/ is this script's directory, so on sys.path.
from resnet_torch import ResidualBlock

def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def binary_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(196, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start


def classifier_step(model, x, y, loss_fn, opt):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def workload_lenet_step(batch, steps):
    torch.manual_seed(0)
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    seconds = time_steps(classifier_step(model, x, y, F.cross_entropy, opt), 20, steps)
    return batch * steps / seconds, "images/s"


def workload_binary_cnn_step(steps):
    torch.manual_seed(0)
    model = binary_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(32, 1, 28, 28)
    y = torch.randint(0, 2, (32, 1)).float()
    seconds = time_steps(classifier_step(model, x, y, F.binary_cross_entropy, opt), 20, steps)
    return 1000 * seconds / steps, "ms/step"


def workload_mlp():
    torch.manual_seed(0)
    phi = np.linspace(0, 2 * np.pi, 100)
    pts = np.hstack([1.1 * np.array([np.sin(phi), np.cos(phi)]), 3.0 * np.array([np.sin(phi), np.cos(phi)])]).T
    labels = np.concatenate([np.ones(100), np.zeros(100)]).reshape(-1, 1)
    idx = np.random.RandomState(0).permutation(200)[:140]
    x = torch.tensor(pts[idx], dtype=torch.float32)
    y = torch.tensor(labels[idx], dtype=torch.float32)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)
    seconds = time_steps(classifier_step(model, x, y, F.binary_cross_entropy, opt), 0, 5000)
    return seconds, "s"


def workload_sgemm(n, reps):
    a = torch.rand(n, n)
    b = torch.rand(n, n)
    seconds = time_steps(lambda: torch.mm(a, b), 3, reps)
    return 2.0 * n ** 3 * reps / seconds / 1e9, "GFLOP/s"


def workload_conv(reps):
    torch.manual_seed(0)
    x = torch.rand(64, 16, 28, 28, requires_grad=True)
    w = torch.rand(32, 16, 3, 3, requires_grad=True)
    b = torch.rand(32, requires_grad=True)

    def step():
        y = F.conv2d(x, w, b, padding=1)
        y.backward(torch.ones_like(y))
    seconds = time_steps(step, 5, reps)
    return 1000 * seconds / reps, "ms"


def workload_transformer_layer(reps):
    """TransformerEncoderLayer d 128, 4 heads, feed-forward 512, dropout 0.1, training, causal; [16, 64, 128]."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(128, 4, 512, 0.1, batch_first=True)
    x = torch.randn(16, 64, 128, requires_grad=True)
    causal = torch.triu(torch.full((64, 64), float("-inf")), diagonal=1)

    def step():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        y = layer(x, src_mask=causal)
        y.backward(torch.ones_like(y))
    seconds = time_steps(step, 5, reps)
    return 1000 * seconds / reps, "ms"


def workload_lstm(reps):
    torch.manual_seed(0)
    lstm = nn.LSTM(256, 256, num_layers=2)
    x = torch.rand(64, 32, 256)

    def step():
        lstm.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        out.sum().backward()
    seconds = time_steps(step, 3, reps)
    return 1000 * seconds / reps, "ms"


def workload_bn_residual_block(reps):
    torch.manual_seed(0)
    block = ResidualBlock(32, 32).train()
    x = torch.rand(64, 32, 28, 28, requires_grad=True)

    def step():
        x.grad = None
        block.zero_grad(set_to_none=True)
        y = block(x)
        y.backward(torch.ones_like(y))
    seconds = time_steps(step, 3, reps)
    return 1000 * seconds / reps, "ms"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def workload_lenet_epoch(data_dir, batch):
    """One MNIST epoch of LeNet-5 training, data already in memory (wall time)."""
    x = torch.tensor(read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")), dtype=torch.float32)
    x = (x / 255.0).reshape(-1, 1, 28, 28)
    y = torch.tensor(read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    torch.manual_seed(0)
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    perm = torch.randperm(len(x))
    for i in range(0, len(x) - batch + 1, batch):
        idx = perm[i:i + batch]
        classifier_step(model, x[idx], y[idx], F.cross_entropy, opt)()
    return time.perf_counter() - start, "s"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("workload")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", default="")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    w = args.workload
    if w.startswith("lenet_step_b"):
        value, unit = workload_lenet_step(int(w[len("lenet_step_b"):]), 200)
    elif w == "binary_cnn_step_b32":
        value, unit = workload_binary_cnn_step(300)
    elif w == "mlp_5000":
        value, unit = workload_mlp()
    elif w.startswith("sgemm_"):
        n = int(w[len("sgemm_"):])
        value, unit = workload_sgemm(n, max(3, int(2e10 / (2 * n ** 3))))
    elif w == "conv_fwd_bwd":
        value, unit = workload_conv(30)
    elif w == "transformer_layer":
        value, unit = workload_transformer_layer(50)
    elif w == "lstm_fwd_bwd":
        value, unit = workload_lstm(20)
    elif w == "bn_residual_block":
        value, unit = workload_bn_residual_block(20)
    elif w == "lenet_epoch":
        value, unit = workload_lenet_epoch(args.data_dir, 64)
    else:
        sys.exit(f"unknown workload {w}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"workload": w, "value": value, "unit": unit, "peak_rss_mb": rss_mb,
                      "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
