#!/usr/bin/python3
"""Side-by-side benchmark: tapegrad (build/bench/tg_bench) against PyTorch
(bench/torch_bench.py), each workload interleaved over several repetitions.

    bench/run.sh [--reps 5] [--threads 2] [--json FILE] [--only NAME,...]

Every repetition runs each workload once in each framework (alternating which
goes first), each run in a fresh process that warms up before timing. The table
shows medians with min-max and the ratio tapegrad / PyTorch of the medians.
Conditions: float32; tapegrad with --threads for its pool and OpenBLAS; PyTorch
with torch.set_num_threads(--threads) and OPENBLAS_NUM_THREADS=1 (its best
setting here); both with glibc's default malloc.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TG = os.path.join(ROOT, "build", "bench", "tg_bench")
TORCH = os.path.join(ROOT, "bench", "torch_bench.py")

# name, tapegrad workload, reference workload ("torch:..." or "tg:..."), better, target
WORKLOADS = [
    ("LeNet-5 train step, batch 64", "lenet_step_b64", "torch:lenet_step_b64", "higher", ">= 1.5x PyTorch"),
    ("LeNet-5 train step, batch 32", "lenet_step_b32", "torch:lenet_step_b32", "higher", ">= 1.2x PyTorch"),
    ("LeNet-5 train step, batch 256", "lenet_step_b256", "torch:lenet_step_b256", "higher", ">= 1.2x PyTorch"),
    ("binary MNIST CNN train step, batch 32", "binary_cnn_step_b32", "torch:binary_cnn_step_b32", "lower", ">= 3x faster"),
    ("2-16-1 MLP, 5000 full-batch steps", "mlp_5000", "torch:mlp_5000", "lower", ">= 10x faster"),
    ("sgemm 256 vs OpenBLAS direct", "sgemm_256", "tg:openblas_sgemm_256", "higher", ">= 95% of OpenBLAS"),
    ("sgemm 1024 vs OpenBLAS direct", "sgemm_1024", "tg:openblas_sgemm_1024", "higher", ">= 95% of OpenBLAS"),
    ("sgemm 2048 vs OpenBLAS direct", "sgemm_2048", "tg:openblas_sgemm_2048", "higher", ">= 95% of OpenBLAS"),
    ("conv2d 64x16->32 28x28 k3 fwd+bwd", "conv_fwd_bwd", "torch:conv_fwd_bwd", "lower", "<= 1.0x PyTorch"),
    ("Transformer encoder layer seq 64, batch 16, d 128, 4 heads, fwd+bwd", "transformer_layer",
     "torch:transformer_layer", "lower", "<= 1.0x PyTorch"),
    ("2-layer LSTM 256, seq 64, batch 32 fwd+bwd", "lstm_fwd_bwd", "torch:lstm_fwd_bwd", "lower", "<= 1.0x PyTorch"),
    ("BatchNorm residual block b64 32ch 28x28 fwd+bwd", "bn_residual_block", "torch:bn_residual_block", "lower",
     "<= 1.0x PyTorch"),
    ("LeNet-5 one MNIST epoch (training)", "lenet_epoch", "torch:lenet_epoch", "lower", "<= 2 s"),
]


def find_mnist():
    for d in [os.environ.get("TAPEGRAD_DATA", ""), os.path.join(ROOT, "..", "shared", "data", "mnist"),
              "/usr/share/datasets/mnist", os.path.expanduser("~/.cache/tapegrad/mnist")]:
        if d and os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return os.path.abspath(d)
    return None


def run_one(kind, workload, threads, data_dir):
    env = dict(os.environ)
    if kind == "torch":
        env["OPENBLAS_NUM_THREADS"] = "1"
        cmd = ["/usr/bin/python3", TORCH, workload, "--threads", str(threads)]
    else:
        cmd = [TG, workload, "--threads", str(threads)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_configs():
    """What both sides compute on, first: a table means little without its CPU and kernels."""
    tg = subprocess.run([TG, "config"], capture_output=True, text=True, check=True)
    print(tg.stdout.rstrip())
    torch_info = r"""
import re, torch
show = torch.__config__.show()
print("PyTorch", torch.__version__)
for line in show.splitlines():
    if "CPU capability" in line or "MKL-DNN" in line or "OpenMP" in line:
        print("  " + line.strip(" -"))
print("  " + ", ".join(re.findall(r"(?:BLAS_INFO|USE_MKLDNN|USE_OPENMP)=[^,]*", show)))
print("  default threads:", torch.get_num_threads())
"""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    ref = subprocess.run(["/usr/bin/python3", "-c", torch_info], capture_output=True, text=True, env=env)
    print(ref.stdout.rstrip() if ref.returncode == 0 else "PyTorch: not importable: " + ref.stderr.strip()[-200:])
    print(flush=True)


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--only", help="comma-separated tapegrad workload names")
    args = ap.parse_args()

    print_configs()
    data_dir = find_mnist()
    chosen = [w for w in WORKLOADS if not args.only or w[1] in args.only.split(",")]
    if data_dir is None:
        print("MNIST not found: skipping the one-epoch workload", file=sys.stderr)
        chosen = [w for w in chosen if w[1] != "lenet_epoch"]

    results = {w[1]: {"tg": [], "ref": [], "tg_rss": [], "ref_rss": [], "unit": ""} for w in chosen}
    for rep in range(args.reps):
        for name, tg_w, ref, better, target in chosen:
            ref_kind, ref_w = ref.split(":")
            order = [("tg", tg_w), (ref_kind, ref_w)]
            if rep % 2:
                order.reverse()
            for kind, w in order:
                dd = data_dir if w == "lenet_epoch" else None
                r = run_one("torch" if kind == "torch" else "tg", w, args.threads, dd)
                slot = "tg" if (kind == "tg" and w == tg_w) else "ref"
                results[tg_w][slot].append(r["value"])
                results[tg_w][slot + "_rss"].append(r["peak_rss_mb"])
                results[tg_w]["unit"] = r["unit"]
        print(f"repetition {rep + 1}/{args.reps} done", file=sys.stderr)

    rows, report = [], []
    for name, tg_w, ref, better, target in chosen:
        r = results[tg_w]
        tg, rf = summary(r["tg"]), summary(r["ref"])
        ratio = tg["median"] / rf["median"]
        speedup = ratio if better == "higher" else 1 / ratio
        ref_name = "OpenBLAS" if ref.startswith("tg:") else "PyTorch"
        rows.append((name, f"{tg['median']:.4g} ({tg['min']:.4g}-{tg['max']:.4g})",
                     f"{rf['median']:.4g} ({rf['min']:.4g}-{rf['max']:.4g}) {ref_name}", r["unit"],
                     f"{ratio:.2f}", f"{speedup:.2f}x", target))
        report.append({"workload": tg_w, "name": name, "unit": r["unit"], "tapegrad": tg, "reference": rf,
                       "reference_kind": ref_name, "ratio_tapegrad_over_reference": ratio,
                       "speedup": speedup, "target": target,
                       "tapegrad_peak_rss_mb": statistics.median(r["tg_rss"]),
                       "reference_peak_rss_mb": statistics.median(r["ref_rss"])})
    if "lenet_epoch" in results:
        r = results["lenet_epoch"]
        tg_rss, ref_rss = statistics.median(r["tg_rss"]), statistics.median(r["ref_rss"])
        rows.append(("peak RSS of the LeNet-5 epoch run", f"{tg_rss:.0f}", f"{ref_rss:.0f} PyTorch", "MB",
                     f"{tg_rss / ref_rss:.2f}", "", "<= 0.5x PyTorch"))

    headers = ("workload", "tapegrad median (min-max)", "reference median (min-max)", "unit",
               "ratio tg/ref", "speed-up", "target")
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))
    print(f"\n{args.reps} repetitions, {args.threads} threads each side; tapegrad: its pool + OpenBLAS at "
          f"{args.threads} threads; PyTorch: torch.set_num_threads({args.threads}), OPENBLAS_NUM_THREADS=1")
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "reps": args.reps, "results": report}, f, indent=2)


if __name__ == "__main__":
    main()
