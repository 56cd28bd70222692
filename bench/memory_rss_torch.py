#!/usr/bin/python3
"""PyTorch side of bench/memory.sh: the programs of bench/memory_rss.cpp, whose
peak resident memory (getrusage ru_maxrss) is compared.

    memory_rss_torch.py WORKLOAD [--threads N] [--data-dir DIR] [--steps N]

Workloads: lenet_epoch, normalise_train, normalise_train_inplace (see
memory_rss.cpp). MNIST is read from the gzip'd IDX files as bench/torch_bench.py
reads it (pixels / 255 as float32). Prints one JSON line.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_bench import lenet5, read_idx  # the same network and reader as the speed table


def load_mnist_train(data_dir):
    x = torch.tensor(read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")), dtype=torch.float32)
    x = (x / 255.0).reshape(-1, 1, 28, 28)
    y = torch.tensor(read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    return x, y


def train_steps(model, x, y, batch, steps):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    done = 0
    while done < steps:
        perm = torch.randperm(len(x))
        for i in range(0, len(x) - batch + 1, batch):
            if done == steps:
                break
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            done += 1
    return time.perf_counter() - start


def rss_now_mb():
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("workload")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-dir", default="")
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    w = args.workload
    if not args.data_dir:
        sys.exit("memory_rss_torch.py: --data-dir DIR (the MNIST files) is needed")
    x, y = load_mnist_train(args.data_dir)
    if w == "lenet_epoch":
        steps = len(x) // 64
    elif w == "normalise_train":
        mean, std = x.mean(), x.std()
        x = (x - mean) / std
        steps = args.steps
    elif w == "normalise_train_inplace":
        mean, std = x.mean(), x.std()
        x.sub_(mean).div_(std)
        steps = args.steps
    else:
        sys.exit(f"unknown workload {w}")
    torch.manual_seed(0)
    seconds = train_steps(lenet5(), x, y, 64, steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"workload": w, "peak_rss_mb": round(peak, 1), "end_rss_mb": round(rss_now_mb(), 1),
                      "seconds": round(seconds, 3), "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
