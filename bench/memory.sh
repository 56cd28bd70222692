#!/usr/bin/env bash
# Peak resident memory (getrusage ru_maxrss) of whole programs, tapegrad
# (build/bench/memory_rss) beside PyTorch (bench/memory_rss_torch.py, Debian's
# python3-torch), each run a fresh process:
#   - one LeNet-5 training epoch on MNIST (batch 64);
#   - MNIST loaded, normalised once as a user writes it, (x - mean) / std, then
#     --steps LeNet-5 steps (default 300); and the same normalised in place
#     (sub_/div_, PyTorch's sub_/div_).
# Prints a table: peak and final RSS of each side and the ratio of the peaks.
#
#   bench/memory.sh [--no-build] [--reps N] [--steps N] [--threads N] [--data-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=0; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ $build == 1 ]]; then
  scripts/install-deps.sh python3-torch
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_BENCH=ON >/dev/null
  cmake --build build --target memory_rss
fi

exec /usr/bin/python3 - "${args[@]}" <<'EOF'
import argparse, json, os, statistics, subprocess, sys

p = argparse.ArgumentParser()
p.add_argument("--reps", type=int, default=1)
p.add_argument("--steps", type=int, default=300)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--data-dir", default="")
a = p.parse_args()

root = os.getcwd()
data_dir = a.data_dir
if not data_dir:
    for d in [os.environ.get("TAPEGRAD_DATA", ""), os.path.join(root, "..", "shared", "data", "mnist"),
              "/usr/share/datasets/mnist", os.path.expanduser("~/.cache/tapegrad/mnist")]:
        if d and os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            data_dir = os.path.abspath(d)
            break
if not data_dir:
    sys.exit("bench/memory.sh: MNIST not found; pass --data-dir DIR (the four IDX .gz files)")

WORKLOADS = [
    ("LeNet-5, one MNIST epoch", "lenet_epoch", "<= 0.5x"),
    ("MNIST normalised once, then %d steps" % a.steps, "normalise_train", "<= 1.0x"),
    ("  the same, normalised in place", "normalise_train_inplace", "<= 1.0x"),
]

def run(kind, workload):
    common = ["--threads", str(a.threads), "--data-dir", data_dir, "--steps", str(a.steps)]
    env = dict(os.environ)
    if kind == "torch":
        env["OPENBLAS_NUM_THREADS"] = "1"
        cmd = ["/usr/bin/python3", os.path.join(root, "bench", "memory_rss_torch.py"), workload] + common
    else:
        cmd = [os.path.join(root, "build", "bench", "memory_rss"), workload] + common
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])

print("peak RSS (getrusage ru_maxrss), MiB; %d threads; median of %d run(s); data %s" % (a.threads, a.reps, data_dir))
print("| program | tapegrad peak | PyTorch peak | ratio | target | tapegrad at the end (cached) | PyTorch at the end |")
print("|---|---|---|---|---|---|---|")
for name, w, target in WORKLOADS:
    tg, th = [], []
    for rep in range(a.reps):
        order = ["tg", "torch"] if rep % 2 == 0 else ["torch", "tg"]
        for kind in order:
            (tg if kind == "tg" else th).append(run(kind, w))
    tp = statistics.median(r["peak_rss_mb"] for r in tg)
    pp = statistics.median(r["peak_rss_mb"] for r in th)
    te = statistics.median(r["end_rss_mb"] for r in tg)
    tc = statistics.median(r["cached_mb"] for r in tg)
    pe = statistics.median(r["end_rss_mb"] for r in th)
    print("| %s | %.0f | %.0f | %.2fx | %s | %.0f (%.0f) | %.0f |" % (name, tp, pp, tp / pp, target, te, tc, pe))
EOF
