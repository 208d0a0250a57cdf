"""Below what training-set size DiffAugment helps ganvae's conv GAN: the measurement behind `--augment auto`.

    python benchmarks/augment_threshold.py [--sizes 500 1000 2000 4000] [--seeds 0] [--steps 1500] \
        [--n-eval 2000] [--out runs/augment-threshold]

For each size N, a random subset of N Fashion-MNIST training images (`--n-examples N`, the subset drawn with the
data seed 0), the default conv GAN trains for the same number of steps with `--augment off` and with `--augment
on`, one process per run, one after the other (a budget in steps, so the machine's load does not change what is
trained). Each run is scored by `ganvae evaluate` on N-EVAL samples against the test split (the shipped
classifier's features): the FID a user sees on unseen data, which is what an over-fitted discriminator spoils.
The table gives FID per seed and the ratio on/off (below 1: augmentation helps). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from quality_per_minute import write_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--n-eval", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("runs/augment-threshold"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        for size in args.sizes:
            for augment in ("off", "on"):
                run_dir = args.out / f"n{size}-{augment}-seed{seed}"
                command = [sys.executable, "-m", "ganvae", "train", "gan", "--data", "fashion-mnist", "--n-examples",
                           str(size), "--augment", augment, "--steps", str(args.steps), "--seed", str(seed),
                           "--out", str(run_dir), "--no-progress"]
                print("$", " ".join(command), flush=True)
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                runs.append({"size": size, "augment": augment, "seed": seed, "run": str(run_dir)})

    import ganvae  # scored after all training

    for run in runs:
        run["fid"] = ganvae.evaluate(run["run"], n_eval=args.n_eval, split="test")["metrics"]["fid"]
        print(json.dumps(run), flush=True)
    (args.out / "results.json").write_text(json.dumps(runs, indent=2) + "\n")
    lines = [f"Fashion-MNIST subsets, {args.steps} steps of the default conv GAN, FID of {args.n_eval} samples "
             f"against the test split (lower is better), seeds {args.seeds}.", "",
             "| training images | FID, augment off | FID, augment on | ratio on / off (mean) |", "|---|---|---|---|"]
    for size in args.sizes:
        off = [r["fid"] for r in runs if r["size"] == size and r["augment"] == "off"]
        on = [r["fid"] for r in runs if r["size"] == size and r["augment"] == "on"]
        lines.append(f"| {size:,} | {', '.join(f'{v:.1f}' for v in off)} | {', '.join(f'{v:.1f}' for v in on)} | "
                     f"{statistics.fmean(on) / statistics.fmean(off):.2f} |")
    write_table(args.out, lines)


if __name__ == "__main__":
    main()
