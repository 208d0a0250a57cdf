"""Images per second of `ganvae train` on one process and on several with torchrun, and the scaling efficiency.

    python benchmarks/bench_distributed.py [--steps 300] [--families gan vae] [--nproc 2] [--device cpu]

For each family (conv networks on Fashion-MNIST, the command of the README's scale-out section) it runs, one after
the other:
- `1 process x T threads`: what a user runs without torchrun, all T cores in one process;
- `1 process x T/N threads`: one process with a single rank's share of the cores (the scaling reference);
- `torchrun N processes x T/N threads`: the same global batch shared by N ranks.
Speed is images per second of training, read from each run's log (its last row: images seen / training seconds,
so start-up, data loading and figures are left out). Scaling efficiency = (N-process speed) / (N x the speed of
one process with a rank's share of the cores). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def speed(run_dir: Path) -> tuple[float, int]:
    """(images per second, steps) from the last row of a run's log."""
    with open(run_dir / "log.csv", newline="") as f:
        last = list(csv.DictReader(f))[-1]
    return int(last["images_seen"]) / float(last["seconds"]), int(last["step"])


def train(out: Path, family: str, steps: int, threads: int, nproc: int, device: str) -> tuple[float, int]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    env.pop("WORLD_SIZE", None)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"] \
        if nproc > 1 else [sys.executable]
    command = [*launcher, "-m", "ganvae", "train", family, "--data", "fashion-mnist", "--arch", "conv",
               "--steps", str(steps), "--device", device, "--no-progress", "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return speed(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--families", nargs="+", default=["gan", "vae"])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="cores for the whole job (default: all this process may use)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    per_rank = max(1, args.threads // args.nproc)
    rows = ["| family | setting | images/s | ratio to 1 process x all cores |", "|---|---|---|---|"]
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families:
            full, _ = train(Path(tmp) / f"{family}-1x{args.threads}", family, args.steps, args.threads, 1,
                            args.device)
            share, _ = train(Path(tmp) / f"{family}-1x{per_rank}", family, args.steps, per_rank, 1, args.device)
            ranks, _ = train(Path(tmp) / f"{family}-{args.nproc}x{per_rank}", family, args.steps, per_rank,
                             args.nproc, args.device)
            rows += [f"| {family} | 1 process x {args.threads} threads | {full:.0f} | 1.00 |",
                     f"| {family} | 1 process x {per_rank} thread{'s' * (per_rank > 1)} | {share:.0f} | "
                     f"{share / full:.2f} |",
                     f"| {family} | torchrun {args.nproc} processes x {per_rank} thread{'s' * (per_rank > 1)} | "
                     f"{ranks:.0f} | {ranks / full:.2f} |"]
            notes.append(f"{family}: scaling efficiency {ranks / (args.nproc * share):.2f} "
                         f"({args.nproc} processes against {args.nproc} x one process with a rank's cores)")
    print(f"`ganvae train FAMILY --data fashion-mnist --arch conv --steps {args.steps} --device {args.device}`, "
          f"default batch (global), default precision:\n")
    print("\n".join(rows))
    print()
    print("\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    main()
