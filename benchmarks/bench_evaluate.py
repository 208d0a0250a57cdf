"""Time `evaluate` on 10,000 Fashion-MNIST samples and check that real images rank above degraded ones.

Not a test: run by hand, e.g. ``python benchmarks/bench_evaluate.py`` (add ``--run runs/fm-gan`` to also time a
trained run). Sample sets, each of n images evaluated against the test split:
- real: the test images themselves (what ``ganvae evaluate test.npy --data fashion-mnist`` sees);
- blurred: the same images after a 3x3 box blur;
- one class: n training images of one class (drawn with replacement), a collapsed generator's output.
The first evaluation runs with an empty cache (it embeds the 60,000 training images once for memorisation);
the others reuse the cached real statistics. The command line is timed once as a user runs it.
"""

import argparse
import subprocess
import sys
import tempfile
import time
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganvae.config import DataConfig
from ganvae.data import load_dataset
from ganvae.metrics import METRIC_INFO
from ganvae.evaluation import evaluate, format_table
from ganvae.report.aggregate import better


def blur(images: np.ndarray) -> np.ndarray:
    return F.avg_pool2d(torch.from_numpy(images), 3, stride=1, padding=1, count_include_pad=False).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--n-eval", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one-class", type=int, default=1, help="class of the collapsed sample (1 = trousers)")
    parser.add_argument("--run", help="also time a trained run folder")
    parser.add_argument("--keep-cache", action="store_true", help="use the user's cache instead of a fresh one")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if not args.keep_cache:
        os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="ganvae-bench-")
    test = load_dataset(DataConfig(name="fashion-mnist", split="test", download=False))
    train = load_dataset(DataConfig(name="fashion-mnist", split="train", download=False))
    real = test.x[:args.n_eval].numpy()
    one_class = train.x[train.y == args.one_class].numpy()
    sample_sets = {
        "real": real,
        "blurred": blur(real),
        "one class": one_class[np.random.default_rng(0).integers(0, len(one_class), args.n_eval)],
    }
    print(f"{args.threads} torch threads, {os.cpu_count()} CPUs, cache {os.environ.get('XDG_CACHE_HOME')}")
    results = {}
    for name, samples in sample_sets.items():
        start = time.perf_counter()
        results[name] = evaluate(samples, data="fashion-mnist", n_eval=args.n_eval)
        print(f"{name:10s} {time.perf_counter() - start:6.1f} s"
              f"{'  (empty cache: includes the 60,000 training images)' if name == 'real' else ''}", flush=True)
    start = time.perf_counter()
    evaluate(sample_sets["real"], data="fashion-mnist", n_eval=args.n_eval)
    print(f"{'real again':10s} {time.perf_counter() - start:6.1f} s  (warm cache)")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "real.npy"
        np.save(path, real)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ganvae", "evaluate", str(path), "--data", "fashion-mnist",
                        "-n", str(args.n_eval)], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
        print(f"{'CLI':10s} {time.perf_counter() - start:6.1f} s  (`ganvae evaluate real.npy`, warm cache, "
              f"with process start)")
    if args.run:
        start = time.perf_counter()
        run_result = evaluate(args.run, data="fashion-mnist", n_eval=args.n_eval, prior="normal")
        print(f"{'run':10s} {time.perf_counter() - start:6.1f} s  {args.run}")
        print(format_table(run_result))

    print(f"\n{'metric':20s} {'real':>10s} {'blurred':>10s} {'one class':>10s}  better  real ranks first?")
    for metric, info in METRIC_INFO.items():
        values = [results[name]["metrics"][metric] for name in sample_sets]
        if all(v is None for v in values):
            continue
        real_value, others = values[0], values[1:]
        ranks = [better(metric, real_value, v) for v in others]  # the report's rule, targets included
        verdict = ["-" if r is None else "yes" if r else "no" for r in ranks]
        shown = " ".join(f"{v:10.4g}" for v in values)
        way = f"near {info['target']:g}" if info["direction"] == "target" else info["direction"]
        print(f"{metric:20s} {shown}  {way:9s}  vs blurred {verdict[0]}, vs one class {verdict[1]}")


if __name__ == "__main__":
    main()
