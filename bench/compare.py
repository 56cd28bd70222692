#!/usr/bin/python3
"""Side-by-side benchmark: tapegrad (build/bench/tg_bench) against PyTorch
(bench/torch_bench.py), each workload interleaved over several repetitions.

    bench/run.sh [--reps 5] [--threads 2 | --threads 1,2] [--blas native,prescott]
                 [--only NAME,...] [--quick] [--json FILE]

Every repetition runs each workload once in each framework (alternating which
goes first), each run in a fresh process that warms up before timing. A table
shows medians with min-max, the ratio tapegrad / reference of the medians, the
speed-up (the ratio turned so that > 1 means tapegrad is faster), the target of
the "Performance on any x86 CPU" issue and whether the median met it: "met
(+N%)" is the margin, "MISSED by N%" how far tapegrad's speed is below the
speed the target asks for. Rows without a target say so.

Conditions: float32; tapegrad with --threads for its pool (OpenBLAS inside at
one thread); PyTorch with torch.set_num_threads(--threads) and
OPENBLAS_NUM_THREADS=1 (its best setting here); both with glibc's default malloc.

Modes: one table per combination of --threads (a comma-separated list: 1,2 gives
a table at 1 thread and one at 2) and --blas (comma-separated):
  native    the environment as given: OpenBLAS picks its kernel set from its CPU
            table and tapegrad upgrades a generic one (see ops/config.cpp).
  prescott  the "CPU OpenBLAS does not know" case: OpenBLAS 0.3.21 falls back to
            its generic SSE3 Prescott kernels on CPUs newer than its table. Both
            sides get OPENBLAS_CORETYPE=Prescott, so PyTorch's OpenBLAS (its
            torch.mm, LSTM and Linear products; its convolutions are oneDNN's and
            unaffected) runs the generic kernels as it would on such a CPU.
            tapegrad deliberately leaves a kernel set chosen with
            OPENBLAS_CORETYPE alone (a user who forces one gets it), so the
            variable alone would not show what tapegrad does on such a CPU. It
            gets TAPEGRAD_BLAS_KERNELS=<the set it would switch to> as well
            (`tg_bench blas_upgrade`: SkylakeX on AVX-512 CPUs, Haswell on AVX2+FMA
            ones, none below): OpenBLAS starts on Prescott and tapegrad switches
            it in-process before its first product, through the same
            gotoblas_dynamic_quit/init path as its automatic upgrade; only the
            reason line of tg::config() reads "TAPEGRAD_BLAS_KERNELS=..." instead
            of "OpenBLAS chose Prescott ...". The sgemm rows' "OpenBLAS direct"
            runs in tg_bench after that switch, on the same kernels as
            tg::matmul (they measure tapegrad's overhead, not the kernel choice).
Before the tables, the configuration of both sides is printed for every mode:
tg::config() (CPU, kernels, OpenBLAS build and kernel set, threads) and
PyTorch's (version, CPU capability, BLAS, and the kernel set of the OpenBLAS it
loaded).

Workloads that need data are skipped with a note when it is missing: MNIST
(lenet_epoch), Fashion-MNIST (resnet_steps), Debian's fortunes (char_lm_*).
A whole resnet or char_lm epoch takes minutes, so those rows time a fixed number
of steps of the trainer's exact model and recipe (shared code: examples/common
on the tapegrad side, bench/resnet_torch.py and bench/char_lm_torch.py on the
PyTorch side).

--quick runs every workload once with a tenth of its steps (the first 6400
images of the MNIST epoch): a smoke test that everything runs, not a measurement.
--json FILE writes every table, with both configurations, as JSON. Exit status
77 (ctest's skip code) when PyTorch cannot be imported.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH = os.path.join(ROOT, "bench", "torch_bench.py")

PT, OB = "PyTorch", "OpenBLAS"
# name, tapegrad workload, reference ("torch:..." or "tg:..."), which value is better,
# target as the issue words it, the speed-up (> 1: tapegrad faster) it amounts to
# (None: no target), a stretch speed-up (or None).
WORKLOADS = [
    ("LeNet-5 train step, batch 32", "lenet_step_b32", "torch:lenet_step_b32", "higher", ">= 2.0x PyTorch", 2.0, None),
    ("LeNet-5 train step, batch 64", "lenet_step_b64", "torch:lenet_step_b64", "higher", ">= 2.0x PyTorch", 2.0, None),
    ("LeNet-5 train step, batch 256", "lenet_step_b256", "torch:lenet_step_b256", "higher", ">= 2.0x PyTorch", 2.0,
     None),
    ("conv2d 64x16->32 28x28 k3 fwd+bwd", "conv_fwd_bwd", "torch:conv_fwd_bwd", "lower", "<= 0.6x PyTorch's time",
     1 / 0.6, None),
    ("seed CNN (binary MNIST CNN) train step, batch 32", "binary_cnn_step_b32", "torch:binary_cnn_step_b32", "lower",
     ">= 4x faster", 4.0, None),
    ("2-16-1 MLP, 5000 full-batch steps", "mlp_5000", "torch:mlp_5000", "lower", ">= 15x faster", 15.0, None),
    ("sgemm 256 via tg::matmul vs OpenBLAS direct", "sgemm_256", "tg:openblas_sgemm_256", "higher",
     ">= 95% of OpenBLAS", 0.95, None),
    ("sgemm 1024 via tg::matmul vs OpenBLAS direct", "sgemm_1024", "tg:openblas_sgemm_1024", "higher",
     ">= 95% of OpenBLAS", 0.95, None),
    ("sgemm 2048 via tg::matmul vs OpenBLAS direct", "sgemm_2048", "tg:openblas_sgemm_2048", "higher",
     ">= 95% of OpenBLAS", 0.95, None),
    ("BatchNorm residual block b64 32ch 28x28 fwd+bwd", "bn_residual_block", "torch:bn_residual_block", "lower",
     ">= 1.0x PyTorch (stretch 1.5x)", 1.0, 1.5),
    ("2-layer LSTM 256, seq 64, batch 32 fwd+bwd", "lstm_fwd_bwd", "torch:lstm_fwd_bwd", "lower",
     ">= 1.0x PyTorch (stretch 1.5x)", 1.0, 1.5),
    ("Transformer encoder layer seq 64, batch 16, d 128, 4 heads, fwd+bwd", "transformer_layer",
     "torch:transformer_layer", "lower", ">= 1.0x PyTorch (stretch 1.5x)", 1.0, 1.5),
    ("LeNet-5 trainer, one MNIST epoch (training loop)", "lenet_epoch", "torch:lenet_epoch", "lower",
     "<= 0.5x PyTorch's time", 2.0, None),
    # The issue sets no number for the trainers' own steps; at least PyTorch's speed,
    # as for the layers they are built from.
    ("resnet trainer, 50 steps (batch 128, augmented, Fashion-MNIST)", "resnet_steps", "torch:resnet_steps", "higher",
     ">= 1.0x PyTorch", 1.0, None),
    ("char_lm trainer, LSTM, 50 steps (batch 32 x 64 chars)", "char_lm_lstm_steps", "torch:char_lm_lstm_steps",
     "higher", ">= 1.0x PyTorch", 1.0, None),
    ("char_lm trainer, Transformer, 50 steps (batch 32 x 64 chars)", "char_lm_transformer_steps",
     "torch:char_lm_transformer_steps", "higher", ">= 1.0x PyTorch", 1.0, None),
]
RSS_ROW = ("peak RSS of the LeNet-5 epoch run", "<= 0.5x PyTorch", 2.0)

BLAS_MODES = ("native", "prescott")


def find_dir(candidates, marker):
    for d in candidates:
        if d and (os.path.exists(os.path.join(d, marker)) or os.path.exists(os.path.join(d, marker + ".gz"))):
            return os.path.abspath(d)
    return None


def standard_places(name):
    places = [os.path.join("/usr/share/datasets", name)]
    if os.environ.get("XDG_CACHE_HOME"):
        places.append(os.path.join(os.environ["XDG_CACHE_HOME"], "tapegrad", name))
    return places + [os.path.expanduser(os.path.join("~/.cache/tapegrad", name))]


def find_data():
    """The directory each data set was found in (None: missing), passed to both sides."""
    mnist = [os.environ.get("TAPEGRAD_DATA", ""), os.path.join(ROOT, "..", "shared", "data", "mnist")]
    mnist_dir = find_dir(mnist + standard_places("mnist"), "train-images-idx3-ubyte")
    if mnist_dir and not os.path.exists(os.path.join(mnist_dir, "train-images-idx3-ubyte.gz")):
        mnist_dir = None  # torch_bench reads the gzipped files only
    fashion_dir = find_dir([os.environ.get("TAPEGRAD_FASHION_DATA", "")] + standard_places("fashion-mnist"),
                           "train-images-idx3-ubyte")
    fortunes = os.environ.get("TAPEGRAD_FORTUNES") or "/usr/share/games/fortunes"
    return {"mnist": mnist_dir, "fashion": fashion_dir, "fortunes": fortunes if os.path.isdir(fortunes) else None}


def data_set_of(workload):
    if workload == "lenet_epoch":
        return "mnist"
    if workload == "resnet_steps":
        return "fashion"
    if workload.startswith("char_lm_"):
        return "fortunes"
    return None


class Mode:
    """One table: a thread count and a BLAS mode, with each side's environment."""

    def __init__(self, threads, blas, upgrade):
        self.threads, self.blas = threads, blas
        self.tg_env, self.torch_env = dict(os.environ), dict(os.environ, OPENBLAS_NUM_THREADS="1")
        if blas == "prescott":
            self.tg_env["OPENBLAS_CORETYPE"] = self.torch_env["OPENBLAS_CORETYPE"] = "Prescott"
            if upgrade:
                self.tg_env["TAPEGRAD_BLAS_KERNELS"] = upgrade
            else:
                self.tg_env.pop("TAPEGRAD_BLAS_KERNELS", None)

    def title(self):
        blas = ("OpenBLAS kernels as found" if self.blas == "native" else
                "OPENBLAS_CORETYPE=Prescott both sides" +
                (f", tapegrad TAPEGRAD_BLAS_KERNELS={self.tg_env['TAPEGRAD_BLAS_KERNELS']}"
                 if "TAPEGRAD_BLAS_KERNELS" in self.tg_env else ""))
        return f"{self.threads} thread{'s' if self.threads > 1 else ''}, {blas}"


def run_one(args, mode, kind, workload, data_dir):
    if kind == "torch":
        cmd, env = ["/usr/bin/python3", TORCH, workload], mode.torch_env
    else:
        cmd, env = [args.tg_bench, workload], mode.tg_env
    cmd += ["--threads", str(mode.threads)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    if args.quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


TORCH_INFO = r"""
import ctypes, re, sys, torch
show = torch.__config__.show()
print("PyTorch", torch.__version__)
for line in show.splitlines():
    if "CPU capability" in line or "MKL-DNN" in line or "OpenMP" in line:
        print("  " + line.strip(" -"))
print("  " + ", ".join(re.findall(r"(?:BLAS_INFO|USE_MKLDNN|USE_OPENMP)=[^,]*", show)))
torch.set_num_threads(int(sys.argv[1]))
print("  threads:", torch.get_num_threads(), "(torch.set_num_threads); OpenBLAS: OPENBLAS_NUM_THREADS=1")
torch.mm(torch.rand(64, 64), torch.rand(64, 64))
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "openblas" in l.lower() and ".so" in l})
for path in libs:
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        print("  OpenBLAS kernel set:", lib.openblas_get_corename().decode(), "(" + path + ")")
        break
    except (OSError, AttributeError):
        continue
else:
    print("  OpenBLAS: not loaded by PyTorch")
"""


def configs(args, mode):
    """tapegrad's and PyTorch's configuration texts in this mode; None for PyTorch when it cannot be imported."""
    tg = subprocess.run([args.tg_bench, "config", "--threads", str(mode.threads)], capture_output=True, text=True,
                        env=mode.tg_env)
    if tg.returncode != 0:
        sys.exit(f"{args.tg_bench} config failed (build it: bench/run.sh builds it): {tg.stderr.strip()}")
    ref = subprocess.run(["/usr/bin/python3", "-c", TORCH_INFO, str(mode.threads)],
                         capture_output=True, text=True, env=mode.torch_env)
    return tg.stdout.rstrip(), (ref.stdout.rstrip() if ref.returncode == 0 else None), ref.stderr.strip()[-300:]


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def status(speedup, need, stretch):
    """'met (+12%)' / 'MISSED by 19%': the margin, or how far tapegrad's speed is
    below the speed the target asks for; the stretch goal after a met target."""
    if need is None:
        return "no target"
    if speedup < need:
        return f"MISSED by {100 * (1 - speedup / need):.0f}%"
    text = f"met (+{100 * (speedup / need - 1):.0f}%)"
    if stretch:
        text += "; stretch " + ("met" if speedup >= stretch else f"missed by {100 * (1 - speedup / stretch):.0f}%")
    return text


def run_table(args, mode, chosen, data):
    results = {w[1]: {"tg": [], "ref": [], "tg_rss": [], "ref_rss": [], "unit": ""} for w in chosen}
    for rep in range(args.reps):
        for name, tg_w, ref, better, target, need, stretch in chosen:
            ref_kind, ref_w = ref.split(":")
            order = [("tg", tg_w, "tg"), (ref_kind, ref_w, "ref")]
            if rep % 2:
                order.reverse()
            dataset = data_set_of(tg_w)
            for kind, w, slot in order:
                r = run_one(args, mode, kind, w, data[dataset] if dataset else None)
                results[tg_w][slot].append(r["value"])
                results[tg_w][slot + "_rss"].append(r["peak_rss_mb"])
                results[tg_w]["unit"] = r["unit"]
        print(f"[{mode.title()}] repetition {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)

    rows, report = [], []
    for name, tg_w, ref, better, target, need, stretch in chosen:
        r = results[tg_w]
        tg, rf = summary(r["tg"]), summary(r["ref"])
        ratio = tg["median"] / rf["median"]
        speedup = ratio if better == "higher" else 1 / ratio
        ref_name = OB if ref.startswith("tg:") else PT
        verdict = status(speedup, need, stretch)
        rows.append((name, f"{tg['median']:.4g} ({tg['min']:.4g}-{tg['max']:.4g})",
                     f"{rf['median']:.4g} ({rf['min']:.4g}-{rf['max']:.4g}) {ref_name}", r["unit"],
                     f"{ratio:.2f}", f"{speedup:.2f}x", target, verdict))
        report.append({"workload": tg_w, "name": name, "unit": r["unit"], "tapegrad": tg, "reference": rf,
                       "reference_kind": ref_name, "ratio_tapegrad_over_reference": ratio, "speedup": speedup,
                       "target": target, "target_speedup": need, "stretch_speedup": stretch, "status": verdict,
                       "tapegrad_peak_rss_mb": statistics.median(r["tg_rss"]),
                       "reference_peak_rss_mb": statistics.median(r["ref_rss"])})
    if "lenet_epoch" in results:
        r = results["lenet_epoch"]
        tg_rss, ref_rss = statistics.median(r["tg_rss"]), statistics.median(r["ref_rss"])
        name, target, need = RSS_ROW
        verdict = status(ref_rss / tg_rss, need, None)
        rows.append((name, f"{tg_rss:.0f}", f"{ref_rss:.0f} PyTorch", "MB", f"{tg_rss / ref_rss:.2f}",
                     f"{ref_rss / tg_rss:.2f}x less", target, verdict))
        report.append({"workload": "lenet_epoch_peak_rss", "name": name, "unit": "MB",
                       "tapegrad": {"median": tg_rss}, "reference": {"median": ref_rss}, "reference_kind": PT,
                       "ratio_tapegrad_over_reference": tg_rss / ref_rss, "speedup": ref_rss / tg_rss,
                       "target": target, "target_speedup": need, "stretch_speedup": None, "status": verdict})

    headers = ("workload", "tapegrad median (min-max)", "reference median (min-max)", "unit", "ratio tg/ref",
               "speed-up", "target", "status")
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    quick = "; --quick: a smoke test, not a measurement" if args.quick else ""
    met = sum(1 for r in report if r["status"].startswith("met"))
    targeted = sum(1 for r in report if r["target_speedup"] is not None)
    print(f"\n== {mode.title()}: {args.reps} repetition{'s' if args.reps > 1 else ''}{quick}; tapegrad: its pool "
          f"at {mode.threads}, OpenBLAS inside at 1; PyTorch: torch.set_num_threads({mode.threads}), "
          f"OPENBLAS_NUM_THREADS=1; " + (f"{met} of {targeted} targets met" if targeted else "no targets in this table"))
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    sys.stdout.flush()
    return report


def comma_list(text, convert, allowed=None):
    try:
        items = [convert(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        items = []
    if not items or (allowed and any(x not in allowed for x in items)):
        what = "/".join(allowed) if allowed else convert.__name__ + "s"
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, got {text!r}")
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=None, help="repetitions per table (default 5; 1 with --quick)")
    ap.add_argument("--threads", type=lambda t: comma_list(t, int), default=[2],
                    help="thread counts, comma-separated: one table each (default 2)")
    ap.add_argument("--blas", type=lambda t: comma_list(t, str, BLAS_MODES), default=["native"],
                    help="BLAS modes, comma-separated: native, prescott (default native)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--only", help="comma-separated tapegrad workload names")
    ap.add_argument("--quick", action="store_true", help="one repetition of a tenth of the steps: a smoke test")
    ap.add_argument("--tg-bench", default=os.path.join(ROOT, "build", "bench", "tg_bench"),
                    help="the tapegrad side (default build/bench/tg_bench)")
    args = ap.parse_args()
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.reps < 1 or any(t < 1 for t in args.threads):
        ap.error("--reps and --threads must be positive")

    chosen = [w for w in WORKLOADS if not args.only or w[1] in args.only.split(",")]
    if args.only:
        unknown = set(args.only.split(",")) - {w[1] for w in WORKLOADS}
        if unknown:
            ap.error(f"--only: unknown workloads {', '.join(sorted(unknown))}; known: "
                     f"{', '.join(w[1] for w in WORKLOADS)}")
    data = find_data()
    for w in list(chosen):
        dataset = data_set_of(w[1])
        if dataset and data[dataset] is None:
            print(f"{dataset} not found: skipping {w[1]}", file=sys.stderr)
            chosen.remove(w)

    # What an OpenBLAS that fell back to Prescott gets switched to by tapegrad on this CPU.
    upgrade = ""
    if "prescott" in args.blas:
        out = subprocess.run([args.tg_bench, "blas_upgrade"], capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"})
        if out.returncode != 0:
            sys.exit(f"{args.tg_bench} blas_upgrade failed: {out.stderr.strip()}")
        upgrade = out.stdout.strip()
    modes = [Mode(t, b, upgrade) for b in args.blas for t in args.threads]

    # Every mode's configuration first: a table means little without its CPU and kernels.
    mode_configs = []
    for mode in modes:
        tg_text, torch_text, torch_error = configs(args, mode)
        if torch_text is None:
            print(f"PyTorch cannot be imported by /usr/bin/python3 (bench/run.sh installs python3-torch): "
                  f"{torch_error}", file=sys.stderr)
            sys.exit(77)
        print(f"== configuration, {mode.title()}")
        print(tg_text)
        print(torch_text)
        print(flush=True)
        mode_configs.append({"tapegrad": tg_text, "pytorch": torch_text})

    tables = []
    for mode, config in zip(modes, mode_configs):
        report = run_table(args, mode, chosen, data)
        tables.append({"threads": mode.threads, "blas": mode.blas, "title": mode.title(),
                       "environment": {k: mode.tg_env.get(k) for k in ("OPENBLAS_CORETYPE", "TAPEGRAD_BLAS_KERNELS")},
                       "config": config, "results": report})
    if args.json:
        out = {"reps": args.reps, "quick": args.quick, "tables": tables}
        if len(tables) == 1:  # the layout of a single table before modes existed
            out.update(threads=tables[0]["threads"], results=tables[0]["results"])
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
