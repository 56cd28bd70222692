#!/usr/bin/python3
"""PyTorch side of tapegrad's side-by-side benchmark (bench/compare.py runs it).

Runs one workload once (after warm-up) and prints one JSON line:
  {"workload": ..., "value": ..., "unit": ..., "peak_rss_mb": ...}
--quick runs a tenth of the steps (a smoke test, not a measurement), as tg_bench.
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

# The trainers' models and recipes as their PyTorch twins define them (the resnet
# trainer's block, network, optimizer and augmentation; char_lm's network, corpus
# and step); bench/ is this script's directory, so on sys.path.
import char_lm_torch
import resnet_torch
from resnet_torch import ResidualBlock

QUICK = False


def steps_of(n):
    """--quick: a tenth of the steps (at least one)."""
    return max(1, n // 10) if QUICK else n

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
    warmup = min(warmup, 1) if QUICK else warmup
    steps = steps_of(steps)
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
    return batch * steps_of(steps) / seconds, "images/s"


def workload_binary_cnn_step(steps):
    torch.manual_seed(0)
    model = binary_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(32, 1, 28, 28)
    y = torch.randint(0, 2, (32, 1)).float()
    seconds = time_steps(classifier_step(model, x, y, F.binary_cross_entropy, opt), 20, steps)
    return 1000 * seconds / steps_of(steps), "ms/step"


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
    return seconds * 5000 / steps_of(5000), "s"  # --quick: 500 steps, reported as the time of 5000


def workload_sgemm(n, reps):
    a = torch.rand(n, n)
    b = torch.rand(n, n)
    seconds = time_steps(lambda: torch.mm(a, b), 3, reps)
    return 2.0 * n ** 3 * steps_of(reps) / seconds / 1e9, "GFLOP/s"


def workload_conv(reps):
    torch.manual_seed(0)
    x = torch.rand(64, 16, 28, 28, requires_grad=True)
    w = torch.rand(32, 16, 3, 3, requires_grad=True)
    b = torch.rand(32, requires_grad=True)

    def step():
        y = F.conv2d(x, w, b, padding=1)
        y.backward(torch.ones_like(y))
    seconds = time_steps(step, 5, reps)
    return 1000 * seconds / steps_of(reps), "ms"


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
    return 1000 * seconds / steps_of(reps), "ms"


def workload_lstm(reps):
    torch.manual_seed(0)
    lstm = nn.LSTM(256, 256, num_layers=2)
    x = torch.rand(64, 32, 256)

    def step():
        lstm.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        out.sum().backward()
    seconds = time_steps(step, 3, reps)
    return 1000 * seconds / steps_of(reps), "ms"


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
    return 1000 * seconds / steps_of(reps), "ms"


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
    if QUICK:  # the first 6400 images, as tg_bench
        x, y = x[:6400], y[:6400]
    torch.manual_seed(0)
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    perm = torch.randperm(len(x))
    for i in range(0, len(x) - batch + 1, batch):
        idx = perm[i:i + batch]
        classifier_step(model, x[idx], y[idx], F.cross_entropy, opt)()
    return time.perf_counter() - start, "s"


def workload_resnet_steps(data_dir, warmup, steps):
    """Steps of the resnet trainer's recipe (bench/resnet_torch.py at its defaults):
    batch 128 of a shuffled epoch of Fashion-MNIST, each batch augmented (crop,
    flip) by the twin's augment() as drawn (the twin augments the whole set at the
    start of an epoch: the same work, spread over the epoch's batches), OneCycleLR
    over the trainer's 10 epochs. Data loading is not timed."""
    warmup, steps = (1 if QUICK else warmup), steps_of(steps)
    d = resnet_torch.DEFAULTS
    batch = d["batch_size"]
    directory = data_dir or next((d for d in resnet_torch.SEARCH if d and os.path.isdir(d)), None)
    train_x, train_y = resnet_torch.load(directory, "train")
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = resnet_torch.resnet().train()
    opt, schedule = resnet_torch.make_optimizer(model, d["lr"], d["weight_decay"],
                                                d["epochs"] * ((len(train_x) + batch - 1) // batch))
    order = torch.randperm(len(train_x), generator=generator)

    def step(b):
        idx = order[b * batch:(b + 1) * batch]
        x = resnet_torch.augment(train_x[idx], d["crop_padding"], generator)
        resnet_torch.train_step(model, opt, schedule, x, train_y[idx], d["label_smoothing"]).item()
    for b in range(warmup):
        step(b)
    start = time.perf_counter()
    for b in range(warmup, warmup + steps):
        step(b)
    return steps * batch / (time.perf_counter() - start), "images/s"


def workload_char_lm_steps(kind, data_dir, warmup, steps):
    """Steps of the char_lm trainer's recipe (bench/char_lm_torch.py at its
    defaults): batch 32 windows of 64 characters, shuffled, Adam under the warm-up
    schedule, gradient clipping at 1. The corpus is loaded and encoded before the clock starts."""
    warmup, steps = (1 if QUICK else warmup), steps_of(steps)
    d = char_lm_torch.DEFAULTS
    batch, seq_len = d["batch_size"], d["seq_len"]
    _, symbols, train_tokens, _ = char_lm_torch.load_corpus(
        data_dir or os.environ.get("TAPEGRAD_FORTUNES", "/usr/share/games/fortunes"))
    torch.manual_seed(0)
    model = char_lm_torch.CharModel(kind, len(symbols), seq_len, d["dropout"])
    peak = char_lm_torch.default_lr(kind)
    optimizer = torch.optim.Adam(model.parameters(), lr=peak)
    x_all, y_all = char_lm_torch.windows(train_tokens, seq_len, 0)
    order = torch.randperm(len(x_all), generator=torch.Generator().manual_seed(0))

    def step(b):
        idx = order[b * batch:(b + 1) * batch]
        lr = char_lm_torch.learning_rate(peak, b, d["warmup"], 0.0)
        char_lm_torch.train_step(model, optimizer, x_all[idx], y_all[idx], len(symbols), d["clip"], lr).item()
    for b in range(warmup):
        step(b)
    start = time.perf_counter()
    for b in range(warmup, warmup + steps):
        step(b)
    return steps / (time.perf_counter() - start), "steps/s"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("workload")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", default="")
    p.add_argument("--quick", action="store_true", help="a tenth of the steps: a smoke test, not a measurement")
    args = p.parse_args()
    global QUICK
    QUICK = args.quick
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
    elif w == "resnet_steps":
        value, unit = workload_resnet_steps(args.data_dir, 3, 50)
    elif w == "char_lm_lstm_steps":
        value, unit = workload_char_lm_steps("lstm", args.data_dir, 5, 50)
    elif w == "char_lm_transformer_steps":
        value, unit = workload_char_lm_steps("transformer", args.data_dir, 5, 50)
    elif w == "lenet_epoch":
        value, unit = workload_lenet_epoch(args.data_dir, 64)
    else:
        sys.exit(f"unknown workload {w}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"workload": w, "value": value, "unit": unit, "peak_rss_mb": rss_mb,
                      "threads": args.threads, "torch": torch.__version__, "quick": QUICK}))


if __name__ == "__main__":
    main()
