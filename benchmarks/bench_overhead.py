"""What ganvae's loop costs over a bare loop of the same model, and how it compares with the tutorial loop.

    python benchmarks/bench_overhead.py [--steps 250] [--repeats 12] [--separate-processes] [--tutorial-epochs 3]
        [--tutorial-repeats 6] [--cases gan:conv ...]

1. Overhead, for each family and architecture: ganvae's loop as `ganvae train` runs it (`ganvae.train.loop.fit`
   with a run folder: progress bar, log rows, checkpoints at the start, every 500 steps and at the end) against a
   bare loop of the same networks and optimisers (the family built by ganvae, the data preloaded, each phase's
   zero_grad/loss/backward/step in the precision ganvae trains it in, and the family's after_step hook, nothing
   else). By default both run in one process per case, alternating blocks of --steps steps on the same networks,
   so that both meet the same state of a shared machine; --separate-processes times `ganvae train` (its
   status.json) and the bare loop as separate processes instead, whose speeds drift by 10-30% from run to run
   here. The overhead is the median over the pairs of ganvae's time / the bare loop's - 1.
2. The tutorial loop (benchmarks/baselines/tutorial_gan.py: a per-item Dataset and a DataLoader) against
   `ganvae train gan --arch seed` for the same epochs on Fashion-MNIST, whole processes timed by the wall clock,
   with the same model's bare preloaded loop (tutorial_gan.py --pipeline preloaded) as the ceiling.
A benchmark, not a test: it prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = (("gan", "mlp"), ("gan", "conv"), ("vae", "mlp"), ("vae", "conv"))


def build(family_name: str, arch: str):
    """(data, family, resolved config) as `ganvae train` builds them, after one step of training."""
    import ganvae

    data = ganvae.load_dataset("fashion-mnist")
    model = ganvae.Model(family_name, arch=arch, steps=1, seed=0, device="cpu", progress=False).fit(data)
    return data, model.family_, model.config_


def bare_loop(family, cfg, x, steps: int) -> float:
    """Seconds for `steps` steps of the bare loop: each phase's zero_grad/loss/backward/step in the precision ganvae
    trains the model in, and the family's after_step hook, nothing else."""
    import torch

    from ganvae.families import Batch
    from ganvae.train.loop import _Trainable, autocast_for, make_optimizers

    autocast, _ = autocast_for(torch.device("cpu"), cfg.precision)
    family.train()
    optimizers = make_optimizers(family, cfg)
    phases = family.phases()
    batch_size = cfg.optim.batch_size
    trainable = _Trainable(family, phases)  # only what a phase updates gets gradients, as in ganvae's loop
    order, position = torch.randperm(len(x)), 0
    start = time.perf_counter()
    for step in range(steps):
        if position + batch_size > len(x):
            order, position = torch.randperm(len(x)), 0
        batch = Batch(x[order[position:position + batch_size]])
        position += batch_size
        for phase in phases:
            if step % phase.every:
                continue
            trainable.enter(phase)
            optimizer = optimizers[phase.optimizer_name]
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = phase.loss(batch)["loss"]
            loss.backward()
            optimizer.step()
            family.after_step(phase, step)
    seconds = time.perf_counter() - start
    trainable.restore()
    return seconds


def bare(family_name: str, arch: str, steps: int) -> None:
    """The bare loop, in this process: prints images per second as JSON."""
    data, family, cfg = build(family_name, arch)
    seconds = bare_loop(family, cfg, data.x, steps)
    print(json.dumps({"images_per_second": steps * cfg.optim.batch_size / seconds}))


def in_process(family_name: str, arch: str, steps: int, blocks: int) -> tuple[float, float, list[float]]:
    """ganvae's loop and the bare loop in one process, alternating blocks of `steps` steps on the same networks,
    so both meet the same state of a shared machine: (ganvae images/s, bare images/s, each pair's time ratio).
    ganvae's block is `ganvae.train.loop.fit` as `ganvae train` calls it: a new run folder with its log rows and
    checkpoints (one at the start, every 500 steps and at the end), the progress bar drawn to stderr."""
    from dataclasses import replace

    from ganvae.config import BudgetConfig
    from ganvae.train import loop

    data, family, cfg = build(family_name, arch)
    cfg = replace(cfg, budget=BudgetConfig(steps=steps))
    ours, theirs = [], []

    def ganvae_block() -> None:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            loop.fit(family, data.x, cfg, run_dir=Path(folder), progress=True)
            ours.append(time.perf_counter() - start)

    def bare_block() -> None:
        theirs.append(bare_loop(family, cfg, data.x, steps))

    for k in range(blocks):
        for block in ((ganvae_block, bare_block) if k % 2 == 0 else (bare_block, ganvae_block)):
            block()
    images = steps * cfg.optim.batch_size
    return images / statistics.median(ours), images / statistics.median(theirs), [o / t for o, t in zip(ours, theirs)]


def ganvae_speed(family: str, arch: str, steps: int, folder: Path) -> float:
    out = folder / f"{family}-{arch}-{time.monotonic_ns()}"
    with open(folder / "progress.txt", "w") as bar:  # the progress bar is drawn, as for a user
        subprocess.run([sys.executable, "-m", "ganvae", "train", family, "--arch", arch, "--data", "fashion-mnist",
                        "--steps", str(steps), "--seed", "0", "--out", str(out)], check=True, stdout=bar, stderr=bar)
    status = json.loads((out / "status.json").read_text())
    return status["images_seen"] / status["seconds"]


def bare_speed(family: str, arch: str, steps: int) -> float:
    done = subprocess.run([sys.executable, __file__, "--bare", family, arch, "--steps", str(steps)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["images_per_second"]


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def tutorial_comparison(epochs: float, repeats: int, folder: Path) -> str:
    """Whole processes, each repeat running these in a rotated order: the tutorial loop; the same model's bare
    preloaded loop (the ceiling of any loop of this model: what is left is start-up, data and the steps); `ganvae
    train gan --arch seed` as a user runs it (the article's networks, and ganvae's moving average of the generator's
    weights updated after every generator step); and the same without the average, the tutorial's model exactly.
    Ratios are medians of the ratios within each repeat."""
    tutorial = [sys.executable, str(HERE / "baselines" / "tutorial_gan.py"), "--epochs", str(epochs)]
    ganvae = [sys.executable, "-m", "ganvae", "train", "gan", "--arch", "seed", "--data", "fashion-mnist",
              "--epochs", str(epochs), "--no-progress"]
    first, ceiling = "the tutorial loop", "its model's bare preloaded loop (the ceiling)"
    commands = {first: lambda k: tutorial,
                ceiling: lambda k: tutorial + ["--pipeline", "preloaded"],
                "ganvae train gan --arch seed": lambda k: ganvae + ["--out", str(folder / f"seed-{k}")],
                "the same with --ema-decay 0 (the tutorial's model)":
                    lambda k: ganvae + ["--ema-decay", "0", "--out", str(folder / f"plain-{k}")]}
    times = {name: [] for name in commands}
    for k in range(repeats):
        order = list(commands)
        for name in order[k % len(order):] + order[:k % len(order)]:
            times[name].append(wall(commands[name](k)))
        print(f"tutorial repeat {k + 1}: " + ", ".join(f"{t[-1]:.1f} s" for t in times.values()),
              file=sys.stderr, flush=True)

    def ratio(slower: str, faster: str) -> float:
        return statistics.median(s / f for s, f in zip(times[slower], times[faster]))

    lines = [f"Tutorial loop vs `ganvae train gan --arch seed`, {epochs:g} epochs of Fashion-MNIST, whole processes, "
             f"{repeats} repeats in rotated order (medians; ratios are medians of the ratios within a repeat):", "",
             "| process | seconds | faster than the tutorial | time against the bare preloaded loop |",
             "|---|---|---|---|"]
    for name in times:
        lines.append(f"| {name} | {statistics.median(times[name]):.1f} | {ratio(first, name):.2f}x | "
                     f"{ratio(name, ceiling):.2f}x |")
    return "\n".join(lines)


def separate_processes(family: str, arch: str, steps: int, repeats: int,
                       folder: Path) -> tuple[float, float, list[float]]:
    """`ganvae train` and the bare loop as separate processes, interleaved: (ganvae images/s, bare images/s, each
    pair's time ratio)."""
    ours, theirs = [], []
    for k in range(repeats):
        pair = [lambda: ours.append(ganvae_speed(family, arch, steps, folder)),
                lambda: theirs.append(bare_speed(family, arch, steps))]
        for measure in (pair if k % 2 == 0 else pair[::-1]):
            measure()
    return statistics.median(ours), statistics.median(theirs), [t / o for o, t in zip(ours, theirs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=250, help="steps of each block (of each run, with "
                                                                  "--separate-processes)")
    parser.add_argument("--repeats", type=int, default=12, help="pairs of blocks (of runs)")
    parser.add_argument("--separate-processes", action="store_true",
                        help="time `ganvae train` and the bare loop as separate processes (default: alternating "
                             "blocks in one process, which a shared machine's drift affects far less)")
    parser.add_argument("--tutorial-epochs", type=float, default=3, help="0 skips the tutorial comparison")
    parser.add_argument("--tutorial-repeats", type=int, default=6,
                        help="repeats of the tutorial comparison (its single runs scatter by 20-40%% here)")
    parser.add_argument("--cases", nargs="*", metavar="FAMILY:ARCH", default=[f"{f}:{a}" for f, a in CASES],
                        help="family:arch pairs to measure (default: all four; none: the tutorial only)")
    parser.add_argument("--bare", nargs=2, metavar=("FAMILY", "ARCH"), help=argparse.SUPPRESS)
    parser.add_argument("--alternate", nargs=2, metavar=("FAMILY", "ARCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare(*args.bare, args.steps)
        return
    if args.alternate:
        print(json.dumps(in_process(*args.alternate, args.steps, args.repeats)))
        return
    how = ("separate processes, interleaved" if args.separate_processes else
           f"one process per case, {args.repeats} pairs of alternating blocks of {args.steps} steps")
    lines = [f"`ganvae train`'s loop against a bare loop of the same networks ({how}):", "",
             "| family | arch | ganvae images/s | bare loop images/s | overhead: median [quartiles] of the pairs |",
             "|---|---|---|---|---|"] if args.cases else []
    with tempfile.TemporaryDirectory() as folder:
        for family, arch in (case.split(":") for case in args.cases):
            if args.separate_processes:
                ours, theirs, ratios = separate_processes(family, arch, args.steps, args.repeats, Path(folder))
            else:
                done = subprocess.run([sys.executable, __file__, "--alternate", family, arch, "--steps",
                                       str(args.steps), "--repeats", str(args.repeats)],
                                      check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                ours, theirs, ratios = json.loads(done.stdout.strip().splitlines()[-1])
            low, middle, high = (statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1
                                 else ratios * 3)
            lines.append(f"| {family} | {arch} | {ours:.0f} | {theirs:.0f} | {100 * (middle - 1):+.1f}% "
                         f"[{100 * (low - 1):+.1f}%, {100 * (high - 1):+.1f}%] |")
            print(lines[-1], file=sys.stderr, flush=True)  # progress; the table goes to stdout at the end
        if args.tutorial_epochs:
            lines += [""] * bool(lines) + [tutorial_comparison(args.tutorial_epochs, args.tutorial_repeats,
                                                               Path(folder))]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
