"""Scaling: training time per epoch and peak memory as the dataset and the batch grow, plotted.

    python benchmarks/bench_scaling.py [--family gan] [--arch mlp] [--figure docs/figures/scaling.png]

Each point is one process (so its peak resident memory is its own): Fashion-MNIST cut to N examples, one epoch
of `ganvae.Model(family, arch)` with batch B and no run folder, then `ganvae.evaluate` of 2,000 samples against
the N training images (its nearest-neighbour search included, since memorisation compares samples with them).
Sizes N = 1k, 4k, 15k, 60k at batch 128; batches B = 32, 128, 512, 1024 at N = 15k. Linear scaling shows as
seconds per epoch proportional to N (the dotted line) and flat seconds per 10k images across N.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

SIZES = (1_000, 4_000, 15_000, 60_000)
BATCHES = (32, 128, 512, 1024)


def one(family: str, arch: str, n: int, batch_size: int) -> None:
    import ganvae

    data = ganvae.load_dataset("fashion-mnist", n_examples=n)
    model = ganvae.Model(family, arch=arch, epochs=1, batch_size=batch_size, seed=0, device="cpu",
                         progress=False).fit(data)
    start = time.perf_counter()
    ganvae.evaluate(model, data=ganvae.DataConfig(name="fashion-mnist", n_examples=n), split="train", n_eval=2_000)
    evaluate_seconds = time.perf_counter() - start
    print(json.dumps({"n": n, "batch": batch_size, "epoch_seconds": model.state_.seconds,
                      "evaluate_seconds": evaluate_seconds,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(family: str, arch: str, n: int, batch_size: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--one", str(n), str(batch_size), "--family", family,
                           "--arch", arch], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def plot(by_size: list[dict], by_batch: list[dict], figure: Path, title: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.6), dpi=100)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    n = [r["n"] for r in by_size]
    epoch = [r["epoch_seconds"] for r in by_size]
    ax1.loglog(n, epoch, "o-", label="one epoch")
    ax1.loglog(n, [epoch[0] * k / n[0] for k in n], ":", color="grey", label="linear in N")
    ax1.loglog(n, [r["evaluate_seconds"] for r in by_size], "s-", label="evaluate (2k samples vs N)")
    ax1.set(xlabel="training examples N", ylabel="seconds", title="time, batch 128")
    ax1.legend(fontsize=8)
    ax2.semilogx(n, [r["peak_mib"] for r in by_size], "o-")
    ax2.set(xlabel="training examples N", ylabel="peak resident MiB", title="peak memory, batch 128")
    batches = [r["batch"] for r in by_batch]
    ax3.semilogx(batches, [1e4 * r["epoch_seconds"] / r["n"] for r in by_batch], "o-", base=2)
    ax3.set(xlabel="batch size", ylabel="seconds per 10k images", title=f"batch size, N = {by_batch[0]['n']:,}")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="gan")
    parser.add_argument("--arch", default="mlp")
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/scaling.png"))
    parser.add_argument("--one", nargs=2, type=int, metavar=("N", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.family, args.arch, *args.one)
        return
    by_size = [measure(args.family, args.arch, n, 128) for n in SIZES]
    by_batch = [measure(args.family, args.arch, 15_000, b) for b in BATCHES]
    lines = ["| N | batch | seconds per epoch | seconds per 10k images | evaluate seconds | peak MiB |",
             "|---|---|---|---|---|---|"]
    for r in by_size + by_batch:
        lines.append(f"| {r['n']:,} | {r['batch']} | {r['epoch_seconds']:.2f} | "
                     f"{1e4 * r['epoch_seconds'] / r['n']:.2f} | {r['evaluate_seconds']:.2f} | {r['peak_mib']:.0f} |")
    plot(by_size, by_batch, args.figure, f"ganvae {args.family} ({args.arch}) on Fashion-MNIST, one process per point")
    print("\n".join(lines))
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
