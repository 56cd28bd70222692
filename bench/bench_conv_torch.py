"""The layer of bench_conv.cpp in PyTorch, timed the same way (median after warm-up).

Run by `bench_conv --torch`, or directly:
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/bench_conv_torch.py
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    n, c, f, h, w, k = 64, 16, 32, 28, 28, 3
    fwd_gflop = 2.0 * n * f * h * w * c * k * k * 1e-9
    torch.manual_seed(0)
    x0 = torch.randn(n, c, h, w)
    weight = (torch.randn(f, c, k, k) * 0.1).requires_grad_()
    bias = torch.zeros(f, requires_grad=True)
    gy = torch.randn(n, f, h, w)

    def forward():
        with torch.no_grad():
            F.conv2d(x0, weight, bias, padding=1)

    def train_step():
        x = x0.detach().requires_grad_()
        weight.grad = None
        bias.grad = None
        F.conv2d(x, weight, bias, padding=1).backward(gy)

    print(f"PyTorch {torch.__version__}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, fn, gflop in (("forward", forward, fwd_gflop), ("forward+backward", train_step, 3 * fwd_gflop)):
            ms = median_ms(fn, args.warmup, args.reps)
            print(f"{name:<18} threads={threads}  {'pytorch':<14} {ms:8.2f} ms  {gflop / ms * 1e3:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
